/*
 * model suite, part 5: the cases (which objects, which mix of operations) and the random
 * generator that picks each operation's parameters from the model's current state: mostly
 * operations that do something, a share of edge cases and of calls that must fail.
 */
#ifndef MODEL_GEN_H
#define MODEL_GEN_H

#include "model_proc.h"

enum { FM_MEMFD = 1 << K_MEMFD, FM_TMPFS = 1 << K_TMPFS, FM_EXT4 = 1 << K_EXT4 };

struct casedef {
	const char *name;
	unsigned files;     /* FM_*: the file objects it works on */
	bool anon;          /* private anonymous and MAP_SHARED|MAP_ANONYMOUS mappings too */
	bool need_ext4;     /* SKIP without an ext4 directory */
	bool direct;        /* O_DIRECT reads and writes on ext4 */
	uint8_t w[OP_NKINDS];
};

#define MEMOPS [OP_MMAP] = 10, [OP_MUNMAP] = 5, [OP_MREMAP] = 7, [OP_MPROTECT] = 7, \
	[OP_MADVISE] = 10, \
	[OP_MLOCK] = 3, [OP_MUNLOCK] = 2, [OP_MWRITE] = 16, [OP_MREAD] = 4, [OP_PROBE] = 4

static const struct casedef cases[] = {
	{ "anon", 0, true, false, false, { MEMOPS, [OP_MSYNC] = 3, [OP_RFP] = 3, [OP_FORK] = 1 } },
	{ "shmem", FM_MEMFD, true, false, false,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_RFP] = 4, [OP_FWRITE] = 7, [OP_FREAD] = 3,
	    [OP_TRUNCATE] = 4, [OP_FALLOC] = 5, [OP_FSYNC] = 1 } },
	{ "tmpfs", FM_TMPFS, false, false, false,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_RFP] = 4, [OP_FWRITE] = 7, [OP_FREAD] = 3,
	    [OP_TRUNCATE] = 4, [OP_FALLOC] = 5, [OP_FSYNC] = 1, [OP_DROP] = 1 } },
	{ "ext4", FM_EXT4, false, true, false,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_RFP] = 4, [OP_FWRITE] = 7, [OP_FREAD] = 3,
	    [OP_TRUNCATE] = 4, [OP_FALLOC] = 8, [OP_FSYNC] = 2, [OP_DROP] = 1 } },
	{ "ext4_direct", FM_EXT4, false, true, true,
	  { MEMOPS, [OP_RFP] = 2, [OP_FWRITE] = 4, [OP_FREAD] = 2, [OP_DWRITE] = 8, [OP_DREAD] = 5,
	    [OP_TRUNCATE] = 3, [OP_FALLOC] = 4, [OP_FSYNC] = 3, [OP_DROP] = 1, [OP_MSYNC] = 6 } },
	{ "mixed", FM_MEMFD | FM_TMPFS | FM_EXT4, true, false, true,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_RFP] = 3, [OP_FWRITE] = 5, [OP_FREAD] = 2,
	    [OP_DWRITE] = 2, [OP_DREAD] = 2,
	    [OP_TRUNCATE] = 3, [OP_FALLOC] = 4, [OP_FSYNC] = 1, [OP_DROP] = 1, [OP_FORK] = 1,
	    [OP_THREADS] = 1 } },
	{ "fork", FM_MEMFD | FM_EXT4, true, false, false,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_FWRITE] = 3, [OP_TRUNCATE] = 1, [OP_FALLOC] = 1,
	    [OP_FORK] = 5 } },
	{ "threads", FM_MEMFD | FM_EXT4, true, false, false,
	  { MEMOPS, [OP_MSYNC] = 3, [OP_FWRITE] = 3, [OP_TRUNCATE] = 1, [OP_THREADS] = 8 } },
};
#define NCASES (sizeof cases / sizeof cases[0])

static const struct casedef *cur_case;

/* ---- picking places ---- */

static size_t mapped_count(void)
{
	size_t p, n = 0;

	for (p = 0; p < NP; p++)
		n += mapped(p);
	return n;
}

/* A random mapped page, or any page when nothing is mapped. */
static size_t pick_mapped(void)
{
	size_t p, n = mapped_count(), k;

	if (!n)
		return rnd(NP);
	k = rnd(n);
	for (p = 0; p < NP; p++)
		if (mapped(p) && !k--)
			return p;
	return 0;
}

/* A sub-range of the vma around a random mapped page. */
static void pick_in_vma(size_t *p, size_t *n)
{
	size_t s, len, a;

	vma_run(pick_mapped(), &s, &len);
	switch (rnd(4)) {
	case 0: /* all of it */
		*p = s;
		*n = len;
		return;
	case 1: /* its head */
		*p = s;
		*n = 1 + rnd(len);
		return;
	case 2: /* its tail */
		a = rnd(len);
		*p = s + a;
		*n = len - a;
		return;
	}
	a = rnd(len); /* its middle */
	*p = s + a;
	*n = 1 + rnd(len - a);
}

/* A range that may run over several vmas and holes. */
static void pick_span(size_t *p, size_t *n)
{
	size_t c = pick_mapped(), back = rnd(4);

	*p = c > back ? c - back : 0;
	*n = 1 + rnd(3 * OBJP / 4);
	if (*p + *n > NP)
		*n = NP - *p;
}

static void pick_range(size_t *p, size_t *n, unsigned span_percent)
{
	if (chance(span_percent))
		pick_span(p, n);
	else
		pick_in_vma(p, n);
}

/* n free pages, with a free page or the arena's edge on each side; false if none found. */
static bool pick_free(size_t n, size_t *out)
{
	size_t start = rnd(NP), i, p;

	for (i = 0; i < NP; i++) {
		bool ok = true;
		size_t q;

		p = (start + i) % NP;
		if (p + n > NP)
			continue;
		for (q = p ? p - 1 : p; q < p + n + 1 && q < NP && ok; q++)
			ok = !mapped(q);
		if (ok) {
			*out = p;
			return true;
		}
	}
	return false;
}

static int pick_file(void)
{
	int i, n = 0, which;

	for (i = 0; i < M.nfile; i++)
		n += M.obj[i].live;
	if (!n)
		return -1;
	which = rnd(n);
	for (i = 0; i < M.nfile; i++)
		if (M.obj[i].live && !which--)
			return i;
	return -1;
}

static int pick_ext4(void)
{
	int i;

	for (i = 0; i < M.nfile; i++)
		if (M.obj[i].live && M.obj[i].kind == K_EXT4)
			return i;
	return -1;
}

static int pick_prot(void)
{
	static const int common[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
				      PROT_READ | PROT_WRITE | PROT_EXEC };

	return chance(70) ? common[rnd(4)] : (int)rnd(8);
}

/* A size for object oid: below, around or above the current one, page-aligned or not. */
static size_t pick_size(int oid)
{
	size_t maxsz = OBJP * ps, cur = M.obj[oid].size, s;

	switch (rnd(4)) {
	case 0: s = rnd(maxsz + 1); break;
	case 1: s = cur > ps ? cur - 1 - rnd(ps) : rnd(ps); break;
	case 2: s = cur + 1 + rnd(2 * ps); break;
	default: s = (1 + rnd(OBJP)) * ps; break;
	}
	if (chance(30))
		s = s / ps * ps;
	return s > maxsz ? maxsz : s;
}

/* ---- the generators ---- */

static void gen_mmap(struct op *op)
{
	size_t n, p = 0, pgoff = 0;
	int oid = -1, mode, fl = 0;
	long src;

	if (cur_case->anon && (!cur_case->files || chance(30)))
		src = chance(60) ? -2 : -3;
	else
		src = oid = pick_file();
	if (src == -1)
		src = -2;
	if (oid >= 0) {
		size_t pages = obj_pages(oid);

		n = 1 + rnd(OBJP / 2 + 2);
		pgoff = rnd(pages + 2);
		if (pgoff + n > OBJP + 2)
			pgoff = OBJP + 2 > n ? OBJP + 2 - n : 0;
		fl |= chance(55) ? MF_SHARED : 0;
		fl |= chance(8) ? MF_RO : 0;
	} else {
		n = 1 + rnd(OBJP / 2);
	}
	fl |= chance(15) ? MF_POPULATE : 0;
	fl |= chance(4) ? MF_LOCKED : 0;
	mode = rnd(10) < 7 ? 0 : rnd(2) ? 1 : 2;
	if (!pick_free(n, &p) || (mode == 0 && chance(15)) || (mode == 1 && chance(20))) {
		size_t c = pick_mapped();

		p = c > 1 ? c - rnd(2) : c;
		if (p + n > NP)
			p = NP - n;
	}
	op->p[0] = p;
	op->p[1] = chance(1) ? 0 : n;
	op->p[2] = src;
	op->p[3] = pgoff;
	op->p[4] = pick_prot();
	op->p[5] = mode;
	op->p[6] = fl;
	op->p[7] = mode != 2 && chance(2) ? 1 + rnd(ps - 1) : 0;
}

static void gen_munmap(struct op *op)
{
	size_t p, n;

	pick_range(&p, &n, 30);
	op->p[0] = p;
	op->p[1] = chance(1) ? 0 : n;
	op->p[2] = chance(2) ? 1 + rnd(ps - 1) : 0;
}

static void gen_mremap(struct op *op)
{
	size_t s, len, a, m, newn, np = 0;
	long fl;

	vma_run(pick_mapped(), &s, &len);
	a = rnd(len);
	m = 1 + rnd(len - a);
	if (chance(40)) /* grow from the end of the vma */
		m = len - a;
	switch (rnd(10)) {
	case 0: case 1: /* shrink */
		newn = m > 1 ? 1 + rnd(m - 1) : 1;
		fl = chance(50) ? MREMAP_MAYMOVE : 0;
		break;
	case 2: case 3: /* grow, in place if there is room */
		newn = m + 1 + rnd(4);
		fl = chance(70) ? 0 : MREMAP_MAYMOVE;
		break;
	case 4: /* MREMAP_DONTUNMAP */
		newn = m;
		fl = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
		break;
	case 5: /* a call that must fail */
		newn = m;
		fl = (long[]){ MREMAP_FIXED, MREMAP_DONTUNMAP | MREMAP_MAYMOVE,
			       MREMAP_DONTUNMAP | MREMAP_FIXED }[rnd(3)];
		if (fl & MREMAP_DONTUNMAP && (fl & MREMAP_MAYMOVE))
			newn = m + 1;
		if (chance(30)) { /* or a move from a place nothing is mapped at */
			pick_free(1, &s);
			a = 0;
			fl = MREMAP_MAYMOVE | MREMAP_FIXED;
		}
		break;
	default: /* move, maybe resizing, maybe over other mappings */
		newn = chance(60) ? m : 1 + rnd(m + 3);
		fl = MREMAP_MAYMOVE | MREMAP_FIXED;
		break;
	}
	if (fl & MREMAP_FIXED) {
		if (!pick_free(newn, &np) || chance(20)) {
			np = pick_mapped();
			if (np + newn > NP)
				np = NP - newn;
		}
	}
	if (s + a + m > NP || s + a + newn > NP) {
		m = 1;
		newn = 1;
	}
	op->p[0] = s + a;
	op->p[1] = m;
	op->p[2] = newn;
	op->p[3] = fl;
	op->p[4] = np;
}

static void gen_mprotect(struct op *op)
{
	size_t p, n, tries = 0;

	do
		pick_range(&p, &n, 25);
	while (cap.prot_none_warn && !strict && has_prot_none(p, n) && ++tries < 8);
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = chance(40) ? PROT_READ | PROT_WRITE : (int)rnd(8);
	op->p[3] = chance(2) ? 1 + rnd(ps - 1) : 0;
}

static void gen_madvise(struct op *op)
{
	static const int advs[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, MADV_FREE,
		MADV_FREE, MADV_FREE, MADV_REMOVE, MADV_REMOVE, MADV_PAGEOUT, MADV_PAGEOUT,
		MADV_COLD, MADV_WILLNEED, MADV_POPULATE_READ, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_POPULATE_WRITE };
	size_t p, n;

	pick_range(&p, &n, 20);
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = advs[rnd(sizeof advs / sizeof advs[0])];
	op->p[3] = chance(2) ? 1 + rnd(ps - 1) : 0;
}

static void gen_mlock(struct op *op, bool lock)
{
	size_t p, n;

	pick_range(&p, &n, 10);
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = lock && chance(30);
}

static void gen_rfp(struct op *op)
{
	size_t p, n, q, tries;

	for (tries = 0; tries < 8; tries++) {
		pick_in_vma(&p, &n);
		if (mapped(p) && M.pg[p].obj >= 0 && vm_shared(&M.pg[p]))
			break;
	}
	q = mapped(p) && M.pg[p].obj >= 0 ? obj_pages(M.pg[p].obj) : OBJP;
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = rnd(q + 2);
	op->p[3] = chance(3) ? PROT_READ : 0;
}

static void gen_msync(struct op *op)
{
	static const int fls[] = { MS_ASYNC, MS_SYNC, MS_SYNC, MS_ASYNC | MS_INVALIDATE,
				   MS_SYNC | MS_INVALIDATE, MS_INVALIDATE };
	size_t p, n;

	pick_range(&p, &n, 15);
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = chance(3) ? MS_SYNC | MS_ASYNC : fls[rnd(6)];
	op->p[3] = chance(2) ? 1 + rnd(ps - 1) : 0;
}

static void gen_mwrite(struct op *op)
{
	size_t p = pick_mapped(), tries, off, len;

	for (tries = 0; tries < 6 && access_pred(&M.pg[p], true) != ACC_OK; tries++)
		p = pick_mapped();
	switch (rnd(4)) {
	case 0: off = 0; len = ps * (1 + rnd(3)); break;        /* whole pages */
	case 1: off = rnd(ps); len = 1 + rnd(64); break;        /* a few bytes */
	default: off = rnd(ps); len = 1 + rnd(2 * ps); break;   /* across a page boundary */
	}
	if (p * ps + off + len > NP * ps)
		len = NP * ps - p * ps - off;
	op->p[0] = p;
	op->p[1] = off;
	op->p[2] = len;
}

static void gen_probe(struct op *op)
{
	size_t p = pick_mapped(), tries;

	/* an unmapped neighbour, a page beyond end of file, or a protected page */
	for (tries = 0; tries < 10; tries++) {
		size_t q = (p + (rnd(2) ? 1 : NP - 1)) % NP;
		const struct vpage *v = &M.pg[q];

		if (!mapped(q) || (v->obj >= 0 && beyond_eof(v->obj, v->pgoff)) ||
		    v->prot != (PROT_READ | PROT_WRITE)) {
			p = q;
			break;
		}
		p = pick_mapped();
	}
	op->p[0] = p;
	op->p[1] = rnd(ps);
	op->p[2] = chance(50);
}

static void gen_fio(struct op *op, bool write, bool direct)
{
	int oid = direct ? pick_ext4() : pick_file();
	size_t size, bs = cap.ext4_bsize, off, len, maxsz = OBJP * ps;

	if (oid < 0) {
		op->kind = OP_MREAD;
		op->p[0] = pick_mapped();
		op->p[1] = 1;
		return;
	}
	size = M.obj[oid].size;
	if (direct) {
		off = rnd((size + ps) / bs + 1) * bs;
		len = (1 + rnd(2 * ps / bs + 1)) * bs;
		while (off + len > maxsz && off)
			off -= bs;
		if (off + len > maxsz)
			len = maxsz / bs * bs;
	} else {
		off = rnd(size + ps);
		len = chance(20) ? size + ps : 1 + rnd(2 * ps);
		if (off > maxsz - 1)
			off = maxsz - 1;
		if (off + len > maxsz)
			len = maxsz - off;
	}
	op->p[0] = oid;
	op->p[1] = off;
	op->p[2] = len;
	op->p[3] = !direct && chance(30);
	(void)write;
}

static void gen_truncate(struct op *op)
{
	int oid = pick_file();

	op->p[0] = oid < 0 ? 0 : oid;
	op->p[1] = oid < 0 ? 0 : pick_size(oid);
}

static void gen_falloc(struct op *op)
{
	int oid = pick_file(), mode;
	size_t size, bs, off, len, maxsz = OBJP * ps;
	bool ext4;

	if (oid < 0) {
		op->kind = OP_FSYNC;
		op->p[0] = 0;
		return;
	}
	size = M.obj[oid].size;
	ext4 = M.obj[oid].kind == K_EXT4;
	bs = ext4 ? cap.ext4_bsize : ps;
	switch (rnd(ext4 ? 12 : 8)) {
	case 0: mode = 0; break;
	case 1: mode = FALLOC_FL_KEEP_SIZE; break;
	case 2: case 3: case 4: mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE; break;
	case 5: mode = FALLOC_FL_PUNCH_HOLE; break; /* EOPNOTSUPP: punching needs KEEP_SIZE */
	case 6: case 7: /* unsupported on tmpfs: EOPNOTSUPP */
		mode = (int[]){ FALLOC_FL_ZERO_RANGE, FALLOC_FL_COLLAPSE_RANGE,
				FALLOC_FL_INSERT_RANGE }[rnd(3)];
		break;
	case 8: mode = FALLOC_FL_ZERO_RANGE | (chance(40) ? FALLOC_FL_KEEP_SIZE : 0); break;
	case 9: case 10: mode = FALLOC_FL_COLLAPSE_RANGE; break;
	default: mode = FALLOC_FL_INSERT_RANGE; break;
	}
	off = rnd(size + ps);
	len = 1 + rnd(2 * ps);
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) && chance(85)) {
		/* aligned to blocks, and (collapse) short of end of file, mostly */
		off = rnd(size / bs + 1) * bs;
		len = (1 + rnd(2 * ps / bs)) * bs;
		if (mode & FALLOC_FL_COLLAPSE_RANGE && chance(80) && size > bs) {
			off = rnd((size - 1) / bs) * bs;
			while (off + len >= size && len > bs)
				len -= bs;
		}
		if (mode & FALLOC_FL_INSERT_RANGE && size + len > maxsz)
			len = bs;
	}
	if (off + len > maxsz) {
		off = off > maxsz / 2 ? maxsz / 2 : off;
		len = maxsz - off > 0 ? (maxsz - off) / 2 + 1 : 1;
	}
	if (ext4 && (mode & FALLOC_FL_ZERO_RANGE) && cap.ext4_zero_stale) {
		off = off / ps * ps;
		len = (len + ps - 1) / ps * ps;
		if (off + len > maxsz)
			off = maxsz - len;
	}
	op->p[0] = oid;
	op->p[1] = mode;
	op->p[2] = off;
	op->p[3] = chance(1) ? 0 : len;
}

static int gen_op(struct op *op, unsigned num);

static void gen_fork(struct op *op)
{
	static const uint8_t kinds[] = { OP_MWRITE, OP_MWRITE, OP_MWRITE, OP_MADVISE, OP_MUNMAP,
					 OP_MPROTECT, OP_PROBE, OP_MREAD, OP_MREMAP };
	unsigned i, n = 2 + rnd(5);

	op->child = calloc(n, sizeof *op->child);
	op->nchild = n;
	op->p[0] = n;
	for (i = 0; i < n; i++) {
		struct op *c = &op->child[i];

		c->num = op->num;
		c->kind = kinds[rnd(sizeof kinds)];
		switch (c->kind) {
		case OP_MWRITE: gen_mwrite(c); break;
		case OP_MADVISE:
			gen_madvise(c);
			if (c->p[2] == MADV_REMOVE)
				c->p[2] = MADV_DONTNEED;
			break;
		case OP_MUNMAP: gen_munmap(c); break;
		case OP_MPROTECT: gen_mprotect(c); break;
		case OP_PROBE: gen_probe(c); break;
		case OP_MREMAP: gen_mremap(c); break;
		default:
			c->p[0] = pick_mapped();
			c->p[1] = 1 + rnd(4);
			if (c->p[0] + c->p[1] > (long)NP)
				c->p[1] = NP - c->p[0];
			break;
		}
	}
}

static void gen_threads(struct op *op)
{
	size_t p, n, tries;

	for (tries = 0; tries < 8; tries++) {
		size_t s, len;

		vma_run(pick_mapped(), &s, &len);
		p = s;
		n = len;
		if (access_pred(&M.pg[p], true) == ACC_OK)
			break;
	}
	op->p[0] = p;
	op->p[1] = n;
	op->p[2] = 2 + rnd(3);
	op->p[3] = rnd(4);
}

/* Pick an operation kind by the case's weights, then its parameters. */
static int gen_op(struct op *op, unsigned num)
{
	unsigned total = 0, k, r;

	memset(op, 0, sizeof *op);
	op->num = num;
	for (k = 0; k < OP_NKINDS; k++)
		total += cur_case->w[k];
	r = rnd(total);
	for (k = 0; k < OP_NKINDS && r >= cur_case->w[k]; k++)
		r -= cur_case->w[k];
	op->kind = k;
	if (k == OP_MMAP && mapped_count() > MAXMAPPED)
		op->kind = OP_MUNMAP;
	if ((k == OP_DROP && !cap.drop_caches))
		op->kind = OP_MREAD;
	switch (op->kind) {
	case OP_MMAP: gen_mmap(op); break;
	case OP_MUNMAP: gen_munmap(op); break;
	case OP_MREMAP: gen_mremap(op); break;
	case OP_MPROTECT: gen_mprotect(op); break;
	case OP_MADVISE: gen_madvise(op); break;
	case OP_MLOCK: gen_mlock(op, true); break;
	case OP_MUNLOCK: gen_mlock(op, false); break;
	case OP_RFP: gen_rfp(op); break;
	case OP_MSYNC: gen_msync(op); break;
	case OP_MWRITE: gen_mwrite(op); break;
	case OP_MREAD: {
		size_t p, n;

		pick_range(&p, &n, 10);
		op->p[0] = p;
		op->p[1] = n;
		break;
	}
	case OP_PROBE: gen_probe(op); break;
	case OP_FWRITE: gen_fio(op, true, false); break;
	case OP_FREAD: gen_fio(op, false, false); break;
	case OP_DWRITE: gen_fio(op, true, true); break;
	case OP_DREAD: gen_fio(op, false, true); break;
	case OP_TRUNCATE: gen_truncate(op); break;
	case OP_FALLOC: gen_falloc(op); break;
	case OP_FSYNC:
		op->p[0] = pick_file() < 0 ? 0 : pick_file();
		op->p[1] = chance(50);
		break;
	case OP_DROP: break;
	case OP_FORK: gen_fork(op); break;
	case OP_THREADS: gen_threads(op); break;
	}
	return 0;
}

#endif
