"""The suites as data: the catalogue (suite.toml), the run knobs, the guest path layout and
the memory-pressure profiles."""
