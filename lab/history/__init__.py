"""The results history: runs, their cells and case results in SQLite (store.py), read from
results directories (ingest.py), classified (classify.py) and compared (compare.py)."""
