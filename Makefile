# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing
# (a .venv in the repository) and need nothing but Python 3.11, Node.js, make and git.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install test run clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

install: $(INSTALLED)

# pytest's exit code 5 means "no tests ran": that is a failure here, never a pass.
test: install
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

run: install
	@echo "make run: the local stack arrives with the next change; use make test for now." >&2; exit 1

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .local
