"""The usage tables. Core tables rather than ORM classes: they are only ever written by bulk upserts and read by
aggregate queries, never loaded as objects, and the histogram columns are generated from one list.

- ``usage_rollups``: one row per (key, hour, service, endpoint, status class) with counts that only ever grow by
  addition, so batches from any number of instances add up exactly whatever order they arrive in.
- ``usage_idempotency_keys``: the idempotency keys of records already counted (per API key), kept 48 hours.
- ``usage_flushes``: the id of every batch already written, so a batch retried after an unknown commit outcome
  (the connection broke during COMMIT) is not counted twice.

Key ids are not foreign keys to api_keys: keys are never deleted, ingest checks the key exists, and a constraint
failing on one row would stall a whole batch of other keys' usage.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, SmallInteger, String, Table, Uuid

from hokusai_auth.db.base import Base
from hokusai_auth.db.types import UTCDateTime
from hokusai_auth.usage import histogram

ENDPOINT_MAX = 255
IDEMPOTENCY_KEY_MAX = 200
# Columns that a flush adds to what is stored (response_time_ms_max is kept with a max instead).
ADDITIVE = ("requests", "predictions", "compute_ms", "response_time_ms_sum", *histogram.COLUMNS)

usage_rollups = Table(
    "usage_rollups",
    Base.metadata,
    # Key first: per-key queries (stats, billing, the monthly quota) read one contiguous range of the primary key.
    Column("key_id", Uuid, primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("service_id", String(32), primary_key=True),
    Column("endpoint", String(ENDPOINT_MAX), primary_key=True),
    Column("status_class", SmallInteger, primary_key=True),  # 1..5 for 1xx..5xx
    Column("requests", BigInteger, nullable=False),
    Column("predictions", BigInteger, nullable=False),
    Column("compute_ms", BigInteger, nullable=False),
    Column("response_time_ms_sum", BigInteger, nullable=False),
    Column("response_time_ms_max", BigInteger, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in histogram.COLUMNS),
    CheckConstraint("status_class BETWEEN 1 AND 5", name="status_class"),
    Index("ix_usage_rollups_bucket_start", "bucket_start"),  # the aggregate walks a date range across keys
)

usage_idempotency_keys = Table(
    "usage_idempotency_keys",
    Base.metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("idempotency_key", String(IDEMPOTENCY_KEY_MAX), primary_key=True),
    Column("recorded_at", UTCDateTime, nullable=False, index=True),
)

usage_flushes = Table(
    "usage_flushes",
    Base.metadata,
    Column("id", Uuid, primary_key=True),
    Column("flushed_at", UTCDateTime, nullable=False, index=True),
)
