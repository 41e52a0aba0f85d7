/*
 * faultlab nonlinear suite: remap_file_pages(), emulated since Linux 4.0 by one vma per
 * remapped range (mm/mmap.c), reported as KTAP version 1.
 *
 * Usage: nonlinear --page-size N --tmpfs DIR [--ext4 DIR] [--seed N] [--rounds N]
 *                  [--duration-s S]
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o nonlinear nonlinear.c
 *
 * Every 8-byte word of every test file holds a tag naming its file, page, generation and
 * word, so any page seen through a window can be identified. Each case keeps the expected
 * map (window page -> file page) and, after every batch of remaps, checks every page of the
 * window against it and checks /proc/self/maps: the vmas must cover the window with the file
 * offsets of the map. The errnos asserted are those of Linux 6.1. File-backed cases run once
 * per filesystem (_tmpfs, _ext4). Exit status 0 if every case passes or skips.
 *
 * max_map_count briefly lowers the system-wide vm.max_map_count when it can write it: meant
 * for the lab's guests. On a shared host run it with /proc/sys read-only, and it skips:
 *   unshare -m sh -c 'mount -o bind /proc/sys /proc/sys &&
 *                     mount -o remount,bind,ro /proc/sys && ./nonlinear ...'
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ktap.h"
#include "../lib/rand.h"

enum { PASS = 0, FAIL = -1, SKIP = 1 };

#define TAG_MAGIC 0x4e4cULL       /* "NL" in the top 16 bits of every tag */
#define MAX_RUN 8                 /* longest run of file pages in one random remap */
#define RACE_PAGES 64             /* concurrent_readers: pages, one bit each in a mask */
#define RACE_SECONDS 2
#define RACE_READERS 2
#define MAP_HEADROOM 200          /* max_map_count: vmas allowed above the current count */
#define MAX_MAP_COUNT "/proc/sys/vm/max_map_count"

static size_t ps;                 /* page size */
static uint64_t seed;
static unsigned rounds = 20;
static double duration_s;  /* --duration-s: repeat each case for its share of this */
static char skip_reason[256];
static __thread uint64_t rng;     /* per thread; each case reseeds it from --seed */
static unsigned next_file_id = 1;

/* ---- reporting ---- */

/* Record why a case skips and return SKIP. */
static int skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
	va_end(ap);
	return SKIP;
}

static void report(unsigned n, const char *name, int rc)
{
	if (ktap_quiet) {
		if (rc == FAIL)
			printf("# FAIL: %s\n", name);
		return;
	}
	if (rc == SKIP)
		printf("%sok %u %s # SKIP %s\n", ktap_indent, n, name, skip_reason);
	else
		printf("%s%sok %u %s\n", ktap_indent, rc == PASS ? "" : "not ", n, name);
}

static const char *errname(int err)
{
	return err ? strerrorname_np(err) : "success";
}

/* PASS if a call returned `want` (0 or an errno). */
static int expect(int got, int want, const char *call)
{
	if (got == want)
		return PASS;
	return fail("%s: expected %s, got %s", call, errname(want), errname(got));
}

/* ---- random numbers (splitmix64, ../lib/rand.h) ---- */

static uint64_t rnd(void)
{
	return rng_next(&rng);
}

static size_t below(size_t n)
{
	return rnd() % n;
}

/* ---- tagged test files ---- */

/* Word `word` of page `page` of file `file`, generation `gen`: 4e4c FF GG PPPP WWWW in hex. */
static uint64_t tag(unsigned file, size_t page, unsigned gen, size_t word)
{
	return TAG_MAGIC << 48 | (uint64_t)(file & 0xff) << 40 | (uint64_t)(gen & 0xff) << 32 |
	       (uint64_t)(page & 0xffff) << 16 | (word & 0xffff);
}

struct tagid {
	unsigned file, gen;
	size_t page, word;
};

static int untag(uint64_t v, struct tagid *t)
{
	if (v >> 48 != TAG_MAGIC)
		return -1;
	t->file = v >> 40 & 0xff;
	t->gen = v >> 32 & 0xff;
	t->page = v >> 16 & 0xffff;
	t->word = v & 0xffff;
	return 0;
}

struct tfile {
	int fd;                 /* of an unlinked file */
	unsigned id;            /* in every tag: pages of other test files are recognised */
	size_t npages;
	unsigned char *gen;     /* current generation of each page */
};

static void fill_page(void *page, const struct tfile *f, size_t fpage)
{
	uint64_t *w = page;
	size_t i;

	for (i = 0; i < ps / 8; i++)
		w[i] = tag(f->id, fpage, f->gen[fpage], i);
}

/* Index of the first word of `page` that is not file page fpage of f, or -1. */
static long bad_word(const uint64_t *page, unsigned file, size_t fpage, unsigned gen)
{
	size_t i;

	for (i = 0; i < ps / 8; i++)
		if (page[i] != tag(file, fpage, gen, i))
			return i;
	return -1;
}

/* What a page holds: "file F page P gen G" if it is one whole tagged page. */
static void describe(const uint64_t *page, char *buf, size_t len)
{
	struct tagid t;

	if (untag(page[0], &t) || t.word || bad_word(page, t.file, t.page, t.gen) >= 0)
		snprintf(buf, len, "no single file page (word 0 is 0x%016" PRIx64 ")", page[0]);
	else
		snprintf(buf, len, "file %u page %zu gen %u", t.file, t.page, t.gen);
}

/* PASS if `page` is file page fpage of f, else report the first mismatch. */
static int check_page(const void *page, const struct tfile *f, size_t fpage, const char *what,
		      size_t index)
{
	long i = bad_word(page, f->id, fpage, f->gen[fpage]);
	char seen[96];

	if (i < 0)
		return PASS;
	describe(page, seen, sizeof seen);
	return fail("%s %zu: expected file %u page %zu gen %u, offset 0x%lx holds 0x%016" PRIx64
		    "; the page shows %s", what, index, f->id, fpage, f->gen[fpage],
		    (unsigned long)i * 8, ((const uint64_t *)page)[i], seen);
}

/* An unlinked file of npages tagged pages (generation 1) in dir. */
static int tfile_open(struct tfile *f, const char *dir, size_t npages)
{
	char path[4096];
	void *buf = malloc(ps);
	size_t p;

	snprintf(path, sizeof path, "%s/nonlinear.XXXXXX", dir);
	f->fd = mkstemp(path);
	f->id = next_file_id++ % 255 + 1; /* 8 bits in the tags; repeats open many files */
	f->npages = npages;
	f->gen = malloc(npages);
	if (f->fd < 0 || !f->gen || !buf) {
		fail("test file %s: %s", path, strerror(errno));
		free(buf);
		return FAIL;
	}
	unlink(path);
	memset(f->gen, 1, npages);
	for (p = 0; p < npages; p++) {
		fill_page(buf, f, p);
		if (pwrite(f->fd, buf, ps, p * ps) != (ssize_t)ps) {
			fail("pwrite of file page %zu: %s", p, strerror(errno));
			free(buf);
			return FAIL;
		}
	}
	free(buf);
	return PASS;
}

static void tfile_close(struct tfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->gen);
}

/* Every page of the file, read with pread(), holds its current generation. */
static int verify_file(const struct tfile *f)
{
	void *buf = malloc(ps);
	int rc = buf ? PASS : fail("out of memory");
	size_t p;

	for (p = 0; p < f->npages && rc == PASS; p++)
		if (pread(f->fd, buf, ps, p * ps) != (ssize_t)ps)
			rc = fail("pread of file page %zu: %s", p, strerror(errno));
		else
			rc = check_page(buf, f, p, "pread() of file page", p);
	free(buf);
	return rc;
}

/* ---- windows: a shared mapping of a test file, and what it should show ---- */

struct window {
	struct tfile *f;
	char *addr;             /* npages, between two PROT_NONE guard pages */
	size_t npages;
	size_t *map;            /* expected: window page -> file page */
	unsigned long remaps;   /* successful remap_file_pages() calls */
};

static int window_open(struct window *w, struct tfile *f, size_t npages)
{
	char *r = mmap(NULL, (npages + 2) * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t k;

	w->f = f;
	w->npages = npages;
	w->remaps = 0;
	w->map = malloc(npages * sizeof *w->map);
	w->addr = NULL;
	if (r == MAP_FAILED || !w->map)
		return fail("window of %zu pages: %s", npages, strerror(errno));
	w->addr = mmap(r + ps, npages * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       f->fd, 0);
	if (w->addr == MAP_FAILED) {
		munmap(r, (npages + 2) * ps);
		w->addr = NULL;
		return fail("mmap of the window: %s", strerror(errno));
	}
	for (k = 0; k < npages; k++)
		w->map[k] = k;
	return PASS;
}

static void window_close(struct window *w)
{
	if (w->addr)
		munmap(w->addr - ps, (w->npages + 2) * ps);
	free(w->map);
}

/* remap_file_pages(): 0 or the errno. */
static int rfp(void *start, size_t size, int prot, size_t pgoff, int flags)
{
	return remap_file_pages(start, size, prot, pgoff, flags) ? errno : 0;
}

/* Show file pages fpage.. at window pages wpage.. (n pages); 0 or the errno. */
static int remap_try(struct window *w, size_t wpage, size_t fpage, size_t n, int flags)
{
	int err = rfp(w->addr + wpage * ps, n * ps, 0, fpage, flags);
	size_t i;

	if (err)
		return err;
	for (i = 0; i < n; i++) /* atomic: concurrent_readers reads the map */
		__atomic_store_n(&w->map[wpage + i], fpage + i, __ATOMIC_RELAXED);
	w->remaps++;
	return 0;
}

static int remap(struct window *w, size_t wpage, size_t fpage, size_t n, int flags)
{
	int err = remap_try(w, wpage, fpage, n, flags);

	if (err)
		return fail("remap_file_pages(window pages %zu-%zu, file page %zu, flags %#x): %s",
			    wpage, wpage + n - 1, fpage, flags, strerrorname_np(err));
	return PASS;
}

static int verify_window(const struct window *w)
{
	size_t k;

	for (k = 0; k < w->npages; k++) {
		inject_faults(1); /* reading the window page: faults only */
		if (bad_word((const uint64_t *)(w->addr + k * ps), w->f->id, w->map[k],
			     w->f->gen[w->map[k]]) < 0) {
			inject_faults(0);
			continue;
		}
		inject_faults(0);
		return check_page(w->addr + k * ps, w->f, w->map[k], "window page", k);
	}
	return PASS;
}

/* Vmas of the window in /proc/self/maps, or FAIL if their file offsets are not the map's. */
static int window_vmas(const struct window *w)
{
	uintptr_t lo = (uintptr_t)w->addr, hi = lo + w->npages * ps, at = lo, s, e, p;
	unsigned long long off;
	char line[4096];
	int count = 0, rc = PASS;
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		return fail("/proc/self/maps: %s", strerror(errno));
	while (rc == PASS && fgets(line, sizeof line, maps)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %llx", &s, &e, &off) != 3 ||
		    e <= lo || s >= hi)
			continue;
		if (s > at)
			rc = fail("/proc/self/maps: window page %zu is not mapped", (at - lo) / ps);
		for (p = s > lo ? s : lo; rc == PASS && p < e && p < hi; p += ps) {
			size_t k = (p - lo) / ps, fpage = off / ps + (p - s) / ps;

			if (fpage != w->map[k])
				rc = fail("/proc/self/maps: window page %zu is at file page %zu, "
					  "expected %zu", k, fpage, w->map[k]);
		}
		at = e < hi ? e : hi;
		count++;
	}
	fclose(maps);
	if (rc == PASS && at != hi)
		rc = fail("/proc/self/maps: window page %zu is not mapped", (at - lo) / ps);
	return rc == PASS ? count : FAIL;
}

/* Vma boundaries the map forces: places where the next window page is not the next file page. */
static size_t breaks(const struct window *w, size_t from, size_t to)
{
	size_t k, n = 0;

	for (k = from + 1; k < to; k++)
		n += w->map[k] != w->map[k - 1] + 1;
	return n;
}

/* Verify every page and the vmas; the number of vmas, or FAIL. */
static int check_window(const struct window *w)
{
	size_t need = breaks(w, 0, w->npages) + 1;
	int vmas;

	if (verify_window(w) || (vmas = window_vmas(w)) < 0)
		return FAIL;
	if ((size_t)vmas < need) /* a nontrivial map cannot be one vma: the emulation splits */
		return fail("%d vmas in the window, its map needs at least %zu", vmas, need);
	return vmas;
}

/* A tagged file of fpages pages in dir and a window on its first wpages. */
struct setup {
	struct tfile f;
	struct window w;
};

static int setup(struct setup *s, const char *dir, size_t fpages, size_t wpages)
{
	s->w.addr = NULL;
	s->w.map = NULL;
	if (tfile_open(&s->f, dir, fpages))
		return FAIL;
	return window_open(&s->w, &s->f, wpages);
}

static void teardown(struct setup *s)
{
	window_close(&s->w);
	tfile_close(&s->f);
}

/* Run body on a fresh setup. */
static int with_setup(const char *dir, size_t fpages, size_t wpages, int (*body)(struct window *))
{
	struct setup s;
	int rc = setup(&s, dir, fpages, wpages);

	if (rc == PASS)
		rc = body(&s.w);
	teardown(&s);
	return rc;
}

/* ---- random permutations as runs of consecutive file pages ---- */

struct run {
	size_t wpage, fpage, n;
};

static void shuffle(struct run *runs, size_t n)
{
	size_t i, j;
	struct run t;

	for (i = n; i > 1; i--) {
		j = below(i);
		t = runs[i - 1];
		runs[i - 1] = runs[j];
		runs[j] = t;
	}
}

/* File pages 0..n-1 cut into runs of 1..MAX_RUN pages and laid out over window pages 0..n-1
 * in a random order; the runs come back in another random order, that of the remaps. */
static size_t random_runs(struct run *runs, size_t n)
{
	size_t count = 0, p, len, w = 0, i;

	for (p = 0; p < n; p += len) {
		len = 1 + below(MAX_RUN);
		len = len < n - p ? len : n - p;
		runs[count++] = (struct run){ 0, p, len };
	}
	shuffle(runs, count);
	for (i = 0; i < count; w += runs[i++].n)
		runs[i].wpage = w;
	shuffle(runs, count);
	return count;
}

/* ---- cases ---- */

/* R rounds of random permutations of a 64-page file, remapped in runs. */
static int permute(struct window *w)
{
	struct run runs[64];
	int vmas, lo = 1 << 30, hi = 0;
	unsigned r;
	size_t i, n;

	for (r = 0; r < rounds; r++) {
		n = random_runs(runs, w->npages);
		for (i = 0; i < n; i++)
			if (remap(w, runs[i].wpage, runs[i].fpage, runs[i].n, 0))
				return fail("round %u", r);
		if ((vmas = check_window(w)) < 0)
			return fail("after round %u (%zu remaps)", r, n);
		lo = vmas < lo ? vmas : lo;
		hi = vmas > hi ? vmas : hi;
	}
	diag("%u rounds, %lu remap calls; window vmas after each round: %d to %d", rounds,
	     w->remaps, lo, hi);
	return PASS;
}

static int case_permute(const char *dir)
{
	return with_setup(dir, 64, 64, permute);
}

/* Split the window into one vma per page, then remap ranges across those splits. */
static int span_split(struct window *w)
{
	size_t n = w->npages, k, len, at, fpage, crossed = 0;
	unsigned i;
	int vmas;

	for (k = 0; k < n; k++) /* window page k shows file page k ^ 1: nothing merges */
		if (remap(w, k, k ^ 1, 1, 0))
			return FAIL;
	if ((vmas = check_window(w)) < 0)
		return FAIL;
	diag("%zu single-page remaps: %d vmas", n, vmas);
	for (i = 0; i < rounds; i++) {
		len = 3 + below(n / 4);
		at = below(n - len + 1);
		fpage = below(n - len + 1);
		k = breaks(w, at, at + len);
		if (i == 0 && k < 2)
			return fail("the first multi-page remap crosses %zu vma boundaries", k);
		crossed += k;
		if (remap(w, at, fpage, len, 0) || (vmas = check_window(w)) < 0)
			return fail("after remapping window pages %zu-%zu to file pages %zu-%zu",
				    at, at + len - 1, fpage, fpage + len - 1);
	}
	diag("%u multi-page remaps crossed %zu vma boundaries; %d vmas", rounds, crossed, vmas);
	if (remap(w, 0, 0, n, 0) || (vmas = check_window(w)) < 0)
		return fail("after remapping the whole window");
	if (vmas != 1)
		return fail("%d vmas after remapping the whole window in one call", vmas);
	diag("%lu remap calls; one call over the whole window left 1 vma", w->remaps);
	return PASS;
}

static int case_span_split_vmas(const char *dir)
{
	return with_setup(dir, 64, 64, span_split);
}

/* First page, last page, a range ending at the window end, and ranges leaving the window. */
static int edges(struct window *w)
{
	size_t n = w->npages, i;
	const struct {
		size_t wpage, fpage, n;
		int err;
		const char *what;
	} step[] = {
		{ 0, n + below(n), 1, 0, "the first page" },
		{ n - 1, n + below(n), 1, 0, "the last page" },
		{ n - 4, n + below(n - 3), 4, 0, "4 pages ending at the window end" },
		{ n - 3, n, 4, EINVAL, "4 pages ending one page past the window end" },
		{ 0, n, n, 0, "the whole window" },
	};
	int vmas = 0;

	for (i = 0; i < sizeof step / sizeof step[0]; i++) {
		int err = remap_try(w, step[i].wpage, step[i].fpage, step[i].n, 0);

		if (expect(err, step[i].err, step[i].what) || (vmas = check_window(w)) < 0)
			return fail("after remapping %s", step[i].what);
		diag("%s: %s; window vmas: %d", step[i].what, errname(err), vmas);
	}
	if (expect(rfp(w->addr - ps, 2 * ps, 0, 0, 0), EINVAL, "2 pages from the guard page "
		   "before the window") || check_window(w) < 0)
		return FAIL;
	if (vmas != 1)
		return fail("%d vmas after remapping the whole window in one call", vmas);
	diag("%lu remap calls", w->remaps);
	return PASS;
}

static int case_edges(const char *dir)
{
	return with_setup(dir, 32, 16, edges);
}

/* Writes through remapped window pages (one pair of them aliases a file page) land in the
 * file pages they show. */
static int write_through(struct window *w)
{
	struct tfile *f = w->f;
	size_t n = w->npages, k, fpage, written;
	unsigned char *done = malloc(f->npages);
	int g, vmas;

	if (!done)
		return fail("out of memory");
	for (g = 0; g < 2; g++) {
		for (k = 0; k < n; k++) /* random file pages; the last window page aliases page 0 */
			if (remap(w, k, k == n - 1 ? w->map[0] : below(f->npages), 1, 0))
				break;
		if (k < n || (vmas = check_window(w)) < 0)
			break;
		memset(done, 0, f->npages);
		for (k = n, written = 0; k-- > 0;) { /* the alias first: page 0 must see it */
			fpage = w->map[k];
			if (done[fpage]++)
				continue;
			f->gen[fpage]++;
			fill_page(w->addr + k * ps, f, fpage);
			written++;
		}
		if (verify_window(w) || verify_file(f))
			break;
		diag("pass %d: %zu file pages written through %zu window pages (%d vmas), "
		     "all %zu file pages read back", g + 1, written, n, vmas, f->npages);
	}
	free(done);
	if (g < 2)
		return fail("pass %d", g + 1);
	diag("%lu remap calls", w->remaps);
	return PASS;
}

static int case_write_through(const char *dir)
{
	return with_setup(dir, 64, 32, write_through);
}

/* kB in a "Name:  N kB" line of /proc/self/status, or -1. */
static long status_kb(const char *name)
{
	char line[256];
	long kb = -1;
	FILE *st = fopen("/proc/self/status", "r");

	while (st && fgets(line, sizeof line, st))
		if (!strncmp(line, name, strlen(name)))
			kb = strtol(line + strlen(name), NULL, 10);
	if (st)
		fclose(st);
	return kb;
}

/* Remaps of an mlocked window stay locked; MAP_NONBLOCK is accepted. */
static int mlocked(struct window *w)
{
	size_t len = w->npages * ps, i, n;
	long base = status_kb("VmLck:"), locked, now;
	struct run runs[64];
	unsigned r, nonblock = 0;
	int vmas = 0, rc = PASS;

	if (mlock(w->addr, len))
		return fail("mlock of the window: %s", strerror(errno));
	locked = status_kb("VmLck:");
	if (locked - base != (long)(len / 1024))
		rc = fail("VmLck went from %ld to %ld kB, expected +%zu", base, locked, len / 1024);
	for (r = 0; r < 4 && rc == PASS; r++) {
		n = random_runs(runs, w->npages);
		for (i = 0; i < n && rc == PASS; i++) { /* every other call with MAP_NONBLOCK */
			nonblock += i % 2;
			rc = remap(w, runs[i].wpage, runs[i].fpage, runs[i].n,
				   i % 2 ? MAP_NONBLOCK : 0);
		}
		if (rc == PASS && (vmas = check_window(w)) < 0)
			rc = FAIL;
		now = status_kb("VmLck:");
		if (rc == PASS && now != locked)
			rc = fail("VmLck %ld kB after round %u, %ld kB before: the remapped vmas "
				  "lost VM_LOCKED", now, r, locked);
	}
	munlock(w->addr, len);
	if (rc == PASS)
		diag("VmLck %ld kB (window %zu kB) before and after %lu remap calls, %u with "
		     "MAP_NONBLOCK; %d vmas", locked, len / 1024, w->remaps, nonblock, vmas);
	return rc;
}

static int case_mlocked_window(const char *dir)
{
	return with_setup(dir, 32, 32, mlocked);
}

/*
 * concurrent_readers: reader threads check window pages while the main thread remaps.
 * A read that a remap overlaps may straddle it (part old page, part new), so its words are
 * only checked against the file pages shown at that window page during the round; a read no
 * remap overlapped (seqlock `seq` unchanged) must be one whole page: the expected one.
 */
struct race {
	struct window *w;
	uint64_t allowed[RACE_PAGES];   /* bit p: file page p was shown there this round */
	unsigned long seq;              /* odd while a remap runs */
	unsigned long epoch;            /* odd while allowed[] is reset for a new round */
	int stop;
	unsigned long reads, stable, mixed, skipped;
	pthread_mutex_t lock;
	char error[512];                /* the first reader failure */
};

static void race_fail(struct race *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void race_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->error[0]) {
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof r->error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
}

/* Check one read of window page k; 1 if it saw more than one file page. */
static int check_read(struct race *r, size_t k, const uint64_t *buf, uint64_t allowed,
		      int stable, size_t want)
{
	const struct tfile *f = r->w->f;
	struct tagid t;
	size_t i, first = 0;
	int mixed = 0;

	for (i = 0; i < ps / 8; i++) {
		if (untag(buf[i], &t) || t.file != f->id || t.word != i || t.page >= RACE_PAGES ||
		    t.gen != f->gen[t.page] || !(allowed >> t.page & 1)) {
			race_fail(r, "window page %zu offset 0x%zx: 0x%016" PRIx64 " is not from a "
				  "file page shown there this round (mask %#" PRIx64 ")", k, i * 8,
				  buf[i], allowed);
			return 0;
		}
		first = i ? first : t.page;
		mixed |= t.page != first;
	}
	if (stable && (mixed || first != want))
		race_fail(r, "window page %zu, read with no remap running: expected file page "
			  "%zu, saw file page %zu%s", k, want, first, mixed ? " and others" : "");
	return mixed;
}

static void *reader(void *arg)
{
	struct race *r = arg;
	struct window *w = r->w;
	uint64_t *buf = malloc(ps), allowed;
	unsigned long reads = 0, stable = 0, mixed = 0, skipped = 0, s0, s1, e0, e1;
	size_t k, want;

	rng = seed ^ (uintptr_t)buf; /* readers are timing-dependent anyway */
	while (buf && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		k = below(w->npages);
		e0 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
		s0 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		memcpy(buf, w->addr + k * ps, ps);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		allowed = __atomic_load_n(&r->allowed[k], __ATOMIC_ACQUIRE);
		want = __atomic_load_n(&w->map[k], __ATOMIC_ACQUIRE);
		s1 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		e1 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
		if (e0 != e1 || e0 % 2) { /* allowed[] was being reset */
			skipped++;
			continue;
		}
		reads++;
		stable += s0 == s1 && s0 % 2 == 0;
		mixed += check_read(r, k, buf, allowed, s0 == s1 && s0 % 2 == 0, want);
	}
	if (!buf)
		race_fail(r, "out of memory");
	free(buf);
	__atomic_fetch_add(&r->reads, reads, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->stable, stable, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->mixed, mixed, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->skipped, skipped, __ATOMIC_RELAXED);
	return NULL;
}

/* One round: reset the allowed pages, apply a random permutation, verify. */
static int race_round(struct race *r)
{
	struct window *w = r->w;
	struct run runs[RACE_PAGES];
	size_t n, i, j;
	int err;

	__atomic_fetch_add(&r->epoch, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < w->npages; i++)
		__atomic_store_n(&r->allowed[i], 1ULL << w->map[i], __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->epoch, 1, __ATOMIC_SEQ_CST);
	n = random_runs(runs, w->npages);
	for (i = 0; i < n; i++) {
		for (j = 0; j < runs[i].n; j++) /* allowed before it can be seen */
			__atomic_fetch_or(&r->allowed[runs[i].wpage + j], 1ULL << (runs[i].fpage + j),
					  __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&r->seq, 1, __ATOMIC_SEQ_CST);
		err = remap(w, runs[i].wpage, runs[i].fpage, runs[i].n, 0);
		__atomic_fetch_add(&r->seq, 1, __ATOMIC_SEQ_CST);
		if (err)
			return FAIL;
	}
	return check_window(w) < 0 ? FAIL : PASS;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int race(struct window *w)
{
	struct race r = { .w = w };
	pthread_t tid[RACE_READERS];
	double end = now_s() + RACE_SECONDS;
	unsigned nr = 0, started = 0, i;
	int rc = PASS;

	for (i = 0; i < w->npages; i++)
		r.allowed[i] = 1ULL << w->map[i];
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < RACE_READERS; i++, started++)
		if ((errno = pthread_create(&tid[i], NULL, reader, &r))) {
			rc = fail("pthread_create: %s", strerror(errno));
			break;
		}
	while (rc == PASS && !__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE) && now_s() < end) {
		rc = race_round(&r);
		nr++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	diag("%u rounds, %lu remap calls; %u readers: %lu reads (%lu with no remap running, "
	     "%lu saw two file pages across a remap), %lu dropped at round changes", nr,
	     w->remaps, started, r.reads, r.stable, r.mixed, r.skipped);
	if (r.error[0])
		return fail("reader: %s", r.error);
	if (rc == PASS && !r.stable)
		return fail("the readers completed no read");
	return rc;
}

static int case_concurrent_readers(const char *dir)
{
	return with_setup(dir, RACE_PAGES, RACE_PAGES, race);
}

/* ---- cases on tmpfs only ---- */

/*
 * errors: each subtest gets a fresh 8-page window of a 16-page file; after the call the
 * window must still show what the map says (calls that succeed update it).
 */
struct ectx {
	struct window w;
	const struct tfile *other;      /* a second test file */
};

/* Map one page of fd right after the window, over the guard page. */
static int neighbour(struct ectx *c, int prot, int fd, size_t pgoff)
{
	if (mmap(c->w.addr + c->w.npages * ps, ps, prot, MAP_SHARED | MAP_FIXED, fd,
		 pgoff * ps) == MAP_FAILED)
		return fail("mmap after the window: %s", strerror(errno));
	return PASS;
}

static char *last_page(struct ectx *c)
{
	return c->w.addr + (c->w.npages - 1) * ps;
}

static int e_map_private(struct ectx *c)
{
	char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, c->w.f->fd, 0);
	int rc;

	if (p == MAP_FAILED)
		return fail("mmap MAP_PRIVATE: %s", strerror(errno));
	rc = expect(rfp(p, ps, 0, 1, 0), EINVAL, "a MAP_PRIVATE mapping");
	if (rc == PASS)
		rc = check_page(p, c->w.f, 0, "MAP_PRIVATE mapping page", 0);
	munmap(p, 2 * ps);
	return rc;
}

static int e_prot(struct ectx *c)
{
	return expect(rfp(c->w.addr, ps, PROT_READ, 1, 0), EINVAL, "prot PROT_READ");
}

static int e_no_vma(struct ectx *c)
{
	char *hole = c->w.addr + c->w.npages * ps;

	munmap(hole, ps);
	return expect(rfp(hole, ps, 0, 0, 0), EINVAL, "start in a hole");
}

static int e_into_hole(struct ectx *c)
{
	munmap(c->w.addr + c->w.npages * ps, ps);
	return expect(rfp(last_page(c), 2 * ps, 0, 0, 0), EINVAL, "last page and a hole");
}

static int e_into_other_file(struct ectx *c)
{
	return neighbour(c, PROT_READ | PROT_WRITE, c->other->fd, 0) ||
	       expect(rfp(last_page(c), 2 * ps, 0, 0, 0), EINVAL, "into another file's mapping");
}

/* The same file at the next offset: only the vm_flags differ. */
static int e_into_other_prot(struct ectx *c)
{
	return neighbour(c, PROT_READ, c->w.f->fd, c->w.npages) ||
	       expect(rfp(last_page(c), 2 * ps, 0, 0, 0), EINVAL, "into a read-only mapping");
}

/* 6.1 accepts a range over adjacent vmas of the same file with the same flags. */
static int e_into_same_file(struct ectx *c)
{
	size_t n = c->w.npages;

	if (neighbour(c, PROT_READ | PROT_WRITE, c->w.f->fd, 12) ||
	    expect(rfp(last_page(c), 2 * ps, 0, 3, 0), 0, "into a mapping of the same file"))
		return FAIL;
	c->w.map[n - 1] = 3;
	return check_page(c->w.addr + n * ps, c->w.f, 4, "page after the window", n);
}

static int e_size_zero(struct ectx *c)
{
	return expect(rfp(c->w.addr, 0, 0, 1, 0), EINVAL, "size 0");
}

/* Rounded down to size 0. */
static int e_size_below_page(struct ectx *c)
{
	return expect(rfp(c->w.addr, ps / 2, 0, 1, 0), EINVAL, "size of half a page");
}

/* The start is rounded down to its page: page 1 shows file page 9, page 2 is untouched. */
static int e_unaligned_start(struct ectx *c)
{
	if (expect(rfp(c->w.addr + ps + ps / 2, ps, 0, 9, 0), 0, "start in the middle of page 1"))
		return FAIL;
	c->w.map[1] = 9;
	return PASS;
}

/* The size is rounded down: only page 2 changes. */
static int e_unaligned_size(struct ectx *c)
{
	if (expect(rfp(c->w.addr + 2 * ps, ps + ps / 2, 0, 10, 0), 0, "size of 1.5 pages"))
		return FAIL;
	c->w.map[2] = 10;
	return PASS;
}

static int e_range_wraps(struct ectx *c)
{
	return expect(rfp(c->w.addr, -(uintptr_t)c->w.addr, 0, 0, 0), EINVAL,
		      "start + size wrapping to 0");
}

static int e_pgoff_wraps(struct ectx *c)
{
	return expect(rfp(c->w.addr, 2 * ps, 0, SIZE_MAX, 0), EINVAL, "pgoff + 2 pages wrapping");
}

/* No wrap, but past MAX_LFS_FILESIZE: do_mmap()'s file_mmap_ok() says EOVERFLOW. */
static int e_pgoff_too_big(struct ectx *c)
{
	return expect(rfp(c->w.addr, ps, 0, SIZE_MAX / 2, 0), EOVERFLOW, "pgoff 2^63-1");
}

/* Flags other than MAP_NONBLOCK are ignored. */
static int e_flags_ignored(struct ectx *c)
{
	if (expect(rfp(c->w.addr + 3 * ps, ps, 0, 11, MAP_PRIVATE | MAP_ANONYMOUS), 0,
		   "flags MAP_PRIVATE|MAP_ANONYMOUS"))
		return FAIL;
	c->w.map[3] = 11;
	return PASS;
}

static int errors(const char *dir)
{
	static const struct {
		const char *name;
		int (*run)(struct ectx *);
	} checks[] = {
		{ "map_private", e_map_private },
		{ "prot_nonzero", e_prot },
		{ "start_outside_any_vma", e_no_vma },
		{ "range_into_hole", e_into_hole },
		{ "range_into_other_file", e_into_other_file },
		{ "range_into_other_prot", e_into_other_prot },
		{ "range_into_same_file_ok", e_into_same_file },
		{ "size_zero", e_size_zero },
		{ "size_below_page", e_size_below_page },
		{ "unaligned_start_rounded_down", e_unaligned_start },
		{ "unaligned_size_rounded_down", e_unaligned_size },
		{ "range_wraps", e_range_wraps },
		{ "pgoff_wraps", e_pgoff_wraps },
		{ "pgoff_beyond_max_file_size", e_pgoff_too_big },
		{ "other_flags_ignored", e_flags_ignored },
	};
	size_t n = sizeof checks / sizeof checks[0], i;
	struct tfile f, other;
	struct ectx c;
	int failed = 0, rc;

	rc = tfile_open(&f, dir, 16);
	if (tfile_open(&other, dir, 1) || rc) {
		tfile_close(&f);
		tfile_close(&other);
		return FAIL;
	}
	c.other = &other;
	if (!ktap_quiet) { /* a repeat only names the checks that fail */
		ktap_indent = "    ";
		printf("%sKTAP version 1\n%s# Subtest: errors\n%s1..%zu\n", ktap_indent,
		       ktap_indent, ktap_indent, n);
	}
	for (i = 0; i < n; i++) {
		rc = window_open(&c.w, &f, 8);
		if (rc == PASS)
			rc = checks[i].run(&c);
		if (rc == PASS && check_window(&c.w) < 0)
			rc = fail("the window changed");
		window_close(&c.w);
		report(i + 1, checks[i].name, rc);
		failed += rc != PASS;
	}
	ktap_indent = "";
	tfile_close(&f);
	tfile_close(&other);
	return failed ? fail("%d of %zu checks failed", failed, n) : PASS;
}

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static int write_long(int fd, long v)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", v);

	return pwrite(fd, buf, len, 0) == len ? PASS : fail("write %ld to " MAX_MAP_COUNT ": %s",
							       v, strerror(errno));
}

static int maps_lines(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int c, n = 0;

	while (maps && (c = getc(maps)) != EOF)
		n += c == '\n';
	if (maps)
		fclose(maps);
	return n;
}

/* Pair swaps (window page k shows file page k ^ 1) need one vma per page: go on until the
 * lowered max_map_count stops them. */
static int exhaust(struct window *w, int sysctl, long orig)
{
	size_t n = w->npages, k;
	long limit;
	int err = 0, restored, vmas;

	for (k = 0; k < 64; k++)
		if (remap(w, k, k ^ 1, 1, 0))
			return FAIL;
	limit = maps_lines() + MAP_HEADROOM;
	if (write_long(sysctl, limit))
		return FAIL;
	for (; k < n && !(err = remap_try(w, k, k ^ 1, 1, 0)); k++)
		;
	restored = write_long(sysctl, orig);
	diag("max_map_count lowered to %ld, then restored to %ld: %s after %lu remap calls",
	     limit, orig, errname(err), w->remaps);
	if (restored || (vmas = check_window(w)) < 0)
		return FAIL;
	diag("%d vmas in the window", vmas);
	if (k == n)
		return fail("no error after %zu pair-swap remaps", n);
	if (err != ENOMEM)
		return fail("expected ENOMEM at the limit, got %s", errname(err));
	if (remap(w, k, k ^ 1, 1, 0) || check_window(w) < 0)
		return fail("the same remap after restoring max_map_count");
	return PASS;
}

static int max_map_count(const char *dir)
{
	long orig = read_long(MAX_MAP_COUNT);
	int fd = open(MAX_MAP_COUNT, O_WRONLY), rc;
	struct setup s;

	if (fd < 0)
		return skip("cannot lower " MAX_MAP_COUNT " (%ld): %s", orig, strerror(errno));
	rc = setup(&s, dir, 64 + 2 * MAP_HEADROOM, 64 + 2 * MAP_HEADROOM);
	if (rc == PASS)
		rc = exhaust(&s.w, fd, orig);
	teardown(&s);
	close(fd);
	return rc;
}

/* ---- main ---- */

struct fs {
	const char *name, *dir;
	long magic;
	char unusable[256];     /* why the cases cannot run there, or "" */
};

static void check_fs(struct fs *fs)
{
	struct statfs sf;

	if (!fs->dir)
		snprintf(fs->unusable, sizeof fs->unusable, "no --%s DIR given", fs->name);
	else if (statfs(fs->dir, &sf))
		snprintf(fs->unusable, sizeof fs->unusable, "%s: %s", fs->dir, strerror(errno));
	else if ((long)sf.f_type != fs->magic)
		snprintf(fs->unusable, sizeof fs->unusable, "%s is not %s (f_type %#lx)", fs->dir,
			 fs->name, (unsigned long)sf.f_type);
}

static const struct {
	const char *name;
	int (*run)(const char *dir);
	int per_fs;             /* once per filesystem, else on tmpfs only */
} cases[] = {
	{ "permute", case_permute, 1 },
	{ "span_split_vmas", case_span_split_vmas, 1 },
	{ "edges", case_edges, 1 },
	{ "write_through", case_write_through, 1 },
	{ "errors", errors, 0 },
	{ "mlocked_window", case_mlocked_window, 1 },
	{ "concurrent_readers", case_concurrent_readers, 1 },
	{ "max_map_count", max_map_count, 0 },
};

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --page-size N --tmpfs DIR [--ext4 DIR] [--seed N] "
		"[--rounds N] [--duration-s S]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "ext4", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ 0 },
	};
	struct fs fss[] = { { "tmpfs", NULL, TMPFS_MAGIC, "" },
			    { "ext4", NULL, EXT4_SUPER_MAGIC, "" } };
	long want_ps = 0;
	unsigned n = 0, failed = 0, i, j, repeat;
	double share;
	int opt, rc;
	char name[64];

	seed = time(NULL) ^ (uint64_t)getpid() << 32;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (opt) {
		case 'p': want_ps = strtol(optarg, NULL, 10); break;
		case 't': fss[0].dir = optarg; break;
		case 'e': fss[1].dir = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 10); break;
		case 'd': duration_s = strtod(optarg, NULL); break;
		default: return usage(argv[0]);
		}
	if (optind != argc || want_ps <= 0 || !fss[0].dir || !rounds)
		return usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a case crashes */
	ps = sysconf(_SC_PAGESIZE);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		n += cases[i].per_fs ? 2 : 1;
	printf("KTAP version 1\n1..%u\n", n);
	share = duration_s / n;
	diag("seed %" PRIu64 " (reproduce with --seed %" PRIu64 "), %u rounds, page size %zu, "
	     "each case repeated for %.1f s", seed, seed, rounds, ps, share);
	if ((long)ps != want_ps) {
		printf("Bail out! page size %zu, --page-size says %ld\n", ps, want_ps);
		return 1;
	}
	for (j = 0; j < 2; j++)
		check_fs(&fss[j]);
	for (i = 0, n = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (j = 0; j < (cases[i].per_fs ? 2u : 1u); j++) {
			double t0 = now_s();

			snprintf(name, sizeof name, cases[i].per_fs ? "%s_%s" : "%s", cases[i].name,
				 fss[j].name);
			repeat = 0;
			do {
				/* repeat r of case n: its own random choices, the same for a seed */
				rng = seed ^ (n + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)repeat << 40;
				ktap_quiet = repeat > 0;
				if (!fss[j].unusable[0])
					rc = cases[i].run(fss[j].dir);
				else if (j == 0)
					rc = fail("%s", fss[j].unusable);
				else
					rc = skip("%s", fss[j].unusable);
				repeat++;
			} while (rc == PASS && now_s() - t0 < share);
			ktap_quiet = 0;
			if (rc == FAIL && repeat > 1)
				diag("%s failed in repeat %u", name, repeat - 1);
			if (rc != SKIP)
				diag("%s took %.2f s, %u repeat%s", name, now_s() - t0, repeat,
				     repeat == 1 ? "" : "s");
			report(++n, name, rc);
			failed += rc == FAIL;
		}
	return failed ? 1 : 0;
}
