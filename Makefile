# faultlab: `make run` runs the default job, `make test` runs the lab's tests.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PACKAGES := $(shell sed -e 's/\#.*//' debian-packages.txt)
PYTEST_ARGS ?=

.PHONY: deps run test lint
deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	$(PYTHON) -m pip install -q -e '.[test]'

run: deps
	$(PYTHON) -m lab run --arch x86_64,ppc64 --suite all

test: deps lint
	$(PYTHON) -m pytest tests testsuites --arch x86_64,ppc64 $(PYTEST_ARGS)

lint:
	$(PYTHON) -m ruff check lab tests testsuites conftest.py
	$(PYTHON) -m ruff format --check lab tests testsuites conftest.py
