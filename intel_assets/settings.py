"""Where the project's services are: the environment variables a user sets, read when asked.

Nothing here runs at import time. The CLI reads the environment once per command and passes the
result on; Dagster definitions read secrets through `dg.EnvVar` instead.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"

DEFAULT_YOUTUBE_API_URL = "https://www.googleapis.com/youtube/v3"
DEFAULT_TWITCH_API_URL = "https://api.twitch.tv/helix"
DEFAULT_TWITCH_AUTH_URL = "https://id.twitch.tv/oauth2"

# The environment variables a user may set, and what each points at (README lists them too).
ENVIRONMENT_VARIABLES: Mapping[str, str] = {
    "INTEL_STATE_DIR": "folder for the embedded servers' data, DAGSTER_HOME and the archive",
    "INTEL_POSTGRES_URL": "warehouse database of an external Postgres server",
    "INTEL_DAGSTER_POSTGRES_URL": "Dagster's instance database (default: database 'dagster' "
    "on the warehouse's server)",
    "INTEL_REDIS_URL": "external Redis server for the hot tier, quota ledger and breakers",
    "INTEL_ARCHIVE_URL": "s3://bucket/prefix or a folder for the monthly Parquet archive",
    "INTEL_CATALOG_PATH": "a games.toml of your own instead of the packaged game catalog",
    "INTEL_PARTITIONS_START": "first day (YYYY-MM-DD) of the hourly, daily and monthly partitions "
    "(dev: the first seeded day)",
    "INTEL_API_KEYS": "client keys of the read API, comma-separated (unset: the API is open)",
    "YOUTUBE_API_KEY": "YouTube Data API v3 key",
    "YOUTUBE_API_URL": "YouTube API base up to and including /youtube/v3",
    "TWITCH_CLIENT_ID": "Twitch application client id",
    "TWITCH_CLIENT_SECRET": "Twitch application client secret",
    "TWITCH_API_URL": "Twitch Helix base up to and including /helix",
    "TWITCH_AUTH_URL": "Twitch OAuth base of the token endpoint",
    "INTEL_EXECUTOR": "celery: every job's steps go to Celery workers (default: in the run)",
    "INTEL_CELERY_BROKER_URL": "Celery broker (default: INTEL_REDIS_URL's server, next database)",
    "INTEL_CELERY_BACKEND_URL": "Celery results (default: INTEL_REDIS_URL's server, database + 2)",
    "INTEL_CELERY_VISIBILITY_TIMEOUT_SECONDS": "when a lost worker's step goes to another worker",
    "INTEL_CODE_SERVER_HOST": "host of the code server for deploy/workspace.yaml (localhost)",
    "INTEL_CODE_SERVER_PORT": "port of the code server for deploy/workspace.yaml (4266)",
}


@dataclass(frozen=True)
class Settings:
    """The configuration one `intel-assets` command runs with.

    Attributes:
        state_dir: Folder holding the embedded servers' data, `DAGSTER_HOME` and the local archive.
        postgres_url: External warehouse database URL, or None for the embedded server.
        dagster_postgres_url: External URL for Dagster's own storage, or None to derive it.
        redis_url: External Redis URL, or None for the embedded server.
        archive_url: `s3://bucket/prefix` or a folder, or None for `<state_dir>/archive`.
    """

    state_dir: Path
    postgres_url: str | None = None
    dagster_postgres_url: str | None = None
    redis_url: str | None = None
    archive_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the settings from the environment (or the given mapping)."""
        env = os.environ if environ is None else environ
        state_dir = Path(env.get("INTEL_STATE_DIR") or PROJECT_ROOT / ".intel").resolve()
        return cls(
            state_dir=state_dir,
            postgres_url=env.get("INTEL_POSTGRES_URL") or None,
            dagster_postgres_url=env.get("INTEL_DAGSTER_POSTGRES_URL") or None,
            redis_url=env.get("INTEL_REDIS_URL") or None,
            archive_url=env.get("INTEL_ARCHIVE_URL") or None,
        )

    @property
    def dagster_home(self) -> Path:
        """`DAGSTER_HOME` of the embedded default: inside the state folder."""
        return self.state_dir / "dagster_home"

    @property
    def resolved_archive_url(self) -> str:
        """The archive location: the configured one, else the state folder's `archive`."""
        return self.archive_url or str(self.state_dir / "archive")


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, safe to print or log."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def with_database(url: str, database: str, *, driver: str | None = None) -> str:
    """The same server's URL pointing at another database, optionally with a SQLAlchemy driver.

    Args:
        url: A `postgresql://` URL (host may be a Unix socket folder given as `?host=`).
        database: Name of the database the new URL points at.
        driver: SQLAlchemy driver suffix, e.g. `psycopg2` gives `postgresql+psycopg2://`.
    """
    parts = urlsplit(url)
    scheme = "postgresql" if driver is None else f"postgresql+{driver}"
    return urlunsplit(parts._replace(scheme=scheme, path=f"/{database}"))
