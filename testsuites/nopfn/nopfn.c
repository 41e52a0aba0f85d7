/*
 * faultlab nopfn suite: spufs-style pfn-inserting fault handlers that drop the mmap lock, wait
 * and return VM_FAULT_NOPAGE to refault, on the lab's emulated Cell SPUs (the faultlab_spu
 * module, faultlab_spu.h), reported as KTAP version 1.
 *
 * Usage: nopfn --page-size N [--seed N] [--duration-s S] [--run-ms MS] [--stall-s S]
 *              [--case-timeout-s S] [--timeout-factor N] [--min-refaults N] [--min-switches N]
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o nopfn nopfn.c
 * Needs: the module loaded (labctl insmod faultlab_spu.ko), debugfs, root (the cases change
 * the switch rate through /sys/module/faultlab_spu/parameters).
 *
 * Data: writers store sequence-tagged words ("records": case, context, area, slot, round)
 * in the local store (LS) and problem-state area (PS) of several contexts, more contexts than
 * SPUs so that the module's switcher really moves them between SPUs and backing stores.
 * Readers check every record through the mappings and through pread() on the context fd:
 * a record must name its own context, area and slot, and its round must be at least the
 * writer's last completed round (nothing lost or stale) and at most the one it started.
 * Every case runs in a child process (its own process group) with extra "filler" contexts
 * so the switcher always has something to switch; the parent kills a child that makes no
 * progress for --stall-s seconds (a refault loop) or runs longer than --case-timeout-s (some
 * threads stuck), both times --timeout-factor (a slower kernel: the lab passes its debug
 * kernels' factor), and prints the module's counters (faults, refaults, inserts, switches,
 * waits) for each case, which the cases also require.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ktap.h"
#include "../lib/rand.h"
#include "../lib/options.h"
#include "faultlab_spu.h"

#define MAX_CTX 16
#define MAX_WRITERS 4
#define SLOT 64 /* bytes from one record to the next: 8 per cache line pair, many per page */
#define WPS (SLOT / 8)
#define LS_SLOTS (FLSPU_LS_SIZE / SLOT)
#define PS_SLOTS (FLSPU_PS_SIZE / SLOT)
#define RW (PROT_READ | PROT_WRITE)
#define WAIT_MS 8000 /* longest wait for a state the module must reach (a waiter, a load) */

static size_t ps;                /* page size */
static long expected_ps;         /* --page-size */
static uint64_t seed;            /* --seed */
static double share_ms;          /* --duration-s divided among the cases */
static long run_ms = 1500;       /* --run-ms: how long each data phase runs */
static long stall_s = 15;        /* --stall-s */
static long case_timeout_s = 60; /* --case-timeout-s, plus twice the case's share */
static long min_refaults = 1000; /* --min-refaults: over the whole suite */
static long min_switches = 1000; /* --min-switches */
static unsigned repeat, case_id, nr_spus;
static atomic_ulong *heartbeat;  /* shared with the parent: progress of the running case */
static char module_problem[200]; /* why the module cannot be used, if it cannot */
static bool wedged;              /* a case's process survived SIGKILL: stuck in the kernel */

/* ---- small helpers ---- */

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void beat(void)
{
	atomic_fetch_add_explicit(heartbeat, 1, memory_order_relaxed);
}

/* A generator of its own for each (case, repeat, user), derived from --seed. */
static uint64_t rng_for(unsigned user)
{
	return seed ^ (uint64_t)case_id << 32 ^ (uint64_t)repeat << 48 ^ (uint64_t)user << 8;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static long read_param(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof path, FLSPU_PARAMS "/%s", name);
	return read_file(path, buf, sizeof buf) < 0 ? -1 : strtol(buf, NULL, 10);
}

static int write_param(const char *name, long value)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof path, FLSPU_PARAMS "/%s", name);
	snprintf(buf, sizeof buf, "%ld", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	n = write(fd, buf, strlen(buf));
	close(fd);
	if (n != (int)strlen(buf))
		return fail("write %s to %s: %s", buf, path, strerror(errno));
	return 0;
}

/* ---- the module's counters ---- */

#define K_ENUM(name) K_##name,
enum { FLSPU_COUNTERS(K_ENUM) NR_K };
#define K_NAME(name) #name,
static const char *const k_names[] = { FLSPU_COUNTERS(K_NAME) };

struct kcount {
	long long v[NR_K];
};

static int kcount_read(struct kcount *k)
{
	char buf[2048], *line, *save = NULL;
	int i;

	memset(k, 0, sizeof *k);
	if (read_file(FLSPU_DEBUGFS "/counters", buf, sizeof buf) < 0)
		return fail("read " FLSPU_DEBUGFS "/counters: %s", strerror(errno));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		long long v;

		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		for (i = 0; i < NR_K; i++)
			if (!strcmp(name, k_names[i]))
				k->v[i] = v;
	}
	return 0;
}

static long long kdelta(const struct kcount *k0, int which)
{
	struct kcount k;

	return kcount_read(&k) < 0 ? -1 : k.v[which] - k0->v[which];
}

/* Require that counter `which` grew by at least min since k0. */
static int require(const struct kcount *k0, int which, long long min, const char *why)
{
	long long d = kdelta(k0, which);

	if (d < min)
		return fail("%s grew by %lld, expected at least %lld (%s)", k_names[which], d, min,
			    why);
	return 0;
}

/* The counters that prove a data case ran through the nopfn paths. */
static int require_paths(const struct kcount *k0)
{
	if (require(k0, K_switches, 2, "the switcher moved contexts") < 0 ||
	    require(k0, K_refaults, 1, "problem-state faults waited and refaulted") < 0 ||
	    require(k0, K_waits, 1, "a fault slept with the mmap lock dropped") < 0 ||
	    require(k0, K_inserts_hw, 1, "PFNs of an SPU were mapped") < 0 ||
	    require(k0, K_inserts_backing, 1, "PFNs of a backing store were mapped") < 0)
		return -1;
	return 0;
}

/* ---- contexts and mappings ---- */

static int ctx_create(void)
{
	int dev = open(FLSPU_DEVICE, O_RDWR | O_CLOEXEC), fd;

	if (dev < 0)
		return fail("open %s: %s", FLSPU_DEVICE, strerror(errno));
	fd = ioctl(dev, FLSPU_IOC_CREATE, 0);
	if (fd < 0)
		fail("ioctl(FLSPU_IOC_CREATE): %s", strerror(errno));
	close(dev);
	return fd;
}

static int ctx_hold(int fd, int on)
{
	if (ioctl(fd, FLSPU_IOC_HOLD, &on) < 0)
		return fail("ioctl(FLSPU_IOC_HOLD, %d): %s", on, strerror(errno));
	return 0;
}

static int ctx_info(int fd, struct flspu_info *info)
{
	if (ioctl(fd, FLSPU_IOC_INFO, info) < 0)
		return fail("ioctl(FLSPU_IOC_INFO): %s", strerror(errno));
	return 0;
}

/* Wait until the context has at least n faults waiting for a load. */
static int wait_waiters(int fd, unsigned n)
{
	struct flspu_info info;
	long t0 = now_ms();

	do {
		if (ctx_info(fd, &info) < 0)
			return -1;
		if (info.waiters >= n)
			return 0;
		sleep_us(1000);
	} while (now_ms() - t0 < WAIT_MS);
	return fail("no fault waited for the held context within %d ms (%u waiters)", WAIT_MS,
		    info.waiters);
}

static void *map_area(int fd, unsigned area, size_t len, int prot, int flags, size_t extra_off,
		      void *at)
{
	void *p = mmap(at, len, prot, flags, fd, FLSPU_AREA_OFFSET(area) + extra_off);

	if (p == MAP_FAILED)
		fail("mmap of area %u (+0x%zx), %zu bytes: %s", area, extra_off, len,
		     strerror(errno));
	return p == MAP_FAILED ? NULL : p;
}

/* The mapping length of an area: its size, at least a page. */
static size_t area_len(unsigned area)
{
	unsigned long off, size;

	flspu_area_geometry(area, ps, &off, &size);
	return size < ps ? ps : size;
}

static const char *const area_names[] = { "mem", "ps", "signal1", "signal2", "mfc", "cntl",
					  "mss" };

/* Extra contexts that keep the switcher busy while a case runs: more contexts than SPUs. */
static int fillers[MAX_CTX];
static int nfillers;

static void open_fillers(unsigned n)
{
	while (nfillers < (int)n && nfillers < MAX_CTX) {
		int fd = ctx_create();

		if (fd < 0)
			break;
		fillers[nfillers++] = fd;
	}
}

/* ---- SIGSEGV/SIGBUS-safe access ---- */

static __thread sigjmp_buf guard_jmp;
static __thread volatile sig_atomic_t guard_armed, guard_sig;

static void on_fault_signal(int sig)
{
	if (!guard_armed) { /* not expected: die when the access is retried */
		signal(sig, SIG_DFL);
		return;
	}
	guard_armed = 0;
	guard_sig = sig;
	siglongjmp(guard_jmp, 1);
}

/* Read (or write, if wr) one word; 0, or the signal number it raised. */
static int guarded(volatile uint64_t *p, uint64_t *val, bool wr)
{
	guard_sig = 0;
	if (sigsetjmp(guard_jmp, 0))
		return guard_sig;
	guard_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (wr)
		*p = *val;
	else
		*val = *p;
	atomic_signal_fence(memory_order_seq_cst);
	guard_armed = 0;
	return 0;
}

/* ---- records ---- */

enum { A_LS = 1, A_PS = 2 };

/* hex CC XA SSSS QQQQQQQQ: case (top bit set: never 0), context, area, slot, round */
static uint64_t rec(unsigned c, unsigned area, unsigned slot, uint32_t seq)
{
	return (uint64_t)(0x80 | (case_id & 0x7f)) << 56 | (uint64_t)(c & 0xf) << 52 |
	       (uint64_t)(area & 0xf) << 48 | (uint64_t)(slot & 0xffff) << 32 | seq;
}

static void describe(uint64_t v, char *buf, size_t size)
{
	if (!v)
		snprintf(buf, size, "zero");
	else if (!(v >> 63))
		snprintf(buf, size, "not a record");
	else
		snprintf(buf, size, "case %u ctx %u %s slot %u round %u",
			 (unsigned)(v >> 56 & 0x7f), (unsigned)(v >> 52 & 0xf),
			 (v >> 48 & 0xf) == A_LS ? "LS" : (v >> 48 & 0xf) == A_PS ? "PS" : "?",
			 (unsigned)(v >> 32 & 0xffff), (unsigned)v);
}

/* ---- the data engine: writers and readers on several contexts ---- */

struct shared { /* MAP_SHARED: seen by forked workers too */
	atomic_bool stop;
	atomic_int failed;
	atomic_ulong rounds, reads, preads, win_ok, win_fault, storms;
	atomic_uint started[MAX_CTX][MAX_WRITERS], done[MAX_CTX][MAX_WRITERS];
	char why[600];
};

struct ectx {
	int fd;
	volatile uint64_t *ls, *ps;
	volatile uint64_t *win; /* remap_storm: the window that comes and goes */
	void *win2;             /* ... and where it is moved to */
};

struct engine {
	int nctx, nw;
	struct ectx c[MAX_CTX];
	struct shared *sh;
};

static void worker_fail(struct shared *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void worker_fail(struct shared *sh, const char *fmt, ...)
{
	int zero = 0;
	va_list ap;

	if (atomic_compare_exchange_strong(&sh->failed, &zero, 1)) {
		va_start(ap, fmt);
		vsnprintf(sh->why, sizeof sh->why, fmt, ap);
		va_end(ap);
	} else {
		atomic_fetch_add(&sh->failed, 1);
	}
	atomic_store(&sh->stop, true);
}

/*
 * Check the record read from slot `slot` of area `area` of context c: it must be that slot's
 * record with a round in [min, max] (0 allowed only if min is 0: never written yet).
 */
static int check_rec(struct shared *sh, const char *how, unsigned c, unsigned area,
		     unsigned slot, uint64_t v, uint32_t min, uint32_t max)
{
	uint64_t want = rec(c, area, slot, 0);
	char got[96];

	if (!v && !min)
		return 0;
	if ((v & ~0xffffffffULL) == want && (uint32_t)v >= min && (uint32_t)v <= max)
		return 0;
	describe(v, got, sizeof got);
	worker_fail(sh, "%s: ctx %u %s slot %u (offset 0x%x, page %zu): read 0x%016" PRIx64
		    " (%s), expected this slot's record of round %u..%u%s", how, c,
		    area == A_LS ? "LS" : "PS", slot, slot * SLOT, (size_t)slot * SLOT / ps, v, got,
		    min, max, (v & ~0xffffffffULL) == want && (uint32_t)v < min ?
		    ": a lost write or stale data" : "");
	return -1;
}

static void snapshot(struct engine *e, unsigned c, uint32_t *out, bool started)
{
	int w;

	for (w = 0; w < e->nw; w++)
		out[w] = atomic_load(started ? &e->sh->started[c][w] : &e->sh->done[c][w]);
}

/* Writer w of context c: rounds of its slots (every nw-th) in LS and PS, then reads back. */
static void writer(struct engine *e, unsigned c, unsigned w, volatile uint64_t *ls,
		   volatile uint64_t *ps_)
{
	struct shared *sh = e->sh;
	uint32_t r = atomic_load(&sh->done[c][w]);
	unsigned nls = LS_SLOTS / e->nw, nps = PS_SLOTS / e->nw, k, s, start;
	uint64_t rng = rng_for(c << 4 | w);

	/* the mapping this writer starts with shows the last round, whoever wrote it */
	for (k = 0; k < nls; k++)
		if (check_rec(sh, "writer start", c, A_LS, k * e->nw + w, ls[(k * e->nw + w) * WPS],
			      r, r) < 0)
			return;
	while (!atomic_load(&sh->stop)) {
		r++;
		atomic_store(&sh->started[c][w], r);
		start = rng_next(&rng) % nls; /* the threads fault the pages in different orders */
		for (k = 0; k < nls; k++) {
			s = ((start + k) % nls) * e->nw + w;
			ls[s * WPS] = rec(c, A_LS, s, r);
		}
		for (k = 0; k < nps; k++) {
			s = ((start + k) % nps) * e->nw + w;
			ps_[s * WPS] = rec(c, A_PS, s, r);
		}
		atomic_store(&sh->done[c][w], r);
		for (k = 0; k < nls; k++) {
			s = k * e->nw + w;
			if (check_rec(sh, "writer read-back", c, A_LS, s, ls[s * WPS], r, r) < 0)
				return;
		}
		for (k = 0; k < nps; k++) {
			s = k * e->nw + w;
			if (check_rec(sh, "writer read-back", c, A_PS, s, ps_[s * WPS], r, r) < 0)
				return;
		}
		atomic_fetch_add(&sh->rounds, 1);
		beat();
	}
}

/* A reader through the mappings: every record, never older than what it saw before. */
static void map_reader(struct engine *e, unsigned c, volatile uint64_t *ls, volatile uint64_t *ps_)
{
	struct shared *sh = e->sh;
	uint32_t *last = calloc(LS_SLOTS + PS_SLOTS, sizeof(uint32_t));
	uint64_t *val = malloc((LS_SLOTS + PS_SLOTS) * sizeof(uint64_t));
	uint32_t d[MAX_WRITERS], st[MAX_WRITERS], min;
	unsigned s;

	if (!last || !val) {
		worker_fail(sh, "out of memory");
		goto out;
	}
	while (!atomic_load(&sh->stop)) {
		snapshot(e, c, d, false);
		for (s = 0; s < LS_SLOTS; s++)
			val[s] = ls[s * WPS];
		for (s = 0; s < PS_SLOTS; s++)
			val[LS_SLOTS + s] = ps_[s * WPS];
		atomic_thread_fence(memory_order_seq_cst);
		snapshot(e, c, st, true);
		for (s = 0; s < LS_SLOTS + PS_SLOTS; s++) {
			unsigned slot = s < LS_SLOTS ? s : s - LS_SLOTS, w = slot % e->nw;

			min = d[w] > last[s] ? d[w] : last[s];
			if (check_rec(sh, "reader (mapping)", c, s < LS_SLOTS ? A_LS : A_PS, slot,
				      val[s], min, st[w]) < 0)
				goto out;
			last[s] = (uint32_t)val[s];
		}
		atomic_fetch_add(&sh->reads, 1);
		beat();
	}
out:
	free(last);
	free(val);
}

/* pread() the whole local store into buf. */
static int pread_ls(int fd, void *buf)
{
	size_t done = 0;
	ssize_t n;

	while (done < FLSPU_LS_SIZE) {
		n = pread(fd, (char *)buf + done, FLSPU_LS_SIZE - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -(n < 0 ? errno : EIO);
		done += n;
	}
	return 0;
}

/* A reader through pread() on the context fd: the records, and zeros between them. */
static void fd_reader(struct engine *e, unsigned c)
{
	struct shared *sh = e->sh;
	uint64_t *buf = malloc(FLSPU_LS_SIZE);
	uint32_t *last = calloc(LS_SLOTS, sizeof(uint32_t));
	uint32_t d[MAX_WRITERS], st[MAX_WRITERS], min;
	unsigned s, i;
	int err;

	if (!buf || !last) {
		worker_fail(sh, "out of memory");
		goto out;
	}
	while (!atomic_load(&sh->stop)) {
		snapshot(e, c, d, false);
		err = pread_ls(e->c[c].fd, buf);
		if (err) {
			worker_fail(sh, "pread of ctx %u: %s", c, strerror(-err));
			goto out;
		}
		snapshot(e, c, st, true);
		for (s = 0; s < LS_SLOTS; s++) {
			min = d[s % e->nw] > last[s] ? d[s % e->nw] : last[s];
			if (check_rec(sh, "reader (pread)", c, A_LS, s, buf[s * WPS], min,
				      st[s % e->nw]) < 0)
				goto out;
			last[s] = (uint32_t)buf[s * WPS];
			for (i = 1; i < WPS; i++)
				if (buf[s * WPS + i]) {
					worker_fail(sh, "reader (pread): ctx %u LS offset 0x%x holds "
						    "0x%016" PRIx64 ", expected 0 (between records)",
						    c, (s * WPS + i) * 8, buf[s * WPS + i]);
					goto out;
				}
		}
		atomic_fetch_add(&sh->preads, 1);
		beat();
	}
out:
	free(buf);
	free(last);
}

/* remap_storm: read random records through a window that is mapped, moved and unmapped. */
static void window_reader(struct engine *e, unsigned c, unsigned id)
{
	struct shared *sh = e->sh;
	uint64_t rng = rng_for(0x100 | c << 4 | id), v;
	uint32_t d[MAX_WRITERS], st[MAX_WRITERS];
	unsigned slot;
	int sig;

	while (!atomic_load(&sh->stop)) {
		slot = rng_next(&rng) % PS_SLOTS;
		snapshot(e, c, d, false);
		sig = guarded(&e->c[c].win[slot * WPS], &v, false);
		atomic_thread_fence(memory_order_seq_cst);
		snapshot(e, c, st, true);
		if (sig) {
			atomic_fetch_add(&sh->win_fault, 1);
			continue;
		}
		if (check_rec(sh, "reader (window)", c, A_PS, slot, v, d[slot % e->nw],
			      st[slot % e->nw]) < 0)
			return;
		atomic_fetch_add(&sh->win_ok, 1);
		beat();
	}
}

/* remap_storm: map the context's PS at the window, move it away and back, unmap it. */
static void stormer(struct engine *e, unsigned c)
{
	struct shared *sh = e->sh;
	struct ectx *x = &e->c[c];
	uint64_t rng = rng_for(0x200 | c);
	void *win = (void *)x->win;

#define STORM_STEP(call, what)                                                          \
	do {                                                                           \
		if ((call) == MAP_FAILED) {                                            \
			worker_fail(sh, "remap_storm: %s: %s", what, strerror(errno)); \
			return;                                                        \
		}                                                                      \
		sleep_us(rng_next(&rng) % 400);                                        \
	} while (0)

	while (!atomic_load(&sh->stop)) {
		STORM_STEP(mmap(win, FLSPU_PS_SIZE, RW, MAP_SHARED | MAP_FIXED, x->fd,
				FLSPU_AREA_OFFSET(FLSPU_AREA_PS)), "mmap at the window");
		STORM_STEP(mremap(win, FLSPU_PS_SIZE, FLSPU_PS_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
				  x->win2), "mremap away");
		STORM_STEP(mremap(x->win2, FLSPU_PS_SIZE, FLSPU_PS_SIZE,
				  MREMAP_MAYMOVE | MREMAP_FIXED, win), "mremap back");
		STORM_STEP(mmap(x->win2, FLSPU_PS_SIZE, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), "re-reserve");
		if (munmap(win, FLSPU_PS_SIZE) < 0) {
			worker_fail(sh, "remap_storm: munmap: %s", strerror(errno));
			return;
		}
		STORM_STEP(mmap(win, FLSPU_PS_SIZE, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), "reserve");
		atomic_fetch_add(&sh->storms, 1);
		beat();
	}
#undef STORM_STEP
}

enum role { WRITER, READER, FD_READER, WINDOW_READER, STORMER };

struct worker {
	struct engine *e;
	enum role role;
	unsigned c, w;
	bool own_maps;   /* a process that maps the context itself */
	pthread_t tid;
	pid_t pid;
};

static void worker_run(struct worker *wk)
{
	struct engine *e = wk->e;
	volatile uint64_t *ls = e->c[wk->c].ls, *ps_ = e->c[wk->c].ps;

	if (wk->own_maps) {
		ls = map_area(e->c[wk->c].fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE, RW, MAP_SHARED, 0, NULL);
		ps_ = map_area(e->c[wk->c].fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL);
		if (!ls || !ps_) {
			worker_fail(e->sh, "worker process: mmap: %s", strerror(errno));
			return;
		}
	}
	switch (wk->role) {
	case WRITER: writer(e, wk->c, wk->w, ls, ps_); break;
	case READER: map_reader(e, wk->c, ls, ps_); break;
	case FD_READER: fd_reader(e, wk->c); break;
	case WINDOW_READER: window_reader(e, wk->c, wk->w); break;
	case STORMER: stormer(e, wk->c); break;
	}
}

static void *worker_thread(void *arg)
{
	worker_run(arg);
	return NULL;
}

static void engine_close(struct engine *e)
{
	int c;

	for (c = 0; c < e->nctx; c++) {
		if (e->c[c].ls)
			munmap((void *)e->c[c].ls, FLSPU_LS_SIZE);
		if (e->c[c].ps)
			munmap((void *)e->c[c].ps, FLSPU_PS_SIZE);
		if (e->c[c].win)
			munmap((void *)e->c[c].win, FLSPU_PS_SIZE);
		if (e->c[c].win2)
			munmap(e->c[c].win2, FLSPU_PS_SIZE);
		if (e->c[c].fd >= 0)
			close(e->c[c].fd);
	}
	if (e->sh)
		munmap(e->sh, sizeof *e->sh);
	memset(e, 0, sizeof *e);
}

/* nctx contexts (with their LS and PS mapped) and nw writers for each. */
static int engine_open(struct engine *e, int nctx, int nw)
{
	int c;

	memset(e, 0, sizeof *e);
	e->nctx = nctx > MAX_CTX ? MAX_CTX : nctx;
	e->nw = nw;
	for (c = 0; c < e->nctx; c++)
		e->c[c].fd = -1;
	e->sh = mmap(NULL, sizeof *e->sh, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e->sh == MAP_FAILED) {
		e->sh = NULL;
		return fail("mmap of the shared state: %s", strerror(errno));
	}
	for (c = 0; c < e->nctx; c++) {
		struct ectx *x = &e->c[c];

		x->fd = ctx_create();
		if (x->fd < 0 ||
		    !(x->ls = map_area(x->fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE, RW, MAP_SHARED, 0,
				       NULL)) ||
		    !(x->ps = map_area(x->fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0,
				       NULL)))
			return -1;
	}
	return 0;
}

enum mode { THREADS, PROCS_OWN_MAPS, PROCS_INHERITED };

/* Start the workers, let them run for ms, stop them; -1 if any failed or died. */
static int engine_run(struct engine *e, struct worker *wk, int n, enum mode mode, long ms)
{
	long t0 = now_ms();
	int i, started = 0, status, rc = 0;

	atomic_store(&e->sh->stop, false);
	fflush(stdout);
	for (i = 0; i < n; i++, started++) {
		wk[i].e = e;
		if (mode == THREADS || wk[i].role == STORMER || wk[i].role == WINDOW_READER) {
			wk[i].own_maps = false;
			if (pthread_create(&wk[i].tid, NULL, worker_thread, &wk[i])) {
				worker_fail(e->sh, "pthread_create failed");
				break;
			}
			wk[i].pid = 0;
			continue;
		}
		wk[i].own_maps = mode == PROCS_OWN_MAPS;
		wk[i].pid = fork();
		if (wk[i].pid < 0) {
			worker_fail(e->sh, "fork: %s", strerror(errno));
			break;
		}
		if (wk[i].pid == 0) {
			worker_run(&wk[i]);
			_exit(0);
		}
	}
	while (!atomic_load(&e->sh->stop) && now_ms() - t0 < ms)
		sleep_us(5000);
	atomic_store(&e->sh->stop, true);
	for (i = 0; i < started; i++) {
		if (!wk[i].pid) {
			pthread_join(wk[i].tid, NULL);
			continue;
		}
		if (waitpid(wk[i].pid, &status, 0) < 0)
			rc = fail("waitpid: %s", strerror(errno));
		else if (WIFSIGNALED(status))
			rc = fail("worker process %d killed by signal %d", (int)wk[i].pid,
				  WTERMSIG(status));
	}
	if (atomic_load(&e->sh->failed))
		rc = fail("%s%s", e->sh->why, atomic_load(&e->sh->failed) > 1 ?
			  " (and more failures)" : "");
	return rc;
}

/* After the workers: every record holds its writer's last round, the rest is zero. */
static int engine_verify(struct engine *e)
{
	uint64_t *buf = malloc(FLSPU_LS_SIZE);
	uint32_t d[MAX_WRITERS];
	int c, rc = -1, err;
	unsigned i, slot;

	if (!buf)
		return fail("out of memory");
	for (c = 0; c < e->nctx; c++) {
		snapshot(e, c, d, false);
		err = pread_ls(e->c[c].fd, buf);
		if (err) {
			fail("pread of ctx %d: %s", c, strerror(-err));
			goto out;
		}
		for (i = 0; i < FLSPU_LS_SIZE / 8 + FLSPU_PS_SIZE / 8; i++) {
			bool in_ls = i < FLSPU_LS_SIZE / 8;
			unsigned j = in_ls ? i : i - FLSPU_LS_SIZE / 8;
			uint64_t mv = in_ls ? e->c[c].ls[j] : e->c[c].ps[j], pv = in_ls ? buf[j] : mv;
			uint64_t want = 0;
			char got[96];

			slot = j / WPS;
			if (j % WPS == 0 && d[slot % e->nw])
				want = rec(c, in_ls ? A_LS : A_PS, slot, d[slot % e->nw]);
			if (mv == want && pv == want)
				continue;
			describe(mv != want ? mv : pv, got, sizeof got);
			fail("at the end: ctx %d %s offset 0x%x: %s 0x%016" PRIx64 " (%s), expected "
			     "0x%016" PRIx64, c, in_ls ? "LS" : "PS", j * 8,
			     mv != want ? "the mapping reads" : "pread() reads", mv != want ? mv : pv,
			     got, want);
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static void engine_diag(struct engine *e, const char *what)
{
	struct shared *sh = e->sh;

	diag("%s: %d contexts on %u SPUs, %lu writer rounds, %lu mapping reads, %lu preads",
	     what, e->nctx, nr_spus, atomic_load(&sh->rounds), atomic_load(&sh->reads),
	     atomic_load(&sh->preads));
}

/* Writers, a mapping reader and a pread reader on every context. */
static int add_standard(struct engine *e, struct worker *wk)
{
	int n = 0, c, w;

	for (c = 0; c < e->nctx; c++) {
		for (w = 0; w < e->nw; w++)
			wk[n++] = (struct worker){ .role = WRITER, .c = c, .w = w };
		wk[n++] = (struct worker){ .role = READER, .c = c };
		wk[n++] = (struct worker){ .role = FD_READER, .c = c };
	}
	return n;
}

static int data_case(enum mode mode, long ms, const char *what)
{
	struct worker wk[MAX_CTX * (MAX_WRITERS + 2)];
	struct engine e = { 0 };
	struct kcount k0;
	int n, rc = -1;

	if (kcount_read(&k0) < 0 || engine_open(&e, nr_spus + 2, 2) < 0)
		goto out;
	n = add_standard(&e, wk);
	if (engine_run(&e, wk, n, mode, ms) < 0 || engine_verify(&e) < 0)
		goto out;
	engine_diag(&e, what);
	if (!atomic_load(&e.sh->rounds) || !atomic_load(&e.sh->reads) || !atomic_load(&e.sh->preads)) {
		fail("a worker made no progress");
		goto out;
	}
	rc = require_paths(&k0);
out:
	engine_close(&e);
	return rc;
}

/* ---- cases: 0 if passed, -1 if failed ---- */

static int case_module(void)
{
	struct kcount k;

	diag("page size %zu (sysconf), %ld (--page-size)", ps, expected_ps);
	if ((long)ps != expected_ps)
		return fail("expected page size %ld, got %zu", expected_ps, ps);
	if (module_problem[0])
		return fail("%s", module_problem);
	diag("faultlab_spu: nr_spus %u, switch_interval_us %ld, bug %ld", nr_spus,
	     read_param("switch_interval_us"), read_param("bug"));
	return kcount_read(&k);
}

static int case_area_geometry(void)
{
	int fd = ctx_create(), rc = -1;
	volatile uint64_t *psmap = NULL, *sub;
	unsigned long off, size;
	uint64_t rng = rng_for(1);
	unsigned a;

	if (fd < 0 || !(psmap = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	for (a = 0; a < FLSPU_NR_AREAS; a++) {
		bool exists = flspu_area_geometry(a, ps, &off, &size) == 0;
		void *p = mmap(NULL, area_len(a), RW, MAP_SHARED, fd, FLSPU_AREA_OFFSET(a));

		if (!exists) {
			if (p != MAP_FAILED || errno != ENODEV) {
				fail("mmap of %s with %zu-byte pages: %s, expected ENODEV (spufs has "
				     "no mmap for it)", area_names[a], ps,
				     p == MAP_FAILED ? strerror(errno) : "success");
				goto out;
			}
			diag("%s: ENODEV, as spufs with %zu-byte pages", area_names[a], ps);
			continue;
		}
		if (p == MAP_FAILED) {
			fail("mmap of %s: %s", area_names[a], strerror(errno));
			goto out;
		}
		diag("%s: problem-state offset 0x%lx, 0x%lx bytes", area_names[a], off, size);
		sub = p;
		if (a != FLSPU_AREA_MEM && a != FLSPU_AREA_PS) {
			/* the same problem-state words, through both mappings, either way */
			uint64_t x = rec(0, A_PS, a, rng_next(&rng)), y = x ^ 0xff, z = x ^ 0xff00;
			size_t last = size / 8 - 1;

			sub[0] = x;
			sub[last] = y;
			psmap[off / 8 + 1] = z;
			if (psmap[off / 8] != x || psmap[off / 8 + last] != y || sub[1] != z) {
				fail("%s does not alias problem-state offset 0x%lx: 0x%016" PRIx64 " "
				     "0x%016" PRIx64 " 0x%016" PRIx64, area_names[a], off,
				     psmap[off / 8], psmap[off / 8 + last], sub[1]);
				munmap(p, area_len(a));
				goto out;
			}
		}
		munmap(p, area_len(a));
		beat();
	}
	if (mmap(NULL, ps, RW, MAP_SHARED, fd, FLSPU_AREA_OFFSET(FLSPU_NR_AREAS)) != MAP_FAILED ||
	    errno != EINVAL) {
		fail("mmap at an offset in no area: %s, expected EINVAL", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (psmap)
		munmap((void *)psmap, FLSPU_PS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int case_private_refused(void)
{
	int fd = ctx_create(), rc = -1, prot;
	unsigned long off, size;
	volatile uint64_t *ro;
	unsigned a;

	if (fd < 0)
		return -1;
	for (a = 0; a < FLSPU_NR_AREAS; a++) {
		int want = flspu_area_geometry(a, ps, &off, &size) ? ENODEV : EINVAL;

		for (prot = PROT_READ; prot <= RW; prot |= PROT_WRITE) {
			void *p = mmap(NULL, area_len(a), prot, MAP_PRIVATE, fd, FLSPU_AREA_OFFSET(a));

			if (p != MAP_FAILED || errno != want) {
				fail("MAP_PRIVATE %s mmap of %s: %s, expected %s",
				     prot == RW ? "read-write" : "read-only", area_names[a],
				     p == MAP_FAILED ? strerror(errno) : "success", strerror(want));
				goto out;
			}
			if (prot == RW)
				break;
		}
	}
	diag("MAP_PRIVATE refused for all %d areas", FLSPU_NR_AREAS);
	/* a read-only shared mapping is fine, and reads what pwrite() stored */
	if (pwrite(fd, &(uint64_t){ rec(0, A_LS, 3, 7) }, 8, 3 * SLOT) != 8) {
		fail("pwrite: %s", strerror(errno));
		goto out;
	}
	ro = map_area(fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE, PROT_READ, MAP_SHARED, 0, NULL);
	if (!ro)
		goto out;
	if (ro[3 * WPS] != rec(0, A_LS, 3, 7))
		fail("a read-only shared mapping reads 0x%016" PRIx64 ", expected 0x%016" PRIx64,
		     ro[3 * WPS], rec(0, A_LS, 3, 7));
	else
		rc = 0;
	munmap((void *)ro, FLSPU_LS_SIZE);
out:
	close(fd);
	return rc;
}

/* Map `len` bytes of an area from `extra` on; touch the words at `ok` (fine) and `bad`. */
static int sigbus_probe(int fd, unsigned a, size_t extra, size_t len, size_t ok, size_t bad,
			int *sigbus)
{
	char *p = map_area(fd, a, len, RW, MAP_SHARED, extra, NULL);
	uint64_t v = 0;
	int sig, i;

	if (!p)
		return -1;
	for (i = 0; i < 2 && ok != SIZE_MAX; i++) {
		v = rec(1, A_PS, i, 1);
		sig = guarded((volatile uint64_t *)(p + ok), &v, i == 0);
		if (sig) {
			munmap(p, len);
			return fail("%s at offset 0x%zx of %s (+0x%zx): signal %d inside the area",
				    i ? "read" : "write", ok, area_names[a], extra, sig);
		}
	}
	for (i = 0; i < 2; i++) {
		sig = guarded((volatile uint64_t *)(p + bad), &v, i == 0);
		if (sig != SIGBUS) {
			munmap(p, len);
			return fail("%s at offset 0x%zx of %s (+0x%zx), past the area: %s, expected "
				    "SIGBUS", i ? "read" : "write", bad, area_names[a], extra,
				    sig ? strsignal(sig) : "no signal");
		}
		(*sigbus)++;
	}
	munmap(p, len);
	beat();
	return 0;
}

static int case_sigbus_past_area(void)
{
	int fd = ctx_create(), rc = -1, sigbus = 0;
	unsigned long off, size;
	struct kcount k0;
	unsigned a;

	if (fd < 0 || kcount_read(&k0) < 0)
		goto out;
	for (a = 0; a < FLSPU_NR_AREAS; a++) {
		size_t len;

		if (flspu_area_geometry(a, ps, &off, &size))
			continue;
		len = area_len(a) + ps; /* one page more than the area */
		if (sigbus_probe(fd, a, 0, len, size - 8, area_len(a), &sigbus) < 0)
			goto out;
	}
	/* a mapping that starts past the area (inside its mmap window) maps, then faults */
	if (sigbus_probe(fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE, ps, SIZE_MAX, 0, &sigbus) < 0 ||
	    sigbus_probe(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, ps, SIZE_MAX, 8, &sigbus) < 0)
		goto out;
	diag("%d SIGBUS past the areas", sigbus);
	rc = require(&k0, K_sigbus, sigbus, "each access past an area is a VM_FAULT_SIGBUS");
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int case_data_threads(void)
{
	return data_case(THREADS, run_ms, "threads");
}

static int case_data_procs(void)
{
	return data_case(PROCS_OWN_MAPS, run_ms, "processes, each with its own mappings");
}

/* Fork with the mappings inherited: the children go on writing where the parent stopped. */
static int case_fork_inherit(void)
{
	struct worker wk[MAX_CTX * (MAX_WRITERS + 3)];
	struct engine e = { 0 };
	struct kcount k0;
	int n, rc = -1, c, w;

	if (kcount_read(&k0) < 0 || engine_open(&e, nr_spus + 2, 2) < 0)
		goto out;
	/* the parent's own writer threads first */
	for (n = 0, c = 0; c < e.nctx; c++)
		for (w = 0; w < e.nw; w++)
			wk[n++] = (struct worker){ .role = WRITER, .c = c, .w = w };
	if (engine_run(&e, wk, n, THREADS, run_ms / 3) < 0)
		goto out;
	/* then forked writers and mapping readers on the inherited mappings, pread in the parent */
	n = 0;
	for (c = 0; c < e.nctx; c++) {
		for (w = 0; w < e.nw; w++)
			wk[n++] = (struct worker){ .role = WRITER, .c = c, .w = w };
		wk[n++] = (struct worker){ .role = READER, .c = c };
	}
	for (c = 0; c < e.nctx; c++)
		wk[n++] = (struct worker){ .role = FD_READER, .c = c };
	rc = engine_run(&e, wk, n, PROCS_INHERITED, run_ms * 2 / 3);
	if (!rc)
		rc = engine_verify(&e);
	if (!rc) {
		engine_diag(&e, "parent, then forked children on inherited mappings");
		rc = require_paths(&k0);
	}
out:
	engine_close(&e);
	return rc;
}

/* The same data at several switch rates: on demand only, very fast, slow. */
static int case_switch_rates(void)
{
	static const long rates[] = { 0, 50, 2000 };
	long saved = read_param("switch_interval_us");
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof rates / sizeof rates[0] && !rc; i++) {
		char what[64];

		snprintf(what, sizeof what, "switch_interval_us=%ld", rates[i]);
		rc = write_param("switch_interval_us", rates[i]);
		if (!rc)
			rc = data_case(THREADS, run_ms / 2, what);
		if (rc)
			fail("at switch_interval_us=%ld", rates[i]);
	}
	write_param("switch_interval_us", saved);
	return rc;
}

/* signal_during_wait: a thread reads a problem-state word of a held (saved) context. */
static atomic_int usr1_count;
static atomic_bool probe_done;
static uint64_t probe_value;
static int probe_sig;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&usr1_count, 1);
}

struct probe {
	volatile uint64_t *addr;
	pthread_t tid;
};

static void *probe_thread(void *arg)
{
	struct probe *p = arg;

	probe_sig = guarded(p->addr, &probe_value, false);
	atomic_store(&probe_done, true);
	return NULL;
}

static int start_probe(struct probe *p, volatile uint64_t *addr)
{
	int err;

	atomic_store(&probe_done, false);
	p->addr = addr;
	err = pthread_create(&p->tid, NULL, probe_thread, p);
	return err ? fail("pthread_create: %s", strerror(err)) : 0;
}

static int wait_probe(struct probe *p)
{
	long t0 = now_ms();

	while (!atomic_load(&probe_done)) {
		if (now_ms() - t0 > WAIT_MS)
			return fail("the blocked access did not complete within %d ms of the "
				    "context's release", WAIT_MS);
		sleep_us(1000);
	}
	pthread_join(p->tid, NULL);
	return 0;
}

/* Write a known record into problem-state slot `slot` (waits for a load if needed). */
static uint64_t seed_ps(volatile uint64_t *psmap, unsigned slot)
{
	uint64_t v = rec(2, A_PS, slot, (uint32_t)rng_for(slot) | 1);

	psmap[slot * WPS] = v;
	return v;
}

static int case_signal_during_wait(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 }; /* no SA_RESTART: it does not matter */
	int fd = ctx_create(), rc = -1, i, nsig = 2 + rng_for(3) % 3;
	uint64_t rng = rng_for(4), want;
	volatile uint64_t *psmap = NULL;
	struct flspu_info info;
	unsigned slot = rng_next(&rng) % PS_SLOTS;
	struct probe p;
	struct kcount k0;
	long t0;

	if (fd < 0 || kcount_read(&k0) < 0 ||
	    !(psmap = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	want = seed_ps(psmap, slot);
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&usr1_count, 0);
	if (ctx_hold(fd, 1) < 0 || ctx_info(fd, &info) < 0)
		goto out;
	if (info.loaded) {
		fail("the held context is still loaded");
		goto out;
	}
	if (start_probe(&p, &psmap[slot * WPS]) < 0)
		goto out;
	for (i = 0; i < nsig; i++) {
		if (wait_waiters(fd, 1) < 0)
			goto release;
		pthread_kill(p.tid, SIGUSR1);
		for (t0 = now_ms(); atomic_load(&usr1_count) <= i; sleep_us(1000))
			if (now_ms() - t0 > WAIT_MS) {
				fail("SIGUSR1 %d was not delivered to the thread blocked in the "
				     "fault within %d ms", i + 1, WAIT_MS);
				goto release;
			}
		if (atomic_load(&probe_done)) {
			fail("the access completed although the context is held saved");
			goto release;
		}
		beat();
	}
	diag("%d signals delivered to a thread sleeping in a problem-state fault", nsig);
	if (wait_waiters(fd, 1) < 0) /* back in the fault after the handler */
		goto release;
	rc = 0;
release:
	if (ctx_hold(fd, 0) < 0 || wait_probe(&p) < 0) {
		rc = -1;
		goto out;
	}
	if (rc)
		goto out;
	rc = -1;
	if (probe_sig)
		fail("the access raised signal %d", probe_sig);
	else if (probe_value != want)
		fail("the access read 0x%016" PRIx64 ", expected 0x%016" PRIx64, probe_value, want);
	else if (!require(&k0, K_interrupted_waits, nsig, "each signal ended a wait") &&
		 !require(&k0, K_waits, nsig + 1, "the access waited again after each signal") &&
		 !require(&k0, K_refaults, nsig + 1, "every wait returned VM_FAULT_NOPAGE"))
		rc = 0;
out:
	signal(SIGUSR1, SIG_DFL);
	if (psmap)
		munmap((void *)psmap, FLSPU_PS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* munmap while a fault sleeps in it, then close: the fault wakes to no mapping. */
static int case_munmap_inflight(void)
{
	int fd = ctx_create(), rc = -1;
	volatile uint64_t *psmap = NULL;
	unsigned slot = rng_for(5) % PS_SLOTS;
	struct kcount k0;
	struct probe p;
	long t0, t;

	if (fd < 0 || kcount_read(&k0) < 0 ||
	    !(psmap = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	seed_ps(psmap, slot);
	if (ctx_hold(fd, 1) < 0 || start_probe(&p, &psmap[slot * WPS]) < 0)
		goto out;
	if (wait_waiters(fd, 1) < 0) {
		ctx_hold(fd, 0);
		wait_probe(&p);
		goto out;
	}
	t0 = now_ms();
	if (munmap((void *)psmap, FLSPU_PS_SIZE) < 0) {
		fail("munmap: %s", strerror(errno));
		goto out;
	}
	t = now_ms() - t0;
	psmap = NULL;
	/* the file goes with the last fd: the hold ends, the context stays for the sleeper */
	close(fd);
	fd = -1;
	if (wait_probe(&p) < 0)
		goto out;
	diag("munmap took %ld ms with a fault asleep in the mapping; the fault woke to %s", t,
	     probe_sig ? strsignal(probe_sig) : "no signal");
	if (probe_sig != SIGSEGV)
		fail("the access to the unmapped address %s, expected SIGSEGV",
		     probe_sig ? strsignal(probe_sig) : "completed");
	else
		rc = require(&k0, K_waits, 1, "the access slept in the fault");
out:
	if (psmap)
		munmap((void *)psmap, FLSPU_PS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* mremap the mapping away while a fault sleeps in it and map it again: the fault refaults. */
static int case_mremap_inflight(void)
{
	int fd = ctx_create(), rc = -1;
	volatile uint64_t *psmap = NULL, *moved = NULL, *again;
	unsigned slot = rng_for(6) % PS_SLOTS, other = (slot + 1) % PS_SLOTS;
	uint64_t want, y = rec(3, A_PS, other, 9);
	struct kcount k0;
	struct probe p;
	void *r;

	if (fd < 0 || kcount_read(&k0) < 0 ||
	    !(psmap = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	moved = mmap(NULL, FLSPU_PS_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (moved == MAP_FAILED) {
		moved = NULL;
		fail("mmap: %s", strerror(errno));
		goto out;
	}
	want = seed_ps(psmap, slot);
	if (ctx_hold(fd, 1) < 0 || start_probe(&p, &psmap[slot * WPS]) < 0)
		goto out;
	if (wait_waiters(fd, 1) < 0)
		goto release;
	r = mremap((void *)psmap, FLSPU_PS_SIZE, FLSPU_PS_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (void *)moved);
	if (r == MAP_FAILED) {
		fail("mremap: %s", strerror(errno));
		goto release;
	}
	again = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED | MAP_FIXED, 0,
			 (void *)psmap);
	if (!again)
		goto release;
	rc = 0;
release:
	if (ctx_hold(fd, 0) < 0 || wait_probe(&p) < 0 || rc) {
		rc = -1;
		goto out;
	}
	rc = -1;
	if (probe_sig || probe_value != want) {
		fail("the access that slept across mremap and mmap: %s 0x%016" PRIx64 ", expected "
		     "0x%016" PRIx64, probe_sig ? strsignal(probe_sig) : "read", probe_value, want);
		goto out;
	}
	moved[other * WPS] = y;
	if (moved[slot * WPS] != want || psmap[other * WPS] != y) {
		fail("the moved and the new mapping disagree: 0x%016" PRIx64 " 0x%016" PRIx64,
		     moved[slot * WPS], psmap[other * WPS]);
		goto out;
	}
	diag("a fault slept across mremap of its mapping and a new mmap at its address");
	rc = require(&k0, K_refaults, 1, "the access refaulted");
out:
	if (psmap)
		munmap((void *)psmap, FLSPU_PS_SIZE);
	if (moved)
		munmap((void *)moved, FLSPU_PS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Writers on stable mappings; readers through windows that are mapped, moved and unmapped. */
static int case_remap_storm(void)
{
	struct worker wk[MAX_CTX * (MAX_WRITERS + 4)];
	struct engine e = { 0 };
	struct kcount k0;
	int n = 0, c, w;
	int rc = -1;

	if (kcount_read(&k0) < 0 || engine_open(&e, nr_spus + 2, 2) < 0)
		goto out;
	for (c = 0; c < e.nctx; c++) {
		e.c[c].win = mmap(NULL, FLSPU_PS_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		e.c[c].win2 = mmap(NULL, FLSPU_PS_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (e.c[c].win == MAP_FAILED || e.c[c].win2 == MAP_FAILED) {
			e.c[c].win = e.c[c].win2 = NULL;
			fail("mmap: %s", strerror(errno));
			goto out;
		}
		for (w = 0; w < e.nw; w++)
			wk[n++] = (struct worker){ .role = WRITER, .c = c, .w = w };
		wk[n++] = (struct worker){ .role = WINDOW_READER, .c = c, .w = 0 };
		wk[n++] = (struct worker){ .role = WINDOW_READER, .c = c, .w = 1 };
		wk[n++] = (struct worker){ .role = STORMER, .c = c };
	}
	if (engine_run(&e, wk, n, THREADS, run_ms) < 0 || engine_verify(&e) < 0)
		goto out;
	diag("%lu map/mremap/munmap cycles, %lu records read through the windows, %lu accesses "
	     "found no mapping", atomic_load(&e.sh->storms), atomic_load(&e.sh->win_ok),
	     atomic_load(&e.sh->win_fault));
	if (!atomic_load(&e.sh->storms) || !atomic_load(&e.sh->win_ok) ||
	    !atomic_load(&e.sh->win_fault)) {
		fail("the storm did not both map and unmap under the readers");
		goto out;
	}
	rc = require_paths(&k0);
out:
	engine_close(&e);
	return rc;
}

/* /proc/self/mem and ptrace reach the local store through vm_ops->access, within bounds. */
static int case_proc_mem_ptrace(void)
{
	int fd = ctx_create(), mem = -1, rc = -1, status;
	char *ls = NULL, *psm = NULL;
	uint64_t v, a = rec(4, A_LS, 1, 11), b = rec(4, A_LS, 2, 12), c = rec(4, A_LS, 3, 13);
	size_t off_a = 8 * SLOT, off_b = FLSPU_LS_SIZE - 8, off_c = 17 * SLOT;
	struct kcount k0;
	pid_t pid = -1;
	long word;

	if (fd < 0 || kcount_read(&k0) < 0 ||
	    !(ls = map_area(fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE + ps, RW, MAP_SHARED, 0, NULL)) ||
	    !(psm = map_area(fd, FLSPU_AREA_PS, FLSPU_PS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (mem < 0) {
		fail("open /proc/self/mem: %s", strerror(errno));
		goto out;
	}
	if (pwrite(fd, &a, 8, off_a) != 8 || pwrite(fd, &b, 8, off_b) != 8) {
		fail("pwrite: %s", strerror(errno));
		goto out;
	}
	if (pread(mem, &v, 8, (off_t)(uintptr_t)(ls + off_a)) != 8 || v != a ||
	    pread(mem, &v, 8, (off_t)(uintptr_t)(ls + off_b)) != 8 || v != b) {
		fail("/proc/self/mem read of the local store mapping: %s 0x%016" PRIx64,
		     strerror(errno), v);
		goto out;
	}
	if (pwrite(mem, &c, 8, (off_t)(uintptr_t)(ls + off_c)) != 8) {
		fail("/proc/self/mem write: %s", strerror(errno));
		goto out;
	}
	if (pread(fd, &v, 8, off_c) != 8 || v != c || *(volatile uint64_t *)(ls + off_c) != c) {
		fail("a /proc/self/mem write is not in the local store (pread 0x%016" PRIx64 ")", v);
		goto out;
	}
	errno = 0;
	if (pread(mem, &v, 8, (off_t)(uintptr_t)(ls + FLSPU_LS_SIZE)) != -1 || errno != EIO) {
		fail("/proc/self/mem read past the local store: %s, expected EIO",
		     errno ? strerror(errno) : "success");
		goto out;
	}
	errno = 0;
	if (pread(mem, &v, 8, (off_t)(uintptr_t)psm) != -1 || errno != EIO) {
		fail("/proc/self/mem read of a problem-state mapping: %s, expected EIO (no ->access)",
		     errno ? strerror(errno) : "success");
		goto out;
	}
	beat();
	/* ptrace: a traced child with the mappings inherited */
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
		fail("the traced child did not stop");
		goto out;
	}
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, ls + off_a, NULL);
	if (errno || (uint64_t)word != a) {
		fail("PTRACE_PEEKDATA of the local store: %s 0x%016lx", strerror(errno), word);
		goto out;
	}
	if (ptrace(PTRACE_POKEDATA, pid, ls + off_a, (void *)(uintptr_t)c) < 0) {
		fail("PTRACE_POKEDATA: %s", strerror(errno));
		goto out;
	}
	errno = 0;
	if (ptrace(PTRACE_PEEKDATA, pid, ls + FLSPU_LS_SIZE, NULL) != -1 || errno != EIO) {
		fail("PTRACE_PEEKDATA past the local store: %s, expected EIO",
		     errno ? strerror(errno) : "success");
		goto out;
	}
	if (pread(fd, &v, 8, off_a) != 8 || v != c) {
		fail("a PTRACE_POKEDATA write is not in the local store (0x%016" PRIx64 ")", v);
		goto out;
	}
	diag("/proc/self/mem and ptrace read and wrote the local store, EIO past it");
	rc = require(&k0, K_accesses, 7, "every access went through vm_ops->access");
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (mem >= 0)
		close(mem);
	if (ls)
		munmap(ls, FLSPU_LS_SIZE + ps);
	if (psm)
		munmap(psm, FLSPU_PS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* read()/pread()/write() on the context: the local store, end of file, lseek. */
static int case_fd_read_write(void)
{
	int fd = ctx_create(), rc = -1;
	volatile uint64_t *ls = NULL;
	uint64_t *buf = malloc(FLSPU_LS_SIZE + 64), rng = rng_for(7), v;
	size_t done = 0, i;
	ssize_t n;

	if (fd < 0 || !buf ||
	    !(ls = map_area(fd, FLSPU_AREA_MEM, FLSPU_LS_SIZE, RW, MAP_SHARED, 0, NULL)))
		goto out;
	for (i = 0; i < FLSPU_LS_SIZE / 8; i++)
		ls[i] = rec(5, A_LS, i / WPS, i % WPS + 1);
	/* read() in chunks of random sizes up to end of file */
	while ((n = read(fd, (char *)buf + done, 1 + rng_next(&rng) % 70000)) > 0)
		done += n;
	if (n < 0 || done != FLSPU_LS_SIZE) {
		fail("read() returned %zu bytes in all (%s), expected %d", done,
		     n < 0 ? strerror(errno) : "then end of file", FLSPU_LS_SIZE);
		goto out;
	}
	for (i = 0; i < FLSPU_LS_SIZE / 8; i++)
		if (buf[i] != rec(5, A_LS, i / WPS, i % WPS + 1)) {
			fail("read() at offset 0x%zx: 0x%016" PRIx64 ", expected 0x%016" PRIx64,
			     i * 8, buf[i], rec(5, A_LS, i / WPS, i % WPS + 1));
			goto out;
		}
	beat();
	if (lseek(fd, 0, SEEK_END) != FLSPU_LS_SIZE ||
	    pread(fd, &v, 8, FLSPU_LS_SIZE - 8) != 8 || v != rec(5, A_LS, LS_SLOTS - 1, WPS) ||
	    pread(fd, &v, 8, FLSPU_LS_SIZE) != 0 || pread(fd, buf, 64, FLSPU_LS_SIZE - 16) != 16) {
		fail("lseek(SEEK_END) or pread() at the end of the local store is wrong: %s",
		     strerror(errno));
		goto out;
	}
	errno = 0;
	if (pwrite(fd, &v, 8, FLSPU_LS_SIZE + 8) != -1 || errno != EFBIG) {
		fail("pwrite() past the local store: %s, expected EFBIG",
		     errno ? strerror(errno) : "success");
		goto out;
	}
	v = rec(5, A_LS, 77, 99);
	if (pwrite(fd, &v, 8, 77 * SLOT) != 8 || ls[77 * WPS] != v) {
		fail("a pwrite() is not seen through the mapping: 0x%016" PRIx64, ls[77 * WPS]);
		goto out;
	}
	diag("read() in random chunks, pread() and pwrite() at the ends agree with the mapping");
	rc = 0;
out:
	free(buf);
	if (ls)
		munmap((void *)ls, FLSPU_LS_SIZE);
	if (fd >= 0)
		close(fd);
	return rc;
}

static struct kcount suite_k0;
static bool run_forked(int (*run)(void));

#define TOPUP_MS 30000

static int case_totals(void)
{
	long t0 = now_ms();
	unsigned extra = 0;
	struct kcount k;
	int i;

	/* a busy host switches less in the same time: add data phases until the proof is there */
	while (kcount_read(&k) == 0 && now_ms() - t0 < TOPUP_MS &&
	       (k.v[K_refaults] - suite_k0.v[K_refaults] < min_refaults ||
		k.v[K_switches] - suite_k0.v[K_switches] < min_switches)) {
		if (!run_forked(case_data_threads))
			return fail("an extra data phase failed");
		extra++;
	}
	if (extra)
		diag("%u extra data phase%s to reach the minimum counts", extra,
		     extra == 1 ? "" : "s");
	if (kcount_read(&k) < 0)
		return -1;
	for (i = 0; i < NR_K; i++)
		diag("suite total: %s %lld", k_names[i], k.v[i] - suite_k0.v[i]);
	if (k.v[K_refaults] - suite_k0.v[K_refaults] < min_refaults)
		return fail("%lld refaults over the suite, expected at least %ld",
			    k.v[K_refaults] - suite_k0.v[K_refaults], min_refaults);
	if (k.v[K_switches] - suite_k0.v[K_switches] < min_switches)
		return fail("%lld switches over the suite, expected at least %ld",
			    k.v[K_switches] - suite_k0.v[K_switches], min_switches);
	return 0;
}

/* ---- the plan ---- */

static const struct {
	const char *name;
	int (*run)(void);
	bool in_parent; /* runs in the parent, not in a child with fillers */
} cases[] = {
	{ "module", case_module, true },
	{ "area_geometry", case_area_geometry, false },
	{ "private_refused", case_private_refused, false },
	{ "sigbus_past_area", case_sigbus_past_area, false },
	{ "fd_read_write", case_fd_read_write, false },
	{ "proc_mem_ptrace", case_proc_mem_ptrace, false },
	{ "data_threads", case_data_threads, false },
	{ "data_procs", case_data_procs, false },
	{ "fork_inherit", case_fork_inherit, false },
	{ "switch_rates", case_switch_rates, false },
	{ "signal_during_wait", case_signal_during_wait, false },
	{ "munmap_inflight", case_munmap_inflight, false },
	{ "mremap_inflight", case_mremap_inflight, false },
	{ "remap_storm", case_remap_storm, false },
	{ "totals", case_totals, true },
};

/* In the child: repeat the case for its share of the duration; exit 0 if it passed. */
static int child_main(int (*run)(void))
{
	long t0 = now_ms();
	bool ok;

	setpgid(0, 0);
	open_fillers(nr_spus + 1);
	repeat = 0;
	do {
		ktap_quiet = repeat > 0;
		ok = run() == 0;
		repeat++;
		beat();
	} while (ok && now_ms() - t0 < share_ms);
	ktap_quiet = 0;
	if (!ok && repeat > 1)
		diag("failed in repeat %u", repeat - 1);
	diag("%ld ms, %u repeat%s", now_ms() - t0, repeat, repeat == 1 ? "" : "s");
	fflush(stdout);
	return ok ? 0 : 1;
}

/* SIGKILL the case's process group; false (and wedged) if it does not go away. */
static bool kill_case(pid_t pid, int *status)
{
	long t0 = now_ms();

	kill(-pid, SIGKILL);
	while (waitpid(pid, status, WNOHANG) != pid) {
		if (now_ms() - t0 > WAIT_MS) { /* in D state: leave it */
			wedged = true;
			return fail("still there %d ms after SIGKILL: stuck in the kernel", WAIT_MS)
			       == 0;
		}
		sleep_us(10000);
	}
	while (waitpid(-pid, NULL, WNOHANG) > 0) /* its workers, if any */
		;
	return true;
}

/*
 * Run the case in a child; kill it if it stops making progress (a refault loop) or runs
 * far too long (some of its threads progress, others are stuck).
 */
static bool run_forked(int (*run)(void))
{
	unsigned long last = atomic_load(heartbeat);
	long t0 = now_ms(), t_beat = t0, limit = case_timeout_s * 1000 + 2 * (long)share_ms;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno)) == 0;
	if (pid == 0)
		_exit(child_main(run));
	setpgid(pid, pid); /* also here: no race with kill(-pid) below */
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		unsigned long b = atomic_load(heartbeat);

		if (r == pid)
			break;
		if (b != last) {
			last = b;
			t_beat = now_ms();
		} else if (now_ms() - t_beat > stall_s * 1000) {
			fail("no progress for %ld s: killed (a fault that never completes: a "
			     "refault loop, a lost wake-up, a deadlock?)", stall_s);
			kill_case(pid, &status);
			return false;
		}
		if (now_ms() - t0 > limit) {
			fail("still running after %ld s: killed (some threads stuck?)", limit / 1000);
			kill_case(pid, &status);
			return false;
		}
		sleep_us(10000);
	}
	if (WIFSIGNALED(status))
		return fail("the case's process was killed by signal %d (%s)", WTERMSIG(status),
			    strsignal(WTERMSIG(status))) == 0;
	return WEXITSTATUS(status) == 0;
}

static bool run_case(unsigned i, long interval)
{
	struct kcount k0, k1;
	long t0 = now_ms();
	bool ok, counted;

	case_id++;
	if (module_problem[0] && cases[i].run != case_module) {
		printf("ok %u %s # SKIP %s\n", case_id, cases[i].name, module_problem);
		return true;
	}
	if (wedged) { /* it holds the module's locks: every other case would hang too */
		fail("not run: a process of an earlier case is stuck in the kernel");
		printf("not ok %u %s\n", case_id, cases[i].name);
		return false;
	}
	counted = !module_problem[0] && kcount_read(&k0) == 0;
	if (cases[i].in_parent) {
		ok = cases[i].run() == 0;
	} else {
		ok = run_forked(cases[i].run);
		if (interval >= 0) /* a case that was killed could not restore it */
			write_param("switch_interval_us", interval);
	}
	if (counted && kcount_read(&k1) == 0 && !cases[i].in_parent)
		diag("%ld ms; counters: faults +%lld, refaults +%lld, inserts_hw +%lld, "
		     "inserts_backing +%lld, switches +%lld (%lld us), waits +%lld, "
		     "interrupted_waits +%lld", now_ms() - t0, k1.v[K_faults] - k0.v[K_faults],
		     k1.v[K_refaults] - k0.v[K_refaults], k1.v[K_inserts_hw] - k0.v[K_inserts_hw],
		     k1.v[K_inserts_backing] - k0.v[K_inserts_backing],
		     k1.v[K_switches] - k0.v[K_switches], k1.v[K_switch_us] - k0.v[K_switch_us],
		     k1.v[K_waits] - k0.v[K_waits],
		     k1.v[K_interrupted_waits] - k0.v[K_interrupted_waits]);
	printf("%sok %u %s\n", ok ? "" : "not ", case_id, cases[i].name);
	fflush(stdout);
	return ok;
}

/* Set module_problem if the module is not there to test. */
static void probe_module(void)
{
	struct stat st;
	long n;

	if (stat(FLSPU_DEVICE, &st) < 0)
		snprintf(module_problem, sizeof module_problem,
			 "no %s (%s): load faultlab_spu.ko first", FLSPU_DEVICE, strerror(errno));
	else if (access(FLSPU_DEBUGFS "/counters", R_OK) < 0)
		snprintf(module_problem, sizeof module_problem, "no %s/counters (%s)",
			 FLSPU_DEBUGFS, strerror(errno));
	else if ((n = read_param("nr_spus")) < 1)
		snprintf(module_problem, sizeof module_problem, "cannot read %s/nr_spus",
			 FLSPU_PARAMS);
	else
		nr_spus = n;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ "run-ms", required_argument, NULL, 'r' },
		{ "stall-s", required_argument, NULL, 't' },
		{ "case-timeout-s", required_argument, NULL, 'T' },
		{ "timeout-factor", required_argument, NULL, 'F' },
		{ "min-refaults", required_argument, NULL, 'R' },
		{ "min-switches", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	long factor = 1;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': expected_ps = option_number("--page-size", optarg, 1, LONG_MAX); break;
		case 's': seed = option_number("--seed", optarg, 0, LONG_MAX); seeded = true; break;
		case 'd': share_ms = 1000.0 * option_number("--duration-s", optarg, 0, 86400); break;
		case 'r': run_ms = option_number("--run-ms", optarg, 10, 3600000); break;
		case 't': stall_s = option_number("--stall-s", optarg, 1, 3600); break;
		case 'T': case_timeout_s = option_number("--case-timeout-s", optarg, 1, 86400); break;
		case 'F': factor = option_number("--timeout-factor", optarg, 1, 100); break;
		case 'R': min_refaults = option_number("--min-refaults", optarg, 0, LONG_MAX); break;
		case 'S': min_switches = option_number("--min-switches", optarg, 0, LONG_MAX); break;
		default: goto usage;
		}
	}
	if (optind != argc || !expected_ps)
		goto usage;
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	stall_s *= factor;
	case_timeout_s *= factor;
	return;
usage:
	fprintf(stderr, "usage: %s --page-size N [--seed N] [--duration-s S] [--run-ms MS] "
		"[--stall-s S] [--case-timeout-s S] [--timeout-factor N] [--min-refaults N] "
		"[--min-switches N]\n",
		argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_fault_signal, .sa_flags = SA_NODEFER };
	size_t i, plan = sizeof cases / sizeof cases[0];
	long interval;
	int failed = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a case crashes */
	ps = sysconf(_SC_PAGESIZE);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	heartbeat = mmap(NULL, sizeof *heartbeat, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (heartbeat == MAP_FAILED) {
		perror("nopfn: mmap");
		return 1;
	}
	printf("KTAP version 1\n1..%zu\n", plan);
	share_ms /= plan;
	diag("seed %" PRIu64 " (--seed %" PRIu64 " reproduces the random parts), data phases of "
	     "%ld ms, each case repeated for %.0f ms, killed after %ld s without progress", seed,
	     seed, run_ms, share_ms, stall_s);
	probe_module();
	interval = module_problem[0] ? -1 : read_param("switch_interval_us");
	if (!module_problem[0])
		kcount_read(&suite_k0);
	for (i = 0; i < plan; i++)
		failed += !run_case(i, interval);
	return failed ? 1 : 0;
}
