/*
 * Command-line helpers shared by the suites' programs (built with _GNU_SOURCE, which
 * declares program_invocation_short_name in <errno.h>).
 */
#ifndef FAULTLAB_OPTIONS_H
#define FAULTLAB_OPTIONS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The numeric value of option `opt`, or exit 2 naming it when `s` is not a number in
 * min..max. */
static inline long option_number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (%ld..%ld)\n", program_invocation_short_name,
			opt, s, min, max);
		exit(2);
	}
	return v;
}

#endif
