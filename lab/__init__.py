"""faultlab: build patched kernels, boot them in QEMU and run memory-management fault suites."""
