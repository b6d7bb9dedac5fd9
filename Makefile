# One entry point for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json

.PHONY: help install nats postgres chromium ui-build run test typecheck lint bench fuzz kpi clean

help:
	@echo "make run    - stockline up --config config/demo.json (every part its own process) fed by the demo feed"
	@echo "make test   - install, type-check, lint and run every test"
	@echo "make bench  - run the benchmarks; figures go to bench/results/latest.json, a chart to latest.svg"
	@echo "make kpi    - today's integration vs stockline over 7 simulated days (stockline demo kpi); report in .data/kpi"
	@echo "make fuzz   - fuzz every decoder and intake of a running node (FUZZ_RUNS=20000, FUZZ_SEED to repeat a run)"

# npm ci only when the lock file changed since the last install.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

install: $(NPM_STAMP) nats

# Tests and the local topology run real nats-server processes; Debian ships the 2.9 server.
nats:
	@command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || \
		{ echo "installing nats-server"; apt-get update -qq && apt-get install -y -qq nats-server; }
	@bash scripts/ensure-local-nats.sh

# The browser tests of the dashboards (test/ui) drive Debian's chromium through playwright-core.
chromium:
	@[ -x /usr/bin/chromium ] || \
		{ echo "installing chromium"; apt-get update -qq && apt-get install -y -qq chromium; }

# The dashboards (/ui): bundled by vite into ui/dist, which the API serves as static files.
ui-build: $(NPM_STAMP)
	npx vite build --config ui/vite.config.ts --logLevel warn

# The PostgreSQL event store's tests use the machine's server (127.0.0.1:5432): start it where it is not running.
postgres:
	@bash scripts/ensure-local-postgres.sh

typecheck: $(NPM_STAMP)
	npx tsc --noEmit -p tsconfig.json
	npx tsc --noEmit -p ui/tsconfig.json

lint: $(NPM_STAMP)
	npx biome ci .

test: install postgres chromium typecheck lint ui-build
	npx vitest run

# stockline up with the demo's configuration (every part its own process) plus the demo feed as a driver.
run: install ui-build
	bash scripts/run-demo.sh $(RUN_ARGS)

bench: install
	npx tsx bench/run.ts

# The outcome in numbers (issue 12): KPI_ARGS="--days 14 --seed 7" to vary it.
kpi: $(NPM_STAMP)
	npx tsx services/cli.ts demo kpi $(KPI_ARGS)

# The long run of test/fuzz (make test runs a few hundred cases); prints a classification table.
FUZZ_RUNS ?= 20000
fuzz: install
	FUZZ_RUNS=$(FUZZ_RUNS) npx vitest run test/fuzz

clean:
	rm -rf .data bench/results/latest.json bench/results/latest.svg
