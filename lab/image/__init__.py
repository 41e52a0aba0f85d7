"""Guest images: the agent, the suites' programs and the kernel's modules in an initramfs."""
