"""The archive store: where monthly Parquet files live, an S3 bucket or a local folder.

`INTEL_ARCHIVE_URL` says which: `s3://bucket/prefix` (any S3-compatible store; boto3 reads
`AWS_ENDPOINT_URL`, the region and the credentials from the environment through dagster-aws'
`S3Resource`) or a folder path (the embedded default, `<state>/archive`). Objects appear whole
or not at all: S3 gets the finished file in one managed upload (a failed multipart upload is
aborted, so no object appears), a folder gets a temporary file renamed into place.
"""

import os
import struct
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3.s3.transfer
import botocore.exceptions
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

_PARQUET_TAIL = 8  # footer length (4 bytes, little endian) + the magic "PAR1"
_MIB = 1024 * 1024


class ArchiveError(RuntimeError):
    """An archive object is missing, unreadable or not what was written."""


@dataclass(frozen=True)
class StoredObject:
    """An object as the store holds it.

    Attributes:
        url: Where it is (`s3://bucket/key` or a file path); never holds credentials.
        size_bytes: Its size.
        metadata: Its Parquet footer, read back from the store.
    """

    url: str
    size_bytes: int
    metadata: pq.FileMetaData


class ArchiveStore(dg.ConfigurableResource):
    """The monthly archive's object store: an S3 bucket and prefix, or a local folder.

    Attributes:
        url: `s3://bucket/prefix` or a folder path (from `INTEL_ARCHIVE_URL`).
        s3: The S3 client's configuration (dagster-aws); unused for a folder. Endpoint, region
            and credentials come from the environment unless set here.
        multipart_chunk_mib: Part size of multipart uploads (S3's minimum is 5 MiB).
    """

    url: str
    s3: S3Resource
    multipart_chunk_mib: int = 8

    _client: object | None = PrivateAttr(default=None)

    @property
    def is_s3(self) -> bool:
        """Whether the archive is in S3 (else a local folder)."""
        return self.url.startswith("s3://")

    def _bucket_prefix(self) -> tuple[str, str]:
        parts = urlsplit(self.url)
        if not parts.netloc:
            raise ArchiveError("an S3 archive URL needs a bucket: s3://bucket/prefix")
        return parts.netloc, parts.path.strip("/")

    def _folder(self) -> Path:
        parts = urlsplit(self.url)
        return Path(parts.path if parts.scheme == "file" else self.url)

    def s3_client(self):
        """The boto3 S3 client of this resource (created once)."""
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def key(self, relative_key: str) -> str:
        """The full object key (S3) or path (folder) of a key relative to the archive root."""
        if self.is_s3:
            _, prefix = self._bucket_prefix()
            return f"{prefix}/{relative_key}" if prefix else relative_key
        return str(self._folder() / relative_key)

    def object_url(self, relative_key: str) -> str:
        """Where an object is, as a URL or path a reader (DuckDB, pandas) can open."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            return f"s3://{bucket}/{self.key(relative_key)}"
        return self.key(relative_key)

    @contextmanager
    def new_object(self, relative_key: str) -> Iterator[Path]:
        """A local file to write an object into; published whole when the block ends cleanly.

        On a clean exit the file becomes the object (replacing any previous one) in one step:
        an upload (S3) or an atomic rename (folder). On an error, or if publishing fails,
        nothing appears and any previous object stays.
        """
        if self.is_s3:
            with tempfile.TemporaryDirectory(prefix="intel-archive-") as scratch:
                local = Path(scratch) / "part.parquet"
                yield local
                self._upload(local, relative_key)
            return
        final = Path(self.key(relative_key))
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            yield staging
            with staging.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(staging, final)
        finally:
            staging.unlink(missing_ok=True)

    def _upload(self, local: Path, relative_key: str) -> None:
        bucket, _ = self._bucket_prefix()
        chunk = self.multipart_chunk_mib * _MIB
        config = boto3.s3.transfer.TransferConfig(
            multipart_threshold=chunk, multipart_chunksize=chunk, max_concurrency=2
        )
        # boto3's managed upload aborts a failed multipart upload: no partial object appears.
        self.s3_client().upload_file(  # type: ignore[attr-defined]
            str(local), bucket, self.key(relative_key), Config=config
        )

    def _read_tail(self, relative_key: str, length: int) -> tuple[bytes, int]:
        """The last `length` bytes of an object (all of it if shorter) and its size."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            answer = self.s3_client().get_object(  # type: ignore[attr-defined]
                Bucket=bucket, Key=self.key(relative_key), Range=f"bytes=-{length}"
            )
            size = int(answer["ContentRange"].rsplit("/", 1)[1])
            return answer["Body"].read(), size
        path = Path(self.key(relative_key))
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(max(size - length, 0))
            return handle.read(), size

    def stored_object(self, relative_key: str) -> StoredObject:
        """The object's size and Parquet footer, read back from the store (not a local copy).

        Raises:
            ArchiveError: There is no such object, or it does not end in a Parquet footer.
        """
        try:
            tail, size = self._read_tail(relative_key, _PARQUET_TAIL)
            if len(tail) < _PARQUET_TAIL or tail[-4:] != b"PAR1":
                raise ArchiveError(f"{self.object_url(relative_key)} is not a Parquet file")
            footer_length = struct.unpack("<I", tail[:4])[0]
            footer, _ = self._read_tail(relative_key, footer_length + _PARQUET_TAIL)
            metadata = pq.read_metadata(pa.BufferReader(footer))
        except FileNotFoundError as error:
            raise ArchiveError(f"no archive object at {self.object_url(relative_key)}") from error
        except botocore.exceptions.ClientError as error:
            raise ArchiveError(f"cannot read {self.object_url(relative_key)}: {error}") from error
        return StoredObject(self.object_url(relative_key), size, metadata)

    @contextmanager
    def local_copy(self, relative_key: str) -> Iterator[Path]:
        """The object as a local file for the block (the object itself in a folder store).

        Raises:
            ArchiveError: There is no such object.
        """
        if not self.is_s3:
            path = Path(self.key(relative_key))
            if not path.is_file():
                raise ArchiveError(f"no archive object at {self.object_url(relative_key)}")
            yield path
            return
        bucket, _ = self._bucket_prefix()
        with tempfile.TemporaryDirectory(prefix="intel-archive-") as scratch:
            local = Path(scratch) / "part.parquet"
            try:
                self.s3_client().download_file(  # type: ignore[attr-defined]
                    bucket, self.key(relative_key), str(local)
                )
            except botocore.exceptions.ClientError as error:
                url = self.object_url(relative_key)
                raise ArchiveError(f"cannot read {url}: {error}") from error
            yield local

    def read_table(self, relative_key: str, columns: list[str] | None = None) -> pa.Table:
        """The object's rows (only `columns` if given). Meant for small objects.

        Raises:
            ArchiveError: There is no such object or it cannot be read as Parquet.
        """
        try:
            if not self.is_s3:
                return pq.read_table(self.key(relative_key), columns=columns)
            bucket, _ = self._bucket_prefix()
            with tempfile.TemporaryDirectory(prefix="intel-archive-") as scratch:
                local = Path(scratch) / "part.parquet"
                self.s3_client().download_file(  # type: ignore[attr-defined]
                    bucket, self.key(relative_key), str(local)
                )
                return pq.read_table(local, columns=columns)
        except (OSError, pa.ArrowException, botocore.exceptions.ClientError) as error:
            raise ArchiveError(f"cannot read {self.object_url(relative_key)}: {error}") from error
