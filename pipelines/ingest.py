"""Stage `ingest@<source>`: validate one survey export into data/interim/<source>.* (see rolefit.data.ingest).

A file that cannot be ingested (or outputs that cannot be written) stops the stage with one line on
stderr and exit status 1, and leaves the previous outputs as they were.
"""

import sys

from rolefit.config import load_params
from rolefit.data.dataset import find_survey
from rolefit.data.ingest import empty_result, ingest, write_ingest

name = sys.argv[1]
params = load_params()
source = params.ingest.sources[name]
path = find_survey(params, name)
try:
    if path is None:
        reason = f"{source.file} not found in {', '.join(params.ingest.search_paths)}"
        print(f"{name}: {reason}; writing empty outputs")
        result = empty_result(name, source.adapter, reason)
    else:
        result = ingest(path, source.adapter, source=name, member=source.member)
    write_ingest(result, params.ingest.interim_dir)
except (ValueError, OSError) as exc:  # a refused survey (SurveyError is a ValueError) or a failed write
    sys.exit(f"error: {name}: {' '.join(str(exc).split())}")
r = result.report
print(f"{name}: {r['accepted']} accepted, {r['quarantined']} quarantined, {r['duplicates']} duplicates")
if r.get("respondent_ids", "").startswith("dropped"):
    print(f"{name}: respondent ids {r['respondent_ids']}")
