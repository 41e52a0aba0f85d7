/*
 * model suite, part 3: the operations. Each has a log line (printed and parsed back for
 * --replay), an executor that predicts from the model what the kernel must do, does it, checks
 * the outcome and updates the model, and a generator that picks its parameters at random.
 * An executor works from any model state (a replay after minimisation may run it where the
 * generator never would): what it cannot predict exactly it skips, and says so.
 */
#ifndef MODEL_OPS_H
#define MODEL_OPS_H

#include "model_state.h"

enum opk {
	OP_MMAP, OP_MUNMAP, OP_MREMAP, OP_MPROTECT, OP_MADVISE, OP_MLOCK, OP_MUNLOCK, OP_RFP,
	OP_MSYNC, OP_MWRITE, OP_MREAD, OP_PROBE, OP_FWRITE, OP_FREAD, OP_DWRITE, OP_DREAD,
	OP_TRUNCATE, OP_FALLOC,
	OP_FSYNC, OP_DROP, OP_FORK, OP_THREADS, OP_CORRUPT, OP_NKINDS
};

#define NPARAM 8

struct op {
	uint8_t kind;
	unsigned num;       /* its number in the sequence, and the generation of what it writes */
	long p[NPARAM];
	struct op *child;   /* OP_FORK: what the child does */
	unsigned nchild;
	char res[24];       /* what its (last) system call returned, for the log */
};

static char cur_res[24]; /* the running operation's result */

enum ptype { T_INT, T_PROT, T_SRC, T_MODE, T_MFL, T_RFL, T_ADV, T_MSF, T_FAL, T_DIST };

static const struct opspec {
	const char *name;
	const char *pn[NPARAM];
	uint8_t pt[NPARAM];
} spec[OP_NKINDS] = {
	[OP_MMAP] = { "mmap", { "page", "n", "src", "pgoff", "prot", "mode", "flags", "mis" },
		     { T_INT, T_INT, T_SRC, T_INT, T_PROT, T_MODE, T_MFL, T_INT } },
	[OP_MUNMAP] = { "munmap", { "page", "n", "mis" } },
	[OP_MREMAP] = { "mremap", { "page", "n", "newn", "flags", "newpage" },
		       { T_INT, T_INT, T_INT, T_RFL, T_INT } },
	[OP_MPROTECT] = { "mprotect", { "page", "n", "prot", "mis" }, { T_INT, T_INT, T_PROT } },
	[OP_MADVISE] = { "madvise", { "page", "n", "adv", "mis" }, { T_INT, T_INT, T_ADV } },
	[OP_MLOCK] = { "mlock", { "page", "n", "onfault" } },
	[OP_MUNLOCK] = { "munlock", { "page", "n" } },
	[OP_RFP] = { "remap_file_pages", { "page", "n", "pgoff", "prot" } },
	[OP_MSYNC] = { "msync", { "page", "n", "flags", "mis" }, { T_INT, T_INT, T_MSF } },
	[OP_MWRITE] = { "mwrite", { "page", "off", "len" } },
	[OP_MREAD] = { "mread", { "page", "n" } },
	[OP_PROBE] = { "probe", { "page", "off", "write" } },
	[OP_FWRITE] = { "fwrite", { "obj", "off", "len", "how" } },
	[OP_FREAD] = { "fread", { "obj", "off", "len", "how" } },
	[OP_DWRITE] = { "dwrite", { "obj", "off", "len" } },
	[OP_DREAD] = { "dread", { "obj", "off", "len" } },
	[OP_TRUNCATE] = { "ftruncate", { "obj", "size" } },
	[OP_FALLOC] = { "fallocate", { "obj", "mode", "off", "len" }, { T_INT, T_FAL } },
	[OP_FSYNC] = { "fsync", { "obj", "data" } },
	[OP_DROP] = { "drop_caches", { NULL } },
	[OP_FORK] = { "fork", { "nchild" } },
	[OP_THREADS] = { "threads", { "page", "n", "threads", "disturb" },
			{ T_INT, T_INT, T_INT, T_DIST } },
	[OP_CORRUPT] = { "corrupt", { "obj", "page", "off", "val" } },
};

struct flagname {
	long bit;
	const char *name;
};

enum { MF_SHARED = 1, MF_POPULATE = 2, MF_LOCKED = 4, MF_RO = 8 };
enum { D_NONE, D_DONTNEED, D_PAGEOUT, D_COLD };

static const struct flagname mfl_names[] = { { MF_SHARED, "shared" }, { MF_POPULATE, "populate" },
	{ MF_LOCKED, "locked" }, { MF_RO, "rofd" }, { 0, NULL } };
static const struct flagname rfl_names[] = { { MREMAP_MAYMOVE, "maymove" },
	{ MREMAP_FIXED, "fixed" }, { MREMAP_DONTUNMAP, "dontunmap" }, { 0, NULL } };
static const struct flagname msf_names[] = { { MS_ASYNC, "async" }, { MS_SYNC, "sync" },
	{ MS_INVALIDATE, "invalidate" }, { 0, NULL } };
static const struct flagname fal_names[] = { { FALLOC_FL_KEEP_SIZE, "keep" },
	{ FALLOC_FL_PUNCH_HOLE, "punch" }, { FALLOC_FL_COLLAPSE_RANGE, "collapse" },
	{ FALLOC_FL_ZERO_RANGE, "zero" }, { FALLOC_FL_INSERT_RANGE, "insert" }, { 0, NULL } };
static const struct flagname adv_names[] = { { MADV_DONTNEED, "dontneed" }, { MADV_FREE, "free" },
	{ MADV_REMOVE, "remove" }, { MADV_PAGEOUT, "pageout" }, { MADV_COLD, "cold" },
	{ MADV_WILLNEED, "willneed" }, { MADV_POPULATE_READ, "populate_read" },
	{ MADV_POPULATE_WRITE, "populate_write" }, { 0, NULL } };
static const struct flagname mode_names[] = { { 0, "fixed" }, { 1, "noreplace" }, { 2, "hint" },
	{ -1, NULL } };
static const struct flagname dist_names[] = { { D_NONE, "none" }, { D_DONTNEED, "dontneed" },
	{ D_PAGEOUT, "pageout" }, { D_COLD, "cold" }, { -1, NULL } };

static const char *flags_str(const struct flagname *t, long v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (; t->name; t++)
		if (t->bit && (v & t->bit)) {
			n += snprintf(buf + n, size - n, "%s%s", n ? "|" : "", t->name);
			v &= ~t->bit;
		}
	if (v || !n)
		snprintf(buf + n, size - n, "%s%ld", n ? "|" : "", v);
	return buf;
}

static const char *enum_str(const struct flagname *t, long v, char *buf, size_t size)
{
	for (; t->name; t++)
		if (t->bit == v)
			return t->name;
	snprintf(buf, size, "%ld", v);
	return buf;
}

static const char *param_str(int type, long v, char *buf, size_t size)
{
	switch (type) {
	case T_PROT: return prot_str(v);
	case T_SRC:
		if (v == -2)
			return "anon";
		if (v == -3)
			return "shm";
		snprintf(buf, size, "obj%ld", v);
		return buf;
	case T_MODE: return enum_str(mode_names, v, buf, size);
	case T_MFL: return flags_str(mfl_names, v, buf, size);
	case T_RFL: return flags_str(rfl_names, v, buf, size);
	case T_ADV: return enum_str(adv_names, v, buf, size);
	case T_MSF: return flags_str(msf_names, v, buf, size);
	case T_FAL: return flags_str(fal_names, v, buf, size);
	case T_DIST: return enum_str(dist_names, v, buf, size);
	}
	snprintf(buf, size, "%ld", v);
	return buf;
}

/* Parse one value of a type; false if it is not one. */
static bool param_parse(int type, const char *s, long *out)
{
	const struct flagname *t = NULL;
	char *end;
	long v = 0;

	switch (type) {
	case T_PROT:
		if (strlen(s) != 3)
			return false;
		*out = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
		       (s[2] == 'x' ? PROT_EXEC : 0);
		return true;
	case T_SRC:
		if (!strcmp(s, "anon"))
			return *out = -2, true;
		if (!strcmp(s, "shm"))
			return *out = -3, true;
		if (strncmp(s, "obj", 3))
			return false;
		*out = strtol(s + 3, &end, 10);
		return !*end && *out >= 0 && *out < MAXOBJ;
	case T_MODE: t = mode_names; break;
	case T_ADV: t = adv_names; break;
	case T_DIST: t = dist_names; break;
	case T_MFL: t = mfl_names; break;
	case T_RFL: t = rfl_names; break;
	case T_MSF: t = msf_names; break;
	case T_FAL: t = fal_names; break;
	}
	if (!t) {
		*out = strtol(s, &end, 0);
		return !*end && end != s;
	}
	if (type == T_MODE || type == T_ADV || type == T_DIST) {
		for (; t->name; t++)
			if (!strcmp(s, t->name))
				return *out = t->bit, true;
		*out = strtol(s, &end, 0);
		return !*end && end != s;
	}
	while (*s) { /* a|b|c, each a name or a number */
		size_t len = strcspn(s, "|");
		const struct flagname *f;
		bool found = false;

		for (f = t; f->name; f++)
			if (strlen(f->name) == len && !strncmp(s, f->name, len)) {
				v |= f->bit;
				found = true;
			}
		if (!found) {
			long n = strtol(s, &end, 0);

			if (end != s + len)
				return false;
			v |= n;
		}
		s += len;
		if (*s == '|')
			s++;
	}
	*out = v;
	return true;
}

/* "mmap page=3 n=2 ..." */
static char *op_str(const struct op *op, char *buf, size_t size)
{
	const struct opspec *s = &spec[op->kind];
	size_t n = snprintf(buf, size, "%s", s->name);
	char v[64];
	int i;

	for (i = 0; i < NPARAM && s->pn[i] && n < size; i++)
		n += snprintf(buf + n, size - n, " %s=%s", s->pn[i],
			      param_str(s->pt[i], op->p[i], v, sizeof v));
	return buf;
}

/* ---- dirty ranges: what the checks after an operation look at ---- */

static uint8_t *dirty_pg;
static struct {
	bool any, direct;
	size_t lo, hi;
} dirty_obj[MAXOBJ];
static bool case_direct; /* the case reads ext4 files back with O_DIRECT too */

static void mark_pages(size_t p, size_t n)
{
	size_t q;

	for (q = p ? p - 1 : 0; q < p + n + 1 && q < NP; q++)
		dirty_pg[q] = 1;
}

static void mark_obj(int oid, size_t lo, size_t hi, bool direct)
{
	if (oid < 0 || !M.obj[oid].live)
		return;
	if (!dirty_obj[oid].any || lo < dirty_obj[oid].lo)
		dirty_obj[oid].lo = lo;
	if (!dirty_obj[oid].any || hi > dirty_obj[oid].hi)
		dirty_obj[oid].hi = hi;
	dirty_obj[oid].any = true;
	dirty_obj[oid].direct |= direct;
}

static void mark_all_objs(bool direct)
{
	int i;

	for (i = 0; i < MAXOBJ; i++)
		if (M.obj[i].live)
			mark_obj(i, 0, M.obj[i].cap, direct);
}

/* Page p is mapped, or an unmapped neighbour of a mapped page (whose access must fault). */
static bool near_mapped(size_t p)
{
	return mapped(p) || mapped(p + 1) || (p && mapped(p - 1));
}

/* Check what the last operation touched: objects first (their views too), then pages. */
static int check_dirty(void)
{
	size_t p;
	int i;

	for (i = 0; i < MAXOBJ; i++) {
		size_t lo, hi;

		if (!dirty_obj[i].any)
			continue;
		dirty_obj[i].any = false;
		if (!M.obj[i].live)
			continue;
		lo = dirty_obj[i].lo / ps * ps;
		hi = (dirty_obj[i].hi + ps - 1) / ps * ps;
		if (hi <= lo)
			hi = lo + ps;
		if (is_file(i)) {
			if (check_file(i, lo, hi - lo + ps, false, false) < 0)
				return -1;
			if (case_direct && M.obj[i].dfd >= 0 && dirty_obj[i].direct &&
			    check_file(i, lo, hi - lo + ps, true, false) < 0)
				return -1;
		}
		for (p = 0; p < NP; p++)
			if (M.pg[p].obj == i && M.pg[p].pgoff * ps + ps > lo &&
			    M.pg[p].pgoff * ps < hi)
				dirty_pg[p] = 1;
		dirty_obj[i].direct = false;
	}
	for (p = 0; p < NP; p++)
		if (dirty_pg[p]) {
			dirty_pg[p] = 0;
			if (near_mapped(p) && check_page(p) < 0)
				return -1;
		}
	return 0;
}

/* Every mapped page and its unmapped neighbours, and every file. */
static int check_all(bool direct)
{
	size_t p;
	int i;

	for (i = 0; i < M.nfile; i++)
		if (M.obj[i].live && check_whole_file(i, direct && case_direct) < 0)
			return -1;
	for (p = 0; p < NP; p++)
		if (near_mapped(p) && check_page(p) < 0)
			return -1;
	return 0;
}

/* ---- outcome checks ---- */

/* The syscall returned r with errno e; it must have returned want (or -1 with errno want_e). */
static int expect_ret(long r, int e, long want, int want_e, const char *what)
{
	if (r == -1)
		snprintf(cur_res, sizeof cur_res, "%s", errname(e));
	else if (r > 0xffff)
		snprintf(cur_res, sizeof cur_res, "0x%lx", r);
	else
		snprintf(cur_res, sizeof cur_res, "%ld", r);
	if (want_e && r == -1 && e == want_e) {
		st.errors_expected++;
		return 0;
	}
	if (!want_e && r == want)
		return 0;
	trace("\texpect_ret(r, e, %ld, %d, \"%s\");", want_e ? -1 : want, want_e, what);
	if (want_e)
		return failf(r == -1 ? F_ERRNO : F_RETVAL, "%s: expected %s, got %s%ld%s%s", what,
			     errname(want_e), r == -1 ? "" : "success ", r == -1 ? -1L : r,
			     r == -1 ? " " : "", r == -1 ? errname(e) : "");
	return failf(r == -1 ? F_ERRNO : F_RETVAL, "%s: expected %ld (success), got %ld%s%s", what,
		     want, r, r == -1 ? " " : "", r == -1 ? errname(e) : "");
}

/* An operation whose outcome the model cannot tell (two right answers with different
 * effects) is not done at all. */
static struct {
	const char *why;
	unsigned long n;
} skips[24];

static int skip_op(const char *why)
{
	size_t i;

	for (i = 0; i < sizeof skips / sizeof skips[0]; i++)
		if (!skips[i].why || skips[i].why == why) {
			skips[i].why = why;
			skips[i].n++;
			break;
		}
	st.skipped++;
	trace("\t/* skipped: %s */", why);
	return 0;
}

static void child_shared_write(int oid, size_t off, size_t len, unsigned gen);

/* ---- flags as C expressions, for the reproducer ---- */

static const char *c_flags(const struct flagname *t, long v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (; t->name; t++)
		if (v & t->bit) {
			n += snprintf(buf + n, size - n, "%s%s", n ? " | " : "", t->name);
			v &= ~t->bit;
		}
	if (v || !n)
		snprintf(buf + n, size - n, "%s%ld", n ? " | " : "", v);
	return buf;
}

static const struct flagname c_prot_names[] = { { PROT_READ, "PROT_READ" },
	{ PROT_WRITE, "PROT_WRITE" }, { PROT_EXEC, "PROT_EXEC" }, { 0, NULL } };
static const struct flagname c_map_names[] = { { MAP_SHARED, "MAP_SHARED" },
	{ MAP_PRIVATE, "MAP_PRIVATE" }, { MAP_ANONYMOUS, "MAP_ANONYMOUS" },
	{ MAP_FIXED, "MAP_FIXED" }, { MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE" },
	{ MAP_POPULATE, "MAP_POPULATE" }, { MAP_LOCKED, "MAP_LOCKED" }, { 0, NULL } };
static const struct flagname c_mremap_names[] = { { MREMAP_MAYMOVE, "MREMAP_MAYMOVE" },
	{ MREMAP_FIXED, "MREMAP_FIXED" }, { MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP" }, { 0, NULL } };
static const struct flagname c_msync_names[] = { { MS_ASYNC, "MS_ASYNC" }, { MS_SYNC, "MS_SYNC" },
	{ MS_INVALIDATE, "MS_INVALIDATE" }, { 0, NULL } };
static const struct flagname c_falloc_names[] = { { FALLOC_FL_KEEP_SIZE, "FALLOC_FL_KEEP_SIZE" },
	{ FALLOC_FL_PUNCH_HOLE, "FALLOC_FL_PUNCH_HOLE" },
	{ FALLOC_FL_COLLAPSE_RANGE, "FALLOC_FL_COLLAPSE_RANGE" },
	{ FALLOC_FL_ZERO_RANGE, "FALLOC_FL_ZERO_RANGE" },
	{ FALLOC_FL_INSERT_RANGE, "FALLOC_FL_INSERT_RANGE" }, { 0, NULL } };

static const char *c_madv(int adv)
{
	switch (adv) {
	case MADV_DONTNEED: return "MADV_DONTNEED";
	case MADV_FREE: return "MADV_FREE";
	case MADV_REMOVE: return "MADV_REMOVE";
	case MADV_PAGEOUT: return "MADV_PAGEOUT";
	case MADV_COLD: return "MADV_COLD";
	case MADV_WILLNEED: return "MADV_WILLNEED";
	case MADV_POPULATE_READ: return "MADV_POPULATE_READ";
	case MADV_POPULATE_WRITE: return "MADV_POPULATE_WRITE";
	}
	return "-1";
}

static const char *fdx(int oid, int which)
{
	static char b[4][24];
	static int k;
	char *s = b[k++ & 3];

	snprintf(s, 24, "%s[%d]", which == 2 ? "rofd" : which == 1 ? "dfd" : "fd", oid);
	return s;
}

static bool has_prot_none(size_t p, size_t n)
{
	size_t q;

	for (q = p; q < p + n && q < NP; q++)
		if (mapped(q) && !M.pg[q].prot)
			return true;
	return false;
}

static bool lock_unknown(size_t p, size_t n)
{
	size_t q;

	for (q = p; q < p + n && q < NP; q++)
		if (mapped(q) && M.pg[q].lock == LK_UNKNOWN)
			return true;
	return false;
}

/* ---- mmap, munmap ---- */

/* COW-break pages of a private writable file mapping that lie within end of file, in order
 * (populate stops at the first page beyond it): MAP_POPULATE, mlock, POPULATE_WRITE. */
static void populate_write(size_t p, size_t n)
{
	size_t q;

	for (q = p; q < p + n; q++) {
		struct vpage *v = &M.pg[q];

		if (v->obj < 0 || v->shared || v->cow || !(v->prot & PROT_WRITE))
			continue;
		if (beyond_eof(v->obj, v->pgoff))
			break;
		cow_break(v);
	}
}

static int op_mmap(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], pgoff = op->p[3], q;
	long src = op->p[2], mis = op->p[7];
	int prot = op->p[4] & 7, mode = op->p[5], fl = op->p[6], want_e = 0, oid = -1, flags;
	int fd = -1;
	bool shared = src == -3 || (src >= 0 && (fl & MF_SHARED)), ro = src >= 0 && (fl & MF_RO);
	bool overlap = false;
	char *want = A(p) + mis, *r, cb[2][120];
	int e;

	if (p + n > NP || (src >= 0 && (src >= M.nfile || !M.obj[src].live)) || src == -1 ||
	    src < -3)
		return skip_op("parameters out of range");
	if (mode == 2 && mis)
		return skip_op("an unaligned hint");
	for (q = p; q < p + n; q++)
		overlap |= mapped(q);
	flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (src < 0 ? MAP_ANONYMOUS : 0) |
		(mode == 0 ? MAP_FIXED : mode == 1 ? MAP_FIXED_NOREPLACE : 0) |
		(fl & MF_POPULATE ? MAP_POPULATE : 0) | (fl & MF_LOCKED ? MAP_LOCKED : 0);
	if (src >= 0)
		fd = ro ? M.obj[src].rofd : M.obj[src].fd;
	if (!n)
		want_e = EINVAL;
	else if (mode != 2 && mis)
		want_e = EINVAL;
	else if (mode == 1 && overlap)
		want_e = EEXIST;
	else if (src >= 0 && shared && ro && (prot & PROT_WRITE))
		want_e = EACCES;
	else if (src >= 0 && (prot & PROT_EXEC) && !M.obj[src].exec_ok)
		want_e = EPERM;
	else if (src == -3 && (prot & PROT_EXEC) && !cap.shm_exec)
		want_e = EPERM;
	if (!want_e && src == -3) {
		gc_shm();
		for (oid = M.nfile; oid < MAXOBJ && M.obj[oid].live; oid++)
			;
		if (oid == MAXOBJ)
			return skip_op("no room for another shm object in the model");
	}
	trace("\tr = (long)mmap(A(%zu) + %ld, %zu * PS, %s, %s, %s, %zu * PS); e = errno;", p, mis,
	      n, c_flags(c_prot_names, prot, cb[0], sizeof cb[0]),
	      c_flags(c_map_names, flags, cb[1], sizeof cb[1]),
	      src >= 0 ? fdx(src, ro ? 2 : 0) : "-1", src >= 0 ? pgoff : 0);
	r = mmap(want, n * ps, prot, flags, fd, src >= 0 ? pgoff * ps : 0);
	e = errno;
	if (want_e || r == MAP_FAILED)
		return expect_ret(r == MAP_FAILED ? -1 : (long)r, e, (long)want, want_e, "mmap");
	if (mode == 2 && overlap && r == want)
		return failf(F_RETVAL, "mmap with a hint over mapped pages returned the hint %p",
			     (void *)r);
	if (mode == 2 && r != want) {
		/* a hint is only a hint: where the kernel put it must have been free */
		size_t rp = ((char *)r - arena) / ps;

		trace("\tif (r != (long)A(%zu)) munmap((void *)r, %zu * PS);", p, n);
		if (r >= arena && r < arena + NP * ps) {
			for (q = rp; q < rp + n; q++)
				if (q >= NP || mapped(q))
					return failf(F_RETVAL, "mmap with a hint returned %p, "
						     "over pages already mapped", (void *)r);
		}
		if (!overlap)
			diag("mmap hint %p not taken (got %p): the range was free", (void *)want,
			     (void *)r);
		munmap(r, n * ps);
		return 0;
	}
	if (expect_ret((long)r, 0, (long)want, 0, "mmap") < 0)
		return -1;
	if (src == -3)
		oid = shm_new(n);
	split_range(p, n);
	for (q = p; q < p + n; q++) {
		struct vpage *v = &M.pg[q];

		page_unmap(q);
		v->obj = src == -2 ? V_ANON : src == -3 ? oid : src;
		v->shared = shared;
		v->ro = ro && shared;
		v->prot = prot;
		v->lock = fl & MF_LOCKED ? LK_LOCKED : LK_NONE;
		v->vma = M.next_vma;
		v->pgoff = src == -3 ? q - p : src >= 0 ? pgoff + (q - p) : 0;
	}
	M.next_vma++;
	if (fl & (MF_POPULATE | MF_LOCKED))
		populate_write(p, n);
	gc_shm();
	mark_pages(p, n);
	return 0;
}

static int op_munmap(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q;
	long mis = op->p[2], r;
	int want_e = !n || mis ? EINVAL : 0, e;

	if (p + n > NP)
		return skip_op("parameters out of range");
	trace("\tr = munmap(A(%zu) + %ld, %zu * PS); e = errno;", p, mis, n);
	r = munmap(A(p) + mis, n * ps);
	e = errno;
	if (expect_ret(r, e, 0, want_e, "munmap") < 0 || want_e)
		return want_e && r == -1 ? 0 : -1;
	split_range(p, n);
	for (q = p; q < p + n; q++) {
		/* what was written through a shared view must be in the file, also for O_DIRECT */
		if (M.pg[q].obj >= 0 && M.pg[q].shared)
			mark_obj(M.pg[q].obj, (size_t)M.pg[q].pgoff * ps,
				 (size_t)M.pg[q].pgoff * ps + ps, true);
		page_unmap(q);
	}
	gc_shm();
	mark_pages(p, n);
	return 0;
}

/* ---- mremap ---- */

/* Move the model's pages [p, p+n) to [np, np+n) (np may be in the arena or not: out). */
static void move_pages(size_t p, size_t n, struct vpage *out, bool dontunmap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct vpage *v = &M.pg[p + i];

		out[i] = *v;
		if (dontunmap) {
			/* the old range stays mapped, empty: it refaults zeros or the object */
			v->cow = NULL;
			v->lock = LK_NONE;
		} else {
			memset(v, 0, sizeof *v);
			v->obj = V_UNMAPPED;
		}
	}
}

/* The extension of a grown mapping: the vma goes on, with nothing in it yet. */
static void extend_pages(struct vpage *ext, size_t n, const struct vpage *last)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ext[i] = *last;
		ext[i].cow = NULL;
		ext[i].pgoff = last->obj >= 0 ? last->pgoff + 1 + i : 0;
	}
}

/* Page q is mapped and mlocked like v (so the kernel may have merged it with v's vma). */
static bool like_locked(size_t q, const struct vpage *v)
{
	const struct vpage *w = &M.pg[q];

	return mapped(q) && w->obj == v->obj && w->prot == v->prot && w->shared == v->shared &&
	       w->lock;
}

/*
 * A kernel that unlocks the whole vma on MREMAP_DONTUNMAP of part of it: the model vma is
 * unlocked; neighbours the kernel may have merged into it (contiguous, mlocked alike) may or
 * may not be.
 */
static void dontunmap_unlock_vma(size_t p, size_t n)
{
	const struct vpage *v = &M.pg[p];
	size_t s, len, q;

	vma_run(p, &s, &len);
	for (q = s; q > 0 && like_locked(q - 1, v); q--)
		M.pg[q - 1].lock = LK_UNKNOWN;
	for (q = s + len; q < NP && like_locked(q, v); q++)
		M.pg[q].lock = LK_UNKNOWN;
	for (q = s; q < s + len; q++)
		if (q < p || q >= p + n)
			M.pg[q].lock = LK_NONE;
}

/* Pages the kernel moved out of the arena: check them there, then unmap them. */
static int check_moved_out(char *where, struct vpage *pages, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = check_page_at(where + i * ps, NP + i, &pages[i]);
	for (i = 0; i < n; i++)
		drop_cow(&pages[i]);
	munmap(where, n * ps);
	return rc;
}

static int op_mremap(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], newn = op->p[2], np = op->p[4], q, len;
	long fl = op->p[3], r;
	bool fixed = fl & MREMAP_FIXED, dontunmap = fl & MREMAP_DONTUNMAP;
	bool maymove = fl & MREMAP_MAYMOVE;
	int want_e = 0, e;
	bool late = false; /* EFAULT found by mremap_to() after it unmapped the target */
	int want_e2 = 0;   /* another errno that is as right */
	struct vpage *moved;
	long want = (long)A(p);
	char cb[80];

	if (p + n > NP || p + newn > NP || (fixed && np + newn > NP))
		return skip_op("parameters out of range");
	if (fl & ~(long)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		want_e = EINVAL;
	else if (fixed && !maymove)
		want_e = EINVAL;
	else if (dontunmap && (!maymove || n != newn))
		want_e = EINVAL;
	else if (!newn)
		want_e = EINVAL;
	else if (!n)
		return skip_op("old_len 0 duplicates a shared mapping: not modelled");
	else if (!mapped(p)) {
		want_e = EFAULT;
		/* 6.1/6.12 look the vma up first (EFAULT); 6.18 checks the overlap first */
		if (fixed && maymove && p + n > np && np + newn > p)
			want_e2 = EINVAL;
	}
	if (!want_e && (fixed || dontunmap)) {
		if (!fixed)
			return skip_op("MREMAP_DONTUNMAP without MREMAP_FIXED: no address known");
		if (p + n > np && np + newn > p)
			want_e = EINVAL;
	}
	len = n < newn ? n : newn;
	if (!want_e && newn > n && lock_unknown(p, n))
		return skip_op("growing a mapping whose mlock state is unknown");
	if (!want_e && (fixed || newn > n)) {
		/* the old range (cut to the new length when moving) must lie in one vma */
		for (q = p; q < p + len; q++) {
			if (!mapped(q)) {
				if (cap.mremap_multi && fixed && n == newn)
					return skip_op("moving a range with holes (6.17+)");
				want_e = EFAULT;
				late = fixed;
				break;
			}
			if (!same_vma(p, q))
				return skip_op("old range over several model vmas (the "
					       "kernel may have merged them)");
		}
	}
	if (late && n > newn && !cap.mremap_efault_unmaps)
		return skip_op("a shrinking move failing late, on a kernel that checks first");
	trace("\tr = (long)mremap(A(%zu), %zu * PS, %zu * PS, %s, A(%zu)); e = errno;", p, n, newn,
	      c_flags(c_mremap_names, fl, cb, sizeof cb), np);
	r = (long)mremap(A(p), n * ps, newn * ps, fl, A(np));
	e = errno;
	if (late && cap.mremap_efault_unmaps) {
		/* mremap_to() unmapped the target (and the cut tail) before it found no vma */
		split_range(np, newn);
		for (q = np; q < np + newn; q++)
			page_unmap(q);
		if (n > newn) {
			split_range(p + newn, n - newn);
			for (q = p + newn; q < p + n; q++)
				page_unmap(q);
		}
		mark_pages(np, newn);
		mark_pages(p, n);
	}
	if (want_e2 && r == -1 && e == want_e2)
		return 0;
	if (want_e)
		return expect_ret(r, e, 0, want_e, "mremap");
	mark_pages(p, n > newn ? n : newn);
	if (fixed) {
		if (expect_ret(r, e, (long)A(np), 0, "mremap") < 0)
			return -1;
		split_range(np, newn);
		for (q = np; q < np + newn; q++)
			page_unmap(q);
		if (n > newn) {
			split_range(p + newn, n - newn);
			for (q = p + newn; q < p + n; q++)
				page_unmap(q);
		}
		moved = calloc(newn, sizeof *moved);
		bool unlocks = dontunmap && cap.dontunmap_unlocks_vma && M.pg[p].lock != LK_NONE;

		if (unlocks)
			dontunmap_unlock_vma(p, len);
		split_range(p, len);
		move_pages(p, len, moved, dontunmap);
		for (q = 0; unlocks && q < len; q++) /* seen unlocked there too on 6.18 */
			moved[q].lock = LK_UNKNOWN;
		if (newn > len)
			extend_pages(moved + len, newn - len, &moved[len - 1]);
		for (q = 0; q < newn; q++) {
			M.pg[np + q] = moved[q];
			M.pg[np + q].vma = M.next_vma;
		}
		M.next_vma++;
		if (moved[0].lock == LK_LOCKED && newn > len)
			populate_write(np + len, newn - len);
		free(moved);
		mark_pages(np, newn);
		gc_shm();
		return 0;
	}
	if (newn <= n) { /* shrinking: the tail goes */
		if (expect_ret(r, e, want, 0, "mremap") < 0)
			return -1;
		split_range(p + newn, n - newn);
		for (q = p + newn; q < p + n; q++)
			page_unmap(q);
		gc_shm();
		return 0;
	}
	/*
	 * Growing: in place when the pages after it are free (then the kernel's vma ends where
	 * the old range does: a vma never spans unmapped pages). A mapped next page, of this vma
	 * or another (merged or not), leaves no room.
	 */
	bool room = true;

	for (q = p + n; q < p + newn && room; q++)
		room = !mapped(q);
	if (room) {
		if (expect_ret(r, e, want, 0, "mremap") < 0)
			return -1;
		extend_pages(&M.pg[p + n], newn - n, &M.pg[p + n - 1]);
		if (M.pg[p].lock == LK_LOCKED)
			populate_write(p + n, newn - n);
		return 0;
	}
	if (!maymove)
		return expect_ret(r, e, 0, ENOMEM, "mremap");
	if (r == -1)
		return expect_ret(r, e, 0, 0, "mremap (moving)");
	/* moved where the kernel chose */
	moved = calloc(newn, sizeof *moved);
	split_range(p, n);
	move_pages(p, n, moved, false);
	extend_pages(moved + n, newn - n, &moved[n - 1]);
	if ((char *)r >= arena && (char *)r + newn * ps <= arena + NP * ps &&
	    !(((char *)r - arena) % ps)) {
		size_t rp = ((char *)r - arena) / ps;

		for (q = rp; q < rp + newn; q++)
			if (mapped(q)) {
				free(moved);
				return failf(F_RETVAL, "mremap moved the mapping over mapped "
					     "page %zu", q);
			}
		for (q = 0; q < newn; q++) {
			M.pg[rp + q] = moved[q];
			M.pg[rp + q].vma = M.next_vma;
		}
		M.next_vma++;
		if (moved[0].lock == LK_LOCKED)
			populate_write(rp + n, newn - n);
		mark_pages(rp, newn);
		free(moved);
		return 0;
	}
	trace("\tif (r != -1) munmap((void *)r, %zu * PS);", newn);
	e = check_moved_out((char *)r, moved, newn);
	free(moved);
	gc_shm();
	return e;
}

/* ---- mprotect, mlock, munlock ---- */

static int op_mprotect(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q;
	int prot = op->p[2] & 7, want_e = 0, e;
	long mis = op->p[3], r;
	char cb[64];

	if (p + n > NP)
		return skip_op("parameters out of range");
	if (!mis && lock_unknown(p, n))
		return skip_op("mprotect of pages whose mlock state is unknown");
	if (!mis && cap.prot_none_warn && !strict && has_prot_none(p, n))
		return skip_op("mprotect over PROT_NONE pages (ppc64 radix < 6.7 WARNs)");
	trace("\tr = mprotect(A(%zu) + %ld, %zu * PS, %s); e = errno;", p, mis, n,
	      c_flags(c_prot_names, prot, cb, sizeof cb));
	r = mprotect(A(p) + mis, n * ps, prot);
	e = errno;
	if (mis)
		return expect_ret(r, e, 0, EINVAL, "mprotect");
	if (!n)
		return expect_ret(r, e, 0, 0, "mprotect");
	split_at(p);
	for (q = p; q < p + n; q++) {
		struct vpage *v = &M.pg[q];

		if (!mapped(q)) {
			want_e = ENOMEM;
			break;
		}
		if (((prot & PROT_WRITE) && v->ro) || ((prot & PROT_EXEC) && !may_exec(v))) {
			want_e = EACCES;
			break;
		}
		/* a private mlocked vma becoming writable is COW-broken (mprotect_fixup) */
		if (v->lock == LK_LOCKED && !v->shared && !(v->prot & PROT_WRITE) &&
		    (prot & PROT_WRITE) && v->obj >= 0 && !v->cow && !beyond_eof(v->obj, v->pgoff))
			cow_break(v);
		v->prot = prot;
	}
	split_at(q);
	mark_pages(p, n);
	return expect_ret(r, e, 0, want_e, "mprotect");
}

static int op_mlock(struct op *op, bool lock)
{
	size_t p = op->p[0], n = op->p[1], q;
	bool onfault = lock && op->p[2];
	int want_e = 0, e;
	long r;

	if (p + n > NP)
		return skip_op("parameters out of range");
	if (onfault && !cap.mlock2)
		return skip_op("no mlock2");
	if (!lock)
		trace("\tr = munlock(A(%zu), %zu * PS); e = errno;", p, n);
	else if (onfault)
		trace("\tr = syscall(SYS_mlock2, A(%zu), %zu * PS, MLOCK_ONFAULT); e = errno;", p,
		      n);
	else
		trace("\tr = mlock(A(%zu), %zu * PS); e = errno;", p, n);
	if (!lock)
		r = munlock(A(p), n * ps);
#ifdef SYS_mlock2
	else if (onfault)
		r = syscall(SYS_mlock2, A(p), n * ps, MLOCK_ONFAULT);
#endif
	else
		r = mlock(A(p), n * ps);
	e = errno;
	if (!n)
		return expect_ret(r, e, 0, 0, lock ? "mlock" : "munlock");
	if (!mapped(p))
		return expect_ret(r, e, 0, ENOMEM, lock ? "mlock" : "munlock");
	split_at(p);
	for (q = p; q < p + n; q++) {
		if (!mapped(q)) {
			want_e = ENOMEM; /* locked up to the hole, then no populate */
			break;
		}
		M.pg[q].lock = !lock ? LK_NONE : onfault ? LK_ONFAULT : LK_LOCKED;
	}
	split_at(q);
	if (lock && !onfault && !want_e) {
		/* __mm_populate(): in order, stopping (ENOMEM) at PROT_NONE or beyond EOF */
		for (q = p; q < p + n; q++) {
			struct vpage *v = &M.pg[q];

			if (!v->prot || (shows_object(v) && beyond_eof(v->obj, v->pgoff))) {
				want_e = ENOMEM;
				break;
			}
			if (v->obj >= 0 && !v->shared && (v->prot & PROT_WRITE) && !v->cow)
				cow_break(v);
		}
	}
	mark_pages(p, n);
	return expect_ret(r, e, 0, want_e, lock ? "mlock" : "munlock");
}

/* ---- madvise ---- */

static bool adv_supported(int adv)
{
	return adv >= 0 && adv < 32 && cap.madv[adv];
}

/* Punch one page of the object a view page shows (MADV_REMOVE): zeros within the file. */
static void punch_page(const struct vpage *v)
{
	struct obj *o = &M.obj[v->obj];
	size_t lo = (size_t)v->pgoff * ps, hi = lo + ps;

	if (lo >= o->size)
		return;
	if (hi > o->size)
		hi = o->size;
	obj_zero_range(v->obj, lo, hi - lo);
	mark_obj(v->obj, lo, hi, true);
}

/*
 * The model's madvise(): pages in order as madvise_walk_vmas() visits vmas (a hole makes it
 * -ENOMEM at the end; a vma that cannot take the advice ends it). Returns -errno, 0, or 1
 * when the outcome depends on the kernel version (MADV_POPULATE_* over a hole: 6.1 walks on,
 * 6.12 stops with -ENOMEM).
 */
static int madv_model(size_t p, size_t n, int adv, bool apply)
{
	int unmapped = 0;
	size_t q;

	for (q = p; q < p + n; q++) {
		struct vpage *v = &M.pg[q];

		if (!mapped(q)) {
			if (adv == MADV_POPULATE_READ || adv == MADV_POPULATE_WRITE)
				return 1;
			unmapped = -ENOMEM;
			continue;
		}
		if (v->lock == LK_UNKNOWN && adv != MADV_WILLNEED && adv != MADV_POPULATE_READ &&
		    adv != MADV_POPULATE_WRITE)
			return 1;
		switch (adv) {
		case MADV_DONTNEED:
			if (v->lock)
				return -EINVAL;
			if (apply && !v->shared)
				drop_cow(v);
			break;
		case MADV_FREE:
			if (v->lock || v->obj != V_ANON)
				return -EINVAL;
			if (apply && v->cow) {
				v->cow->freed = true;
				memset(v->cow->w, 0, ps / 8);
			}
			break;
		case MADV_REMOVE:
			if (v->lock || v->obj == V_ANON)
				return -EINVAL;
			if (!vm_shared(v) || (cap.remove_needs_write && !(v->prot & PROT_WRITE)))
				return -EACCES;
			if (apply)
				punch_page(v);
			break;
		case MADV_PAGEOUT:
		case MADV_COLD:
			if (v->lock)
				return -EINVAL;
			break;
		case MADV_WILLNEED:
			break;
		case MADV_POPULATE_READ:
		case MADV_POPULATE_WRITE:
			if (!(v->prot & (adv == MADV_POPULATE_READ ? PROT_READ : PROT_WRITE)))
				return -EINVAL;
			if (shows_object(v) && beyond_eof(v->obj, v->pgoff))
				return -EFAULT;
			if (apply && adv == MADV_POPULATE_WRITE && v->obj >= 0 && !v->shared &&
			    !v->cow)
				cow_break(v);
			break;
		default:
			return -EINVAL;
		}
	}
	return unmapped;
}

static int op_madvise(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q;
	int adv = op->p[2], want, e;
	long mis = op->p[3], r;
	char what[64], b[24];

	if (p + n > NP)
		return skip_op("parameters out of range");
	snprintf(what, sizeof what, "madvise(%s)", param_str(T_ADV, adv, b, sizeof b));
	want = !adv_supported(adv) || mis ? -EINVAL : madv_model(p, n, adv, false);
	if (want == 1)
		return skip_op("MADV_POPULATE over a hole (6.1 and 6.12 differ), or the mlock "
			       "state is unknown");
	if (adv == MADV_FREE && !want) {
		/* a page written since an earlier MADV_FREE must be decided first */
		for (q = p; q < p + n; q++)
			if (M.pg[q].cow && M.pg[q].cow->freed && bits_any(M.pg[q].cow->w, 0, ps) &&
			    check_page(q) < 0)
				return -1;
	}
	trace("\tr = madvise(A(%zu) + %ld, %zu * PS, %s); e = errno;", p, mis, n, c_madv(adv));
	r = madvise(A(p) + mis, n * ps, adv);
	e = errno;
	if (!mis && adv_supported(adv)) /* the walk's effects up to where it stopped */
		madv_model(p, n, adv, true);
	mark_pages(p, n);
	return expect_ret(r, e, 0, -want, what);
}

/* ---- remap_file_pages ---- */

static int op_rfp(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], pgoff = op->p[2], q;
	long prot = op->p[3], r;
	int want_e = 0, e;
	struct vpage *v = &M.pg[p];

	if (p + n > NP)
		return skip_op("parameters out of range");
	if (prot || !n || !mapped(p) || !vm_shared(v))
		want_e = EINVAL;
	for (q = p + 1; !want_e && q < p + n; q++) {
		struct vpage *w = &M.pg[q];

		if (same_vma(p, q))
			continue;
		/* the range may go on into vmas of the same file with the same flags */
		if (!mapped(q) || w->obj != v->obj || !vm_shared(w) || w->prot != v->prot ||
		    w->lock != v->lock)
			want_e = EINVAL;
		else
			return skip_op("remap_file_pages over several model vmas");
	}
	trace("\tr = remap_file_pages(A(%zu), %zu * PS, %ld, %zu, 0); e = errno;", p, n, prot,
	      pgoff);
	r = remap_file_pages(A(p), n * ps, prot, pgoff, 0);
	e = errno;
	if (want_e)
		return expect_ret(r, e, 0, want_e, "remap_file_pages");
	split_range(p, n);
	for (q = p; q < p + n; q++) {
		struct vpage *w = &M.pg[q];

		drop_cow(w);
		w->pgoff = pgoff + (q - p);
		if (w->lock != LK_UNKNOWN) /* re-mmapped with MAP_LOCKED */
			w->lock = w->lock ? LK_LOCKED : LK_NONE;
		w->vma = M.next_vma;
	}
	M.next_vma++;
	mark_pages(p, n);
	return expect_ret(r, e, 0, 0, "remap_file_pages");
}

/* ---- msync ---- */

static int op_msync(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q;
	int fl = op->p[2], want_e = 0, unmapped = 0, e;
	long mis = op->p[3], r;
	char cb[64];

	if (p + n > NP)
		return skip_op("parameters out of range");
	if ((fl & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) || mis ||
	    ((fl & MS_ASYNC) && (fl & MS_SYNC)))
		want_e = EINVAL;
	for (q = p; !want_e && q < p + n; q++) {
		if (!mapped(q)) {
			if (fl == MS_ASYNC) {
				want_e = ENOMEM;
				break;
			}
			unmapped = ENOMEM;
			continue;
		}
		if ((fl & MS_INVALIDATE) && M.pg[q].lock == LK_UNKNOWN)
			return skip_op("MS_INVALIDATE on pages whose mlock state is unknown");
		if ((fl & MS_INVALIDATE) && M.pg[q].lock)
			want_e = EBUSY;
		else if (M.pg[q].obj >= 0)
			mark_obj(M.pg[q].obj, (size_t)M.pg[q].pgoff * ps,
				 (size_t)M.pg[q].pgoff * ps + ps, fl & MS_SYNC);
	}
	if (!want_e)
		want_e = unmapped;
	trace("\tr = msync(A(%zu) + %ld, %zu * PS, %s); e = errno;", p, mis, n,
	      c_flags(c_msync_names, fl, cb, sizeof cb));
	r = msync(A(p) + mis, n * ps, fl);
	e = errno;
	mark_pages(p, n);
	return expect_ret(r, e, 0, want_e, "msync");
}

/* ---- memory reads and writes ---- */

/* The object id and position in its page space of byte off of view page v. */
static void coord(size_t page, const struct vpage *v, size_t off, unsigned *id, size_t *pos)
{
	if (v->obj >= 0) {
		*id = v->obj;
		*pos = (size_t)v->pgoff * ps + off;
	} else {
		*id = ANON_ID;
		*pos = page * ps + off;
	}
}

/* Apply a write of [off, off+len) of page q (generation gen) to the model. */
static void model_mwrite(size_t q, size_t off, size_t len, unsigned gen)
{
	struct vpage *v = &M.pg[q];
	unsigned id;
	size_t pos;

	coord(q, v, off, &id, &pos);
	if (v->obj >= 0 && v->shared) {
		obj_write(v->obj, pos, len, gen, true);
		mark_obj(v->obj, pos, pos + len, false);
		if (M.in_child)
			child_shared_write(v->obj, pos, len, gen);
		return;
	}
	if (!v->cow) {
		if (v->obj >= 0)
			cow_break(v);
		else
			v->cow = cpage_new();
	}
	pat_fill(v->cow->val + off, id, pos, len, gen);
	bits_set(v->cow->unk, off, off + len, false);
	if (v->cow->freed)
		bits_set(v->cow->w, off, off + len, true);
}

/* Write [off, off+len) of page q through the mapping, or expect the fault it must raise. */
static int mwrite_chunk(size_t q, size_t off, size_t len, unsigned gen)
{
	struct vpage *v = &M.pg[q];
	int pred = access_pred(v, true), sig;
	unsigned id;
	size_t pos;
	char desc[48];

	coord(q, v, off, &id, &pos);
	if (pred == -1)
		return 0;
	if (pred != ACC_OK) {
		unsigned char b;

		pat_fill(&b, id, pos, 1, gen);
		snprintf(desc, sizeof desc, "A(%zu) + %zu", q, off);
		return expect_access(A(q) + off, true, b, pred, NULL, desc);
	}
	trace("\ts = fill(A(%zu) + %zu, %zu, %u, %zu, %u);", q, off, len, id, pos, gen);
	sig = guarded_fill(A(q) + off, id, pos, len, gen);
	if (sig) {
		trace("\texpect_sig(s, 0, A(%zu), \"write of %s\");", q, page_desc(q, v, A(q)));
		st.sig_seen[sig == SIGBUS]++;
		return failf(F_SIGNAL, "write of %s at offset 0x%zx, %zu bytes: %s at %p",
			     page_desc(q, v, A(q)), off, len, signame(sig), acc_addr);
	}
	model_mwrite(q, off, len, gen);
	return 0;
}

static int op_mwrite(struct op *op)
{
	size_t p = op->p[0], off = op->p[1], len = op->p[2], pos = p * ps + off, end = pos + len;

	if (end > NP * ps || off >= ps * 4)
		return skip_op("parameters out of range");
	while (pos < end) {
		size_t q = pos / ps, o = pos % ps, n = ps - o < end - pos ? ps - o : end - pos;

		if (mwrite_chunk(q, o, n, op->num) < 0)
			return -1;
		mark_pages(q, 1);
		pos += n;
	}
	return 0;
}

static int op_mread(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q;

	if (p + n > NP)
		return skip_op("parameters out of range");
	for (q = p; q < p + n; q++)
		if (check_page(q) < 0)
			return -1;
	return 0;
}

static int op_probe(struct op *op)
{
	size_t q = op->p[0], off = op->p[1] % ps;
	bool write = op->p[2];
	struct vpage *v = &M.pg[q];
	int pred = access_pred(v, write);
	unsigned char b = 0, got = 0;
	unsigned id;
	size_t pos;
	char desc[48];

	if (q >= NP)
		return skip_op("parameters out of range");
	if (pred == -1)
		return 0;
	coord(q, v, off, &id, &pos);
	pat_fill(&b, id, pos, 1, op->num);
	snprintf(desc, sizeof desc, "A(%zu) + %zu", q, off);
	if (expect_access(A(q) + off, write, b, pred, &got, desc) < 0)
		return -1;
	if (pred == ACC_OK && write)
		model_mwrite(q, off, 1, op->num);
	mark_pages(q, 1);
	return 0;
}

/* ---- file I/O ---- */

static bool file_op_ok(int oid)
{
	return oid >= 0 && oid < M.nfile && M.obj[oid].live && M.obj[oid].fd >= 0;
}

/* After a write() of [off, off+len): the data, and the size. */
static void model_fwrite(int oid, size_t off, size_t len, unsigned gen)
{
	struct obj *o = &M.obj[oid];
	size_t old = o->size;

	obj_write(oid, off, len, gen, false);
	if (off + len > o->size)
		o->size = off + len;
	mark_obj(oid, off < old ? off : old, off + len, false);
}

static int op_fwrite(struct op *op, bool direct)
{
	int oid = op->p[0], how = direct ? 0 : op->p[3], e;
	size_t off = op->p[1], len = op->p[2];
	struct obj *o = &M.obj[oid];
	char *buf;
	long r;

	if (!file_op_ok(oid) || off + len > o->cap || !len || (direct && o->dfd < 0))
		return skip_op("parameters out of range");
	if (direct && ((off | len) % cap.ext4_bsize))
		return skip_op("unaligned O_DIRECT");
	buf = io_buffer(len);
	pat_fill(buf, oid, off, len, op->num);
	trace("\tpatbuf(buf, %d, %zu, %zu, %u);", oid, off, len, op->num);
	if (how) {
		trace("\tlseek(%s, %zu, SEEK_SET); r = write(%s, buf, %zu); e = errno;",
		      fdx(oid, 0), off, fdx(oid, 0), len);
		r = lseek(o->fd, off, SEEK_SET) < 0 ? -1 : write(o->fd, buf, len);
	} else {
		trace("\tr = pwrite(%s, buf, %zu, %zu); e = errno;", fdx(oid, direct), len, off);
		r = pwrite(direct ? o->dfd : o->fd, buf, len, off);
	}
	e = errno;
	if (expect_ret(r, e, len, 0, direct ? "O_DIRECT pwrite" : how ? "write" : "pwrite") < 0)
		return -1;
	model_fwrite(oid, off, len, op->num);
	if (direct)
		dirty_obj[oid].direct = true;
	return 0;
}

static int op_fread(struct op *op, bool direct)
{
	int oid = op->p[0];
	size_t off = op->p[1], len = op->p[2];

	if (!file_op_ok(oid) || (direct && M.obj[oid].dfd < 0) || len > 4 * M.obj[oid].cap)
		return skip_op("parameters out of range");
	if (direct && ((off | len) % cap.ext4_bsize))
		return skip_op("unaligned O_DIRECT");
	return check_file(oid, off, len, direct, !direct && op->p[3]);
}

/* Private COW copies of pages from pgoff on are dropped: truncate with even_cows. */
static void drop_cows_from(int oid, size_t pgoff)
{
	size_t p;

	for (p = 0; p < NP; p++)
		if (M.pg[p].obj == oid && !M.pg[p].shared && M.pg[p].pgoff >= pgoff &&
		    M.pg[p].cow) {
			drop_cow(&M.pg[p]);
			dirty_pg[p] = 1;
		}
}

static void model_truncate(int oid, size_t size)
{
	struct obj *o = &M.obj[oid];

	if (size < o->size) {
		/* truncate_pagecache(): unmap (even COWs) from round_up(size); zero the tail */
		drop_cows_from(oid, (size + ps - 1) / ps);
		obj_zero(oid, size, o->cap - size);
		mark_obj(oid, size, o->size, false);
	} else {
		mark_obj(oid, o->size, size, false);
	}
	o->size = size;
}

static int op_truncate(struct op *op)
{
	int oid = op->p[0], e;
	size_t size = op->p[1];
	long r;

	if (!file_op_ok(oid) || size > M.obj[oid].cap)
		return skip_op("parameters out of range");
	trace("\tr = ftruncate(%s, %zu); e = errno;", fdx(oid, 0), size);
	r = ftruncate(M.obj[oid].fd, size);
	e = errno;
	if (expect_ret(r, e, 0, 0, "ftruncate") < 0)
		return -1;
	model_truncate(oid, size);
	return 0;
}

/* ext4 COLLAPSE_RANGE/INSERT_RANGE: shift the content (and what lies past the end) */
static void model_shift(int oid, size_t off, size_t len, bool insert)
{
	struct obj *o = &M.obj[oid];
	size_t cap = o->cap, old = o->size;

	drop_cows_from(oid, off / ps); /* truncate_pagecache(round_down(off, PAGE_SIZE)) */
	if (insert) {
		memmove(o->val + off + len, o->val + off, cap - off - len);
		bits_move(o->unk, off + len, o->unk, off, cap - off - len);
		obj_zero(oid, off, len);
		o->size += len;
	} else {
		memmove(o->val + off, o->val + off + len, cap - off - len);
		bits_move(o->unk, off, o->unk, off + len, cap - off - len);
		obj_zero(oid, cap - len, len);
		o->size -= len;
	}
	mark_obj(oid, off, (old > o->size ? old : o->size) + ps, true);
}

static int op_falloc(struct op *op)
{
	int oid = op->p[0], mode = op->p[1], want_e = 0, e;
	size_t off = op->p[2], len = op->p[3], newsize, bs = cap.ext4_bsize;
	struct obj *o = &M.obj[oid];
	bool ext4 = o->kind == K_EXT4, keep = mode & FALLOC_FL_KEEP_SIZE;
	int m = mode & ~FALLOC_FL_KEEP_SIZE;
	char what[80], b[48], cb[120];
	long r;

	if (!file_op_ok(oid) || off > o->cap || len > o->cap)
		return skip_op("parameters out of range");
	snprintf(what, sizeof what, "fallocate(%s)", param_str(T_FAL, mode, b, sizeof b));
	newsize = o->size;
	if (!len)
		want_e = EINVAL;
	else if (m & ~(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
		       FALLOC_FL_INSERT_RANGE))
		return skip_op("unknown fallocate mode");
	else if (m & (m - 1))
		return skip_op("mixed fallocate modes (6.1 and 6.12 differ)");
	else if (m == FALLOC_FL_PUNCH_HOLE && !keep)
		want_e = EOPNOTSUPP;
	else if ((m == FALLOC_FL_COLLAPSE_RANGE || m == FALLOC_FL_INSERT_RANGE) && keep)
		return skip_op("COLLAPSE/INSERT with KEEP_SIZE (6.1 EINVAL, 6.12 EOPNOTSUPP)");
	else if (!ext4 && ((m == FALLOC_FL_ZERO_RANGE && !cap.tmpfs_zero) ||
			   (m == FALLOC_FL_COLLAPSE_RANGE && !cap.tmpfs_collapse) ||
			   (m == FALLOC_FL_INSERT_RANGE && !cap.tmpfs_insert)))
		want_e = EOPNOTSUPP;
	else if (!ext4 && m & (FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
			       FALLOC_FL_INSERT_RANGE))
		return skip_op("a tmpfs fallocate mode this model does not know");
	else if (ext4 && m == FALLOC_FL_ZERO_RANGE && cap.ext4_zero_stale && (off | len) % ps)
		return skip_op("an unaligned ext4 ZERO_RANGE (stale bytes after mapped "
			       "writes on this kernel)");
	else if (m == FALLOC_FL_COLLAPSE_RANGE && ((off | len) % bs || off + len >= o->size))
		want_e = EINVAL;
	else if (m == FALLOC_FL_INSERT_RANGE && ((off | len) % bs || off >= o->size))
		want_e = EINVAL;
	if (!want_e && (m == 0 || m == FALLOC_FL_ZERO_RANGE) && !keep && off + len > newsize)
		newsize = off + len;
	if (!want_e && m == FALLOC_FL_INSERT_RANGE)
		newsize = o->size + len;
	if (newsize > o->cap || off + len > o->cap)
		return skip_op("the file would outgrow the model");
	trace("\tr = fallocate(%s, %s, %zu, %zu); e = errno;", fdx(oid, 0),
	      c_flags(c_falloc_names, mode, cb, sizeof cb), off, len);
	r = fallocate(o->fd, mode, off, len);
	e = errno;
	if (want_e)
		return expect_ret(r, e, 0, want_e, what);
	switch (m) {
	case 0:
		mark_obj(oid, o->size, newsize, false);
		o->size = newsize;
		break;
	case FALLOC_FL_PUNCH_HOLE: /* truncate_pagecache_range: COW copies stay */
		if (off < o->size)
			obj_zero_range(oid, off, (off + len < o->size ? off + len : o->size) - off);
		mark_obj(oid, off, off + len, false);
		break;
	case FALLOC_FL_ZERO_RANGE:
		o->size = newsize;
		if (off < o->size)
			obj_zero_range(oid, off, (off + len < o->size ? off + len : o->size) - off);
		mark_obj(oid, off, off + len, false);
		break;
	case FALLOC_FL_COLLAPSE_RANGE:
	case FALLOC_FL_INSERT_RANGE:
		model_shift(oid, off, len, m == FALLOC_FL_INSERT_RANGE);
		break;
	}
	return expect_ret(r, e, 0, 0, what);
}

static int op_fsync(struct op *op)
{
	int oid = op->p[0], e;
	long r;

	if (!file_op_ok(oid))
		return skip_op("parameters out of range");
	trace("\tr = %s(%s); e = errno;", op->p[1] ? "fdatasync" : "fsync", fdx(oid, 0));
	r = op->p[1] ? fdatasync(M.obj[oid].fd) : fsync(M.obj[oid].fd);
	e = errno;
	mark_obj(oid, 0, M.obj[oid].size, true);
	return expect_ret(r, e, 0, 0, op->p[1] ? "fdatasync" : "fsync");
}

static int op_drop(void)
{
	int fd;

	if (!cap.drop_caches)
		return skip_op("/proc/sys/vm/drop_caches is not writable");
	trace("\tdrop_caches();");
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3", 1) != 1) {
		if (fd >= 0)
			close(fd);
		return failf(F_ERRNO, "writing 3 to /proc/sys/vm/drop_caches: %s", strerror(errno));
	}
	close(fd);
	mark_all_objs(true);
	return 0;
}

/* A byte changed behind the model's back: the failure path's self test (--self-test-corrupt). */
static int op_corrupt(struct op *op)
{
	int oid = op->p[0];
	size_t q = op->p[1], off = op->p[2];
	unsigned char val = op->p[3];

	if (oid >= 0) {
		if (!file_op_ok(oid) || off >= M.obj[oid].size)
			return skip_op("parameters out of range");
		trace("\tbuf[0] = 0x%02x; r = pwrite(%s, buf, 1, %zu); /* the planted bug */", val,
		      fdx(oid, 0), off);
		if (pwrite(M.obj[oid].fd, &val, 1, off) != 1)
			return failf(F_SETUP, "corrupt: pwrite: %s", strerror(errno));
		mark_obj(oid, off, off + 1, false);
		return 0;
	}
	if (q >= NP || access_pred(&M.pg[q], true) != ACC_OK)
		return skip_op("the page is not writable");
	trace("\tA(%zu)[%zu] = 0x%02x; /* the planted bug */", q, off % ps, val);
	A(q)[off % ps] = val;
	mark_pages(q, 1);
	return 0;
}

#endif
