"""Peer suites: other projects' test programs, built for the arch and kernel under test.

A builder (see registry.py) turns (arch, kernel build, binary names) into a PeerBuild; its
results are cached by a content hash under the lab's cache (artifacts.py).
"""
