/*
 * Time and reproducible randomness shared by the lab's guest suites.
 * Include as "../lib/rand.h" from testsuites/<suite>/<program>.c.
 */
#ifndef FAULTLAB_RAND_H
#define FAULTLAB_RAND_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: for durations and the time a case may repeat. */
static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The next number of a splitmix64 generator: the same seed gives the same sequence on every
 * arch, so a seed repeats a run. */
static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
