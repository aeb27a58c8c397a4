# The template's two commands: `make demo` and `make test` (and `make test-fast`,
# `make bench`).
# `make` alone lists them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .demo
DEMO_BIND ?= 127.0.0.1:8000

.DEFAULT_GOAL := help
# Debian packages the suite and the benchmark run for real: nginx as the
# gateway in front of baked services, wrk as the load generator, PostgreSQL,
# Chromium for /docs, and podman (with buildah and runc) to build and run the
# baked Dockerfile on a base image debootstrap makes (no registry needed).
SYSTEM_PACKAGES := nginx-light wrk postgresql chromium podman buildah runc debootstrap
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help bootstrap system-packages demo test test-fast bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: $(VENV)/.installed ## Create .venv with cookiecutter and the suite's tools

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

demo: bootstrap ## Bake the default service into .demo/ and serve it
	rm -rf $(DEMO_DIR)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) .
	cd $(DEMO_DIR)/*/ && $(MAKE) --no-print-directory install migrate \
		&& echo "Serving the demo service at http://$(DEMO_BIND)/ (Ctrl-C to stop)" \
		&& exec $(MAKE) --no-print-directory serve BIND=$(DEMO_BIND)

system-packages: ## Install the suite's Debian packages (SYSTEM_PACKAGES) with apt-get when they are missing
	@missing=$$(for package in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' \
		|| echo $$package; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing $$missing with apt-get"; \
		$(SUDO) apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

test: bootstrap system-packages ## Run the whole template suite (bakes, checks and serves real projects)
	$(BIN)/python -m pytest

test-fast: bootstrap ## Run the fast tier (tests/fast/: hooks, rendering, static checks, the default bake's tests; no apt, server or container)
	$(BIN)/python -m pytest tests/fast

bench: bootstrap system-packages ## Benchmark the service against bare Quart and FastAPI, and per layer; rewrites docs/performance.md's figures
	$(BIN)/python bench/run.py --markdown docs/performance.md

clean: ## Remove .venv, .demo/ and the benchmark's bench/.venv
	rm -rf $(VENV) $(DEMO_DIR) bench/.venv .pytest_cache .hypothesis .ruff_cache
