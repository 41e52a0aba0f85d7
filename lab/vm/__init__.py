"""QEMU guests: the process, its console, QMP, and the agent channel."""
