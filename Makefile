# The two commands of the README: `make demo` (main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch/torchvision pair that installs on this kind of machine (see the manual's Install page); override for others.
TORCH_PIP ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= demo_out

.PHONY: setup demo test test-fast lint docs bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIP)
	$(PY) -m pip install -q -e ".[test,docs]"
	touch $@

demo: setup
	$(VENV)/bin/cardiacclip demo --out $(DEMO_OUT)

# Lint (ruff), function length (at most 60 lines) and cyclomatic complexity (radon, at most 10), and the layer
# contracts (import-linter) run before the tests, in CI too.
lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(PY) scripts/check_function_length.py src --max 60 --max-complexity 10
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

# Everything but the slow end-to-end tests: the lane to run while working.
test-fast: lint
	$(PY) -m pytest -q -m "not slow"

# The manual (docs/, mkdocs.yml) into site/; --strict: a broken link, a page missing from the navigation or an
# API object that does not resolve fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(VENV)/bin/mkdocs build --strict --quiet

bench: setup
	$(PY) benchmarks/bench_synthetic.py
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) site
