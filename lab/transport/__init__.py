"""How the lab reaches the machine that runs the suites: the QEMU guest's console agent, or
the same agent over SSH on a remote target."""
