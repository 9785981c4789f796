# Two commands do all set-up on a fresh machine:  make run  and  make test  (make check: the fast lane)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pytest-xdist workers for make test and make check: the machine's cores, at most 2 (make test WORKERS=4)
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 2 ] && n=2; echo $$n)

export MLFLOW_DISABLE_TELEMETRY := true
# floating-point work with fixed thread counts, the same on every machine: a sum split over another
# number of threads differs in its last digits, and so would the pipeline's outputs and dvc.lock
export OMP_NUM_THREADS := 2
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
# ... except in the tests (make check, make test), which run one OpenMP thread per process as
# tests/conftest.py means them to: two pytest-xdist workers already fill two cores, and a second OpenMP
# thread per training only competes with the other worker (the session champion trained by two test
# processes at once: 113 s each with two threads, 97 s with one; a small `rolefit train` gave the same
# model to the byte with either, 2026-12-07). A test that runs `make run` gets the 2 above again.
TEST_THREADS := OMP_NUM_THREADS=1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run check test bench bench-load browser repro lint format clean screenshots docs

## setup: create or update .venv with the package and its dev extras (idempotent)
setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## run: set up, run the retraining pipeline (train, evaluate, gate, promote), predict for an example person
## (the same flow as `rolefit train`, through DVC's stages, so `dvc status` is clean afterwards). Its
## recipe ends with `rolefit train`'s codes: 4 when the quality gate refused the new model (DVC itself
## exits 255; the export stage's log says REFUSED), else DVC's code. make reports it as
## "make: *** [Makefile:<line>: run] Error 4" and, as for any failed recipe, exits 2 itself
run: setup
	@$(BIN)/dvc repro || { code=$$?; code=$$($(BIN)/python -c 'import sys; from rolefit.ops.release import exit_code_after_repro as e; print(e(".", int(sys.argv[1])))' $$code); [ "$$code" != 4 ] || echo "make run: the quality gate refused the new model (exit 4): reports/challenger/refusal.md says why" >&2; exit $$code; }
	$(BIN)/rolefit predict --answers examples/person.json --model models/champion

## browser: Debian's headless Chromium for the real-browser tests (Playwright drives /usr/bin/chromium)
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## check: the fast lane (under 2 minutes): lint, format check, import contracts, the public API's types
## (mypy, [tool.mypy]), then unit, api and model tests on a small champion (ROLEFIT_TEST_CHAMPION=small;
## tests marked full_model are deselected)
check: setup
	$(BIN)/ruff check src tests pipelines benchmarks tools
	$(BIN)/ruff format --check src tests pipelines benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(TEST_THREADS) ROLEFIT_TEST_CHAMPION=small $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile tests/unit tests/api tests/model

## test: set up, lint, check the import contracts (layers, no cycles), run every test on the full champion
## (e2e with real dvc, MLflow, Chromium and Spark) on $(WORKERS) workers; a test file never spans two
## workers (--dist loadfile), so a module's servers and trained projects are made once; then the tests
## marked alone (a p99 bound) by themselves, so no other test's training is what they measure
test: setup browser
	$(BIN)/ruff check src tests pipelines benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(TEST_THREADS) $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --durations=25 -m "not alone"
	$(TEST_THREADS) ROLEFIT_TEST_CHAMPION=small $(BIN)/python -m pytest -m alone

## screenshots: take the page's screenshots in a real Chromium (form, error and result at 1280 and 390 px,
## into reports/screenshots/, git-ignored) and copy the docs' two into docs/images/
screenshots: setup browser
	$(BIN)/python -m pytest -q tests/e2e/test_browser.py -k "keyboard_alone or out_of_range"
	cp reports/screenshots/form-phone.png reports/screenshots/result-desktop.png docs/images/

## bench: measure speed against a hand-built scikit-learn pipeline (writes reports/benchmarks.md and the
## table of docs/explanation/speed.md)
bench: setup
	$(BIN)/python benchmarks/run.py

## bench-load: requests/s and latency of POST /api/predict on one uvicorn worker (wrk on loopback)
bench-load: setup
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/load.py

## bench-stall: /healthz p99 while 50 clients send maximal invalid batches for 20 s, against idle (same run)
.PHONY: bench-stall
bench-stall: setup
	$(BIN)/python benchmarks/stall.py

## bench-fair: one person's /api/guide p99 while 20 clients post maximal batches, against idle, and the
## batches' throughput with that person against alone (same run; make bench runs it too)
.PHONY: bench-fair
bench-fair: setup
	$(BIN)/python benchmarks/fair.py

## mutate: apply each realistic bug in tests/mutations/*.yaml (one per guarantee of docs/explanation/guarantees.md) to a fresh copy of
## the checkout, one at a time, run the tests it names (small champion) and report any bug no test catches;
## not part of make test (runs needing a model train their own small champion: 27 bugs took 30 minutes on
## the shared 2-core sandbox, 12 of CPU). One or a
## few: make mutate ONLY=ids-unkeyed-sha256,zip-ratio-unchecked; list them: make mutate ARGS=--list
.PHONY: mutate
mutate: setup
	$(BIN)/python tools/mutate.py $(if $(ONLY),--only $(ONLY)) $(ARGS)

## docs: build the documentation site into site/ (MkDocs Material, offline: open site/index.html); make test
## builds it with --strict too (tests/unit/test_docs_site.py)
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## package-model: refresh the model packaged with rolefit (src/rolefit/packaged_model, scoring-only, with
## its data-source notes) from the promoted champion, and pin its manifest's sha256 (part of a release)
.PHONY: package-model
package-model: setup
	$(BIN)/python -m rolefit.ops.package_model --champion models/champion

## repro: run the DVC retraining pipeline
repro: setup
	$(BIN)/dvc repro

lint: setup
	$(BIN)/ruff check src tests pipelines benchmarks tools
	$(BIN)/ruff format --check src tests pipelines benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests pipelines benchmarks tools
	$(BIN)/ruff check --fix src tests pipelines benchmarks tools

clean:
	rm -rf $(VENV) models/champion models/trained reports .pytest_cache .ruff_cache .hypothesis site
