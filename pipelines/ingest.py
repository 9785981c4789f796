"""Stage `ingest@<source>`: validate one survey export into data/interim/<source>.* (see rolefit.surveys)."""

import sys

from rolefit.dataset import find_survey
from rolefit.params import load_params
from rolefit.surveys import empty_result, ingest, write_ingest

name = sys.argv[1]
params = load_params()
source = params.ingest.sources[name]
path = find_survey(params, name)
if path is None:
    reason = f"{source.file} not found in {', '.join(params.ingest.search_paths)}"
    print(f"{name}: {reason}; writing empty outputs")
    result = empty_result(name, source.adapter, reason)
else:
    result = ingest(path, source.adapter, source=name)
write_ingest(result, params.ingest.interim_dir)
r = result.report
print(f"{name}: {r['accepted']} accepted, {r['quarantined']} quarantined, {r['duplicates']} duplicates")
