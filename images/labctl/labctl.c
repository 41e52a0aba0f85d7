/*
 * faultlab labctl: sets up memory pressure in the guest around test programs (zram and
 * disk swap, a memory hog, cache drops and compaction, a memory cgroup) and loads kernel
 * modules (the guest has no kmod tools). README.md beside this file describes the
 * subcommands, their output and exit statuses.
 *
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o labctl labctl.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024ULL)
#define ZRAM_DEV "/dev/zram0"
#define ZRAM_DISKSIZE "/sys/block/zram0/disksize"
#define CGROUP_ROOT "/sys/fs/cgroup"
#define PROGRAM_DIR "/lab/bin"
#define HOG_PIDFILE "/tmp/.labctl-hog.pid"
#define CHURN_PIDFILE "/tmp/.labctl-churn.pid"
#define DROP_CACHES "/proc/sys/vm/drop_caches"
#define COMPACT_MEMORY "/proc/sys/vm/compact_memory"
#define ZRAM_PRIO 100
#define DISK_PRIO 10
#define HOG_PASS_MS 10      /* hog: pause between two passes over its memory */
#define STOP_TIMEOUT_MS 60000 /* daemon stop: longest wait for /proc/PID to go */
#define RMMOD_TIMEOUT_MS 10000 /* rmmod: longest wait for a module still in use */
#define EXIT_USAGE 2
#define EXIT_RUN_FAILED 125 /* run: labctl's own setup failed (as env(1)) */

/* version-1 swap header fields at offset 1024 of the first page (union swap_header) */
struct swap_info {
	uint32_t version, last_page, nr_badpages;
	unsigned char uuid[16], volume[16];
};

static size_t ps; /* page size */

/* ---- helpers ---- */

/* Print "labctl: ..." on stderr and return -1, for "return fail(...)". */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("labctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* Write str to an existing file in one write(2). */
static int write_file(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	n = write(fd, str, strlen(str));
	e = errno;
	close(fd);
	if (n != (ssize_t)strlen(str))
		return fail("write \"%s\" to %s: %s", str, path, n < 0 ? strerror(e) : "short write");
	return 0;
}

/* Read the first line of a file into buf (newline stripped); -1 with errno if it cannot. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A decimal number of MiB (or ms) from 0 to max, or -1 if s is not one. */
static long long parse_num(const char *s, long long max)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	return v;
}

static void sleep_ms(unsigned long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- swap ---- */

/* Write a version-1 swap header (as mkswap(8)) on a block device; return its page count. */
static long long mkswap(const char *dev)
{
	struct swap_info info = { .version = 1, .volume = "faultlab" };
	unsigned long long size, pages;
	char *page;
	struct stat st;
	int fd, rc = -1;

	fd = open(dev, O_RDWR | O_EXCL | O_CLOEXEC); /* O_EXCL: EBUSY if mounted or swapped on */
	if (fd < 0)
		return fail("open %s: %s", dev, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
		close(fd);
		return fail("%s is not a block device", dev);
	}
	if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		close(fd);
		return fail("ioctl BLKGETSIZE64 %s: %s", dev, strerror(errno));
	}
	pages = size / ps;
	if (pages < 2) {
		close(fd);
		return fail("%s: %llu bytes is too small for swap (at least 2 pages)", dev, size);
	}
	info.last_page = pages - 1 > UINT32_MAX ? UINT32_MAX : pages - 1;
	if (getrandom(info.uuid, sizeof(info.uuid), GRND_INSECURE) != sizeof(info.uuid)) {
		close(fd);
		return fail("getrandom: %s", strerror(errno));
	}
	info.uuid[6] = (info.uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
	info.uuid[8] = (info.uuid[8] & 0x3f) | 0x80;
	page = calloc(1, ps);
	if (!page) {
		close(fd);
		return fail("calloc: %s", strerror(errno));
	}
	memcpy(page + 1024, &info, sizeof(info));
	memcpy(page + ps - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, page, ps, 0) != (ssize_t)ps)
		fail("write swap header to %s: %s", dev, strerror(errno));
	else if (fsync(fd) < 0)
		fail("fsync %s: %s", dev, strerror(errno));
	else
		rc = 0;
	free(page);
	if (close(fd) < 0 && rc == 0)
		return fail("close %s: %s", dev, strerror(errno));
	return rc < 0 ? -1 : (long long)info.last_page + 1;
}

static int mkswap_swapon(const char *cmd, const char *dev, int prio)
{
	long long pages = mkswap(dev);

	if (pages < 0)
		return -1;
	if (swapon(dev, SWAP_FLAG_PREFER | (prio & SWAP_FLAG_PRIO_MASK)) < 0)
		return fail("swapon %s: %s", dev, strerror(errno));
	printf("# %s: %s swap on, %lld KiB (%lld pages of %zu bytes), priority %d\n",
	       cmd, dev, (pages - 1) * (long long)ps / 1024, pages - 1, ps, prio);
	return 0;
}

static int cmd_zram(char **argv)
{
	long long mb = parse_num(argv[0], LLONG_MAX / MIB);
	char buf[32];

	if (mb <= 0) {
		fail("zram: bad size \"%s\" (MiB, positive)", argv[0]);
		return -2;
	}
	if (read_line(ZRAM_DISKSIZE, buf, sizeof(buf)) < 0)
		return fail("open %s: %s", ZRAM_DISKSIZE, strerror(errno));
	if (strcmp(buf, "0") != 0)
		return fail("%s is already initialised (%s is %s)", ZRAM_DEV, ZRAM_DISKSIZE, buf);
	snprintf(buf, sizeof(buf), "%llu", mb * MIB);
	if (write_file(ZRAM_DISKSIZE, buf) < 0)
		return -1;
	return mkswap_swapon("zram", ZRAM_DEV, ZRAM_PRIO);
}

static int cmd_swap(char **argv)
{
	return mkswap_swapon("swap", argv[0], DISK_PRIO);
}

/* swapoff every area in /proc/swaps (names holding blanks, which it escapes, fail) */
static int cmd_swapoff_all(char **argv)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[4096], name[4096];
	int rc = 0;

	(void)argv;
	if (!f)
		return fail("open /proc/swaps: %s", strerror(errno));
	if (!fgets(line, sizeof(line), f)) /* header */
		line[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%4095s", name) != 1)
			continue;
		if (swapoff(name) < 0)
			rc = fail("swapoff %s: %s", name, strerror(errno));
		else
			printf("# swapoff: %s\n", name);
	}
	fclose(f);
	return rc;
}

/* ---- daemons ---- */

struct daemon {
	const char *name;    /* the daemon's comm, also in messages */
	const char *pidfile;
	int (*setup)(void);  /* in the daemon: first pass, 0 or -1 (reason printed) */
	void (*loop)(void);  /* in the daemon: never returns */
};

/* 1 if the pid file names a live process called d->name (*pid), 0 if not, -1 if no file. */
static int daemon_running(const struct daemon *d, pid_t *pid)
{
	char path[64], comm[32];
	FILE *f = fopen(d->pidfile, "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%d", pid);
	fclose(f);
	if (n != 1 || *pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)*pid);
	if (read_line(path, comm, sizeof(comm)) < 0)
		return 0;
	return strcmp(comm, d->name) == 0;
}

/*
 * In the daemon: run the first pass (its errors still reach labctl's stderr), detach
 * stdio, report "+PID" on the ready pipe (or "-" if it failed) and go on only once the
 * parent wrote on the go pipe that the pid file is written. If the parent dies or gives
 * up first, the daemon reads end of file (or gets SIGPIPE) and exits.
 */
static void daemon_main(const struct daemon *d, int ready, int go)
{
	char msg[32] = "-";
	int fd;

	prctl(PR_SET_NAME, d->name);
	/*
	 * Lock the daemon's own code, data and stack (not what setup maps later, such as the
	 * hog's memory): a pressure tool must not become a victim of the pressure it makes.
	 */
	if (mlockall(MCL_CURRENT) < 0)
		fprintf(stderr, "labctl: %s: mlockall: %s (it can be swapped out)\n", d->name,
			strerror(errno));
	if (d->setup() == 0) {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			fail("%s: stdio to /dev/null: %s", d->name, strerror(errno));
		else
			snprintf(msg, sizeof(msg), "+%d", (int)getpid());
		if (fd > 2)
			close(fd);
	}
	if (write(ready, msg, strlen(msg)) < 0 || msg[0] != '+' || read(go, msg, 1) != 1)
		_exit(1);
	close(ready);
	close(go);
	if (chdir("/") < 0)
		_exit(1);
	d->loop();
}

/* Start d as a detached daemon (double fork, setsid); return its pid once it is ready. */
static pid_t daemon_start(const struct daemon *d)
{
	char msg[32];
	pid_t pid;
	ssize_t n;
	int ready[2], go[2];
	FILE *f;

	if (daemon_running(d, &pid) == 1)
		return fail("%s is already running (pid %d in %s)", d->name, (int)pid, d->pidfile);
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return fail("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid == 0)
			daemon_main(d, ready[1], go[0]);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (pid < 0) {
		close(ready[0]);
		close(go[1]);
		return fail("fork: %s", strerror(errno));
	}
	waitpid(pid, NULL, 0);
	n = read(ready[0], msg, sizeof(msg) - 1); /* one short write: one read */
	close(ready[0]);
	if (n <= 0 || msg[0] != '+') {
		close(go[1]);
		if (n <= 0)
			fail("%s died before it was ready (killed? see the kernel log)", d->name);
		return -1;
	}
	msg[n] = '\0';
	pid = atoi(msg + 1);
	f = fopen(d->pidfile, "we");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0) {
		fail("write %s: %s", d->pidfile, strerror(errno));
	} else if (write(go[1], "g", 1) != 1) {
		fail("%s (pid %d) died before it started: %s", d->name, (int)pid, strerror(errno));
	} else {
		close(go[1]);
		return pid;
	}
	close(go[1]); /* the daemon reads end of file and exits; make sure */
	kill(pid, SIGKILL);
	unlink(d->pidfile);
	return -1;
}

/* SIGKILL the daemon and wait until /proc/PID is gone (init reaps it). */
static int daemon_stop(const struct daemon *d)
{
	char path[64];
	pid_t pid;
	int running = daemon_running(d, &pid), waited;

	if (running < 0)
		return fail("%s is not running (no %s)", d->name, d->pidfile);
	if (running == 0) {
		unlink(d->pidfile);
		return fail("%s is not running any more (stale %s removed)", d->name, d->pidfile);
	}
	if (kill(pid, SIGKILL) < 0)
		return fail("kill %d: %s", (int)pid, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	for (waited = 0; access(path, F_OK) == 0; waited += 10) {
		if (waited >= STOP_TIMEOUT_MS)
			return fail("%s still exists %d ms after SIGKILL", path, STOP_TIMEOUT_MS);
		sleep_ms(10);
	}
	unlink(d->pidfile);
	printf("# %s: pid %d stopped\n", d->name, (int)pid);
	return 0;
}

/* ---- hog ---- */

static volatile uint64_t *hog_mem;
static size_t hog_mb;

/* Write one word in every page. */
static void hog_touch(uint64_t value)
{
	size_t p, per = ps / sizeof(uint64_t), pages = hog_mb * MIB / ps;

	for (p = 0; p < pages; p++)
		hog_mem[p * per] = value;
}

static int hog_setup(void)
{
	void *mem = mmap(NULL, hog_mb * MIB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return fail("hog: mmap of %zu MiB: %s", hog_mb, strerror(errno));
	hog_mem = mem;
	hog_touch(1);
	return 0;
}

static void hog_loop(void)
{
	uint64_t pass;

	for (pass = 2;; pass++) {
		hog_touch(pass);
		sleep_ms(HOG_PASS_MS);
	}
}

static const struct daemon hog = { "labctl-hog", HOG_PIDFILE, hog_setup, hog_loop };

static int cmd_hog(char **argv)
{
	long long mb;

	if (!strcmp(argv[0], "stop") && !argv[1])
		return daemon_stop(&hog);
	if (strcmp(argv[0], "start") || !argv[1]) {
		fail("usage: labctl hog start MB | labctl hog stop");
		return -2;
	}
	mb = parse_num(argv[1], SIZE_MAX / MIB);
	if (mb <= 0) {
		fail("hog: bad size \"%s\" (MiB, positive)", argv[1]);
		return -2;
	}
	hog_mb = mb;
	if (daemon_start(&hog) < 0)
		return -1;
	printf("# hog: %lld MiB resident\n", mb);
	return 0;
}

/* ---- churn ---- */

static long long churn_ms;
static int churn_compact; /* the kernel has compact_memory */

static int churn_pass(void)
{
	if (write_file(DROP_CACHES, "3") < 0)
		return -1;
	return churn_compact ? write_file(COMPACT_MEMORY, "1") : 0;
}

/* Every drop_caches write is logged unless bit 4 was written once: keep the kernel log clean. */
static int churn_setup(void)
{
	return write_file(DROP_CACHES, "4") < 0 ? -1 : churn_pass();
}

static void churn_loop(void)
{
	for (;;) {
		sleep_ms(churn_ms);
		churn_pass();
	}
}

static const struct daemon churn = { "labctl-churn", CHURN_PIDFILE, churn_setup, churn_loop };

static int cmd_churn(char **argv)
{
	if (!strcmp(argv[0], "stop") && !argv[1])
		return daemon_stop(&churn);
	if (strcmp(argv[0], "start") || !argv[1]) {
		fail("usage: labctl churn start INTERVAL_MS | labctl churn stop");
		return -2;
	}
	churn_ms = parse_num(argv[1], 86400000);
	if (churn_ms <= 0) {
		fail("churn: bad interval \"%s\" (ms, positive)", argv[1]);
		return -2;
	}
	churn_compact = access(COMPACT_MEMORY, F_OK) == 0;
	if (!churn_compact && errno == ENOENT)
		fail("%s: %s (no CONFIG_COMPACTION): churn only drops caches",
		     COMPACT_MEMORY, strerror(errno));
	else if (!churn_compact)
		return fail("%s: %s", COMPACT_MEMORY, strerror(errno));
	if (daemon_start(&churn) < 0)
		return -1;
	printf("# churn: every %lld ms\n", churn_ms);
	return 0;
}

/* ---- run, cgroup-stat ---- */

static int check_cgroup_name(const char *name)
{
	if (!*name || strlen(name) > NAME_MAX || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return fail("bad cgroup name \"%s\"", name);
	return 0;
}

/* Write mb MiB in bytes to the cgroup's file, or "max" if mb < 0. */
static int write_limit(const char *dir, const char *file, long long mb)
{
	char path[PATH_MAX], value[32] = "max";

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (mb >= 0)
		snprintf(value, sizeof(value), "%lld", mb * (long long)MIB);
	return write_file(path, value);
}

/* Create (or reuse) the cgroup, set its limits and move this process into it. */
static int enter_cgroup(const char *name, long long mem_mb, long long swap_mb)
{
	char dir[sizeof(CGROUP_ROOT) + NAME_MAX + 1], path[PATH_MAX], pid[32];

	if (check_cgroup_name(name) < 0 ||
	    write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory") < 0)
		return -1;
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/%s", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail("mkdir %s: %s", dir, strerror(errno));
	if (write_limit(dir, "memory.max", mem_mb) < 0)
		return -1;
	/* memory.swap.max is missing without swap accounting: fine unless a limit is asked */
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	if ((swap_mb >= 0 || access(path, F_OK) == 0) &&
	    write_limit(dir, "memory.swap.max", swap_mb) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return write_file(path, pid);
}

/* Returns only on failure: labctl's own failures exit 125, see main(). */
static int cmd_run(char **argv)
{
	const char *cgroup = NULL, *mem = NULL, *swap = NULL;
	long long mem_mb = -1, swap_mb = -1;
	int make_it_fail = 0, e;
	char path[PATH_MAX];

	for (; *argv && strcmp(*argv, "--"); argv++) {
		if (!strcmp(*argv, "--make-it-fail"))
			make_it_fail = 1;
		else if (!strcmp(*argv, "--cgroup") && argv[1])
			cgroup = *++argv;
		else if (!strcmp(*argv, "--memory-max") && argv[1])
			mem = *++argv;
		else if (!strcmp(*argv, "--swap-max") && argv[1])
			swap = *++argv;
		else
			return fail("run: bad option \"%s\"", *argv);
	}
	if (!*argv || !argv[1])
		return fail("run: no \"-- PROGRAM\"");
	argv++;
	if (mem && (mem_mb = parse_num(mem, LLONG_MAX / MIB)) <= 0)
		return fail("run: bad --memory-max \"%s\" (MiB, positive)", mem);
	if (swap && (swap_mb = parse_num(swap, LLONG_MAX / MIB)) < 0)
		return fail("run: bad --swap-max \"%s\" (MiB)", swap);
	if ((mem || swap) && !cgroup)
		return fail("run: --memory-max and --swap-max need --cgroup");
	if (cgroup && enter_cgroup(cgroup, mem_mb, swap_mb) < 0)
		return -1;
	if (make_it_fail && write_file("/proc/self/make-it-fail", "1") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s%s", strchr(argv[0], '/') ? "" : PROGRAM_DIR "/", argv[0]);
	execv(path, argv);
	e = errno;
	fail("execv %s: %s", path, strerror(e));
	exit(e == ENOENT ? 127 : 126);
}

static int print_prefixed(const char *name, const char *file)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s/%s", name, file);
	f = fopen(path, "re");
	if (!f)
		return fail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		printf("%s %s %s", name, file, line);
	fclose(f);
	return 0;
}

static int cmd_cgroup_stat(char **argv)
{
	if (check_cgroup_name(argv[0]) < 0 || print_prefixed(argv[0], "memory.events") < 0)
		return -1;
	return print_prefixed(argv[0], "memory.stat");
}

/* ---- modules ---- */

/*
 * finit_module(2) on PATH with the PARAM=VALUE arguments joined by blanks; with --keep, a
 * module that is already loaded is left as it is (parameters included) and that is success.
 */
static int cmd_insmod(char **argv)
{
	int keep = !strcmp(argv[0], "--keep");
	const char *path = argv[keep];
	size_t len = 1;
	char *params;
	int fd, i, rc;

	if (!path)
		return fail("insmod: no module file given");
	argv += keep;

	for (i = 1; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	params = calloc(1, len);
	if (!params)
		return fail("calloc: %s", strerror(errno));
	for (i = 1; argv[i]; i++) {
		if (i > 1)
			strcat(params, " ");
		strcat(params, argv[i]);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(params);
		return fail("open %s: %s", path, strerror(errno));
	}
	rc = syscall(SYS_finit_module, fd, params, 0);
	if (rc < 0 && errno == EEXIST && keep) {
		printf("# insmod: %s already loaded, kept as it is\n", path);
		rc = 0;
	} else if (rc < 0)
		fail("finit_module %s%s%s: %s%s", path, *params ? " " : "", params, strerror(errno),
		     errno == EEXIST ? " (already loaded)" : "");
	else
		printf("# insmod: %s loaded%s%s\n", path, *params ? " with " : "", params);
	close(fd);
	free(params);
	return rc < 0 ? -1 : 0;
}

/*
 * delete_module(2) without waiting in the kernel (O_NONBLOCK); while the module is in use
 * (EWOULDBLOCK: processes that exit drop their references a little later), try again.
 */
static int cmd_rmmod(char **argv)
{
	int waited;

	for (waited = 0;; waited += 10) {
		if (syscall(SYS_delete_module, argv[0], O_NONBLOCK) == 0)
			break;
		if (errno != EWOULDBLOCK || waited >= RMMOD_TIMEOUT_MS)
			return fail("delete_module %s: %s%s", argv[0], strerror(errno),
				    errno == EWOULDBLOCK ? " (still in use)" : "");
		sleep_ms(10);
	}
	printf("# rmmod: %s unloaded\n", argv[0]);
	return 0;
}

/* ---- main ---- */

static const struct {
	const char *name;
	int min_args, max_args;
	int (*fn)(char **argv); /* 0, -1 failed (reason printed), -2 bad usage */
} commands[] = {
	{ "zram", 1, 1, cmd_zram },
	{ "swap", 1, 1, cmd_swap },
	{ "swapoff-all", 0, 0, cmd_swapoff_all },
	{ "hog", 1, 2, cmd_hog },
	{ "churn", 1, 2, cmd_churn },
	{ "run", 2, INT_MAX, cmd_run },
	{ "cgroup-stat", 1, 1, cmd_cgroup_stat },
	{ "insmod", 1, INT_MAX, cmd_insmod },
	{ "rmmod", 1, 1, cmd_rmmod },
};

static const char usage[] =
	"usage: labctl zram SIZE_MB | swap DEVICE | swapoff-all\n"
	"       labctl hog start MB | hog stop | churn start INTERVAL_MS | churn stop\n"
	"       labctl run [--cgroup NAME] [--memory-max MB] [--swap-max MB] [--make-it-fail]"
	" -- PROGRAM [ARGS...]\n"
	"       labctl cgroup-stat NAME\n"
	"       labctl insmod [--keep] PATH [PARAM=VALUE ...] | rmmod NAME\n";

int main(int argc, char **argv)
{
	size_t i;
	int rc;

	ps = sysconf(_SC_PAGESIZE);
	for (i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (argc - 2 < commands[i].min_args || argc - 2 > commands[i].max_args)
			break;
		rc = commands[i].fn(argv + 2);
		if (commands[i].fn == cmd_run)
			return EXIT_RUN_FAILED;
		return rc == 0 ? 0 : rc == -2 ? EXIT_USAGE : 1;
	}
	fputs(usage, stderr);
	return EXIT_USAGE;
}
