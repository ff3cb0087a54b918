# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make report   create .venv, install, render the reports of the example survey into reports/
#   make test     the same set-up, then the whole test suite
#   make lab      the same set-up, then JupyterLab on the notebooks (outputs go to ./scratch)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export BACKPAIN_DATA_DIR ?= $(abspath ../shared/data/public)
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

EXAMPLE  := data/example/survey.csv
CODEBOOK := data/codebooks/backpain_survey.yml

.PHONY: venv test report lint bench clean fixtures lab

venv: $(STAMP)

# pip shows what it downloads and installs (about 2 minutes on a fresh machine).
$(STAMP): pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip"
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	@echo "==> [3/3] installing backpain and its dependencies (pyproject.toml)"
	$(BIN)/python -m pip install --progress-bar on -e ".[test]"
	touch $(STAMP)
	@echo "==> installed: $(BIN)/backpain, $(BIN)/jupyter"

# Two workers, a test file each: a module's rendered reports are shared by its tests,
# and most of a report test waits on notebook kernels, so the second core is used.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

report: $(STAMP)
	$(BIN)/backpain report $(EXAMPLE) --codebook $(CODEBOOK) --out reports --case-studies

# R reference fixtures (needs R and the Debian packages r-base-core r-cran-survey r-cran-mass
# r-cran-brglm2 r-cran-mice r-cran-ordinal r-cran-nnet r-cran-survival r-cran-sandwich
# r-cran-proc r-cran-emmeans r-cran-jsonlite); `make test` only reads the committed JSON.
fixtures:
	@command -v Rscript >/dev/null || { echo "make fixtures needs R (apt-get install r-base-core r-cran-survey ...)"; exit 2; }
	for script in tests/reference/R/[!_]*.R; do echo "Rscript $$script"; Rscript "$$script" || exit 1; done

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_validate.py

clean:
	rm -rf $(VENV) reports/*.html reports/analyst reports/figures reports/results \
		reports/tables reports/results.json
