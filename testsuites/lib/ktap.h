/*
 * KTAP diagnostics shared by the lab's guest suites: '#' lines that explain a result.
 * Include as "../lib/ktap.h" from testsuites/<suite>/<program>.c.
 */
#ifndef FAULTLAB_KTAP_H
#define FAULTLAB_KTAP_H

#include <stdarg.h>
#include <stdio.h>

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

#endif
