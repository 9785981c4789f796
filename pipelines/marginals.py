"""Stage `marginals`: derive the experience marginals and profiles from the ingested Kaggle survey.

Without Kaggle rows (the survey is absent) the committed files are kept as they are.
"""

from pathlib import Path

import pandas as pd

from rolefit.config import load_params
from rolefit.data.reference import write_reference

params = load_params()
frame = pd.read_parquet(Path(params.ingest.interim_dir) / f"{params.marginals.source}.parquet")
if len(frame):
    for path in write_reference(frame, params).values():
        print(f"wrote {path} from the training split of {params.marginals.source}")
else:
    print(f"no {params.marginals.source} respondents; keeping the committed {params.marginals.out}")
