# One command to set up and run the main job, one to set up and run the tests.
#   make demo   -> creates .venv, installs lvquant, runs it on a bundled example
#   make test   -> creates .venv, installs lvquant + training + test tools (+ dask-jobqueue), runs the suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
# analysis only (ONNX Runtime, no PyTorch) for the demo; training + tests for the suite.
# compileall: an editable install has no bytecode, and PYTHONDONTWRITEBYTECODE may forbid writing it.
RUN     = $(VENV)/.installed-run
DEV     = $(VENV)/.installed-dev

.PHONY: venv demo test bench clean browser

$(RUN): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	$(PY) -m compileall -q src/lvquant
	touch $(RUN)

$(DEV): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[train,test,slurm]'
	$(PY) -m compileall -q src/lvquant
	touch $(RUN) $(DEV)

venv: $(DEV)

demo: $(RUN)
	$(VENV)/bin/lvquant demo --out lvquant-demo

# Debian's Chromium for the qc.html browser test (tests/test_cohort.py); skipped there when it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get install -y -q chromium >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) || \
	  echo "note: Debian's chromium could not be installed; the qc.html browser test will be skipped"

test: $(DEV) browser
	$(PY) -m pytest -q

bench: $(DEV)
	$(PY) benchmarks/run_benchmarks.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks lvquant-demo
