"""Parquet files whose bytes depend on their rows alone: the same frame gives the same file.

DVC records every pipeline output by its md5, so an output whose bytes change while its rows do not
makes ``dvc.lock`` change on every run. ``DataFrame.to_parquet`` stores the pandas and pyarrow versions
in the file's metadata; :func:`write_parquet` leaves them out, converts single-threaded and writes every
row in one row group. What still names a library is the footer's ``created_by`` (the Parquet writer's
version), which pyarrow does not let a caller set: the same environment writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

#: Keys of pandas' metadata that name the writing libraries' versions, not the data.
_VERSION_KEYS = ("creator", "pandas_version")


def table(frame: pd.DataFrame):
    """``frame`` as a pyarrow table without its index and without library versions in its metadata."""
    import pyarrow as pa

    out = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    metadata = dict(out.schema.metadata or {})
    if b"pandas" in metadata:
        pandas_meta = json.loads(metadata[b"pandas"])
        for key in _VERSION_KEYS:
            pandas_meta.pop(key, None)
        metadata[b"pandas"] = json.dumps(pandas_meta, sort_keys=True).encode()
    return out.replace_schema_metadata(metadata)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` (without its index) to ``path`` so that equal frames give equal bytes."""
    import pyarrow.parquet as pq

    path = Path(path)
    data = table(frame)
    pq.write_table(data, path, row_group_size=max(len(frame), 1), compression="snappy")
    return path
