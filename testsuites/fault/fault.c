/*
 * faultlab fault suite: the memory-management fault paths, reported as KTAP version 1.
 *
 * Usage: fault --page-size N --tmpfs DIR [--ext4 DIR] [--seed N] [--threads N] [--race-ms N]
 *              [--duration-s S]
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o fault fault.c
 *
 * Every case verifies its data word by word (pattern() encodes the case number as the file id,
 * the page index, a generation and the word index) and proves that its path ran with fault or
 * SIGBUS counts, printed as "# " diagnostics and checked where the kernel guarantees a bound.
 * File-backed cases run once per filesystem (suffix _tmpfs, _ext4); the ext4 ones are skipped
 * when --ext4 is not given or is not an ext4 directory. Exit status 0 if all cases pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ktap.h"
#include "../lib/rand.h"
#include "../lib/options.h"

#define ZEROS (-1L)      /* generation meaning "zero-filled" */
#define GEN_MAX 0xffffff /* generations are 24 bits in pattern() */
#define MAX_THREADS 64   /* threads_same_pages: one 8-byte slot per thread in each page */
#define RW (PROT_READ | PROT_WRITE)

static size_t ps;           /* page size */
static long expected_ps;    /* --page-size */
static uint64_t seed;       /* --seed */
static int nthreads = 8;    /* --threads */
static long race_ms = 2000; /* --race-ms */
static double share_ms;     /* --duration-s divided among the cases: each repeats this long */
static unsigned repeat;     /* repeat number of the running case: part of its random choices */
static unsigned case_id;    /* KTAP number of the running case: the file id in patterns */

/* A filesystem to run file-backed cases on; `problem` says why it cannot be used. */
struct fs {
	const char *name, *dir;
	long magic;
	bool optional; /* a problem skips its cases instead of failing them */
	char problem[160];
};

static struct fs fs_tmpfs = { "tmpfs", NULL, TMPFS_MAGIC, false, "" };
static struct fs fs_ext4 = { "ext4", NULL, EXT4_SUPER_MAGIC, true, "" };

/* ---- output ---- */

/* A generator of its own for each (case, user) pair, derived from --seed. */
static uint64_t rng_for(unsigned user)
{
	return seed ^ (uint64_t)case_id << 32 ^ (uint64_t)repeat << 48 ^ user;
}

static void shuffle(size_t *a, size_t n, uint64_t *rng)
{
	size_t i, j, t;

	for (i = n; i > 1; i--) {
		j = rng_next(rng) % i;
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* ---- data patterns ---- */

typedef uint64_t want_fn(size_t page, long arg, size_t word);

/*
 * Word `word` of page `page`, generation `gen` of this case; hex FF GGGGGG PPP WWWW a (file
 * id, generation, page, word). The top byte (file id, never 0) and the low nibble a keep the
 * first and last byte of every page non-zero in either byte order.
 */
static uint64_t pattern(size_t page, long gen, size_t word)
{
	if (gen == ZEROS)
		return 0;
	return (uint64_t)(case_id & 0xff) << 56 | (uint64_t)(gen & GEN_MAX) << 32 |
	       (uint64_t)(page & 0xfff) << 20 | (uint64_t)(word & 0xffff) << 4 | 0xa;
}

static void fill(void *mem, size_t npages, size_t page0, long gen)
{
	uint64_t *w = mem;
	size_t per = ps / 8, p, i;

	inject_faults(1);
	for (p = 0; p < npages; p++)
		for (i = 0; i < per; i++)
			w[p * per + i] = pattern(page0 + p, gen, i);
	inject_faults(0);
}

/* Compare npages at mem (pages page0...) with want(); a word may also be 0 if zero_ok. */
static int check(const void *mem, size_t npages, size_t page0, want_fn *want, long arg,
		 bool zero_ok)
{
	const uint64_t *w = mem;
	size_t per = ps / 8, p, i;

	inject_faults(1);
	for (p = 0; p < npages; p++)
		for (i = 0; i < per; i++) {
			uint64_t exp = want(page0 + p, arg, i), got = w[p * per + i];

			if (got == exp || (zero_ok && got == 0))
				continue;
			inject_faults(0);
			return fail("page %zu offset 0x%zx: expected 0x%016" PRIx64 "%s, got "
					    "0x%016" PRIx64, page0 + p, i * 8, exp,
					    zero_ok ? " or 0" : "", got);
		}
	inject_faults(0);
	return 0;
}

static int verify(const void *mem, size_t npages, size_t page0, long gen)
{
	return check(mem, npages, page0, pattern, gen, false);
}

/* Byte `off` of mem must be the byte at that position of `word` (stored in native order). */
static int check_byte(const void *mem, size_t off, uint64_t word)
{
	unsigned char want[8], got = ((const unsigned char *)mem)[off];

	memcpy(want, &word, sizeof want);
	if (got != want[off % 8])
		return fail("byte 0x%zx (page %zu offset 0x%zx): expected 0x%02x, got 0x%02x", off,
			    off / ps, off % ps, want[off % 8], got);
	return 0;
}

/* ---- fault counters ---- */

struct faults {
	long minor, major;
};

static struct faults faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (struct faults){ ru.ru_minflt, ru.ru_majflt };
}

static struct faults faults_since(struct faults t0)
{
	struct faults t = faults_now();

	return (struct faults){ t.minor - t0.minor, t.major - t0.major };
}

/* Print the faults taken `what`; fail unless min <= minor + major <= max. */
static int faults_check(struct faults d, long min, long max, const char *what)
{
	long n = d.minor + d.major;

	if (max == LONG_MAX)
		diag("%ld minor + %ld major faults %s (minimum %ld)", d.minor, d.major, what, min);
	else
		diag("%ld minor + %ld major faults %s (maximum %ld)", d.minor, d.major, what, max);
	if (n < min)
		return fail("%ld faults %s, expected at least %ld", n, what, min);
	if (n > max)
		return fail("%ld faults %s, expected at most %ld", n, what, max);
	return 0;
}

/* ---- SIGBUS-safe access: a thread-local jump buffer, armed around one access ---- */

static __thread sigjmp_buf bus_jmp;
static __thread volatile sig_atomic_t bus_armed;
static __thread volatile sig_atomic_t bus_count; /* SIGBUS caught by this thread */

static void on_sigbus(int sig)
{
	if (!bus_armed) { /* not expected: die when the access is retried */
		signal(sig, SIG_DFL);
		return;
	}
	bus_armed = 0;
	bus_count++;
	siglongjmp(bus_jmp, 1);
}

/* fill() one page; 0, or -1 if that raised SIGBUS (the page may be partly written). */
static int guarded_fill(void *mem, size_t page, long gen)
{
	if (sigsetjmp(bus_jmp, 0)) {
		inject_faults(0); /* fill() was left by the jump, with injection on */
		return -1;
	}
	bus_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	fill(mem, 1, page, gen);
	atomic_signal_fence(memory_order_seq_cst);
	bus_armed = 0;
	return 0;
}

/* Read one word; 0, or -1 if that raised SIGBUS. */
static int guarded_read(const uint64_t *p, uint64_t *out)
{
	if (sigsetjmp(bus_jmp, 0))
		return -1;
	bus_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	*out = *(const volatile uint64_t *)p;
	atomic_signal_fence(memory_order_seq_cst);
	bus_armed = 0;
	return 0;
}

/* ---- memory and files ---- */

static void *map(size_t npages, int prot, int flags, int fd)
{
	void *p = mmap(NULL, npages * ps, prot, flags, fd, 0);

	if (p == MAP_FAILED) {
		fail("mmap of %zu pages: %s", npages, strerror(errno));
		return NULL;
	}
	return p;
}

/* Private anonymous memory, in base pages so that every page takes its own fault. */
static void *map_anon(size_t npages, int extra_flags)
{
	void *p = map(npages, RW, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1);

	if (p)
		madvise(p, npages * ps, MADV_NOHUGEPAGE); /* best effort: no (m)THP */
	return p;
}

static void unmap(void *p, size_t npages)
{
	if (p)
		munmap(p, npages * ps);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* An unlinked file of npages pages (a hole) in fs->dir, or -1. */
static int make_file(const struct fs *fs, size_t npages)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/fault.XXXXXX", fs->dir);
	fd = mkstemp(path);
	if (fd < 0)
		return fail("mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	if (ftruncate(fd, npages * ps) < 0) {
		fail("ftruncate to %zu pages: %s", npages, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* pread() or pwrite() all of len bytes at page 0. */
static int io_all(int fd, void *buf, size_t len, bool write)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write ? pwrite(fd, (char *)buf + done, len - done, done)
			  : pread(fd, (char *)buf + done, len - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("%s at %zu: %s", write ? "pwrite" : "pread", done,
				    n ? strerror(errno) : "end of file");
		done += n;
	}
	return 0;
}

/* Write generation gen of npages pages with pwrite(). */
static int write_file(int fd, size_t npages, long gen)
{
	void *buf = malloc(npages * ps);
	int rc = -1;

	if (buf) {
		fill(buf, npages, 0, gen);
		rc = io_all(fd, buf, npages * ps, true);
	}
	free(buf);
	return rc;
}

/* check() the first npages pages of the file as read with pread(). */
static int check_fd(int fd, size_t npages, want_fn *want, long arg)
{
	void *buf = malloc(npages * ps);
	int rc = buf ? io_all(fd, buf, npages * ps, false) : fail("out of memory");

	if (!rc && (rc = check(buf, npages, 0, want, arg, false)) < 0)
		fail("pread() does not see the expected data");
	free(buf);
	return rc;
}

static int verify_fd(int fd, size_t npages, long gen)
{
	return check_fd(fd, npages, pattern, gen);
}

/* verify() the file as read with O_DIRECT, one page per read into an aligned buffer. */
static int verify_direct(int fd, size_t npages, long gen)
{
	int flags = fcntl(fd, F_GETFL), rc = -1;
	void *buf = NULL;
	size_t p;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) < 0)
		return fail("fcntl(O_DIRECT): %s", strerror(errno));
	if (posix_memalign(&buf, ps, ps)) {
		fail("posix_memalign: out of memory");
		goto out;
	}
	for (p = 0; p < npages; p++) {
		if (pread(fd, buf, ps, p * ps) != (ssize_t)ps) {
			fail("O_DIRECT pread of page %zu: %s", p, strerror(errno));
			goto out;
		}
		if (verify(buf, 1, p, gen) < 0) {
			fail("O_DIRECT read does not see the expected data");
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	fcntl(fd, F_SETFL, flags);
	return rc;
}

static int check_size(int fd, size_t npages)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail("fstat: %s", strerror(errno));
	if ((size_t)st.st_size != npages * ps)
		return fail("file size %lld, expected %zu pages (%zu bytes)",
			    (long long)st.st_size, npages, npages * ps);
	return 0;
}

/* ---- cases: 0 if passed, -1 if failed ---- */

static int case_page_size(const struct fs *fs)
{
	(void)fs;
	diag("page size %zu (sysconf), %ld (--page-size)", ps, expected_ps);
	if ((long)ps != expected_ps)
		return fail("expected page size %ld, got %zu", expected_ps, ps);
	return 0;
}

static int case_shared_write_read(const struct fs *fs)
{
	enum { N = 64 };
	int fd = make_file(fs, N), rc = -1;
	char *w = NULL, *r = NULL;
	struct faults t;

	if (fd < 0 || !(w = map(N, RW, MAP_SHARED, fd)) || !(r = map(N, PROT_READ, MAP_SHARED, fd)))
		goto out;
	t = faults_now();
	fill(w, N, 0, 1);
	if (faults_check(faults_since(t), N, LONG_MAX, "writing 64 shared pages") < 0)
		goto out;
	t = faults_now();
	if (verify(r, N, 0, 1) < 0) {
		fail("a second mapping does not see the data");
		goto out;
	}
	/* read faults map up to fault_around_bytes at once: only one is guaranteed */
	if (faults_check(faults_since(t), 1, LONG_MAX, "reading them in a second mapping") < 0)
		goto out;
	rc = verify_fd(fd, N, 1);
out:
	unmap(w, N);
	unmap(r, N);
	close_fd(fd);
	return rc;
}

static int case_private_cow(const struct fs *fs)
{
	enum { N = 16 };
	int fd = make_file(fs, N), rc = -1;
	char *p = NULL, *q = NULL;
	struct faults t;

	if (fd < 0 || write_file(fd, N, 1) < 0 || !(p = map(N, RW, MAP_PRIVATE, fd)))
		goto out;
	t = faults_now();
	fill(p, N, 0, 2);
	if (faults_check(faults_since(t), N, LONG_MAX, "writing 16 private file pages") < 0 ||
	    verify(p, N, 0, 2) < 0)
		goto out;
	if (verify_fd(fd, N, 1) < 0) {
		fail("writes to a MAP_PRIVATE mapping reached the file");
		goto out;
	}
	if (!(q = map(N, PROT_READ, MAP_PRIVATE, fd)))
		goto out;
	rc = verify(q, N, 0, 1);
	if (rc < 0)
		fail("a second private mapping does not see the file data");
out:
	unmap(p, N);
	unmap(q, N);
	close_fd(fd);
	return rc;
}

/* Write generation gen through the mapping; each page must fault (page_mkwrite). */
static int mkwrite_round(char *p, size_t npages, long gen, const char *what)
{
	struct faults t = faults_now();

	fill(p, npages, 0, gen);
	return faults_check(faults_since(t), npages, LONG_MAX, what);
}

/* The file holds generation gen for read(2) and for O_DIRECT. */
static int mkwrite_readback(int fd, size_t npages, long gen)
{
	return verify_fd(fd, npages, gen) < 0 ? -1 : verify_direct(fd, npages, gen);
}

static int case_mkwrite_msync(const struct fs *fs)
{
	enum { N = 16 };
	int fd = make_file(fs, N), rc = -1;
	struct stat st;
	char *p = NULL;

	if (fd < 0 || !(p = map(N, RW, MAP_SHARED, fd)) ||
	    mkwrite_round(p, N, 1, "writing 16 unallocated pages") < 0)
		goto out;
	if (msync(p, N * ps, MS_SYNC) < 0) {
		fail("msync: %s", strerror(errno));
		goto out;
	}
	unmap(p, N);
	p = NULL;
	if (fstat(fd, &st) < 0 || (size_t)st.st_blocks * 512 < N * ps) {
		fail("after msync(MS_SYNC) the file has %lld blocks of 512 bytes, expected %zu",
		     (long long)st.st_blocks, N * ps / 512);
		goto out;
	}
	diag("%lld blocks of 512 bytes allocated after msync", (long long)st.st_blocks);
	if (mkwrite_readback(fd, N, 1) < 0)
		goto out;

	/* again on a new mapping, then once more after writeback write-protected the pages */
	if (!(p = map(N, RW, MAP_SHARED, fd)) ||
	    mkwrite_round(p, N, 2, "writing the 16 clean cached pages") < 0)
		goto out;
	if (msync(p, N * ps, MS_SYNC) < 0) {
		fail("msync: %s", strerror(errno));
		goto out;
	}
	if (mkwrite_round(p, N, 3, "writing them again after msync cleaned them") < 0)
		goto out;
	if (fsync(fd) < 0) {
		fail("fsync: %s", strerror(errno));
		goto out;
	}
	rc = mkwrite_readback(fd, N, 3);
out:
	unmap(p, N);
	close_fd(fd);
	return rc;
}

static int case_sigbus_beyond_eof(const struct fs *fs)
{
	enum { N = 4, EOF_PAGE = 2 }; /* 4 mapped pages, the file ends after page 1 */
	int fd = make_file(fs, EOF_PAGE), rc = -1, expected = 0, bus0 = bus_count;
	size_t pg, last = ps / 8 - 1;
	char *p = NULL;
	struct faults t;
	uint64_t v;

	if (fd < 0 || write_file(fd, EOF_PAGE, 1) < 0 || !(p = map(N, RW, MAP_SHARED, fd)))
		goto out;
	t = faults_now();
	for (pg = 0; pg < N; pg++) {
		uint64_t *w = (uint64_t *)(p + pg * ps);
		bool beyond = pg >= EOF_PAGE;
		size_t words[2] = { 0, last }, k;

		for (k = 0; k < 2; k++) {
			if ((guarded_read(&w[words[k]], &v) < 0) != beyond) {
				fail("reading page %zu word %zu: %s", pg, words[k],
				     beyond ? "no SIGBUS beyond end of file" : "SIGBUS");
				goto out;
			}
			if (!beyond && v != pattern(pg, 1, words[k])) {
				fail("page %zu offset 0x%zx: expected 0x%016" PRIx64 ", got 0x%016"
				     PRIx64, pg, words[k] * 8, pattern(pg, 1, words[k]), v);
				goto out;
			}
		}
		if (beyond && guarded_fill(w, pg, 2) == 0) {
			fail("writing page %zu: no SIGBUS beyond end of file", pg);
			goto out;
		}
		expected += beyond ? 3 : 0; /* two reads and a write */
	}
	diag("%d SIGBUS for %d accesses beyond end of file", bus_count - bus0, expected);
	if (faults_check(faults_since(t), 1, LONG_MAX, "reading the 2 pages before end of file"))
		goto out;
	if (bus_count - bus0 != expected) {
		fail("expected exactly %d SIGBUS, got %d", expected, bus_count - bus0);
		goto out;
	}
	if (check_size(fd, EOF_PAGE) < 0 || verify(p, EOF_PAGE, 0, 1) < 0)
		goto out;
	rc = verify_fd(fd, EOF_PAGE, 1);
out:
	unmap(p, N);
	close_fd(fd);
	return rc;
}

/*
 * truncate_race: writers fill whole pages of a shared mapping with (page, sequence number)
 * patterns while a truncator shrinks the file to its first half and extends it back, counting
 * extensions in ext_gen. Each page has one writer, which records its last attempt: sequence
 * number, ext_gen read before it started, and whether it finished without SIGBUS. At the end
 * (the file extended again):
 * - a first-half page (never truncated away) holds exactly its last write;
 * - a second-half page whose last write started after the last extension holds exactly it;
 *   one whose last write was cut by SIGBUS is zero (what it wrote before was truncated away);
 *   otherwise each word is zero (truncated away) or that last write's word.
 */
enum { RACE_PAGES = 64 };

struct last_write {
	uint32_t seq; /* 0: never attempted */
	unsigned long ext_gen;
	bool done;
};

struct race {
	char *map;
	int fd, nwriters, trunc_errno;
	atomic_bool stop;
	atomic_ulong ext_gen;
	unsigned long cycles;
	struct last_write last[RACE_PAGES];
};

struct writer {
	struct race *r;
	pthread_t tid;
	unsigned id;
	unsigned long writes, sigbus, kept_sigbus;
};

static void *race_writer(void *arg)
{
	struct writer *w = arg;
	struct race *r = w->r;
	uint64_t rng = rng_for(w->id);
	size_t own[RACE_PAGES], n = 0, k, p;
	uint32_t seq = 0;

	for (p = w->id; p < RACE_PAGES; p += r->nwriters)
		own[n++] = p;
	do { /* at least one round, so that every page has a last write */
		shuffle(own, n, &rng);
		for (k = 0; k < n; k++) {
			struct last_write *l = &r->last[own[k]];

			l->ext_gen = atomic_load(&r->ext_gen);
			l->seq = ++seq;
			l->done = guarded_fill(r->map + own[k] * ps, own[k], seq) == 0;
			if (l->done)
				w->writes++;
			else if (own[k] < RACE_PAGES / 2)
				w->kept_sigbus++;
			else
				w->sigbus++;
		}
	} while (!atomic_load(&r->stop) && seq + n <= GEN_MAX);
	return NULL;
}

static void race_pause(uint64_t *rng)
{
	usleep(rng_next(rng) % 100);
}

static void *race_truncator(void *arg)
{
	struct race *r = arg;
	uint64_t rng = rng_for(MAX_THREADS);

	while (!atomic_load(&r->stop)) {
		if (ftruncate(r->fd, RACE_PAGES / 2 * ps) < 0) {
			r->trunc_errno = errno;
			break;
		}
		race_pause(&rng);
		if (ftruncate(r->fd, RACE_PAGES * ps) < 0) {
			r->trunc_errno = errno;
			break;
		}
		atomic_fetch_add(&r->ext_gen, 1);
		r->cycles++;
		race_pause(&rng);
	}
	return NULL;
}

static size_t zero_words(const void *mem)
{
	const uint64_t *w = mem;
	size_t i, n = 0;

	for (i = 0; i < ps / 8; i++)
		n += w[i] == 0;
	return n;
}

/* Apply the rule above to page p as read back in mem. */
static int race_check_page(const void *mem, size_t p, const struct last_write *l,
			   unsigned long ext_final)
{
	if (p < RACE_PAGES / 2 || (l->done && l->ext_gen == ext_final))
		return verify(mem, 1, p, l->seq);
	if (!l->done)
		return verify(mem, 1, p, ZEROS);
	return check(mem, 1, p, pattern, l->seq, true);
}

/* Start the writers and the truncator, let them race for race_ms, stop and join them. */
static int race_run(struct race *r, struct writer *w)
{
	struct timespec d = { race_ms / 1000, race_ms % 1000 * 1000000 };
	pthread_t trunc;
	int i, started, err = 0;

	for (i = 0; i < r->nwriters && !err; i++) {
		w[i] = (struct writer){ .r = r, .id = i };
		err = pthread_create(&w[i].tid, NULL, race_writer, &w[i]);
	}
	started = err ? i - 1 : i;
	if (!err && !(err = pthread_create(&trunc, NULL, race_truncator, r))) {
		nanosleep(&d, NULL);
		atomic_store(&r->stop, true);
		pthread_join(trunc, NULL);
	}
	atomic_store(&r->stop, true); /* also when the truncator could not be started */
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	return err ? fail("pthread_create: %s", strerror(err)) : 0;
}

static int case_truncate_race(const struct fs *fs)
{
	struct race r = { .nwriters = nthreads };
	struct writer w[MAX_THREADS];
	unsigned long writes = 0, sigbus = 0, kept_sigbus = 0, whole = 0, zeroed = 0, partly = 0;
	char *buf = malloc(RACE_PAGES * ps);
	struct faults t;
	size_t p;
	int i, rc = -1;

	r.fd = make_file(fs, RACE_PAGES);
	if (!buf || r.fd < 0 || !(r.map = map(RACE_PAGES, RW, MAP_SHARED, r.fd)))
		goto out;
	t = faults_now();
	if (race_run(&r, w) < 0)
		goto out;
	for (i = 0; i < r.nwriters; i++) {
		writes += w[i].writes;
		sigbus += w[i].sigbus;
		kept_sigbus += w[i].kept_sigbus;
	}
	diag("%d writers, %lu truncate/extend cycles, %lu page writes, %lu SIGBUS in the "
	     "truncated half", r.nwriters, r.cycles, writes, sigbus);
	if (faults_check(faults_since(t), RACE_PAGES / 2, LONG_MAX, "during the race") < 0)
		goto out;
	if (r.trunc_errno) {
		fail("ftruncate: %s", strerror(r.trunc_errno));
		goto out;
	}
	if (!r.cycles) {
		fail("no truncate/extend cycle ran");
		goto out;
	}
	if (kept_sigbus) {
		fail("%lu SIGBUS in the first half, never truncated away", kept_sigbus);
		goto out;
	}
	if (check_size(r.fd, RACE_PAGES) < 0 || io_all(r.fd, buf, RACE_PAGES * ps, false))
		goto out;
	for (p = 0; p < RACE_PAGES; p++) {
		const struct last_write *l = &r.last[p];
		size_t zeros;

		if (race_check_page(buf + p * ps, p, l, atomic_load(&r.ext_gen)) < 0) {
			fail("page %zu: last write seq %u, %s, ext_gen %lu (final %lu)", p, l->seq,
			     l->done ? "finished" : "cut by SIGBUS", l->ext_gen,
			     atomic_load(&r.ext_gen));
			goto out;
		}
		if (p < RACE_PAGES / 2)
			continue;
		zeros = zero_words(buf + p * ps);
		if (!zeros)
			whole++;
		else if (zeros == ps / 8)
			zeroed++;
		else
			partly++;
	}
	diag("truncated half at the end: %lu pages hold their last write, %lu zero, %lu partly "
	     "zero", whole, zeroed, partly);
	rc = 0;
out:
	unmap(r.map, RACE_PAGES);
	close_fd(r.fd);
	free(buf);
	return rc;
}

/* Send one status byte (0 = ok) through a pipe; read it back, -1 if the peer is gone. */
static void send_status(int fd, int status)
{
	char c = status != 0;

	if (write(fd, &c, 1) != 1)
		_exit(2);
}

static int recv_status(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 && c == 0 ? 0 : -1;
}

/* cow_fork child: write generation 2, report, wait for the parent's write, check again. */
static int cow_child(char *p, size_t npages, int from_parent, int to_parent)
{
	struct faults t = faults_now();
	int rc;

	fill(p, npages, 0, 2);
	rc = faults_check(faults_since(t), npages, LONG_MAX, "in the child writing generation 2");
	if (!rc)
		rc = verify(p, npages, 0, 2);
	send_status(to_parent, rc);
	if (recv_status(from_parent) < 0)
		return 1;
	if (verify(p, npages, 0, 2) < 0) {
		fail("child: the parent's generation 3 leaked into the child");
		rc = -1;
	}
	send_status(to_parent, rc);
	return rc ? 1 : 0;
}

static int case_cow_fork(const struct fs *fs)
{
	enum { N = 16 };
	int to_child[2] = { -1, -1 }, to_parent[2] = { -1, -1 }, status, rc = -1;
	char *p = map_anon(N, 0);
	struct faults t;
	pid_t pid = -1;

	(void)fs;
	if (!p)
		return -1;
	if (pipe(to_child) < 0 || pipe(to_parent) < 0) {
		fail("pipe: %s", strerror(errno));
		goto out;
	}
	fill(p, N, 0, 1);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) { /* keep only our own ends, so that each side sees the other exit */
		close(to_child[1]);
		close(to_parent[0]);
		_exit(cow_child(p, N, to_child[0], to_parent[1]));
	}
	close(to_child[0]);
	close(to_parent[1]);
	to_child[0] = to_parent[1] = -1;
	if (recv_status(to_parent[0]) < 0) {
		fail("the child did not see its own generation 2");
		goto out;
	}
	if (verify(p, N, 0, 1) < 0) {
		fail("the child's writes leaked into the parent");
		goto out;
	}
	t = faults_now();
	fill(p, N, 0, 3);
	if (faults_check(faults_since(t), N, LONG_MAX, "in the parent writing generation 3") < 0 ||
	    verify(p, N, 0, 3) < 0)
		goto out;
	send_status(to_child[1], 0);
	rc = recv_status(to_parent[0]);
	if (rc < 0)
		fail("the child's check after the parent wrote generation 3 failed");
out:
	if (pid > 0) {
		close(to_child[1]); /* a child still waiting reads end of file and exits */
		to_child[1] = -1;
		if (waitpid(pid, &status, 0) < 0)
			rc = fail("waitpid: %s", strerror(errno));
		else if (WIFSIGNALED(status))
			rc = fail("child killed by signal %d", WTERMSIG(status));
		else if (WEXITSTATUS(status))
			rc = fail("child exited with status %d", WEXITSTATUS(status));
	}
	for (int i = 0; i < 2; i++) {
		close_fd(to_child[i]);
		close_fd(to_parent[i]);
	}
	unmap(p, N);
	return rc;
}

/*
 * Fill 16 pages through p, MADV_DONTNEED pages 4-11, then check that they read back as
 * generation dropped_gen (ZEROS for anonymous memory, the file data for a file) with at least
 * min_refaults faults, and that the edges (pages 3 and 12) and the other pages kept their data.
 */
enum { DN_PAGES = 16, DN_FIRST = 4, DN_COUNT = 8 };

static int dontneed_edges(char *p, long dropped_gen, long min_refaults)
{
	const size_t end = DN_FIRST + DN_COUNT, last = ps / 8 - 1;
	const struct {
		size_t off;
		uint64_t word;
	} edges[] = {
		{ DN_FIRST * ps - 1, pattern(DN_FIRST - 1, 1, last) },
		{ DN_FIRST * ps, pattern(DN_FIRST, dropped_gen, 0) },
		{ end * ps - 1, pattern(end - 1, dropped_gen, last) },
		{ end * ps, pattern(end, 1, 0) },
	};
	struct faults t;
	size_t i;

	fill(p, DN_PAGES, 0, 1);
	if (madvise(p + DN_FIRST * ps, DN_COUNT * ps, MADV_DONTNEED) < 0)
		return fail("madvise(MADV_DONTNEED): %s", strerror(errno));
	t = faults_now();
	if (verify(p + DN_FIRST * ps, DN_COUNT, DN_FIRST, dropped_gen) < 0)
		return fail("dropped pages 4-11 read back wrong");
	if (faults_check(faults_since(t), min_refaults, LONG_MAX, "refaulting pages 4-11") < 0)
		return -1;
	for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
		if (check_byte(p, edges[i].off, edges[i].word) < 0)
			return -1;
	if (verify(p, DN_FIRST, 0, 1) < 0 || verify(p + end * ps, DN_PAGES - end, end, 1) < 0)
		return fail("pages outside the madvise() range lost their data");
	return 0;
}

static int case_dontneed_edges_anon(const struct fs *fs)
{
	char *p = map_anon(DN_PAGES, 0);
	int rc;

	(void)fs;
	if (!p)
		return -1;
	rc = dontneed_edges(p, ZEROS, DN_COUNT); /* one zero-page fault per page */
	unmap(p, DN_PAGES);
	return rc;
}

static int case_dontneed_edges_file(const struct fs *fs)
{
	int fd = make_file(fs, DN_PAGES), rc = -1;
	char *p = NULL;

	/* fault-around may map all dropped pages in one read fault */
	if (fd >= 0 && (p = map(DN_PAGES, RW, MAP_SHARED, fd)) && !dontneed_edges(p, 1, 1))
		rc = verify_fd(fd, DN_PAGES, 1);
	unmap(p, DN_PAGES);
	close_fd(fd);
	return rc;
}

static int case_populate_and_mlock(const struct fs *fs)
{
	enum { N = 16, LOCK0 = 4, NLOCK = 8 }; /* mlock() pages 4-11 */
	int fd = make_file(fs, N), rc = -1;
	char *f = NULL, *a = NULL, *m = NULL;
	struct faults t;

	/* MAP_POPULATE on a shared file mapping: reading takes no fault */
	if (fd < 0 || write_file(fd, N, 1) < 0 || !(f = map(N, RW, MAP_SHARED | MAP_POPULATE, fd)))
		goto out;
	t = faults_now();
	if (verify(f, N, 0, 1) < 0 ||
	    faults_check(faults_since(t), 0, 1, "reading a populated file mapping") < 0)
		goto out;

	/* MAP_POPULATE on private anonymous memory: populated writable, writes take no fault */
	if (!(a = map_anon(N, MAP_POPULATE)))
		goto out;
	t = faults_now();
	fill(a, N, 0, 2);
	if (faults_check(faults_since(t), 0, 1, "writing populated anonymous memory") < 0 ||
	    verify(a, N, 0, 2) < 0)
		goto out;

	/* mlock() populates just its range; the pages around it still fault */
	if (!(m = map_anon(N, 0)))
		goto out;
	if (mlock(m + LOCK0 * ps, NLOCK * ps) < 0) {
		fail("mlock of %d pages: %s (errno %d)", NLOCK, strerror(errno), errno);
		goto out;
	}
	t = faults_now();
	fill(m + LOCK0 * ps, NLOCK, LOCK0, 3);
	if (faults_check(faults_since(t), 0, 1, "writing the mlock()ed pages 4-11") < 0)
		goto out;
	if (munlock(m + LOCK0 * ps, NLOCK * ps) < 0) {
		fail("munlock: %s", strerror(errno));
		goto out;
	}
	t = faults_now();
	fill(m, LOCK0, 0, 3);
	fill(m + (LOCK0 + NLOCK) * ps, N - LOCK0 - NLOCK, LOCK0 + NLOCK, 3);
	if (faults_check(faults_since(t), N - NLOCK, LONG_MAX, "writing the pages around them") < 0)
		goto out;
	rc = verify(m, N, 0, 3);
out:
	unmap(f, N);
	unmap(a, N);
	unmap(m, N);
	close_fd(fd);
	return rc;
}

/* threads_same_pages: slot t of every page holds thread t's pattern, the rest stays zero. */
enum { SLOT_PAGES = 64 };

/* A start barrier that can also be opened when not all threads could be started. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
};

static void gate_wait(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

struct slot_thread {
	pthread_t tid;
	unsigned id;
	char *map;
	struct gate *start;
};

static uint64_t slot_want(size_t page, long nslots, size_t word)
{
	return (long)word < nslots ? pattern(page, word + 1, word) : 0;
}

static void *slot_writer(void *arg)
{
	struct slot_thread *t = arg;
	uint64_t rng = rng_for(t->id);
	size_t order[SLOT_PAGES], k;

	for (k = 0; k < SLOT_PAGES; k++)
		order[k] = k;
	shuffle(order, SLOT_PAGES, &rng);
	gate_wait(t->start);
	for (k = 0; k < SLOT_PAGES; k++)
		((uint64_t *)(t->map + order[k] * ps))[t->id] = slot_want(order[k], nthreads, t->id);
	return NULL;
}

static int case_threads_same_pages(const struct fs *fs)
{
	struct gate start = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	struct slot_thread th[MAX_THREADS];
	int fd = make_file(fs, SLOT_PAGES), rc = -1, i, started, err = 0;
	char *p = NULL;
	struct faults t;

	if (fd < 0 || !(p = map(SLOT_PAGES, RW, MAP_SHARED, fd)))
		goto out;
	t = faults_now();
	for (i = 0; i < nthreads && !err; i++) {
		th[i] = (struct slot_thread){ .id = i, .map = p, .start = &start };
		err = pthread_create(&th[i].tid, NULL, slot_writer, &th[i]);
	}
	started = err ? i - 1 : i;
	gate_open(&start);
	for (i = 0; i < started; i++)
		pthread_join(th[i].tid, NULL);
	if (err) {
		fail("pthread_create: %s", strerror(err));
		goto out;
	}
	if (faults_check(faults_since(t), SLOT_PAGES, LONG_MAX, "by the threads") < 0 ||
	    check(p, SLOT_PAGES, 0, slot_want, nthreads, false) < 0)
		goto out;
	rc = check_fd(fd, SLOT_PAGES, slot_want, nthreads);
out:
	unmap(p, SLOT_PAGES);
	close_fd(fd);
	return rc;
}

/* ---- the plan ---- */

enum fs_use { NO_FS, ON_TMPFS, EACH_FS, EXT4_ONLY };

static const struct {
	const char *name;
	int (*run)(const struct fs *fs);
	enum fs_use use;
} cases[] = {
	{ "page_size", case_page_size, NO_FS },
	{ "shared_write_read", case_shared_write_read, EACH_FS },
	{ "private_cow", case_private_cow, EACH_FS },
	{ "mkwrite_msync", case_mkwrite_msync, EXT4_ONLY },
	{ "sigbus_beyond_eof", case_sigbus_beyond_eof, EACH_FS },
	{ "truncate_race", case_truncate_race, EACH_FS },
	{ "cow_fork", case_cow_fork, NO_FS },
	{ "dontneed_edges_anon", case_dontneed_edges_anon, NO_FS },
	{ "dontneed_edges_file", case_dontneed_edges_file, EACH_FS },
	{ "populate_and_mlock", case_populate_and_mlock, ON_TMPFS },
	{ "threads_same_pages", case_threads_same_pages, ON_TMPFS },
};

/* Run one case (with a filesystem suffix if `suffix`) and print its KTAP result; true if ok. */
static bool run_case(const char *name, int (*run)(const struct fs *), const struct fs *fs,
		     bool suffix)
{
	long t0 = now_ms();
	bool ok;

	case_id++;
	if (fs && fs->problem[0] && fs->optional) {
		printf("ok %u %s_%s # SKIP %s\n", case_id, name, fs->name, fs->problem);
		return true;
	}
	repeat = 0;
	do {
		ktap_quiet = repeat > 0;
		ok = (fs && fs->problem[0] ? fail("%s", fs->problem) : run(fs)) == 0;
		repeat++;
	} while (ok && now_ms() - t0 < share_ms);
	ktap_quiet = 0;
	if (!ok && repeat > 1)
		diag("failed in repeat %u", repeat - 1);
	diag("%ld ms, %u repeat%s", now_ms() - t0, repeat, repeat == 1 ? "" : "s");
	printf("%sok %u %s%s%s\n", ok ? "" : "not ", case_id, name, suffix ? "_" : "",
	       suffix ? fs->name : "");
	return ok;
}

/* Set fs->problem if fs->dir is not given or not of the filesystem type fs->magic. */
static void probe_fs(struct fs *fs)
{
	struct statfs sf;

	if (!fs->dir)
		snprintf(fs->problem, sizeof fs->problem, "no %s directory given", fs->name);
	else if (statfs(fs->dir, &sf) < 0)
		snprintf(fs->problem, sizeof fs->problem, "%s: %s", fs->dir, strerror(errno));
	else if ((unsigned long)sf.f_type != (unsigned long)fs->magic)
		snprintf(fs->problem, sizeof fs->problem, "%s is not %s (f_type 0x%lx)", fs->dir,
			 fs->name, (unsigned long)sf.f_type);
	if (fs->problem[0])
		diag("%s: %s", fs->name, fs->problem);
	else
		diag("%s: %s", fs->name, fs->dir);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "ext4", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'n' },
		{ "race-ms", required_argument, NULL, 'r' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': expected_ps = option_number("--page-size", optarg, 1, LONG_MAX); break;
		case 't': fs_tmpfs.dir = optarg; break;
		case 'e': fs_ext4.dir = optarg; break;
		case 's': seed = option_number("--seed", optarg, 0, LONG_MAX); seeded = true; break;
		case 'n': nthreads = option_number("--threads", optarg, 1, MAX_THREADS); break;
		case 'r': race_ms = option_number("--race-ms", optarg, 1, 600000); break;
		case 'd': share_ms = 1000.0 * option_number("--duration-s", optarg, 0, 86400); break;
		default: goto usage;
		}
	}
	if (optind != argc || !expected_ps || !fs_tmpfs.dir)
		goto usage;
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	return;
usage:
	fprintf(stderr, "usage: %s --page-size N --tmpfs DIR [--ext4 DIR] [--seed N] "
		"[--threads N] [--race-ms N] [--duration-s S]\n", argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigbus, .sa_flags = SA_NODEFER };
	size_t i, plan = 0;
	int failed = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a case crashes */
	ps = sysconf(_SC_PAGESIZE);
	sigaction(SIGBUS, &sa, NULL);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		plan += cases[i].use == EACH_FS ? 2 : 1;
	printf("KTAP version 1\n1..%zu\n", plan);
	share_ms /= plan;
	diag("seed %" PRIu64 " (--seed %" PRIu64 " reproduces the random parts), %d threads, "
	     "race %ld ms, each case repeated for %.0f ms", seed, seed, nthreads, race_ms, share_ms);
	probe_fs(&fs_tmpfs);
	probe_fs(&fs_ext4);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *n = cases[i].name;
		int (*run)(const struct fs *) = cases[i].run;

		switch (cases[i].use) {
		case NO_FS: failed += !run_case(n, run, NULL, false); break;
		case ON_TMPFS: failed += !run_case(n, run, &fs_tmpfs, false); break;
		case EXT4_ONLY: failed += !run_case(n, run, &fs_ext4, true); break;
		case EACH_FS:
			failed += !run_case(n, run, &fs_tmpfs, true);
			failed += !run_case(n, run, &fs_ext4, true);
			break;
		}
	}
	return failed ? 1 : 0;
}
