"""Guest images: the agent, the suites' programs and the kernel's modules in an initramfs;
an SSH server and the lab's SSH keys on request."""
