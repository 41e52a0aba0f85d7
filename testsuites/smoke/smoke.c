/*
 * faultlab smoke suite: the basic page fault paths, reported as KTAP version 1.
 *
 * Usage: smoke [--page-size N]
 * Build: gcc -static -O2 -Wall -Wextra -o smoke smoke.c
 *
 * Every case checks the data it wrote word by word and prints, as "# " diagnostics, the
 * minor faults it caused, to show the fault path ran. Exit status 0 if all cases pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../lib/ktap.h"

#define ZEROS (-1) /* verify(): expect zero-filled pages instead of a pattern */

static size_t ps;          /* page size */
static long expected_ps;   /* --page-size, 0 when not given */

/* ---- helpers ---- */

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Word `word` of page `page`, generation `gen`; reads as fa17 GG PPPPPP WWWW in hex. */
static uint64_t pattern(size_t page, int gen, size_t word)
{
	return 0xfa17ULL << 48 | (uint64_t)(gen & 0xff) << 40 |
	       (uint64_t)(page & 0xffffff) << 16 | (word & 0xffff);
}

/* Fill npages at mem with the pattern of pages page0, page0+1, ... */
static void fill(void *mem, size_t npages, size_t page0, int gen)
{
	uint64_t *w = mem;
	size_t per = ps / 8, p, i;

	inject_faults(1);
	for (p = 0; p < npages; p++)
		for (i = 0; i < per; i++)
			w[p * per + i] = pattern(page0 + p, gen, i);
	inject_faults(0);
}

/* Check what fill() wrote (or zeros if gen is ZEROS); report the first mismatch. */
static int verify(const void *mem, size_t npages, size_t page0, int gen)
{
	const uint64_t *w = mem;
	size_t per = ps / 8, p, i;

	inject_faults(1);
	for (p = 0; p < npages; p++)
		for (i = 0; i < per; i++) {
			uint64_t want = gen == ZEROS ? 0 : pattern(page0 + p, gen, i);
			uint64_t got = w[p * per + i];
			if (got == want)
				continue;
			inject_faults(0);
			return fail("page %zu offset 0x%zx: expected 0x%016" PRIx64
				    ", got 0x%016" PRIx64, page0 + p, i * 8, want, got);
		}
	inject_faults(0);
	return 0;
}

static void *map(size_t npages, int flags, int fd)
{
	void *p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		fail("mmap of %zu pages: %s", npages, strerror(errno));
		return NULL;
	}
	return p;
}

/* An unlinked file of npages pages on /tmp (tmpfs in the guest), or -1. */
static int tmp_file(size_t npages)
{
	char path[] = "/tmp/smoke.XXXXXX";
	struct statfs sf;
	int fd = mkstemp(path);

	if (fd < 0)
		return fail("mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	if (fstatfs(fd, &sf) == 0 && sf.f_type != TMPFS_MAGIC)
		diag("/tmp is not tmpfs (f_type %#lx)", (unsigned long)sf.f_type);
	if (ftruncate(fd, npages * ps) < 0) {
		fail("ftruncate: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- cases: 0 if passed, -1 if failed ---- */

static int case_page_size(void)
{
	diag("page size %zu", ps);
	if (expected_ps && (long)ps != expected_ps)
		return fail("expected page size %ld, got %zu", expected_ps, ps);
	return 0;
}

static int case_anon_write_fault(void)
{
	enum { N = 64 };
	char *p = map(N, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	long faults;
	int rc;

	if (!p)
		return -1;
	/* best effort: no (m)THP, so each base page takes its own fault */
	madvise(p, N * ps, MADV_NOHUGEPAGE);
	faults = minflt();
	fill(p, N, 0, 1);
	faults = minflt() - faults;
	diag("%ld minor faults writing %d anonymous pages", faults, N);
	rc = verify(p, N, 0, 1);
	if (!rc && faults < N)
		rc = fail("expected at least %d minor faults, got %ld", N, faults);
	munmap(p, N * ps);
	return rc;
}

static int case_tmpfs_shared_mmap(void)
{
	enum { N = 32 };
	size_t len = N * ps, done = 0;
	char *buf = malloc(len), *p = NULL;
	int fd = tmp_file(N), rc = -1;
	long faults;
	ssize_t n;

	if (!buf || fd < 0 || !(p = map(N, MAP_SHARED, fd)))
		goto out;
	faults = minflt();
	fill(p, N, 0, 2);
	faults = minflt() - faults;
	diag("%ld minor faults writing %d shared file pages", faults, N);
	if (faults < N) {
		fail("expected at least %d minor faults, got %ld", N, faults);
		goto out;
	}
	if (msync(p, len, MS_SYNC) < 0) {
		fail("msync: %s", strerror(errno));
		goto out;
	}
	munmap(p, len);
	p = NULL;

	while (done < len) {
		n = pread(fd, buf + done, len - done, done);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			fail("pread at %zu: %s", done, n ? strerror(errno) : "end of file");
			goto out;
		}
		done += n > 0 ? n : 0;
	}
	if (verify(buf, N, 0, 2) < 0) {
		fail("pread() after munmap() does not see the data");
		goto out;
	}

	if (!(p = map(N, MAP_SHARED, fd)))
		goto out;
	rc = verify(p, N, 0, 2);
	if (rc < 0)
		fail("a new mapping does not see the data");
out:
	if (p)
		munmap(p, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int case_madvise_dontneed(void)
{
	enum { N = 8, FIRST = 2, COUNT = 4 }; /* pages 2-5 are dropped, 0-1 and 6-7 kept */
	char *p = map(N, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	long faults;
	int rc = -1;

	if (!p)
		return -1;
	fill(p, N, 0, 3);
	if (madvise(p + FIRST * ps, COUNT * ps, MADV_DONTNEED) < 0) {
		if (errno == ENOSYS)
			fail("madvise: ENOSYS, the kernel was built without CONFIG_ADVISE_SYSCALLS");
		else
			fail("madvise(MADV_DONTNEED): %s", strerror(errno));
		goto out;
	}
	faults = minflt();
	if (verify(p + FIRST * ps, COUNT, FIRST, ZEROS) < 0) {
		fail("dropped pages are not zero");
		goto out;
	}
	faults = minflt() - faults;
	diag("%ld minor faults reading %d dropped pages", faults, COUNT);
	if (faults < COUNT) {
		fail("expected at least %d minor faults refaulting dropped pages, got %ld", COUNT,
		     faults);
		goto out;
	}
	if (verify(p, FIRST, 0, 3) < 0 ||
	    verify(p + (FIRST + COUNT) * ps, N - FIRST - COUNT, FIRST + COUNT, 3) < 0) {
		fail("pages outside the madvise() range lost their data");
		goto out;
	}
	rc = 0;
out:
	munmap(p, N * ps);
	return rc;
}

static int case_remap_file_pages(void)
{
	enum { N = 16 };
	char *buf = malloc(ps), *p = NULL;
	int fd = tmp_file(N), rc = -1;
	size_t i, k;

	if (!buf || fd < 0)
		goto out;
	for (i = 0; i < N; i++) { /* file page i holds the pattern of page i */
		fill(buf, 1, i, 4);
		if (pwrite(fd, buf, ps, i * ps) != (ssize_t)ps) {
			fail("pwrite of page %zu: %s", i, strerror(errno));
			goto out;
		}
	}
	if (!(p = map(N, MAP_SHARED, fd)))
		goto out;

	/* window page k shows file page N-1-k */
	for (k = 0; k < N; k++)
		if (remap_file_pages(p + k * ps, ps, 0, N - 1 - k, 0) < 0) {
			fail("remap_file_pages(window page %zu, file page %zu): %s", k,
			     N - 1 - k, strerror(errno));
			goto out;
		}
	for (k = 0; k < N; k++)
		if (verify(p + k * ps, 1, N - 1 - k, 4) < 0) {
			fail("window page %zu does not show file page %zu", k, N - 1 - k);
			goto out;
		}
	diag("%d pages remapped in reverse order", N);

	errno = 0;
	if (remap_file_pages(p, ps, PROT_READ, 0, 0) == 0 || errno != EINVAL) {
		fail("remap_file_pages with prot != 0: expected EINVAL, got %s",
		     errno ? strerror(errno) : "success");
		goto out;
	}
	rc = 0;
out:
	if (p)
		munmap(p, N * ps);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "page_size", case_page_size },
	{ "anon_write_fault", case_anon_write_fault },
	{ "tmpfs_shared_mmap", case_tmpfs_shared_mmap },
	{ "madvise_dontneed", case_madvise_dontneed },
	{ "remap_file_pages", case_remap_file_pages },
};

int main(int argc, char **argv)
{
	size_t n = sizeof cases / sizeof cases[0], i;
	int failed = 0;
	char *end;

	if (argc == 3 && !strcmp(argv[1], "--page-size")) {
		expected_ps = strtol(argv[2], &end, 10);
		if (*end || expected_ps <= 0) {
			fprintf(stderr, "smoke: bad page size '%s'\n", argv[2]);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--page-size N]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a case crashes */
	ps = sysconf(_SC_PAGESIZE);

	printf("KTAP version 1\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		int ok = cases[i].run() == 0;
		printf("%sok %zu %s\n", ok ? "" : "not ", i + 1, cases[i].name);
		failed += !ok;
	}
	return failed ? 1 : 0;
}
