/*
 * faultlab nopfn suite, real spufs: the local store of a Cell SPU context (spufs's `mem` file,
 * 256 KiB), mapped through spufs_mem_mmap_fault(), which inserts PFNs with vmf_insert_pfn()
 * and returns VM_FAULT_NOPAGE. Reported as KTAP version 1.
 *
 * Usage: spufs [--page-size N] [--seed N] [--duration-s S] [--spufs DIR]
 * Build: gcc -static -O2 -Wall -Wextra -o spufs spufs.c (or powerpc64-linux-gnu-gcc)
 * Needs: Cell hardware (QS2x blade, PS3) with `mount -t spufs spufs DIR` (default /spu) and
 * the right to spu_create() there. Anywhere else (x86_64, the lab's QEMU pseries guests, which
 * have no SPUs) every case is a SKIP and the program exits 0.
 *
 * The program creates one context (spu_create(2)) and opens its mem file. Every case writes a
 * seeded pattern, a tag with a sequence number at the start of each page, through one path
 * (a mapping, pwrite()) and reads it back byte for byte through the other, and requires at
 * least one minor fault (getrusage() ru_minflt) per page touched through a new mapping: each
 * such touch is a fresh fault through spufs_mem_mmap_fault().
 *
 * The context never runs (no spu_run(2)): it stays saved, so the faults insert PFNs of its
 * backing store. Moves between an SPU and the backing store happen only when a context runs;
 * the emulation module and nopfn.c cover those.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ktap.h"
#include "../lib/rand.h"
#include "../lib/options.h"

#ifdef __powerpc__
#define NR_SPU_CREATE 279 /* __NR_spu_create; spu_run (278) is never called */
#endif
#define SPUFS_MAGIC 0x23c9b64eUL /* arch/powerpc/platforms/cell/spufs/spufs.h */
#define LS_SIZE (256 * 1024)     /* an SPU's local store: the size of the mem file */
#define TAG_MAGIC 0x5350ULL      /* "SP" in the top 16 bits of each page's first word */
#define ROUNDS 4                 /* refault_after_unmap: new mappings per repeat */

static size_t ps, npages;        /* page size, pages in the local store */
static long expected_ps;         /* --page-size (0: not given) */
static uint64_t seed;            /* --seed */
static double share_ms;          /* --duration-s divided among the cases */
static const char *spufs_dir = "/spu"; /* --spufs */
static unsigned case_id, repeat, seq; /* seq: a new number for every pattern written */
static char skip_reason[256];    /* no spufs here: every case skips */
static char setup_error[512];    /* spufs, but no context to test: every case fails */
static char ctx_path[256];
static int ctx_fd = -1, mem_fd = -1;
static uint64_t want[LS_SIZE / 8], got[LS_SIZE / 8]; /* expected and found local store */

/* ---- helpers ---- */

static long minflt(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_minflt;
}

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Pattern number n in `want`: each page starts with a tag (5350 NNNNNN PPPPPP in hex: "SP",
 * sequence number, page), the rest is seeded noise that differs for every n, page and word.
 */
static void fill(unsigned n)
{
	size_t per = ps / 8, p, i;

	for (p = 0; p < npages; p++) {
		want[p * per] = TAG_MAGIC << 48 | (uint64_t)(n & 0xffffff) << 24 | (p & 0xffffff);
		for (i = 1; i < per; i++)
			want[p * per + i] = mix(seed ^ (uint64_t)n << 40 ^ (uint64_t)p << 20 ^ i);
	}
}

/* Compare `got` with `want` byte for byte; explain the first difference. */
static int compare(const char *how)
{
	const uint8_t *g = (const uint8_t *)got, *w = (const uint8_t *)want;
	size_t off = 0;

	if (!memcmp(got, want, LS_SIZE))
		return 0;
	while (g[off] == w[off])
		off++;
	return fail("%s: first difference at offset 0x%zx (page %zu): expected byte 0x%02x, found "
		    "0x%02x (the word at 0x%zx: expected 0x%016" PRIx64 ", found 0x%016" PRIx64 ")",
		    how, off, off / ps, w[off], g[off], off & ~(size_t)7, want[off / 8], got[off / 8]);
}

/* A new shared mapping of the whole local store; nothing in it is touched yet. */
static volatile uint64_t *map_ls(void)
{
	void *p = mmap(NULL, LS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0);

	if (p == MAP_FAILED) {
		fail("mmap of %s/mem: %s", ctx_path, strerror(errno));
		return NULL;
	}
	return p;
}

/* `want` into the mapping, word by word (no dcbz: the mapping may be cache-inhibited when a
 * context is on an SPU); the minor faults that took. */
static long store(volatile uint64_t *map)
{
	long f = minflt(RUSAGE_SELF);
	size_t i;

	for (i = 0; i < LS_SIZE / 8; i++)
		map[i] = want[i];
	return minflt(RUSAGE_SELF) - f;
}

/* The mapping into `got`; the minor faults that took. */
static long load(const volatile uint64_t *map)
{
	long f = minflt(RUSAGE_SELF);
	size_t i;

	for (i = 0; i < LS_SIZE / 8; i++)
		got[i] = map[i];
	return minflt(RUSAGE_SELF) - f;
}

/* Each page touched through a new mapping must have faulted once at least. */
static int require_faults(long faults, size_t pages, const char *how)
{
	diag("minflt +%ld %s (%zu pages)", faults, how, pages);
	if (faults < (long)pages)
		return fail("minflt +%ld %s, expected at least +%zu: the pages did not fault in",
			    faults, how, pages);
	return 0;
}

static int pread_ls(void)
{
	size_t done = 0;
	ssize_t n;

	memset(got, 0, sizeof got);
	while (done < LS_SIZE) {
		n = pread(mem_fd, (char *)got + done, LS_SIZE - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("pread of %s/mem at 0x%zx: %s", ctx_path, done,
				    n ? strerror(errno) : "end of file");
		done += n;
	}
	return 0;
}

static int pwrite_ls(void)
{
	size_t done = 0;
	ssize_t n;

	while (done < LS_SIZE) {
		n = pwrite(mem_fd, (char *)want + done, LS_SIZE - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("pwrite of %s/mem at 0x%zx: %s", ctx_path, done,
				    n ? strerror(errno) : "wrote nothing");
		done += n;
	}
	return 0;
}

/* ---- cases: 0 if passed, -1 if failed ---- */

/* Write through a new mapping, read back with pread(). */
static int case_mmap_write_pread(void)
{
	volatile uint64_t *map = map_ls();
	int rc;

	if (!map)
		return -1;
	fill(++seq);
	rc = require_faults(store(map), npages, "writing through a new mapping") < 0 ||
	     pread_ls() < 0 || compare("pread() after writing through the mapping") < 0 ? -1 : 0;
	munmap((void *)map, LS_SIZE);
	return rc;
}

/* pwrite(), then read through a new mapping. */
static int case_pwrite_mmap_read(void)
{
	volatile uint64_t *map;
	long faults;
	int rc;

	fill(++seq);
	if (pwrite_ls() < 0 || !(map = map_ls()))
		return -1;
	faults = load(map);
	rc = require_faults(faults, npages, "reading through a new mapping") < 0 ||
	     compare("reading through a mapping after pwrite()") < 0 ? -1 : 0;
	munmap((void *)map, LS_SIZE);
	return rc;
}

/* Map, check the last pattern, write the next one, unmap: each round faults anew. */
static int case_refault_after_unmap(void)
{
	volatile uint64_t *map;
	long faults, total = 0;
	char how[80];
	int r, rc = 0;

	fill(++seq);
	if (pwrite_ls() < 0)
		return -1;
	for (r = 0; r < ROUNDS && !rc; r++) {
		if (!(map = map_ls()))
			return -1;
		faults = load(map); /* the pattern of the previous round (or the pwrite) */
		total += faults;
		snprintf(how, sizeof how, "round %d: reading through mapping %d", r, r + 1);
		rc = compare(how);
		if (!rc && faults < (long)npages)
			rc = fail("%s: minflt +%ld, expected at least +%zu", how, faults, npages);
		fill(++seq);
		if (!rc)
			store(map); /* faults here, if any, are not counted */
		munmap((void *)map, LS_SIZE);
	}
	if (rc)
		return rc;
	snprintf(how, sizeof how, "over %d new mappings", ROUNDS);
	return require_faults(total, ROUNDS * npages, how) < 0 || pread_ls() < 0 ||
	       compare("pread() after the last round") < 0 ? -1 : 0;
}

/* A child writes through the mapping it inherited (untouched: it faults in the child); the
 * parent checks with pread() and through its own PTEs, which the child's faults did not fill. */
static int case_fork_shared(void)
{
	long child_faults = -1, children0 = minflt(RUSAGE_CHILDREN);
	volatile uint64_t *map;
	int pipefd[2], status = 0, rc = -1;
	pid_t pid;

	fill(++seq); /* the old contents, so that a lost write shows */
	if (pwrite_ls() < 0 || !(map = map_ls()))
		return -1;
	fill(++seq);
	if (pipe(pipefd) < 0) {
		fail("pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		long f = store(map);

		_exit(write(pipefd[1], &f, sizeof f) == sizeof f ? 0 : 1);
	}
	close(pipefd[1]);
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		close(pipefd[0]);
		goto out;
	}
	if (read(pipefd[0], &child_faults, sizeof child_faults) != sizeof child_faults)
		child_faults = -1;
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFSIGNALED(status))
			fail("the child writing through the inherited mapping was killed by signal "
			     "%d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			fail("the child writing through the inherited mapping failed (status "
			     "0x%x)", status);
		goto out;
	}
	diag("RUSAGE_CHILDREN minflt +%ld", minflt(RUSAGE_CHILDREN) - children0);
	if (require_faults(child_faults, npages, "in the child writing through the inherited "
			   "mapping") < 0 || pread_ls() < 0 ||
	    compare("pread() in the parent after the child's writes") < 0 ||
	    require_faults(load(map), npages, "in the parent reading through its mapping") < 0 ||
	    compare("the parent's mapping after the child's writes") < 0)
		goto out;
	rc = 0;
out:
	munmap((void *)map, LS_SIZE);
	return rc;
}

/* ---- setup and the plan ---- */

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "mmap_write_pread", case_mmap_write_pread },
	{ "pwrite_mmap_read", case_pwrite_mmap_read },
	{ "refault_after_unmap", case_refault_after_unmap },
	{ "fork_shared", case_fork_shared },
};

/* Set skip_reason unless spufs_dir is a mounted spufs. */
static void probe_spufs(void)
{
#ifdef __powerpc__
	struct statfs sf;

	if (statfs(spufs_dir, &sf) < 0)
		diag("statfs %s: %s", spufs_dir, strerror(errno));
	else if ((unsigned long)sf.f_type != SPUFS_MAGIC)
		diag("%s is not spufs (f_type 0x%lx)", spufs_dir, (unsigned long)sf.f_type);
	else
		return;
	snprintf(skip_reason, sizeof skip_reason, "no spufs mounted at %s (Cell hardware with "
		 "`mount -t spufs spufs %s`)", spufs_dir, spufs_dir);
#else
	snprintf(skip_reason, sizeof skip_reason, "spufs exists only on powerpc (Cell)");
#endif
}

/* Create the context and open its mem file; set setup_error if that fails. */
static void open_context(void)
{
	int err = ENOSYS;

	if (expected_ps && (long)ps != expected_ps) {
		snprintf(setup_error, sizeof setup_error, "page size %zu, expected %ld (--page-size)",
			 ps, expected_ps);
		return;
	}
	if (snprintf(ctx_path, sizeof ctx_path, "%s/faultlab-%d-%" PRIu64, spufs_dir,
		     (int)getpid(), seed) >= (int)sizeof ctx_path) {
		snprintf(setup_error, sizeof setup_error, "--spufs %s: too long", spufs_dir);
		return;
	}
#ifdef __powerpc__
	ctx_fd = syscall(NR_SPU_CREATE, ctx_path, 0, 0755, -1);
	err = errno;
#endif
	if (ctx_fd < 0) {
		snprintf(setup_error, sizeof setup_error, "spu_create(%s, 0, 0755): %s%s", ctx_path,
			 strerror(err), err == EPERM || err == EACCES ?
			 " (run as root, or let the user in with spufs's uid=/gid=/mode=)" : "");
		return;
	}
	mem_fd = openat(ctx_fd, "mem", O_RDWR | O_CLOEXEC);
	if (mem_fd < 0) {
		snprintf(setup_error, sizeof setup_error, "open %s/mem: %s", ctx_path,
			 strerror(errno));
		return;
	}
	diag("context %s: local store %d KiB, %zu pages of %zu bytes; it never runs on an SPU",
	     ctx_path, LS_SIZE / 1024, npages, ps);
}

/* Closing the context's fd removes its directory (spufs): no rmdir. */
static void close_context(void)
{
	if (mem_fd >= 0)
		close(mem_fd);
	if (ctx_fd >= 0) {
		close(ctx_fd);
		if (access(ctx_path, F_OK) == 0)
			diag("%s is still there after closing the context", ctx_path);
	}
}

/* Run one case, repeated for its share of --duration-s, and print its KTAP result. */
static bool run_case(unsigned i)
{
	long t0 = now_ms();
	bool ok;

	case_id++;
	if (skip_reason[0]) {
		printf("ok %u %s # SKIP %s\n", case_id, cases[i].name, skip_reason);
		return true;
	}
	repeat = 0;
	do {
		ktap_quiet = repeat > 0;
		ok = (setup_error[0] ? fail("%s", setup_error) : cases[i].run()) == 0;
		repeat++;
	} while (ok && now_ms() - t0 < share_ms);
	ktap_quiet = 0;
	if (!ok && repeat > 1)
		diag("failed in repeat %u", repeat - 1);
	diag("%ld ms, %u repeat%s", now_ms() - t0, repeat, repeat == 1 ? "" : "s");
	printf("%sok %u %s\n", ok ? "" : "not ", case_id, cases[i].name);
	fflush(stdout);
	return ok;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ "spufs", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': expected_ps = option_number("--page-size", optarg, 1, LONG_MAX); break;
		case 's': seed = option_number("--seed", optarg, 0, LONG_MAX); seeded = true; break;
		case 'd': share_ms = 1000.0 * option_number("--duration-s", optarg, 0, 86400); break;
		case 'f': spufs_dir = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	return;
usage:
	fprintf(stderr, "usage: %s [--page-size N] [--seed N] [--duration-s S] [--spufs DIR]\n",
		argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	size_t i, plan = sizeof cases / sizeof cases[0];
	int failed = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep what was printed if a case crashes */
	ps = sysconf(_SC_PAGESIZE);
	npages = LS_SIZE / ps;
	/* fault the buffers in now (and keep them, if allowed): only the mapping's faults count */
	memset(want, 0, sizeof want);
	memset(got, 0, sizeof got);
	mlock(want, sizeof want);
	mlock(got, sizeof got);
	printf("KTAP version 1\n1..%zu\n", plan);
	share_ms /= plan;
	diag("seed %" PRIu64 " (--seed %" PRIu64 " reproduces the patterns), spufs at %s, each "
	     "case repeated for %.0f ms", seed, seed, spufs_dir, share_ms);
	probe_spufs();
	if (!skip_reason[0])
		open_context();
	for (i = 0; i < plan; i++)
		failed += !run_case(i);
	close_context();
	return failed ? 1 : 0;
}
