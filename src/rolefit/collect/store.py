"""Every read and write of the contributions database: tokens, contributions, deletion, counts.

The web server is the only writer. Writes are serialised in the process (one lock): SQLite allows one
writer at a time anyway, and the size bound is checked and kept inside the same critical section.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rolefit.collect.checks import kept_apart_reason
from rolefit.collect.migrate import make_engine, shown_url, upgrade
from rolefit.collect.tables import contributions, tokens

#: Contributions (accepted and kept apart) the table holds at most; then new ones are refused.
MAX_ROWS = 100_000
#: Seconds a contribution token stays valid after the prediction it came with.
TOKEN_SECONDS = 24 * 3600
#: Characters of a deletion code: no 0/O, 1/I/L or U, so a code read aloud or copied by hand survives.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
#: Seconds between purges of expired tokens.
PURGE_EVERY = 60.0
#: Tokens kept at most (every prediction gets one while collecting): beyond it the oldest are dropped,
#: so predictions alone cannot fill the disk.
MAX_TOKENS = 1_000_000


class TokenRefused(Exception):
    """The token is unknown, expired or already used (a double submission)."""


class NoDatabase(Exception):
    """There is no contributions database (or table) where one was to be read."""


class TableFull(Exception):
    """The contributions table holds its maximum number of rows."""


@dataclass(frozen=True)
class Outcome:
    """What became of one contribution: its status, the reason when kept apart, the deletion code."""

    status: str
    reason: str | None
    deletion_code: str


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a token or a deletion code."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_deletion_code() -> str:
    """A random ``XXXX-XXXX-XXXX-XXXX`` code (30 letters and digits: about 78 bits)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    """A deletion code as typed (any case, spaces or no dashes) in its canonical form."""
    chars = "".join(c for c in code.upper() if c.isalnum())
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def end_of_month(now: float) -> int:
    """The last second (UTC) of the month of ``now``."""
    year, month = time.gmtime(now)[:2]
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) - 1


def current_month(clock: Callable[[], float] = time.time) -> str:
    """The month (UTC) as ``YYYY-MM``: the finest time a contribution carries."""
    return time.strftime("%Y-%m", time.gmtime(clock()))


class Store:
    """The contributions database at ``url``; its schema is migrated to the newest revision on opening.

    ``max_rows``: the table's bound (then :class:`TableFull`); ``token_seconds``: a token's lifetime;
    ``clock``: seconds since the epoch (tests move it); ``max_tokens``: tokens kept at most (the tenth
    that expires first is dropped when it is reached). ``migrate=False`` (readers: the commands that
    count and export) leaves the schema alone and raises :class:`NoDatabase` when it is not there."""

    def __init__(
        self,
        url: str,
        *,
        max_rows: int = MAX_ROWS,
        token_seconds: int = TOKEN_SECONDS,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
        max_tokens: int = MAX_TOKENS,
    ):
        self.url = url
        self.max_rows = max_rows
        self.token_seconds = token_seconds
        self.max_tokens = max_tokens
        self.clock = clock
        if not migrate:
            parsed = sa.engine.make_url(url)
            if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
                raise NoDatabase(f"There is no contributions database at {parsed.database}.")
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        elif not sa.inspect(self.engine).has_table("contributions"):
            self.engine.dispose()
            raise NoDatabase(f"The database {shown_url(url)} holds no contributions table.")
        self._write = threading.Lock()
        self._purged = -float("inf")
        #: rows in the table, counted once and then kept by the writes here (the server is the only
        #: writer): counting 100,000 rows for every contribution would cost more than the insert
        self._rows: int | None = None
        self._tokens: int | None = None

    def close(self) -> None:
        self.engine.dispose()

    def issue_token(self) -> str:
        """A new one-time token (only its hash is stored, with its expiry)."""
        token = secrets.token_urlsafe(24)
        now = self.clock()
        with self._write:
            with self.engine.begin() as db:
                if (
                    self._tokens is None
                    or self._tokens >= self.max_tokens
                    or now - self._purged >= PURGE_EVERY
                ):
                    self._purged = now
                    db.execute(sa.delete(tokens).where(tokens.c.expires_at < int(now)))
                    self._tokens = db.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one()
                    if self._tokens >= self.max_tokens:
                        oldest = (
                            sa.select(tokens.c.token_hash)
                            .order_by(tokens.c.expires_at)
                            .limit(max(1, self.max_tokens // 10))
                            .scalar_subquery()
                        )
                        db.execute(sa.delete(tokens).where(tokens.c.token_hash.in_(oldest)))
                        self._tokens = db.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one()
                db.execute(
                    sa.insert(tokens).values(
                        token_hash=digest(token), expires_at=int(now) + self.token_seconds, used=False
                    )
                )
            self._tokens += 1  # committed
        return token

    def contribute(
        self, token: str, role: str, answers: Mapping[str, float | str], instrument_version: str
    ) -> Outcome:
        """Store validated ``answers`` with ``role``, using up ``token``; accepted or kept apart.

        Raises :class:`TokenRefused` (token unknown, expired or used) or :class:`TableFull`; then
        nothing is stored and the token is not used up."""
        reason = kept_apart_reason(answers)
        code = new_deletion_code()
        row = {
            "deletion_hash": digest(code),
            "role": role,
            "instrument_version": instrument_version,
            "month": current_month(self.clock),
            "answers": {k: _compact(v) for k, v in answers.items()},
            "status": "accepted" if reason is None else "kept_apart",
            "reason": reason,
        }
        now = int(self.clock())
        with self._write:
            with self.engine.begin() as db:
                used = db.execute(
                    sa.update(tokens)
                    .where(
                        tokens.c.token_hash == digest(token),
                        tokens.c.used.is_(False),
                        tokens.c.expires_at >= now,
                    )
                    # a used token keeps only the month's end as its expiry (it still refuses a second
                    # use until then), not the second its prediction was made
                    .values(used=True, expires_at=end_of_month(now))
                )
                if used.rowcount != 1:
                    raise TokenRefused(token)
                if self._rows is None:
                    self._rows = db.execute(
                        sa.select(sa.func.count()).select_from(contributions)
                    ).scalar_one()
                if self._rows >= self.max_rows:
                    raise TableFull(self._rows)  # the transaction is rolled back: the token stays unused
                db.execute(sa.insert(contributions).values(**row))
            self._rows += 1  # committed
        return Outcome(row["status"], reason, code)

    def delete(self, code: str) -> bool:
        """Remove the contribution whose deletion code is ``code``; whether one was removed.

        The code's hash is compared in constant time with the stored one it was found by, and a wrong
        code costs the same lookup as a right one."""
        wanted = digest(normalise_code(code))
        with self._write:
            with self.engine.begin() as db:
                found = db.execute(
                    sa.select(contributions.c.deletion_hash).where(contributions.c.deletion_hash == wanted)
                ).scalar_one_or_none()
                if found is None or not hmac.compare_digest(found, wanted):
                    return False
                db.execute(sa.delete(contributions).where(contributions.c.deletion_hash == found))
            if self._rows is not None:
                self._rows -= 1  # committed
        return True

    def rows(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every contribution (``status``: only those), as dicts without the deletion hash."""
        query = sa.select(
            contributions.c.role, contributions.c.instrument_version, contributions.c.month,
            contributions.c.answers, contributions.c.status, contributions.c.reason,
        )  # fmt: skip
        if status is not None:
            query = query.where(contributions.c.status == status)
        with self.engine.connect() as db:
            for row in db.execute(query.order_by(contributions.c.month, contributions.c.deletion_hash)):
                yield dict(row._mapping)

    def count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(contributions)).scalar_one()


def _compact(value: float | str) -> float | int | str:
    """Whole numbers as integers (3, not 3.0): validated answers are floats or choice ids."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
