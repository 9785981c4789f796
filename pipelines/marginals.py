"""Stage `marginals`: derive the experience marginals from the ingested Kaggle survey.

Without Kaggle rows (the survey is absent) the committed file is kept as it is.
"""

from pathlib import Path

import pandas as pd

from rolefit.params import load_params
from rolefit.surveys import derive_marginals, write_marginals

params = load_params()
frame = pd.read_parquet(Path(params.ingest.interim_dir) / f"{params.marginals.source}.parquet")
if len(frame):
    write_marginals(frame, derive_marginals(frame), params.marginals.out)
    print(f"wrote {params.marginals.out} from {len(frame)} respondents")
else:
    print(f"no {params.marginals.source} respondents; keeping the committed {params.marginals.out}")
