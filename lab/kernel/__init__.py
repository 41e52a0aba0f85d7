"""Kernel sources, patch series, configs and builds."""
