# spm_model: two commands on a fresh machine (Python 3.11, pip, gcc, make):
#   make report   set up .venv and run the main job on data/sample
#   make test     set up .venv (with dev extras) and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WARM   := $(VENV)/.warmed
export PYTENSOR_FLAGS ?= base_compiledir=$(CURDIR)/.pytensor
export MPLBACKEND ?= Agg

.PHONY: venv report test test-slow lint bench clean sample browser nbval

# Re-installs only when pyproject.toml or constraints.txt change (idempotent).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	@touch $(STAMP)

# The Bayesian forecaster's building blocks compiled once into the project's PyTensor cache
# (`spm warmup`, about 1.5 minutes), so a machine's first fit compiles only its own graph. Every
# target that fits or benchmarks the forecaster depends on it; `make test` (no fits) does not.
$(WARM): $(STAMP)
	$(BIN)/spm warmup
	@touch $(WARM)

venv: $(STAMP) $(WARM)

report: $(STAMP) $(WARM)
	@mkdir -p reports
	$(BIN)/spm validate data/sample --summary-out reports/data_summary.csv
	$(BIN)/spm run notebooks/00_end_to_end_report.ipynb --out reports --name end_to_end --no-progress \
		-p data_path data/sample -p plan_dir templates/plans -p output_dir reports/end_to_end
	@echo "The report is at $(CURDIR)/reports/end_to_end.html (executed notebook: reports/end_to_end.ipynb)"

# Headless Chromium for the browser tests of the served apps (Debian package `chromium`;
# Playwright drives it as the system browser). Installs only when missing and apt-get exists.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get > /dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium > /dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"; \
	fi

# `make test` is the everyday suite (tests marked `slow` left out: Bayesian fits, the
# end-to-end and forecast notebooks, the browser tests, a few long integration checks);
# `make test-slow` runs those.
# CI (.ci/run) runs both.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

test-slow: $(STAMP) $(WARM) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m slow

# The notebooks checked the Jupyter way (nbval) in quick mode: the notebooks' `quick`
# defaults to the environment (SPM_QUICK=1). All of them (00 and 06 fit the Bayesian
# forecast: minutes); tests/notebooks/test_nbval.py runs the fast ones in `make test`.
nbval: $(STAMP) $(WARM)
	SPM_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
		-o addopts= -n 0 -q notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check spm_model
	$(BIN)/ruff format --check spm_model
	$(BIN)/mypy spm_model

bench: $(STAMP) $(WARM)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

sample: $(STAMP)
	$(BIN)/spm generate data/sample --reps 60 --accounts 3000 --years 3 --seed 20240101

clean:
	rm -rf $(VENV) .pytensor reports
