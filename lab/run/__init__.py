"""The run stage: a built kernel and the suites become guests, program runs and results."""
