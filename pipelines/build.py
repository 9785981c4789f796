"""Stage `build`: combine synthetic and survey rows and assign splits (rolefit.dataset.build)."""

from pathlib import Path

import pandas as pd

from rolefit.config import load_params
from rolefit.data.dataset import build
from rolefit.data.parquet import write_parquet

params = load_params()
interim = Path(params.ingest.interim_dir)
frames = {"synthetic": pd.read_parquet(interim / "synthetic.parquet")}
for name in params.ingest.sources:
    frames[name] = pd.read_parquet(interim / f"{name}.parquet")
dataset = build(frames, params)
out = Path("data/processed/dataset.parquet")
out.parent.mkdir(parents=True, exist_ok=True)
write_parquet(dataset, out)
print(dataset.groupby(["source", "split"]).size().unstack(fill_value=0).to_string())
