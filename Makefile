# The template's two commands: `make demo` and `make test`. `make` alone lists them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .demo
DEMO_BIND ?= 127.0.0.1:8000

.DEFAULT_GOAL := help
.PHONY: help bootstrap demo test clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: $(VENV)/.installed ## Create .venv with cookiecutter and the suite's tools

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

demo: bootstrap ## Bake the default service into .demo/ and serve it
	rm -rf $(DEMO_DIR)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) .
	cd $(DEMO_DIR)/*/ && $(MAKE) --no-print-directory install \
		&& echo "Serving the demo service at http://$(DEMO_BIND)/ (Ctrl-C to stop)" \
		&& exec $(MAKE) --no-print-directory serve BIND=$(DEMO_BIND)

test: bootstrap ## Run the whole template suite (bakes, checks and serves real projects)
	$(BIN)/python -m pytest

clean: ## Remove .venv and .demo/
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .hypothesis .ruff_cache
