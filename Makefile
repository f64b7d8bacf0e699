# One-command set-up on a fresh machine: both targets create .venv (CPU torch) when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
DEMO_OUT ?= demo_out

.PHONY: venv demo test clean

$(BIN)/slt-train: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(FIND_LINKS) torch==2.13.0
	$(BIN)/pip install --quiet $(FIND_LINKS) -e ".[test]"
	touch $(BIN)/slt-train

venv: $(BIN)/slt-train

demo: venv
	$(BIN)/slt-demo --out $(DEMO_OUT)

# pytest exits 5 when it collected nothing; treat that as a failure of the suite, not a crash of make.
test: venv
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

clean:
	rm -rf $(VENV) $(DEMO_OUT) *.egg-info
