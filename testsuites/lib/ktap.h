/*
 * KTAP diagnostics shared by the lab's guest suites: '#' lines that explain a result.
 * Include as "../lib/ktap.h" from testsuites/<suite>/<program>.c.
 */
#ifndef FAULTLAB_KTAP_H
#define FAULTLAB_KTAP_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *ktap_indent = ""; /* "    " inside a subtest */
static int ktap_quiet; /* set while a case repeats: only failures are explained again */

/* A "# ..." diagnostic line. */
static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	if (ktap_quiet)
		return;
	va_start(ap, fmt);
	printf("%s# ", ktap_indent);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Print why a case fails and return -1, for "return fail(...)". */
static inline int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s# FAIL: ", ktap_indent);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	return -1;
}

/*
 * Page-allocation failure injection for the calling thread only: fail_page_alloc with its
 * task filter, which the lab's "inject" pressure profile sets up. Between inject_faults(1)
 * and inject_faults(0) the kernel may fail this thread's page allocations. Use it only around
 * code that touches memory and makes no system call: a page fault whose allocation failed
 * is retried, so that code must see no difference at all. Without the profile the kernel
 * injects nothing and this costs two writes.
 */
static __thread int inject_fd = -1;
static __thread pid_t inject_tid; /* the thread inject_fd belongs to (a forked child reopens) */

static inline void inject_faults(int on)
{
	int tries;

	if (inject_fd >= 0 && inject_tid != gettid()) {
		close(inject_fd);
		inject_fd = -1;
	}
	if (inject_fd < 0) {
		if (!on) /* never opened with make-it-fail on: opening could fail then */
			return;
		inject_fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
		inject_tid = gettid();
		if (inject_fd < 0)
			return;
	}
	for (tries = 0; tries < 1000; tries++) /* the write itself allocates nothing */
		if (pwrite(inject_fd, on ? "1" : "0", 1, 0) == 1)
			return;
}

#endif
