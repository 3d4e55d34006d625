# One command to set up and run the main job, one to set up and run the tests.
#   make demo   -> creates .venv, installs lvquant, runs it on a bundled example
#   make test   -> creates .venv, installs lvquant + test tools, runs the suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: venv demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lvquant demo --out lvquant-demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks lvquant-demo
