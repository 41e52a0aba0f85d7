"""Parsing of guest test output and kernel logs into results and reports."""
