/*
 * faultlab model suite: a seeded, random, model-based exerciser of the memory-management
 * paths (in the spirit of fsx, across mappings as well as files), reported as KTAP version 1.
 *
 * Usage: model --page-size N --tmpfs DIR [--ext4 DIR] [--seed S] [--duration-s D] [--ops N]
 *              [--replay FILE] [--no-minimise]
 * Build: gcc -static -O2 -g0 -Wall -Wextra -pthread -o model model.c
 *
 * Each case runs a random sequence of operations over several objects at once (private and
 * shared anonymous memory, memfd and tmpfs files, an ext4 file with a buffered and an O_DIRECT
 * fd), each mapped several times (MAP_SHARED and MAP_PRIVATE views). A shadow model predicts
 * every byte a read returns (through every view, read()/pread and O_DIRECT), every errno and
 * every SIGSEGV/SIGBUS. On a failure it prints the operation log, minimises it (ddmin, each
 * candidate replayed in a fresh child with fresh files) and prints a stand-alone C reproducer.
 * Exit status: 0 all cases passed, 1 a case failed, 2 bad options.
 *
 * Parts: model_base.h (patterns, guarded access, trace), model_state.h (the model, checks),
 * model_ops.h (operations), model_proc.h (fork, threads), model_gen.h (cases, generator),
 * model_repro.h (the reproducer's C).
 */
#include "model_gen.h"
#include "model_repro.h"

static uint64_t seed;               /* --seed */
static double share_ms;             /* --duration-s divided among the cases */
static unsigned nops_opt = 0;       /* --ops (0: the default) */
static const char *replay_file;     /* --replay */
static bool no_minimise;            /* --no-minimise */
static long self_test_corrupt = -1; /* --self-test-corrupt N (hidden) */
static const char *only_case;       /* --case NAME (hidden) */
static bool verbose;                /* --verbose (hidden): each operation on stderr */
static unsigned case_id;            /* KTAP number of the running case */
static const char *dir_tmpfs, *dir_ext4;
static char ext4_problem[200];
static unsigned long op_counts[OP_NKINDS];
static unsigned seq_counter;

static struct {
	bool exec_memfd, exec_tmpfs, exec_ext4;
} fscap;

/* "# ..." that is printed even while a case repeats quietly (failure reports). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- probes: what this kernel and machine can do ---- */

/* ppc64 with the radix MMU and a kernel before 6.7 (see cap.prot_none_warn) */
static bool ppc64_radix_before_6_7(void)
{
	char line[256];
	bool radix = false;
	int major = 0, minor = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "MMU", 3) && strstr(line, "Radix"))
			radix = true;
	if (f)
		fclose(f);
	f = fopen("/proc/sys/kernel/osrelease", "r");
	if (f && fscanf(f, "%d.%d", &major, &minor) != 2)
		major = 0;
	if (f)
		fclose(f);
	return radix && (major < 6 || (major == 6 && minor < 7));
}

static int probe_access(char *p, bool write)
{
	unsigned char b;

	return guarded_byte(p, write, 0, &b) ? 0 : 1;
}

/* Which protections read and write, on fresh pages and on pages mprotect()ed after use. */
static void probe_prot(void)
{
	int sh, prot;

	for (sh = 0; sh < 2; sh++)
		for (prot = 0; prot < 8; prot++) {
			int fl = (sh ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, k, r[2], w[2];

			for (k = 0; k < 2; k++) {
				int pr = k ? PROT_READ | PROT_WRITE : prot;
				char *m = mmap(NULL, ps, pr, fl, -1, 0);

				if (m == MAP_FAILED) {
					r[k] = w[k] = 2;
					continue;
				}
				if (k) {
					m[0] = 1;
					mprotect(m, ps, prot);
				}
				r[k] = probe_access(m, false);
				w[k] = probe_access(m + 8, true);
				munmap(m, ps);
			}
			cap.rd[sh][prot] = r[0] == r[1] ? r[0] : 2;
			cap.wr[sh][prot] = w[0] == w[1] ? w[0] : 2;
		}
}

static bool probe_exec_fd(int fd)
{
	void *m;

	if (fd < 0 || ftruncate(fd, ps) < 0)
		return false;
	m = mmap(NULL, ps, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return false;
	munmap(m, ps);
	return true;
}

static int tmpfile_in(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/model-probe.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/*
 * ext4 with blocks smaller than pages: ZERO_RANGE over part of a dirty mapped page (its
 * buffers there are discarded, the page stays mapped writable), a write through the mapping,
 * then ZERO_RANGE ending in a partial block inside the first range. True if that leaves
 * non-zero bytes in the second range (seen on 6.1 ppc64 with 64K pages and 1K blocks).
 */
static bool probe_ext4_zero_stale(void)
{
	size_t size = 4 * ps, z1 = ps + 512, z1e = ps + ps / 2 + 512, z2 = ps + 100, i;
	size_t z2e = ps + 2 * cap.ext4_bsize + 300;
	int fd = tmpfile_in(dir_ext4);
	bool stale = false;
	char *m, *buf = calloc(1, size);

	if (fd < 0 || !buf || cap.ext4_bsize >= ps || pwrite(fd, buf, size, 0) != (ssize_t)size)
		goto out;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto out;
	memset(m + ps, 0xaa, ps);
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, z1, z1e - z1)) {
		memset(m + ps, 0xbb, ps);
		if (!fallocate(fd, FALLOC_FL_ZERO_RANGE, z2, z2e - z2) &&
		    pread(fd, buf, z2e - z2, z2) == (ssize_t)(z2e - z2))
			for (i = 0; i < z2e - z2; i++)
				stale |= buf[i] != 0;
	}
	munmap(m, size);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return stale;
}

static bool probe_falloc(int fd, int mode)
{
	if (fd < 0 || ftruncate(fd, 4 * ps) < 0)
		return false;
	return fallocate(fd, mode, ps, ps) == 0;
}

static void probe_all(void)
{
	static const int advs[] = { MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_PAGEOUT, MADV_COLD,
				    MADV_WILLNEED, MADV_POPULATE_READ, MADV_POPULATE_WRITE };
	char line[600];
	size_t i, n = 0;
	int fd, sh, prot;
	char *m;
	struct statfs sf;

	probe_prot();
	cap.prot_none_warn = ppc64_radix_before_6_7();
	for (i = 0; i < sizeof advs / sizeof advs[0]; i++) {
		int flags = (advs[i] == MADV_REMOVE ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;

		m = mmap(NULL, ps, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (m == MAP_FAILED)
			continue;
		m[0] = 1;
		cap.madv[advs[i]] = madvise(m, ps, advs[i]) == 0;
		munmap(m, ps);
		n += snprintf(line + n, sizeof line - n, " %s=%s",
			      param_str(T_ADV, advs[i], (char[16]){ 0 }, 16),
			      cap.madv[advs[i]] ? "yes" : "no");
	}
	diag("probe: madvise supported:%s", line);
	for (sh = 0; sh < 2; sh++) {
		n = 0;
		for (prot = 0; prot < 8; prot++)
			n += snprintf(line + n, sizeof line - n, " %s=%c%c", prot_str(prot),
				      "-r?"[cap.rd[sh][prot]], "-w?"[cap.wr[sh][prot]]);
		diag("probe: %s mappings, access by protection (r readable, w writable, ? "
		     "either):%s",
		     sh ? "shared" : "private", line);
	}
	/* MADV_REMOVE on a shared mapping without PROT_WRITE: EACCES before 6.7 (VM_WRITE),
	 * allowed since (vma_is_shared_maywrite()) */
	fd = memfd_create("model-probe", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, ps) == 0 &&
	    (m = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0)) != MAP_FAILED) {
		cap.remove_needs_write = madvise(m, ps, MADV_REMOVE) != 0;
		munmap(m, ps);
	}
	fscap.exec_memfd = probe_exec_fd(fd);
	if (fd >= 0)
		close(fd);
	m = mmap(NULL, ps, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cap.shm_exec = m != MAP_FAILED;
	if (m != MAP_FAILED)
		munmap(m, ps);
	m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#ifdef SYS_mlock2
	cap.mlock2 = m != MAP_FAILED && syscall(SYS_mlock2, m, ps, MLOCK_ONFAULT) == 0;
#endif
	if (m != MAP_FAILED)
		munmap(m, ps);
	/* MREMAP_DONTUNMAP of a file mapping (since 5.13) */
	fd = memfd_create("model-probe", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, ps) == 0 &&
	    (m = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0)) != MAP_FAILED) {
		char *t = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *r = mremap(m, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, t);

		cap.dontunmap_file = r == t;
		munmap(m, ps);
		munmap(t, ps);
	}
	if (fd >= 0)
		close(fd);
	/* MREMAP_DONTUNMAP of the last page of an mlocked vma: is the rest still locked? */
	m = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED && mlock(m, 3 * ps) == 0) {
		char *t = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mremap(m + 2 * ps, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			   t) == t)
			cap.dontunmap_unlocks_vma = madvise(m, ps, MADV_DONTNEED) == 0;
		munmap(t, ps);
	}
	if (m != MAP_FAILED)
		munmap(m, 3 * ps);
	/* a move (with growth) of a range running past its vma: is the target unmapped first? */
	m = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED) {
		munmap(m + ps, ps);
		if (mremap(m, 2 * ps, 3 * ps, MREMAP_MAYMOVE | MREMAP_FIXED,
			   m + 3 * ps) == MAP_FAILED)
			cap.mremap_efault_unmaps = msync(m + 3 * ps, ps, MS_ASYNC) != 0;
		munmap(m, 6 * ps);
	}
	/* a move of a range with a hole in it: EFAULT, or moved (6.17+) */
	m = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED) {
		munmap(m + ps, ps);
		cap.mremap_multi = mremap(m, 3 * ps, 3 * ps, MREMAP_MAYMOVE | MREMAP_FIXED,
					  m + 3 * ps) == m + 3 * ps;
		munmap(m, 6 * ps);
	}
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	cap.drop_caches = fd >= 0;
	if (fd >= 0)
		close(fd);
	fd = tmpfile_in(dir_tmpfs);
	fscap.exec_tmpfs = probe_exec_fd(fd);
	cap.tmpfs_zero = probe_falloc(fd, FALLOC_FL_ZERO_RANGE);
	cap.tmpfs_collapse = probe_falloc(fd, FALLOC_FL_COLLAPSE_RANGE);
	cap.tmpfs_insert = probe_falloc(fd, FALLOC_FL_INSERT_RANGE);
	if (fd >= 0)
		close(fd);
	cap.ext4_bsize = ps;
	if (!ext4_problem[0]) {
		if (statfs(dir_ext4, &sf) == 0)
			cap.ext4_bsize = sf.f_bsize;
		fd = tmpfile_in(dir_ext4);
		fscap.exec_ext4 = probe_exec_fd(fd);
		if (fd >= 0)
			close(fd);
		cap.ext4_zero_stale = probe_ext4_zero_stale();
		if (cap.ext4_zero_stale)
			diag("probe: ext4 data bug: ZERO_RANGE over part of a mapped page, a "
			     "write through the mapping, then ZERO_RANGE ending in a partial "
			     "block inside it leaves the written bytes%s", strict ? "" :
			     "; ext4 ZERO_RANGE is kept page-aligned (--strict: not)");
		cap.ext4_zero_stale &= !strict;
	}
	diag("probe: MADV_REMOVE without PROT_WRITE: %s; PROT_EXEC on memfd %s, %s %s, ext4 %s, "
	     "shared anon %s; mlock2 %s; MREMAP_DONTUNMAP of files %s, of part of an mlocked vma "
	     "unlocks %s; a move over a hole %s; a move failing with EFAULT %s the target; "
	     "drop_caches %s",
	     cap.remove_needs_write ? "EACCES" : "allowed", fscap.exec_memfd ? "yes" : "no",
	     dir_tmpfs, fscap.exec_tmpfs ? "yes" : "no", ext4_problem[0] ? "-" :
	     fscap.exec_ext4 ? "yes" : "no", cap.shm_exec ? "yes" : "no",
	     cap.mlock2 ? "yes" : "no", cap.dontunmap_file ? "yes" : "no",
	     cap.dontunmap_unlocks_vma ? "the whole vma" : "the moved part",
	     cap.mremap_multi ? "moves" : "fails (EFAULT)",
	     cap.mremap_efault_unmaps ? "unmaps" : "keeps",
	     cap.drop_caches ? "writable" : "not writable (skipped)");
	if (cap.prot_none_warn)
		diag("probe: ppc64 radix before 6.7: an old PROT_NONE pte trips a false-positive "
		     "VM_WARN_ON_ONCE in __pte_flags_need_flush() on mprotect(): %s",
		     strict ? "not avoided (--strict)" :
		     "PROT_NONE pages are not mprotect()ed again");
	diag("probe: tmpfs fallocate ZERO_RANGE %s, COLLAPSE_RANGE %s, INSERT_RANGE %s; ext4 block "
	     "size %zu", cap.tmpfs_zero ? "yes" : "EOPNOTSUPP", cap.tmpfs_collapse ? "yes" :
	     "EOPNOTSUPP", cap.tmpfs_insert ? "yes" : "EOPNOTSUPP", cap.ext4_bsize);
}

/* ---- sequences: objects, operations, setup and teardown ---- */

struct objdef {
	int kind;
	size_t size;
};

struct seq {
	int ci;                 /* case index */
	uint64_t seed;
	unsigned repeat;
	struct objdef od[4];
	int nod;
	struct op *ops;
	unsigned nops, capacity;
	char res[1];
};

static char seq_dirs[2][PATH_MAX]; /* the running sequence's subdirectories */

static void seq_free_ops(struct seq *s)
{
	unsigned i;

	for (i = 0; i < s->nops; i++)
		free(s->ops[i].child);
	free(s->ops);
	s->ops = NULL;
	s->nops = s->capacity = 0;
}

static struct op *seq_push(struct seq *s)
{
	if (s->nops == s->capacity) {
		s->capacity = s->capacity ? 2 * s->capacity : 64;
		s->ops = realloc(s->ops, s->capacity * sizeof *s->ops);
		if (!s->ops) {
			fprintf(stderr, "model: out of memory\n");
			exit(2);
		}
	}
	memset(&s->ops[s->nops], 0, sizeof *s->ops);
	return &s->ops[s->nops++];
}

static int open_obj(int i, const struct objdef *d)
{
	struct obj *o = &M.obj[i];
	char proc[64];

	*o = (struct obj){ .kind = d->kind, .live = true, .fd = -1, .dfd = -1, .rofd = -1,
			   .size = d->size, .cap = (OBJP + 4) * ps };
	if (d->kind == K_MEMFD) {
		o->fd = memfd_create("model", MFD_CLOEXEC);
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
		o->rofd = o->fd < 0 ? -1 : open(proc, O_RDONLY | O_CLOEXEC);
		o->exec_ok = fscap.exec_memfd;
	} else {
		snprintf(o->path, sizeof o->path, "%s/obj%d", seq_dirs[d->kind == K_EXT4], i);
		o->fd = open(o->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		o->rofd = open(o->path, O_RDONLY | O_CLOEXEC);
		if (d->kind == K_EXT4)
			o->dfd = open(o->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		o->exec_ok = d->kind == K_EXT4 ? fscap.exec_ext4 : fscap.exec_tmpfs;
	}
	o->val = calloc(1, o->cap);
	o->unk = calloc(1, o->cap / 8 + 1);
	if (o->fd < 0 || o->rofd < 0 || (d->kind == K_EXT4 && o->dfd < 0) || !o->val || !o->unk)
		return failf(F_SETUP, "setting up obj %d (%s): %s", i, okind_name[d->kind],
			     strerror(errno));
	if (ftruncate(o->fd, d->size) < 0)
		return failf(F_SETUP, "ftruncate obj %d: %s", i, strerror(errno));
	trace("\tsetup_obj(%d, %d, %zu);", i, d->kind, d->size);
	return 0;
}

static void teardown(void)
{
	size_t p;
	int i;

	munmap(arena, NP * ps);
	for (p = 0; p < NP; p++)
		page_unmap(p);
	for (i = 0; i < MAXOBJ; i++) {
		struct obj *o = &M.obj[i];

		if (o->fd >= 0 && o->live)
			close(o->fd);
		if (o->dfd >= 0 && o->live)
			close(o->dfd);
		if (o->rofd >= 0 && o->live)
			close(o->rofd);
		if (o->path[0])
			unlink(o->path);
		free(o->val);
		free(o->unk);
		memset(o, 0, sizeof *o);
	}
	for (i = 0; i < 2; i++)
		if (seq_dirs[i][0]) {
			rmdir(seq_dirs[i]);
			seq_dirs[i][0] = 0;
		}
	memset(dirty_pg, 0, NP);
	memset(dirty_obj, 0, sizeof dirty_obj);
}

/* Fresh objects in fresh subdirectories, and an empty arena. */
static int setup(const struct seq *s)
{
	size_t p;
	int i;

	teardown();
	memset(&F, 0, sizeof F);
	M.nfile = s->nod;
	M.next_vma = 1;
	M.in_child = false;
	for (p = 0; p < NP; p++)
		M.pg[p].obj = V_UNMAPPED;
	seq_counter++;
	snprintf(seq_dirs[0], sizeof seq_dirs[0], "%s/model.%d.%u", dir_tmpfs, (int)getpid(),
		 seq_counter);
	if (mkdir(seq_dirs[0], 0700) < 0)
		return failf(F_SETUP, "mkdir %s: %s", seq_dirs[0], strerror(errno));
	if (!ext4_problem[0]) {
		snprintf(seq_dirs[1], sizeof seq_dirs[1], "%s/model.%d.%u", dir_ext4, (int)getpid(),
			 seq_counter);
		if (mkdir(seq_dirs[1], 0700) < 0)
			return failf(F_SETUP, "mkdir %s: %s", seq_dirs[1], strerror(errno));
	}
	for (i = 0; i < s->nod; i++)
		if (open_obj(i, &s->od[i]) < 0)
			return -1;
	return 0;
}

/* ---- running operations ---- */

static int run_op(struct op *op)
{
	switch (op->kind) {
	case OP_MMAP: return op_mmap(op);
	case OP_MUNMAP: return op_munmap(op);
	case OP_MREMAP: return op_mremap(op);
	case OP_MPROTECT: return op_mprotect(op);
	case OP_MADVISE: return op_madvise(op);
	case OP_MLOCK: return op_mlock(op, true);
	case OP_MUNLOCK: return op_mlock(op, false);
	case OP_RFP: return op_rfp(op);
	case OP_MSYNC: return op_msync(op);
	case OP_MWRITE: return op_mwrite(op);
	case OP_MREAD: return op_mread(op);
	case OP_PROBE: return op_probe(op);
	case OP_FWRITE: return op_fwrite(op, false);
	case OP_FREAD: return op_fread(op, false);
	case OP_DWRITE: return op_fwrite(op, true);
	case OP_DREAD: return op_fread(op, true);
	case OP_TRUNCATE: return op_truncate(op);
	case OP_FALLOC: return op_falloc(op);
	case OP_FSYNC: return op_fsync(op);
	case OP_DROP: return op_drop();
	case OP_FORK: return M.in_child ? 0 : op_fork(op);
	case OP_THREADS: return M.in_child ? 0 : op_threads(op);
	case OP_CORRUPT: return op_corrupt(op);
	}
	return skip_op("unknown operation");
}

/* One operation and the checks of what it touched. */
static int exec_op(struct op *op)
{
	int rc;

	cur_opnum = op->num;
	cur_opkind = op->kind;
	op_str(op, cur_opdesc, sizeof cur_opdesc);
	if (verbose)
		fprintf(stderr, "op %u: %s\n", op->num, cur_opdesc);
	trace("\t/* op %u: %s */", op->num, cur_opdesc);
	op_counts[op->kind]++;
	cur_res[0] = 0;
	rc = run_op(op);
	memcpy(op->res, cur_res, sizeof op->res);
	if (!rc)
		rc = check_dirty();
	return rc;
}

#define FULL_CHECK_EVERY 25

/* The operation that writes the initial content and maps the first views of each object. */
static void initial_ops(struct seq *s)
{
	size_t page = 1 + rnd(4);
	int i, k;

	for (i = 0; i < s->nod; i++) {
		struct op *op = seq_push(s);

		op->kind = OP_FWRITE;
		op->num = s->nops;
		op->p[0] = i;
		op->p[2] = s->od[i].size ? s->od[i].size : ps;
	}
	/* a shared and a private view of each file, private and shared anonymous memory */
	for (i = -2; i < s->nod; i++) {
		if (i < 0 && !cases[s->ci].anon)
			continue;
		for (k = 0; k < (i < 0 ? 1 : 2); k++) {
			struct op *op = seq_push(s);
			size_t n = i >= 0 ? (s->od[i].size + ps - 1) / ps + 1 : OBJP / 2;

			op->kind = OP_MMAP;
			op->num = s->nops;
			op->p[0] = page;
			op->p[1] = n;
			op->p[2] = i >= 0 ? i : i == -2 ? -2 : -3;
			op->p[4] = PROT_READ | PROT_WRITE;
			op->p[6] = k == 0 && i >= 0 ? MF_SHARED : 0;
			page += n + 1 + rnd(3);
		}
	}
}

static void print_op(const struct op *op, const char *prefix)
{
	char buf[512];
	unsigned i;

	say("%sop %u: %s%s%s", prefix, op->num, op_str(op, buf, sizeof buf),
	    op->res[0] ? " -> " : "", op->res);
	for (i = 0; i < op->nchild; i++)
		say("%sop %u.%u: %s", prefix, op->num, i + 1,
		    op_str(&op->child[i], buf, sizeof buf));
}

static void print_log(const struct seq *s, unsigned upto, const char *label)
{
	unsigned i;

	say("model-log case=%s seed=%" PRIu64 " repeat=%u ps=%zu%s (%s, %u operations)",
	    cases[s->ci].name, s->seed, s->repeat, ps, strict ? " strict" : "",
	    label, upto);
	for (i = 0; i < (unsigned)s->nod; i++)
		say("obj %u kind=%s size=%zu", i, okind_name[s->od[i].kind], s->od[i].size);
	for (i = 0; i < upto && i < s->nops; i++)
		print_op(&s->ops[i], "");
	say("end-log");
}

/* Run the operations of s (all of them, or generate nops more); the index of the failing one
 * (s->nops when none failed), with F set. */
static unsigned run_seq(struct seq *s, unsigned generate)
{
	unsigned i, total;
	int rc = setup(s);

	cur_case = &cases[s->ci];
	case_direct = cur_case->direct;
	if (rc < 0)
		return 0;
	total = generate ? s->nops + generate : s->nops;
	for (i = 0; i < total; i++) {
		struct op *op;

		if (i >= s->nops) {
			op = seq_push(s);
			gen_op(op, s->nops);
		}
		op = &s->ops[i];
		if (exec_op(op) < 0)
			return i;
		if (generate && self_test_corrupt >= 0 && (long)op->num == self_test_corrupt) {
			/* plant a bug: change a byte behind the model's back */
			struct op *c = seq_push(s);
			int oid = pick_file();

			c->kind = OP_CORRUPT;
			c->num = s->nops;
			c->p[0] = -1;
			if (oid >= 0 && M.obj[oid].size) {
				size_t off = rnd(M.obj[oid].size);

				c->p[0] = oid;
				c->p[2] = off;
				c->p[3] = M.obj[oid].val[off] ^ 0x5a;
			} else {
				c->p[1] = pick_mapped();
				c->p[2] = rnd(ps);
				c->p[3] = 0x5a;
			}
			total++;
		}
		if ((i + 1) % FULL_CHECK_EVERY == 0 && check_all(true) < 0)
			return i;
	}
	if (check_all(true) < 0)
		return s->nops ? s->nops - 1 : 0;
	return s->nops;
}

/* ---- replays in a fresh child: minimisation and the reproducer ---- */

struct outcome {
	int kind, opkind;
	char msg[200];
};

/* Replay ops in a child with fresh objects (and the trace on when trace_to >= 0). */
static struct outcome replay_child(const struct seq *s, int trace_to)
{
	struct outcome out = { F_SETUP, -1, "" };
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd) < 0)
		return out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct seq c = *s;
		unsigned n;

		close(pfd[0]);
		ktap_quiet = 1;
		trace_fd = trace_to;
		n = run_seq(&c, 0);
		out.kind = n < c.nops || F.kind ? F.kind : F_NONE;
		out.opkind = F.opkind;
		snprintf(out.msg, sizeof out.msg, "%.190s", F.msg);
		teardown();
		if (write(pfd[1], &out, sizeof out) != sizeof out)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &out, sizeof out) != sizeof out) {
		out.kind = F_SETUP;
		snprintf(out.msg, sizeof out.msg, "the replay child died");
	}
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return out;
}

static struct {
	unsigned replays;
	long t0;
	const char *stop;
} dd;

static long dd_max_replays = 400;  /* --dd-replays (hidden) */
static long dd_max_ms = 90000;     /* --dd-seconds (hidden) */

/* Does the subset (ops of s whose keep[] is set) fail the same way? */
static bool dd_test(const struct seq *s, const bool *keep, int kind, int opkind)
{
	struct seq c = *s;
	struct outcome o;
	unsigned i, n = 0;

	c.ops = malloc(s->nops * sizeof *c.ops);
	for (i = 0; i < s->nops; i++)
		if (keep[i])
			c.ops[n++] = s->ops[i];
	c.nops = n;
	dd.replays++;
	o = replay_child(&c, -1);
	free(c.ops);
	return o.kind == kind && o.opkind == opkind;
}

static long dd_total_ms; /* minimisation time spent by all cases */
static long dd_total_max_ms = 240000;

static bool dd_bounded(void)
{
	static char why[80];

	if (dd_total_ms + now_ms() - dd.t0 >= dd_total_max_ms)
		snprintf(why, sizeof why, "stopped by the bound of %ld s for all minimisations "
			 "of this run", dd_total_max_ms / 1000);
	else if (dd.replays >= dd_max_replays)
		snprintf(why, sizeof why, "stopped by the bound of %ld replays", dd_max_replays);
	else if (now_ms() - dd.t0 >= dd_max_ms)
		snprintf(why, sizeof why, "stopped by the bound of %ld s", dd_max_ms / 1000);
	else
		return false;
	dd.stop = why;
	return true;
}

/*
 * ddmin (Zeller): split the kept operations into n chunks; keep a chunk, or the rest without
 * a chunk, that still fails the same way; otherwise split finer, until single operations.
 */
static void ddmin(const struct seq *s, bool *keep, int kind, int opkind)
{
	unsigned n = 2, total = s->nops, i, k, c;
	unsigned *idx = malloc(total * sizeof *idx);
	bool *trial = malloc(total);

	while (!dd_bounded()) {
		unsigned len = 0, chunk;
		bool reduced = false;

		for (i = 0; i < total; i++)
			if (keep[i])
				idx[len++] = i;
		if (len < 2)
			break;
		if (n > len)
			n = len;
		chunk = (len + n - 1) / n;
		for (c = 0; c < n && !reduced && !dd_bounded(); c++) { /* a chunk alone */
			memset(trial, 0, total);
			for (k = c * chunk; k < (c + 1) * chunk && k < len; k++)
				trial[idx[k]] = true;
			if (dd_test(s, trial, kind, opkind)) {
				memcpy(keep, trial, total);
				n = 2;
				reduced = true;
			}
		}
		for (c = 0; c < n && !reduced && !dd_bounded(); c++) { /* all but a chunk */
			memcpy(trial, keep, total);
			for (k = c * chunk; k < (c + 1) * chunk && k < len; k++)
				trial[idx[k]] = false;
			if (dd_test(s, trial, kind, opkind)) {
				memcpy(keep, trial, total);
				n = n > 2 ? n - 1 : 2;
				reduced = true;
			}
		}
		if (!reduced) {
			if (n >= len) {
				dd.stop = "1-minimal: no single operation can go";
				break;
			}
			n = 2 * n < len ? 2 * n : len;
		}
	}
	free(idx);
	free(trial);
}

/* Print the reproducer: the C around a traced replay of s. */
static void print_reproducer(const struct seq *s)
{
	char path[PATH_MAX], line[1200];
	const char *p, *nl;
	struct outcome o;
	FILE *f;
	int fd;

	snprintf(path, sizeof path, "%s/model-trace.XXXXXX", dir_tmpfs);
	fd = mkstemp(path);
	if (fd < 0) {
		say("reproducer: mkstemp %s: %s", path, strerror(errno));
		return;
	}
	unlink(path);
	o = replay_child(s, fd);
	say("reproducer replay: %s", o.kind == F_NONE ? "passed (the bug did not show)" : o.msg);
	say("--- reproducer: cc -static -o repro repro.c && ./repro ---");
	for (p = repro_head; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		printf("# %.*s\n", (int)(nl - p), p);
	}
	snprintf(line, sizeof line, repro_main, ps, ps, NP, NP, 4 * OBJP * ps + 2 * ps,
		 4 * OBJP * ps + 2 * ps);
	for (p = line; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		printf("# %.*s\n", (int)(nl - p), p);
	}
	printf("# \ttmpfs_dir = argc > 1 ? argv[1] : \"%s\";\n", dir_tmpfs);
	printf("# \text4_dir = argc > 2 ? argv[2] : \"%s\";\n",
	       ext4_problem[0] ? "/mnt/ext4" : dir_ext4);
	lseek(fd, 0, SEEK_SET);
	f = fdopen(fd, "r");
	while (f && fgets(line, sizeof line, f))
		printf("# %s", line);
	if (f)
		fclose(f);
	else
		close(fd);
	printf("# \tputs(\"the bug did not show\");\n# \treturn 0;\n# }\n");
	say("--- end reproducer ---");
}

/* After a failure: the log, the minimisation and the reproducer. */
static void report_failure(struct seq *s, unsigned failed_at)
{
	int kind = F.kind, opkind = F.opkind;
	bool *keep;
	struct seq m;
	unsigned i, n = 0;

	say("FAIL: %s", F.msg);
	print_log(s, failed_at + 1, "up to the failure");
	teardown();
	s->nops = failed_at + 1 < s->nops ? failed_at + 1 : s->nops;
	if (no_minimise) {
		say("minimisation skipped (--no-minimise)");
		print_reproducer(s);
		return;
	}
	memset(&dd, 0, sizeof dd);
	dd.t0 = now_ms();
	if (dd_total_ms >= dd_total_max_ms) {
		say("minimisation skipped: the run's %ld s for minimising are spent",
		    dd_total_max_ms / 1000);
		print_reproducer(s);
		return;
	}
	keep = malloc(s->nops);
	memset(keep, 1, s->nops);
	if (!dd_test(s, keep, kind, opkind)) {
		dd_total_ms += now_ms() - dd.t0;
		say("minimise: a replay of the %u operations did not fail the same way (%s at %s): "
		    "not minimised", s->nops, fkind_name[kind], spec[opkind < 0 ? 0 : opkind].name);
		print_reproducer(s);
		free(keep);
		return;
	}
	ddmin(s, keep, kind, opkind);
	dd_total_ms += now_ms() - dd.t0;
	m = *s;
	m.ops = malloc(s->nops * sizeof *m.ops);
	for (i = 0; i < s->nops; i++)
		if (keep[i])
			m.ops[n++] = s->ops[i];
	m.nops = n;
	say("minimise: %u of %u operations still fail the same way (%s at %s); %u replays in "
	    "%.1f s, %s", n, s->nops, fkind_name[kind], spec[opkind < 0 ? 0 : opkind].name,
	    dd.replays, (now_ms() - dd.t0) / 1000.0, dd.stop ? dd.stop : "done");
	print_log(&m, n, "minimised");
	print_reproducer(&m);
	free(m.ops);
	free(keep);
}

/* ---- the log, read back for --replay ---- */

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '#')
		p++;
	return p;
}

static bool parse_op_params(struct op *op, char *rest)
{
	char *tok, *save = NULL, *arrow = strstr(rest, " -> ");
	int i;

	if (arrow)
		*arrow = 0;
	for (i = 0; i < OP_NKINDS; i++) {
		size_t l = strlen(spec[i].name);

		if (!strncmp(rest, spec[i].name, l) &&
		    (rest[l] == ' ' || !rest[l] || rest[l] == '\n'))
			break;
	}
	if (i == OP_NKINDS)
		return false;
	op->kind = i;
	for (tok = strtok_r(rest + strlen(spec[i].name), " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');
		int k;

		if (!eq)
			return false;
		*eq = 0;
		for (k = 0; k < NPARAM && spec[i].pn[k]; k++)
			if (!strcmp(tok, spec[i].pn[k]))
				break;
		if (k == NPARAM || !spec[i].pn[k] || !param_parse(spec[i].pt[k], eq + 1, &op->p[k]))
			return false;
	}
	return true;
}

/* Read the last complete log of a file; false (with a message) if there is none. */
static bool load_log(const char *file, struct seq *out)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	struct seq cur = { 0 };
	bool in = false, got = false;

	if (!f) {
		fprintf(stderr, "model: %s: %s\n", file, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof line, f)) {
		char *p = skip_ws(line), name[64];
		unsigned num, sub;
		size_t lps, size;
		int n = 0;

		if (!strncmp(p, "model-log ", 10)) {
			unsigned i;

			seq_free_ops(&cur);
			memset(&cur, 0, sizeof cur);
			cur.ci = -1;
			if (sscanf(p, "model-log case=%63s seed=%" SCNu64 " repeat=%u ps=%zu", name,
				   &cur.seed, &cur.repeat, &lps) != 4)
				continue;
			for (i = 0; i < NCASES; i++)
				if (!strcmp(cases[i].name, name))
					cur.ci = i;
			if (lps != ps) {
				fprintf(stderr, "model: %s: the log is for page size %zu, this "
					"machine has %zu\n", file, lps, ps);
				fclose(f);
				return false;
			}
			in = cur.ci >= 0;
			if (strstr(p, " strict ") || strstr(p, " strict\n"))
				strict = true;
		} else if (in && sscanf(p, "obj %u kind=%63s size=%zu", &num, name, &size) == 3) {
			int k;

			for (k = 0; k <= K_EXT4; k++)
				if (!strcmp(okind_name[k], name) && num == (unsigned)cur.nod &&
				    num < 4) {
					cur.od[cur.nod].kind = k;
					cur.od[cur.nod++].size = size;
				}
		} else if (in && sscanf(p, "op %u.%u: %n", &num, &sub, &n) == 2 && n) {
			struct op *parent = cur.nops ? &cur.ops[cur.nops - 1] : NULL;

			if (parent && parent->kind == OP_FORK && parent->num == num) {
				size_t sz = (parent->nchild + 1) * sizeof *parent->child;

				parent->child = realloc(parent->child, sz);
				memset(&parent->child[parent->nchild], 0, sizeof *parent->child);
				parent->child[parent->nchild].num = num;
				if (parse_op_params(&parent->child[parent->nchild], p + n))
					parent->nchild++;
			}
		} else if (in && sscanf(p, "op %u: %n", &num, &n) == 1 && n) {
			struct op *op = seq_push(&cur);

			op->num = num;
			if (!parse_op_params(op, p + n)) {
				fprintf(stderr, "model: %s: cannot read '%s'\n", file, p);
				cur.nops--;
			}
		} else if (in && !strncmp(p, "end-log", 7)) {
			seq_free_ops(out);
			*out = cur;
			memset(&cur, 0, sizeof cur);
			in = false;
			got = true;
		}
	}
	fclose(f);
	seq_free_ops(&cur);
	if (!got)
		fprintf(stderr, "model: %s: no complete model-log (model-log ... end-log)\n", file);
	return got;
}

/* ---- cases ---- */

static void reset_stats(void)
{
	memset(&st, 0, sizeof st);
	memset(op_counts, 0, sizeof op_counts);
	memset(skips, 0, sizeof skips);
}

static void print_stats(struct rusage *r0)
{
	struct rusage r1;
	char line[900];
	size_t n = 0;
	int k;

	getrusage(RUSAGE_SELF, &r1);
	for (k = 0; k < OP_NKINDS; k++)
		if (op_counts[k])
			n += snprintf(line + n, sizeof line - n, " %s %lu", spec[k].name,
				      op_counts[k]);
	diag("operations:%s", line);
	diag("checked %lu pages through mappings and %lu file reads (%lu MiB); SIGSEGV %lu "
	     "expected %lu seen, SIGBUS %lu expected %lu seen; %lu failing calls as predicted; "
	     "%lu COW breaks; MADV_FREE'd pages found kept %lu, dropped %lu; %lu shared writes "
	     "by fork children; %lu operations skipped (outcome not predictable)", st.checks_pages,
	     st.checks_files, st.bytes_checked >> 20, st.sig_expected[0], st.sig_seen[0],
	     st.sig_expected[1], st.sig_seen[1], st.errors_expected, st.cow_breaks, st.freed_old,
	     st.freed_zero, st.child_writes, st.skipped);
	for (k = 0, n = 0; k < (int)(sizeof skips / sizeof skips[0]) && skips[k].why; k++)
		n += snprintf(line + n, sizeof line - n, "%s%s: %lu", k ? "; " : "", skips[k].why,
			      skips[k].n);
	if (n)
		diag("skipped: %s", line);
	diag("%ld minor + %ld major faults", r1.ru_minflt - r0->ru_minflt,
	     r1.ru_majflt - r0->ru_majflt);
}

static uint64_t seed_for(unsigned ci, unsigned repeat)
{
	uint64_t s = seed ^ (uint64_t)(ci + 1) << 40 ^ (uint64_t)repeat << 20;

	return rng_next(&s);
}

/* The objects of a new sequence: the case's files with random sizes. */
static void pick_objects(struct seq *s)
{
	int k;

	s->nod = 0;
	for (k = 0; k <= K_EXT4; k++) {
		size_t size;

		if (!(cases[s->ci].files & 1 << k) || (k == K_EXT4 && ext4_problem[0]))
			continue;
		size = (OBJP / 2 + rnd(OBJP / 2)) * ps - (chance(50) ? rnd(ps) : 0);
		s->od[s->nod].kind = k;
		s->od[s->nod++].size = size;
	}
}

/*
 * Operations per sequence: a duration-0 run of all cases takes about 30 s under TCG on this
 * lab's 2 cores (64K pages make every page check and fork 16 times the work).
 */
static unsigned default_ops(void)
{
	return nops_opt ? nops_opt : ps >= 65536 ? 700 : 2000;
}

static bool run_case(unsigned ci)
{
	const struct casedef *cd = &cases[ci];
	long t0 = now_ms();
	unsigned repeat = 0, nops = default_ops(), failed_at = 0;
	struct rusage r0;
	struct seq s;
	bool ok = true;

	case_id++;
	if (cd->need_ext4 && ext4_problem[0]) {
		printf("ok %u %s # SKIP %s\n", case_id, cd->name, ext4_problem);
		return true;
	}
	if (!(cd->files & FM_EXT4) || !ext4_problem[0])
		;
	else
		diag("%s: without ext4 (%s)", cd->name, ext4_problem);
	reset_stats();
	getrusage(RUSAGE_SELF, &r0);
	do {
		memset(&s, 0, sizeof s);
		s.ci = ci;
		s.repeat = repeat;
		s.seed = seed_for(ci, repeat);
		rng = s.seed;
		pick_objects(&s);
		initial_ops(&s);
		ktap_quiet = repeat > 0;
		failed_at = run_seq(&s, nops);
		ktap_quiet = 0;
		if (F.kind != F_NONE) {
			ok = false;
			if (repeat)
				say("failed in repeat %u (sequence seed %" PRIu64 ")", repeat,
				    s.seed);
			report_failure(&s, failed_at);
		}
		teardown();
		seq_free_ops(&s);
		repeat++;
	} while (ok && now_ms() - t0 < share_ms);
	print_stats(&r0);
	diag("%ld ms, %u sequence%s of %u operations", now_ms() - t0, repeat,
	     repeat == 1 ? "" : "s", nops);
	printf("%sok %u %s\n", ok ? "" : "not ", case_id, cd->name);
	return ok;
}

/* --replay FILE: one case, "replay". */
static int run_replay(void)
{
	struct seq s = { 0 };
	struct rusage r0;
	unsigned failed_at;
	bool ok;

	if (!load_log(replay_file, &s))
		return 2;
	printf("1..1\n");
	diag("replaying %u operations of case %s (seed %" PRIu64 ", repeat %u) from %s", s.nops,
	     cases[s.ci].name, s.seed, s.repeat, replay_file);
	case_id = 1;
	reset_stats();
	getrusage(RUSAGE_SELF, &r0);
	if (cases[s.ci].need_ext4 && ext4_problem[0]) {
		printf("ok 1 replay # SKIP %s\n", ext4_problem);
		return 0;
	}
	failed_at = run_seq(&s, 0);
	ok = F.kind == F_NONE;
	if (!ok)
		report_failure(&s, failed_at);
	teardown();
	print_stats(&r0);
	printf("%sok 1 replay\n", ok ? "" : "not ");
	return ok ? 0 : 1;
}

static void check_ext4(void)
{
	struct statfs sf;

	if (!dir_ext4)
		snprintf(ext4_problem, sizeof ext4_problem, "no ext4 directory given");
	else if (statfs(dir_ext4, &sf) < 0)
		snprintf(ext4_problem, sizeof ext4_problem, "%s: %s", dir_ext4, strerror(errno));
	else if ((unsigned long)sf.f_type != (unsigned long)EXT4_SUPER_MAGIC)
		snprintf(ext4_problem, sizeof ext4_problem, "%s is not ext4 (f_type 0x%lx)",
			 dir_ext4, (unsigned long)sf.f_type);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --page-size N --tmpfs DIR [--ext4 DIR] [--seed N] "
		"[--duration-s S] [--ops N] [--replay FILE] [--no-minimise] [--strict]\n",
		argv0);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "ext4", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },
		{ "replay", required_argument, NULL, 'r' },
		{ "no-minimise", no_argument, NULL, 'n' },
		{ "self-test-corrupt", required_argument, NULL, 'c' },
		{ "case", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "strict", no_argument, NULL, 'S' },
		{ "dd-seconds", required_argument, NULL, 'D' },
		{ "dd-replays", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': expected_ps = option_number("--page-size", optarg, 1, LONG_MAX); break;
		case 't': dir_tmpfs = optarg; break;
		case 'e': dir_ext4 = optarg; break;
		case 's': seed = option_number("--seed", optarg, 0, LONG_MAX); seeded = true; break;
		case 'd':
			share_ms = 1000.0 * option_number("--duration-s", optarg, 0, 86400);
			break;
		case 'o': nops_opt = option_number("--ops", optarg, 1, 1000000); break;
		case 'r': replay_file = optarg; break;
		case 'n': no_minimise = true; break;
		case 'c':
			self_test_corrupt = option_number("--self-test-corrupt", optarg, 1,
							  1000000);
			break;
		case 'C': only_case = optarg; break;
		case 'v': verbose = true; break;
		case 'S': strict = true; break;
		case 'D':
			dd_max_ms = 1000 * option_number("--dd-seconds", optarg, 1, 86400);
			dd_total_max_ms = dd_max_ms > dd_total_max_ms ? dd_max_ms : dd_total_max_ms;
			break;
		case 'R': dd_max_replays = option_number("--dd-replays", optarg, 1, 1000000); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || !expected_ps || !dir_tmpfs)
		usage(argv[0]);
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
}

int main(int argc, char **argv)
{
	unsigned i, plan = 0, failed = 0;
	char *m;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ps = sysconf(_SC_PAGESIZE);
	/* objects of up to 32 pages (16 with 64K pages: 1 MiB each) in an arena of 8 objects */
	OBJP = ps >= 65536 ? 16 : 32;
	NP = 8 * OBJP;
	MAXMAPPED = 5 * OBJP;
	install_handlers();
	M.pg = calloc(NP, sizeof *M.pg);
	dirty_pg = calloc(NP, 1);
	pagebuf = malloc(ps);
	zero_page = calloc(1, ps);
	if (!M.pg || !dirty_pg || !pagebuf || !zero_page)
		return 2;
	for (i = 0; i < NP; i++)
		M.pg[i].obj = V_UNMAPPED;
	check_ext4();
	printf("KTAP version 1\n");
	if ((long)ps != expected_ps) {
		printf("1..1\n");
		printf("not ok 1 page_size\n# FAIL: page size %zu, expected %ld\n", ps,
		       expected_ps);
		return 1;
	}
	m = mmap(arena, NP * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
		 0);
	if (m != arena) {
		printf("1..0 # SKIP the arena at %p is not free: %s\n", (void *)arena,
		       m == MAP_FAILED ? strerror(errno) : "mapped elsewhere");
		return 1;
	}
	munmap(m, NP * ps);
	if (replay_file) {
		probe_all();
		return run_replay();
	}
	for (i = 0; i < NCASES; i++)
		plan += !only_case || !strcmp(only_case, cases[i].name);
	printf("1..%u\n", plan);
	share_ms /= plan ? plan : 1;
	diag("seed %" PRIu64 " (--seed %" PRIu64 " repeats it), page size %zu, objects of up "
	     "to %zu pages, arena of %zu pages at %p, %u operations per sequence, each case "
	     "repeated for %.0f ms", seed, seed, ps, OBJP, NP, (void *)arena, default_ops(),
	     share_ms);
	diag("tmpfs: %s; ext4: %s", dir_tmpfs, ext4_problem[0] ? ext4_problem : dir_ext4);
	probe_all();
	for (i = 0; i < NCASES; i++)
		if (!only_case || !strcmp(only_case, cases[i].name))
			failed += !run_case(i);
	return failed ? 1 : 0;
}
