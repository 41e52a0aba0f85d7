"""Where the nightly's jobs run: here (`local`) or on a pool of workers (`celery`)."""
