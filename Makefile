# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing
# (a .venv in the repository) and need nothing but Python 3.11, Node.js, make and git.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install test lint unit run e2e clean browser

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make: installing the Python packages into $(VENV) (requirements-dev.txt; the first time takes 1-3 minutes)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

install: $(INSTALLED)

# Lint first (pyproject.toml says what is checked), then every test tier: ruff, then mypy (its
# cache in .mypy_cache keeps a re-run to seconds); any finding fails the target.
lint: install
	@$(BIN)/ruff check .
	@$(BIN)/mypy

# The console's browser tests (tests/e2e/test_console.py) drive Debian's chromium through its
# chromedriver. Installed here when missing (CI runs as root with apt); a machine without apt-get
# as root gets one line saying so, and those tests skip with the same reason.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "make browser: installing Debian's chromium and chromium-driver for the console's browser tests (a minute or two)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >/dev/null || { echo "make browser: apt-get could not install chromium" >&2; exit 1; }; \
	else echo "make browser: no chromium, and no apt-get as root to install it: the browser tests will skip"; fi

# pytest's exit code 5 means "no tests ran": that is a failure here, never a pass. The suite runs on
# TEST_WORKERS pytest-xdist workers (tests/conftest.py keeps a local stack's tests on one worker).
TEST_WORKERS ?= 2
test: install lint browser
	@$(BIN)/python -m pytest --numprocesses=$(TEST_WORKERS) --dist=loadgroup; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# The whole pipeline on this machine (embedded AWS emulator, no account): see "Running it locally".
# LOCAL_SOURCES_FILE=<file.json> (sources-secret format) adds or replaces sources (devstack/sources.py).
run: install
	@LOCAL_SOURCES_FILE="$(LOCAL_SOURCES_FILE)" $(BIN)/python -m devstack $(if $(V),-v,)

# The fast tiers only (no local stack, no synthesis): a quick check while working.
unit: install lint
	@$(BIN)/python -m pytest tests/unit tests/functional tests/attacks tests/console; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make unit: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# Only the end-to-end tests (they start their own local stack on free ports; make test runs them too).
e2e: install
	@$(BIN)/python -m pytest tests/e2e

# The CloudFormation of both stages, offline (no AWS account, no CDK CLI): the CDK app runs
# directly, cdk-nag runs on it, then cfn-lint and checkov (in .venv-checkov, installed when
# missing). Output: infrastructure/cdk.out/<stage>/.
# prod refuses to synthesize without an alert subscriber; this offline check gives it the reserved
# example address below (never deployed: `cdk deploy` takes the real one, README: Deploying).
SYNTH_PROD_ALERT_EMAIL ?= oncall@example.com
.PHONY: synth infra-deps
synth: install
	@cd infrastructure && rm -rf chalice.out cdk.out && for stage in dev prod; do \
	  subscriber=; [ $$stage = prod ] && subscriber=',"alertEmail":"$(SYNTH_PROD_ALERT_EMAIL)"'; \
	  CDK_CONTEXT_JSON='{"stage":"'$$stage'"'"$$subscriber"'}' CDK_OUTDIR=cdk.out/$$stage ../$(BIN)/python cdk_app.py || exit 1; \
	done
	$(BIN)/cfn-lint --regions us-east-1 -- infrastructure/cdk.out/dev/dev.template.json infrastructure/cdk.out/prod/prod.template.json
	$(BIN)/python -m infrastructure.checkov_scan infrastructure/cdk.out/dev/dev.template.json infrastructure/cdk.out/prod/prod.template.json
	@echo "make synth: infrastructure/cdk.out/dev and infrastructure/cdk.out/prod"

# The CDK CLI pinned in infrastructure/package-lock.json, for `npx cdk deploy` (README: Deploying).
infra-deps:
	cd infrastructure && npm ci --no-audit --no-fund

# Long runs that stay out of `make test`: random fuzzing, the fault-injection report, load.
.PHONY: fuzz reliability load
fuzz: install
	@HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -p no:cacheprovider tests/fuzz

reliability: install
	@$(BIN)/python -m tests.reliability --webhooks 60

# load: 10 minutes at LOAD_RATE (what the local pipeline, one moto_server and one queue poller, keeps
# up with on this 2-core machine), then 30 s at 10x it; docs/RELIABILITY.md, "Load". ~20 minutes.
LOAD_RATE ?= 4
load: install
	@$(BIN)/python -m bench.load --rate $(LOAD_RATE) --seconds 600 --burst-factor 10 --burst-seconds 30 --record

# Every performance figure against its comparison, with its budget (docs/PERFORMANCE.md), in about a
# minute; exits 1 when a budget is missed. `python -m bench --record` also writes them there.
.PHONY: bench
bench: install
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .mypy_cache .hypothesis .local
