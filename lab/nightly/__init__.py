"""Nightly regression runs: the matrix of kernels, arch variants, suites and pressure."""
