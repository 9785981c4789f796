"""The contributions database's schema: two tables and nothing else.

``contributions``: one row per contributed answer set: a random key (the hash of the person's deletion
code, so rows carry no order of arrival), the role, the instrument version, the month (``YYYY-MM``),
the answers (JSON: item id -> answer), and the status (``accepted`` or ``kept_apart``) with its reason.
``tokens``: the one-time tokens given with predictions (their hash, expiry, whether used); a token row
names no contribution. No IP address, free text, contact details, demographics or time finer than the
month is stored anywhere (Alembic's own ``alembic_version`` holds only the schema's revision).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

STATUSES = ("accepted", "kept_apart")
ROLES = ("swe", "mle")

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("deletion_hash", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("instrument_version", sa.String(32), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.CheckConstraint("role IN ('swe', 'mle')", name="ck_contributions_role"),
    sa.CheckConstraint("status IN ('accepted', 'kept_apart')", name="ck_contributions_status"),
    # SQLite: no hidden rowid, whose order would tell which contribution came after which token
    sqlite_with_rowid=False,
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("used", sa.Boolean, nullable=False, default=False),
)
