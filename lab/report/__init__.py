"""The report of a run, made from the history: an HTML page, a Markdown summary, JUnit XML of
every cell and a terminal summary; the exit status says whether the run has new regressions."""
