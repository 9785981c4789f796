"""The contributions database's engine and schema: a URL made usable, SQLite in WAL mode, and Alembic's
migrations (packaged with rolefit) run to the newest revision."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import sqlalchemy as sa

#: The environment variable naming the database (any SQLAlchemy URL) when --collect-db is not given.
DB_ENV = "ROLEFIT_COLLECT_DB"
#: The default database: a SQLite file under the project's data folder.
DEFAULT_DB = Path("data") / "contributions" / "contributions.sqlite"
#: Seconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_SECONDS = 30


def database_url(given: str | None = None, *, environ: dict[str, str] | None = None) -> str:
    """The SQLAlchemy URL to use: ``given``, else ``ROLEFIT_COLLECT_DB``, else the default SQLite file.

    A plain path is a SQLite file; ``postgresql://`` and ``postgres://`` use psycopg 3 (the ``collect``
    extra), not SQLAlchemy's default psycopg2."""
    environ = os.environ if environ is None else environ
    url = given or environ.get(DB_ENV) or str(DEFAULT_DB)
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; a SQLite file's folder is made, and every connection uses WAL."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps it consistent
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()

    return engine


def upgrade(engine: sa.Engine) -> None:
    """Bring the database's schema to the newest migration (creates it when empty)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("rolefit.collect") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def shown_url(url: str) -> str:
    """``url`` as it may be printed: its password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
