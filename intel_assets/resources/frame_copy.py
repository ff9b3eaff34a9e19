"""A DataFrame's rows as Postgres binary COPY data, encoded a column at a time.

psycopg's `Copy.write_row` encodes each value of each row in turn, and the rows must first be
Python tuples: for the ingest benchmark's snapshots that took most of the write's CPU. Here each
column becomes its cells' bytes at once (through Arrow and NumPy) and a row is its cells joined
in order: the bytes of Postgres' binary COPY format that psycopg would send for the same values.
A column whose type or values this module does not know (jsonb, dates, naive times, mixed
objects) goes through psycopg's own dumper for the column's type, value by value, as before. An
integer out of its column's range is an error (psycopg's binary dumpers keep its low bytes).
"""

import math
import struct
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg.abc import Buffer

Dump = Callable[[Any], Buffer | None]
"""A psycopg dumper's `dump` for one column's type: a non-null value's binary bytes."""

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
"""Binary COPY header: signature, flags, header extension length."""
TRAILER = struct.pack("!h", -1)
"""Binary COPY end: a row of -1 fields."""

_NULL = struct.pack("!i", -1)
_SIZE = struct.Struct("!i")
_POSTGRES_EPOCH_MICROS = 946_684_800_000_000
"""2000-01-01 UTC, Postgres' zero of timestamptz, in microseconds since 1970-01-01."""

_BOOL, _INT8, _INT2, _INT4, _TEXT, _FLOAT8, _VARCHAR, _TIMESTAMPTZ, _TEXT_ARRAY = (
    16, 20, 21, 23, 25, 701, 1043, 1184, 1009,
)  # fmt: skip
_INTEGERS = {_INT2: np.dtype(">i2"), _INT4: np.dtype(">i4"), _INT8: np.dtype(">i8")}
_EMPTY = pa.scalar(b"", type=pa.large_binary())
_LISTS_OF_TEXT = pa.large_list(pa.large_string())

Fields = list[pa.Array | np.ndarray]
"""One column's fields as pieces whose values joined row by row (size, then bytes; size -1
alone for NULL) are the column's binary COPY fields: large_binary arrays without nulls, or
tables of bytes (one row per row) where every row's piece has the same width."""


def copy_data(
    frame: pd.DataFrame,
    columns: Sequence[str],
    types: Sequence[int],
    dump_for: Callable[[int], Dump],
    chunk_rows: int = 8192,
) -> Iterator[bytes]:
    """The whole binary COPY of `frame`'s `columns`, header to trailer, in chunks of rows.

    Args:
        frame: The rows.
        columns: Its columns in the COPY's order.
        types: The table columns' type oids, in the same order.
        dump_for: psycopg's binary dumper for a type oid (used for columns not encoded here).
        chunk_rows: Rows encoded at once, which bounds the memory a large frame takes.
    """
    yield SIGNATURE
    for start in range(0, len(frame), chunk_rows):
        part = frame if len(frame) <= chunk_rows else frame.iloc[start : start + chunk_rows]
        pieces = [_uniform(struct.pack("!h", len(columns)) * len(part), 2)]
        for column, oid in zip(columns, types, strict=True):
            series = part[column]
            try:
                fields = _column_fields(series, oid)
            except ValueError as error:
                raise ValueError(f"column {column}: {error}") from error
            pieces.extend(
                fields if fields is not None else [_dumped(_values(series), dump_for(oid))]
            )
        yield _joined(pieces)
    yield TRAILER


def _joined(pieces: Fields) -> bytes:
    """The rows' bytes: each row's pieces joined in order, the rows one after another."""
    # Neighbouring tables of bytes become one (a NumPy copy), so Arrow joins fewer pieces.
    runs: list[list[pa.Array | np.ndarray]] = []
    for piece in pieces:
        if runs and isinstance(piece, np.ndarray) and isinstance(runs[-1][0], np.ndarray):
            runs[-1].append(piece)
        else:
            runs.append([piece])
    arrays = [_as_arrow(np.hstack(run)) if len(run) > 1 else _as_arrow(run[0]) for run in runs]
    rows = pc.call_function("binary_join_element_wise", [*arrays, _EMPTY])
    offsets = _offsets(rows)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]].tobytes()


def _column_fields(series: pd.Series, oid: int) -> Fields | None:
    """The fields of a column of type `oid`, or None when psycopg must encode its values."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _timestamps(series, dtype) if oid == _TIMESTAMPTZ else None
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return _numbers(series.to_numpy(), oid)
    if oid == _TEXT_ARRAY and dtype.kind == "O":
        return _lists_of_text(series.tolist())
    values = series.array
    try:
        if hasattr(values, "__arrow_array__"):  # pandas' Arrow-backed strings and the like
            array = pa.array(values)
        else:
            array = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return _arrow_fields(array, oid)


def _numbers(values: np.ndarray, oid: int, missing: np.ndarray | None = None) -> Fields | None:
    """Fields of NumPy bools, integers or floats (NaN, and `missing` if given: NULL)."""
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        missing = nan if missing is None else missing | nan
        values = np.where(nan, 0.0, values)
    if missing is not None and not missing.any():
        missing = None
    kind = values.dtype.kind
    if oid == _BOOL and kind == "b":
        return [_fixed(values.view(np.uint8), missing)]
    if oid == _FLOAT8 and kind in "iuf":
        # + 0.0 turns -0.0 into 0.0, as the cell-by-cell rule (whole floats as ints) did.
        return [_fixed(values.astype(np.float64) + 0.0, missing)]
    if oid in _INTEGERS and kind in "iuf":
        return _integers(values, missing, _INTEGERS[oid])
    return None


def _arrow_fields(array: pa.Array, oid: int) -> Fields | None:
    """The fields of an Arrow array for a column of type `oid`, or None (psycopg's way)."""
    kind = array.type
    if pa.types.is_null(kind):
        return [_uniform(_NULL * len(array), 4)]
    if oid in (_TEXT, _VARCHAR) and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return _text(array)
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        missing = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
        filled = array.fill_null(False if pa.types.is_boolean(kind) else 0)
        return _numbers(filled.to_numpy(zero_copy_only=False), oid, missing)
    return None


def _uniform(data: bytes, width: int) -> np.ndarray:
    """A table of `data` cut into rows of `width` bytes."""
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, width)


def _as_arrow(piece: pa.Array | np.ndarray) -> pa.Array:
    """A piece as a large_binary array (a table of bytes: one value per row)."""
    if not isinstance(piece, np.ndarray):
        return piece
    count, width = piece.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int64)
    data = pa.py_buffer(np.ascontiguousarray(piece))
    return pa.Array.from_buffers(pa.large_binary(), count, [None, pa.py_buffer(offsets), data])


def _binary(table: np.ndarray, widths: np.ndarray) -> pa.Array:
    """A large_binary array of the first `widths[i]` bytes of each row `i` of a byte table."""
    keep = np.arange(table.shape[1]) < widths[:, np.newaxis]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(table[keep])]
    return pa.Array.from_buffers(pa.large_binary(), len(widths), buffers)


def _fixed(values: np.ndarray, missing: np.ndarray | None) -> pa.Array | np.ndarray:
    """Fields of a fixed-width type: size then the big-endian value, or NULL where `missing`."""
    width = values.dtype.itemsize
    value = values.dtype.newbyteorder(">")
    cells = np.empty(len(values), dtype=[("size", ">i4"), ("value", value)])
    cells["size"] = width
    cells["value"] = values
    table = cells.view(np.uint8).reshape(len(values), 4 + width)
    if missing is None or not missing.any():
        return table
    cells["size"][missing] = -1
    return _binary(table, np.where(missing, 4, 4 + width))


def _integers(values: np.ndarray, missing: np.ndarray | None, dtype: np.dtype) -> Fields | None:
    info = np.iinfo(dtype)
    if values.dtype.kind == "f":
        # Whole floats only (pandas stores an integer column with gaps as float); the bounds
        # are powers of two, exact as floats.
        if not np.all(np.isfinite(values) & (values == np.trunc(values))):
            return None
        inside = (values >= float(info.min)) & (values < float(info.max) + 1.0)
    else:
        inside = (values >= info.min) & (values <= info.max)
    if not np.all(inside):
        # psycopg's binary dumpers would keep the low bytes and store a wrong number silently.
        wrong = values[~inside][0]
        raise ValueError(f"{wrong} is out of range for a {dtype.itemsize * 8}-bit integer column")
    return [_fixed(values.astype(dtype), missing)]


def _timestamps(series: pd.Series, dtype: pd.DatetimeTZDtype) -> Fields | None:
    """Fields of timestamptz (`series`, of `dtype`): microseconds since 2000-01-01 UTC, NaT NULL."""
    if dtype.unit == "ns" and bool((series.dt.nanosecond != 0).any()):
        return None  # nanoseconds would be lost: psycopg's way decides
    micros = series.to_numpy(dtype="datetime64[us]")
    missing = np.isnat(micros)
    values = micros.view(np.int64) - _POSTGRES_EPOCH_MICROS
    return [_fixed(np.where(missing, 0, values), missing)]


def _text(strings: pa.Array) -> Fields:
    """Fields of text: size (-1: NULL), then the UTF-8 bytes."""
    lengths = pc.call_function("binary_length", [strings])
    data = strings.cast(pa.large_binary())
    if strings.null_count:
        lengths, data = lengths.fill_null(-1), data.fill_null(b"")
    sizes = lengths.to_numpy(zero_copy_only=False).astype(">i4")
    return [_uniform(sizes.tobytes(), 4), data]


def _lists_of_text(values: list[Any]) -> Fields | None:
    """Fields of text[] from a column of lists of strings (None elsewhere: psycopg's way)."""
    if not all(type(value) is list for value in values):
        return None
    try:
        lists = pa.array(values, type=_LISTS_OF_TEXT)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    items = lists.values
    firsts = _offsets(lists)  # each cell's first item in `items`, then the end
    counts = np.diff(firsts)
    # A cell's items are neighbours, so its body (each item's size and bytes) is a slice of the
    # items' fields: the bodies share their buffer.
    if len(items):
        fields = _items(items)
        ends, data = _offsets(fields)[firsts], fields.buffers()[2]
    else:
        ends, data = np.zeros(len(firsts), dtype=np.int64), pa.py_buffer(b"")
    body = pa.Array.from_buffers(pa.large_binary(), len(counts), [None, pa.py_buffer(ends), data])
    names = ("size", "dimensions", "has_null", "oid", "length", "lower_bound")
    heads = np.empty(len(counts), dtype=[(name, ">i4") for name in names])
    empty = counts == 0
    heads["size"] = np.where(empty, 12, 20 + np.diff(ends))
    heads["dimensions"] = np.where(empty, 0, 1)
    if items.null_count:
        nulls = np.concatenate([[0], np.cumsum(items.is_null().to_numpy(zero_copy_only=False))])
        heads["has_null"] = nulls[firsts[1:]] > nulls[firsts[:-1]]
    else:
        heads["has_null"] = 0
    heads["oid"] = _TEXT
    heads["length"] = counts
    heads["lower_bound"] = 1
    table = heads.view(np.uint8).reshape(len(counts), heads.dtype.itemsize)
    return [_binary(table, np.where(empty, 16, 24)), body]


def _offsets(array: pa.Array) -> np.ndarray:
    """A large list or binary array's value offsets into its whole values or data buffer.

    One more than its length: value `i` spans `offsets[i]` to `offsets[i + 1]`.
    """
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return offsets[array.offset : array.offset + len(array) + 1]


def _items(items: pa.Array) -> pa.Array:
    """Each array item's field: size (-1: NULL), then its UTF-8 bytes."""
    return pc.call_function("binary_join_element_wise", [*map(_as_arrow, _text(items)), _EMPTY])


def _dumped(values: list[Any], dump: Dump) -> pa.Array:
    """Fields made by psycopg's dumper, value by value (None: NULL)."""
    cells = []
    for value in values:
        data = None if value is None else dump(value)
        cells.append(_NULL if data is None else _SIZE.pack(len(data)) + bytes(data))
    return pa.array(cells, type=pa.large_binary())


def _python_value(value: Any) -> Any:
    """A DataFrame cell as psycopg adapts it: missing values become NULL, numpy values Python.

    Whole floats become ints: pandas stores an integer column with missing values as float, and
    Postgres refuses "136286.0" for a bigint while every numeric type accepts "136286".
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
    return value


_SCALAR_KINDS = frozenset({"string", "bytes", "boolean", "integer", "empty"})
"""`pd.api.types.infer_dtype` kinds whose values psycopg adapts as they are."""


def _values(series: pd.Series) -> list[Any]:
    """One column's values as `_python_value` would give them, converted a column at a time."""
    missing = series.isna().to_numpy()
    kind = series.dtype.kind
    if isinstance(series.dtype, pd.DatetimeTZDtype) or kind == "M":
        values = series.dt.to_pydatetime().tolist()
    elif kind == "f":
        floats = series.to_numpy(dtype="float64", na_value=np.nan)
        objects = floats.astype(object)
        whole = ~missing & (floats == np.trunc(floats)) & (np.abs(floats) < 2.0**63)
        objects[whole] = floats[whole].astype(np.int64).astype(object)
        values = objects.tolist()
    elif kind in "iub" or pd.api.types.infer_dtype(series, skipna=True) in _SCALAR_KINDS:
        values = series.tolist()
    else:
        values = series.tolist()
        # Array columns (tags, topics) hold lists, which go to COPY as they are.
        if not all(type(v) is list or v is None for v in values):
            values = [_python_value(v) for v in values]
    for index in np.flatnonzero(missing):
        values[index] = None
    return values


class FrameRows:
    """The rows of a DataFrame restricted to some columns, for a table write.

    Iterating gives tuples of Python values (missing values None, NumPy and pandas values
    Python, whole floats ints); the warehouse's COPY instead encodes the frame a column at a
    time (`copy_data`), which gives the same bytes for the same values.

    Attributes:
        frame: The rows.
        columns: The table columns, in COPY order; each a column of `frame`.
    """

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"frame lacks columns {missing}")
        self.frame = frame
        self.columns = tuple(columns)

    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if not self.columns:
            return iter(repeat((), len(self.frame)))
        return zip(*(_values(self.frame[c]) for c in self.columns), strict=True)

    def copy_data(self, types: Sequence[int], dump_for: Callable[[int], Dump]) -> Iterator[bytes]:
        """The binary COPY of these rows (see `copy_data`)."""
        return copy_data(self.frame, self.columns, types, dump_for)
