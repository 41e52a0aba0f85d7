"""The lab's pytest plugin comes with the package (entry point pytest11 `faultlab`:
lab/run/pytest_plugin.py); `make test` installs it into the project's virtual environment."""
