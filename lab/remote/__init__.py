"""`lab run --target ssh://...`: the suites on an already booted remote machine."""
