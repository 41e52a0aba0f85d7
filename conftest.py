"""The lab's pytest plugin (lab/run/pytest_plugin.py) for the suites and the lab's tests."""

pytest_plugins = ("lab.run.pytest_plugin",)
