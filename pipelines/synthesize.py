"""Stage `synthesize`: draw synthetic respondents (rolefit.synthetic) into data/interim/synthetic.parquet."""

from pathlib import Path

from rolefit.config import load_params
from rolefit.data.parquet import write_parquet
from rolefit.data.synthetic import generate, read_marginals

params = load_params()
frame = generate(params.synthesize, read_marginals(params.synthesize.marginals))
out = Path(params.ingest.interim_dir) / "synthetic.parquet"
out.parent.mkdir(parents=True, exist_ok=True)
write_parquet(frame, out)
print(f"wrote {len(frame)} synthetic respondents to {out}")
