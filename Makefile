# abroad: the two commands are `make demo` and `make test`; everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
ASSETS := src/abroad/report/assets
OUT ?= out

.PHONY: demo test install install-test assets lint typecheck bench clean browser postgres

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip==25.0.1"

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed assets
install-test: $(VENV)/.installed-test assets browser postgres

# Offline map data and the map library, from the npm registry at install time, pinned by
# web/package-lock.json, converted once into the package's asset folder.
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --silent --no-audit --no-fund
	touch $@

$(ASSETS)/.built: web/node_modules/.installed tools/build_assets.py $(VENV)/.installed
	$(PY) tools/build_assets.py web/node_modules $(ASSETS)
	touch $@

assets: $(ASSETS)/.built

# Headless Chromium for the offline-report test (Debian packages); skipped if already there.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and not root: browser tests will be skipped"; fi; }

# PostgreSQL 15 for the server tests (Debian package); the tests start and stop a throwaway
# cluster themselves. Skipped if already there.
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL 15 not found and not root: the PostgreSQL server tests will be skipped"; fi; }

# The main job on the bundled example: the status quo (catchments, demand, simulated queues),
# the planned network under a permissive host, and the comparison of every variant.
demo: install
	$(VENV)/bin/abroad demo examples/us-2024 --out $(OUT)
	$(VENV)/bin/abroad plan examples/us-2024 --variant permissive-host --time-limit 20 --out $(OUT)/plan
	$(VENV)/bin/abroad compare examples/us-2024 --time-limit 10
	$(VENV)/bin/abroad tours plan examples/us-2024 --compare examples/us-2024/tours-2023.yaml --seconds 10 --out $(OUT)/tours
	@echo "The operations console, live from a replayed voting day (runs until Ctrl-C):"
	@echo "  $(VENV)/bin/abroad demo-live examples/us-2024 --plan $(OUT)/plan --speed 120"

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

typecheck: $(VENV)/.installed-test
	$(VENV)/bin/mypy

test: install-test lint typecheck
	$(VENV)/bin/pytest -n 2 -q

bench: install-test
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) web/node_modules $(ASSETS) $(OUT) .pytest_cache .mypy_cache .ruff_cache
