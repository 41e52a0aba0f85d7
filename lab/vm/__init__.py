"""QEMU guests: the process, its console, QMP, the agent channel, and the SSH server."""
