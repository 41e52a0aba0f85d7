"""`lab bisect`: find the commit, or the patch of a series, that made a test fail."""
