# faultlab: `make run` runs the default job, `make test` runs the lab's tests.
# Both install what they need first: the Debian packages of debian-packages.txt (with sudo
# when not root), then the Python package into a virtual environment of the checkout (.venv,
# made from $(PYTHON): Debian's own python3 refuses pip outside one).
PYTHON ?= python3
VENV ?= .venv
VPYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PACKAGES := $(shell sed -e 's/\#.*//' debian-packages.txt)
PYTEST_ARGS ?=
LINTED := lab tests testsuites conftest.py

.PHONY: deps packages venv run test lint
deps: packages venv

packages:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

# Rebuilt when the package's dependencies change; `lab` is then $(VENV)/bin/lab.
$(VENV)/.installed: pyproject.toml
	@[ -x $(VPYTHON) ] || $(PYTHON) -m venv $(VENV)
	$(VPYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@
	@echo "lab is $(VENV)/bin/lab (or: . $(VENV)/bin/activate)"

run: deps
	$(VPYTHON) -m lab run --arch x86_64,ppc64 --suite all

test: deps lint
	$(VPYTHON) -m pytest tests testsuites --lab-arch x86_64,ppc64 $(PYTEST_ARGS)

lint: venv
	$(VPYTHON) -m ruff check $(LINTED)
	$(VPYTHON) -m ruff format --check $(LINTED)
