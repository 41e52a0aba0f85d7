/*
 * model suite, part 2: the shadow model (objects, arena pages, private copies), what the
 * kernel must do to it, failure records, and the checks that compare the real thing with it.
 */
#ifndef MODEL_STATE_H
#define MODEL_STATE_H

#include "model_base.h"

/* ---- objects: files, and the shmem object behind each MAP_SHARED|MAP_ANONYMOUS mmap ---- */

enum okind { K_MEMFD, K_TMPFS, K_EXT4, K_SHM };
static const char *const okind_name[] = { "memfd", "tmpfs", "ext4", "shm" };

struct obj {
	int kind;
	bool live;
	int fd, dfd, rofd;   /* read-write, O_DIRECT (ext4), read-only; -1 when absent */
	size_t size, cap;    /* bytes; cap: the shadow's capacity */
	uint8_t *val, *unk;  /* expected bytes; a set bit: byte not known (see obj_mwrite) */
	bool exec_ok;        /* PROT_EXEC may be mapped (the mount is not noexec) */
	char path[PATH_MAX];
};

/* The private copy of a page: anonymous memory, or a MAP_PRIVATE file page once COWed. */
struct cpage {
	uint8_t *val, *unk;
	uint8_t *w;  /* after MADV_FREE: bytes written since (kept whichever way the page went) */
	bool freed;  /* MADV_FREE'd: either val or "zero except w" until a read tells */
};

#define V_UNMAPPED (-1)
#define V_ANON (-2)
/* LK_UNKNOWN: locked or not, the model cannot tell (see cap.dontunmap_unlocks_vma); whatever
 * depends on it is skipped until mlock()/munlock() settle it */
enum { LK_NONE, LK_LOCKED, LK_ONFAULT, LK_UNKNOWN };

/* One arena page: unmapped, private anonymous, or a view of an object. */
struct vpage {
	int16_t obj;
	uint8_t shared;  /* MAP_SHARED */
	uint8_t ro;      /* MAP_SHARED of an O_RDONLY fd: no VM_SHARED, no VM_MAYWRITE */
	uint8_t prot;
	uint8_t lock;
	uint32_t vma;    /* pages with one id lie in one kernel vma (the model splits at least as
			  * often as the kernel; the kernel may merge what the model keeps apart) */
	uint32_t pgoff;
	struct cpage *cow;
};

static struct {
	struct vpage *pg;
	struct obj obj[MAXOBJ];
	int nfile;          /* objects 0..nfile-1 are files set up by the case */
	uint32_t next_vma;
	bool in_child;      /* a fork child: mlock is not inherited */
} M;

static const uint8_t *zero_page; /* ps zero bytes */

/* ---- capabilities found by the probes at start ---- */

static struct {
	int rd[2][8], wr[2][8];  /* [VM_SHARED][prot]: 1 yes, 0 no, 2 either */
	bool madv[32];           /* advice supported */
	bool remove_needs_write; /* MADV_REMOVE wants VM_WRITE (<6.7) or only VM_MAYWRITE */
	bool shm_exec;           /* PROT_EXEC on MAP_SHARED|MAP_ANONYMOUS */
	bool mlock2;
	bool drop_caches;
	bool tmpfs_zero, tmpfs_collapse, tmpfs_insert; /* fallocate modes on tmpfs/memfd */
	size_t ext4_bsize;
	bool dontunmap_file;
	bool dontunmap_unlocks_vma; /* MREMAP_DONTUNMAP of part of an mlocked vma unlocks all of it
				     * (seen on 6.18) instead of only the moved part (6.1, 6.12) */
	bool prot_none_warn;        /* ppc64 radix before 6.7: mprotect() over a PROT_NONE pte whose
				     * accessed bit is clear (MADV_COLD, PAGEOUT, reclaim) trips a
				     * false-positive VM_WARN_ON_ONCE in __pte_flags_need_flush() */
	bool ext4_zero_stale;       /* ext4 ZERO_RANGE over part of a mapped page, a write
				     * through the mapping, then ZERO_RANGE or PUNCH_HOLE ending
				     * in a partial block inside it leaves the written bytes (6.1,
				     * ppc64, 64K pages and 1K blocks): ZERO_RANGE stays
				     * page-aligned there */
	bool mremap_efault_unmaps;  /* a move failing with EFAULT (old range past its vma) has
				     * unmapped the target first (6.1, 6.12; not 6.18) */
	bool mremap_multi;          /* a move (MAYMOVE|FIXED, same length) may span holes and
				     * several vmas (6.17+) instead of failing with EFAULT */
} cap;

/* ---- failures ---- */

enum fkind { F_NONE, F_DATA, F_SIGNAL, F_NOSIGNAL, F_SIGADDR, F_ERRNO, F_RETVAL, F_IOCOUNT,
	     F_CHILD, F_SETUP };
static const char *const fkind_name[] = { "none", "data", "unexpected signal", "missing signal",
	"signal address", "errno", "return value", "I/O count", "child", "setup" };

static struct {
	int kind, opkind;
	unsigned opnum;
	char msg[3000];
} F;

static unsigned cur_opnum;   /* the running operation: its number is also its generation */
static int cur_opkind;
static char cur_opdesc[400]; /* its log line, for the failure message */

static int failf(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(int kind, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (F.kind != F_NONE) /* the first failure is the one that counts */
		return -1;
	F.kind = kind;
	F.opkind = cur_opkind;
	F.opnum = cur_opnum;
	n = snprintf(F.msg, sizeof F.msg, "op %u (%s): ", cur_opnum, cur_opdesc);
	va_start(ap, fmt);
	if (n > 0 && n < (int)sizeof F.msg)
		vsnprintf(F.msg + n, sizeof F.msg - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- statistics per case ---- */

static struct {
	unsigned long checks_pages, checks_files, bytes_checked;
	unsigned long sig_expected[2], sig_seen[2]; /* SIGSEGV, SIGBUS */
	unsigned long freed_old, freed_zero;        /* MADV_FREE'd pages found kept / dropped */
	unsigned long errors_expected;              /* syscalls that failed as predicted */
	unsigned long skipped;                      /* operations whose outcome is ambiguous */
	unsigned long cow_breaks, child_writes;
} st;

/* ---- object helpers ---- */

static bool is_file(int oid)
{
	return oid >= 0 && oid < MAXOBJ && M.obj[oid].live && M.obj[oid].kind != K_SHM;
}

/* Whole pages of object oid that lie at least partly below its size. */
static size_t obj_pages(int oid)
{
	return (M.obj[oid].size + ps - 1) / ps;
}

static bool beyond_eof(int oid, size_t pgoff)
{
	return pgoff * ps >= M.obj[oid].size;
}

/*
 * Write generation gen at [off, off+len) of object oid. Through a mapping (mmap) the bytes
 * past the end of file in the last page are not file data: writeback may zero them (ext4
 * zeroes the tail of the page it writes) and a later extension may or may not show them,
 * so they become unknown until write() defines them.
 */
static void obj_write(int oid, size_t off, size_t len, unsigned gen, bool mmap)
{
	struct obj *o = &M.obj[oid];

	pat_fill(o->val + off, oid, off, len, gen);
	bits_set(o->unk, off, off + len, false);
	if (mmap && off + len > o->size)
		bits_set(o->unk, off > o->size ? off : o->size, off + len, true);
}

/* Known zeros at [off, off+len) of an object. */
static void obj_zero(int oid, size_t off, size_t len)
{
	struct obj *o = &M.obj[oid];

	memset(o->val + off, 0, len);
	bits_set(o->unk, off, off + len, false);
}

/*
 * --strict: no work-arounds for kernel behaviour the model considers wrong (see the probes in
 * model.c and obj_zero_range()), so that it can be shown.
 */
static bool strict;

/*
 * Zeros from fallocate (PUNCH_HOLE, ZERO_RANGE) and MADV_REMOVE. Bytes written through a
 * mapping past the end of file stay unknown (only write() defines them), unless --strict:
 * 6.1's ext4 ZERO_RANGE extending the file leaves such bytes in the partial end block (seen
 * on x86_64 and ppc64), which the man page's "reads ... return zeros" forbids.
 */
static void obj_zero_range(int oid, size_t off, size_t len)
{
	if (strict)
		obj_zero(oid, off, len);
	else
		memset(M.obj[oid].val + off, 0, len);
}

/* ---- private pages ---- */

static struct cpage *cpage_new(void)
{
	struct cpage *c = calloc(1, sizeof *c);

	if (!c || !(c->val = calloc(1, ps)) || !(c->unk = calloc(1, ps / 8)) ||
	    !(c->w = calloc(1, ps / 8))) {
		fprintf(stderr, "model: out of memory\n");
		exit(2);
	}
	return c;
}

static void cpage_free(struct cpage *c)
{
	if (c) {
		free(c->val);
		free(c->unk);
		free(c->w);
		free(c);
	}
}

/* A MAP_PRIVATE file page gets its own copy of what the file holds now. */
static void cow_break(struct vpage *v)
{
	struct obj *o = &M.obj[v->obj];
	size_t base = (size_t)v->pgoff * ps;

	v->cow = cpage_new();
	memcpy(v->cow->val, o->val + base, ps);
	bits_move(v->cow->unk, 0, o->unk, base, ps);
	st.cow_breaks++;
}

static void drop_cow(struct vpage *v)
{
	cpage_free(v->cow);
	v->cow = NULL;
}

/* Unmap one arena page in the model. */
static void page_unmap(size_t p)
{
	struct vpage *v = &M.pg[p];

	drop_cow(v);
	memset(v, 0, sizeof *v);
	v->obj = V_UNMAPPED;
}

/* A shm object no page maps any more is gone (its shadow is freed). */
static void gc_shm(void)
{
	static bool used[MAXOBJ];
	size_t p;
	int i;

	memset(used, 0, sizeof used);
	for (p = 0; p < NP; p++)
		if (M.pg[p].obj >= 0)
			used[M.pg[p].obj] = true;
	for (i = M.nfile; i < MAXOBJ; i++)
		if (M.obj[i].live && !used[i]) {
			free(M.obj[i].val);
			free(M.obj[i].unk);
			memset(&M.obj[i], 0, sizeof M.obj[i]);
			M.obj[i].fd = M.obj[i].dfd = M.obj[i].rofd = -1;
		}
}

/* A new shm object of npages zero pages, or -1 when the table is full. */
static int shm_new(size_t npages)
{
	int i;

	gc_shm();
	for (i = M.nfile; i < MAXOBJ; i++)
		if (!M.obj[i].live)
			break;
	if (i == MAXOBJ)
		return -1;
	M.obj[i] = (struct obj){ .kind = K_SHM, .live = true, .fd = -1, .dfd = -1, .rofd = -1,
				 .size = npages * ps, .cap = npages * ps, .exec_ok = cap.shm_exec };
	M.obj[i].val = calloc(1, npages * ps);
	M.obj[i].unk = calloc(1, npages * ps / 8 + 1);
	if (!M.obj[i].val || !M.obj[i].unk) {
		fprintf(stderr, "model: out of memory\n");
		exit(2);
	}
	return i;
}

/* ---- vmas ---- */

static bool mapped(size_t p)
{
	return p < NP && M.pg[p].obj != V_UNMAPPED;
}

static bool same_vma(size_t p, size_t q)
{
	return mapped(p) && mapped(q) && M.pg[p].vma == M.pg[q].vma;
}

/* The model vma around page p: [*s, *s + *len). */
static void vma_run(size_t p, size_t *s, size_t *len)
{
	size_t a = p, b = p + 1;

	if (!mapped(p)) {
		*s = p;
		*len = 1;
		return;
	}
	while (a > 0 && same_vma(a - 1, p))
		a--;
	while (b < NP && same_vma(b, p))
		b++;
	*s = a;
	*len = b - a;
}

/* The kernel may split the vma around page p at p: the pages from p on get an id of their own. */
static void split_at(size_t p)
{
	uint32_t old, id;
	size_t q;

	if (p == 0 || p >= NP || !same_vma(p - 1, p))
		return;
	old = M.pg[p].vma;
	id = M.next_vma++;
	for (q = p; q < NP && mapped(q) && M.pg[q].vma == old; q++)
		M.pg[q].vma = id;
}

static void split_range(size_t p, size_t n)
{
	split_at(p);
	split_at(p + n);
}

/* VM_SHARED: MAP_SHARED of something writable (a read-only fd's shared mapping has none). */
static bool vm_shared(const struct vpage *v)
{
	return v->shared && !v->ro;
}

static bool may_exec(const struct vpage *v)
{
	return v->obj < 0 || M.obj[v->obj].exec_ok;
}

/* Does the page's content come from the object right now (a shared page, or an un-COWed
 * private file page)? */
static bool shows_object(const struct vpage *v)
{
	return v->obj >= 0 && !v->cow;
}

/* ---- what an access must do ---- */

enum { ACC_OK = 0 };

static int access_pred(const struct vpage *v, bool write)
{
	int t;

	if (v->obj == V_UNMAPPED)
		return SIGSEGV;
	t = write ? cap.wr[vm_shared(v)][v->prot & 7] : cap.rd[vm_shared(v)][v->prot & 7];
	if (t == 0)
		return SIGSEGV;
	if (t == 2)
		return -1; /* either: the probes found both */
	if (shows_object(v) && beyond_eof(v->obj, v->pgoff))
		return SIGBUS;
	return ACC_OK;
}

/* The page's expected content for a read. */
struct expect {
	const uint8_t *val, *unk, *w; /* unk and w are bitmaps, from bit ubase */
	size_t ubase;
	bool freed;
	struct cpage *cow;            /* for collapsing MADV_FREE candidates */
};

static struct expect page_expect(const struct vpage *v)
{
	struct expect e = { zero_page, NULL, NULL, 0, false, NULL };

	if (v->cow) {
		e.val = v->cow->val;
		e.unk = v->cow->unk;
		e.w = v->cow->w;
		e.freed = v->cow->freed;
		e.cow = v->cow;
	} else if (v->obj >= 0) {
		e.val = M.obj[v->obj].val + (size_t)v->pgoff * ps;
		e.unk = M.obj[v->obj].unk;
		e.ubase = (size_t)v->pgoff * ps;
	}
	return e;
}

static bool exp_unknown(const struct expect *e, size_t i)
{
	return e->unk && bit(e->unk, e->ubase + i);
}

/* Candidate byte: 0 = the page kept, 1 = MADV_FREE dropped it (zero except what was written). */
static uint8_t exp_byte(const struct expect *e, size_t i, int cand)
{
	if (cand && !bit(e->w, i))
		return 0;
	return e->val[i];
}

static const char *prot_str(int prot)
{
	static char s[4][4];
	static int k;
	char *b = s[k++ & 3];

	b[0] = prot & PROT_READ ? 'r' : '-';
	b[1] = prot & PROT_WRITE ? 'w' : '-';
	b[2] = prot & PROT_EXEC ? 'x' : '-';
	b[3] = 0;
	return b;
}

/* "page 5 (0x...): shared view of obj 1 (ext4) page 3, rw-" */
static const char *page_desc(size_t p, const struct vpage *v, const char *addr)
{
	static char buf[2][200];
	static int k;
	char *b = buf[k++ & 1];

	if (v->obj == V_UNMAPPED)
		snprintf(b, 200, "page %zu (%p): unmapped", p, (void *)addr);
	else if (v->obj == V_ANON)
		snprintf(b, 200, "page %zu (%p): private anon%s, %s%s", p, (void *)addr,
			 v->cow ? (v->cow->freed ? " (MADV_FREE'd)" : "") : " (never written)",
			 prot_str(v->prot), v->lock ? ", mlocked" : "");
	else
		snprintf(b, 200, "page %zu (%p): %s view of obj %d (%s) page %u%s, %s%s", p,
			 (void *)addr,
			 v->ro ? "read-only-fd shared" : v->shared ? "shared" : "private", v->obj,
			 okind_name[M.obj[v->obj].kind], (unsigned)v->pgoff,
			 v->cow ? " (COWed)" : "", prot_str(v->prot), v->lock ? ", mlocked" : "");
	return b;
}

/* ---- the reproducer's final checks (emitted only while tracing) ---- */

static void trace_hex(const char *label, const uint8_t *b, size_t n)
{
	char s[3 * 64 + 1];
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * i] = 0;
	trace("\t%s = \"%s\";", label, s);
}

/* Emit: compare n bytes at C expression `where` (already read into `got` by the trace) with
 * the expected window (a mask byte 0 means unknown) and the MADV_FREE alternative. */
static void trace_expect_bytes(const char *fn, const char *where, const struct expect *e,
			       size_t i0, size_t n, const char *what)
{
	uint8_t ex[64], mask[64], alt[64];
	size_t i;

	for (i = 0; i < n; i++) {
		ex[i] = exp_byte(e, i0 + i, 0);
		alt[i] = exp_byte(e, i0 + i, e->freed);
		mask[i] = exp_unknown(e, i0 + i) ? 0 : 0xff;
	}
	trace("\t{");
	trace("\tconst char *ex, *mask, *alt;");
	trace_hex("ex", ex, n);
	trace_hex("mask", mask, n);
	trace_hex("alt", alt, n);
	trace("\t%s(%s, %zu, ex, mask, alt, \"%s\");", fn, where, n, what);
	trace("\t}");
}

/* ---- checks ---- */

static uint8_t *pagebuf; /* ps bytes: a page read from a mapping */

/* A place in the page to probe: varies with the page and the operation. */
static size_t probe_offset(size_t p)
{
	return ((p * 2654435761u + cur_opnum * 40503u) % (ps / 8)) * 8 + (cur_opnum & 7);
}

/* The access at addr must raise sig (0: none). */
static int expect_access(char *addr, bool write, unsigned char val, int sig, unsigned char *out,
			 const char *desc)
{
	unsigned char sink;
	int got;

	if (!out)
		out = &sink;
	trace("\ts = probe(%s, %d, 0x%02x);", desc[0] ? desc : "?", write, val);
	got = guarded_byte(addr, write, val, out);
	if (sig == SIGSEGV || sig == SIGBUS)
		st.sig_expected[sig == SIGBUS]++;
	if (got == SIGSEGV || got == SIGBUS)
		st.sig_seen[got == SIGBUS]++;
	if (got != sig) {
		trace("\texpect_sig(s, %d, %s, \"%s of %s\");", sig, desc, write ? "write" : "read",
		      desc);
		return failf(sig ? F_NOSIGNAL : F_SIGNAL, "%s of %p: expected %s, got %s%s%p",
			     write ? "write" : "read", (void *)addr, signame(sig), signame(got),
			     got ? " at " : "", got ? acc_addr : NULL);
	}
	if (got && acc_addr != addr) {
		trace("\texpect_sig_addr(s, %s, \"%s\");", desc, desc);
		return failf(F_SIGADDR, "%s of %p: %s with si_addr %p", write ? "write" : "read",
			     (void *)addr, signame(got), acc_addr);
	}
	return 0;
}

static bool match_cand(const struct expect *e, const uint8_t *got, int cand, size_t *bad)
{
	size_t i;

	if (!e->unk && !cand && !memcmp(got, e->val, ps))
		return true;
	for (i = 0; i < ps; i++) {
		if (got[i] == exp_byte(e, i, cand) || exp_unknown(e, i))
			continue;
		*bad = i;
		return false;
	}
	return true;
}

/* Describe the first difference of a page read through a mapping and fail. */
static int data_mismatch(const char *addr, size_t p, const struct vpage *v, const struct expect *e,
			 const uint8_t *got, size_t i, const char *how)
{
	char d1[80], d2[80];
	size_t w = i & ~(size_t)7, i0 = i & ~(size_t)15, n = ps - i0 < 32 ? ps - i0 : 32;
	uint8_t ex8[8];
	size_t k;
	char where[64];

	for (k = 0; k < 8; k++)
		ex8[k] = exp_byte(e, w + k, 0);
	snprintf(where, sizeof where, "A(%zu) + %zu", p, i0);
	if (addr == A(p))
		trace_expect_bytes("expect_mem", where, e, i0, n, page_desc(p, v, addr));
	return failf(F_DATA, "%s %s, offset 0x%zx: expected 0x%02x (%s)%s, got 0x%02x (%s)", how,
		     page_desc(p, v, addr), i, exp_byte(e, i, 0), decode(ex8, d1, sizeof d1),
		     e->freed ? " or that page's MADV_FREE alternative" : "",
		     got[i], decode(got + w, d2, sizeof d2));
}

/*
 * Read the page mapped at addr (arena page p, or a page moved out of the arena) and compare
 * it with the model: data, or the signal the access must raise.
 */
static int check_page_at(char *addr, size_t p, struct vpage *v)
{
	int pred = access_pred(v, false), sig, cand;
	char desc[48];
	size_t bad = 0, bad1 = 0, attempt;
	struct expect e;

	if (addr == A(p))
		snprintf(desc, sizeof desc, "A(%zu) + %zu", p, probe_offset(p));
	else
		snprintf(desc, sizeof desc, "(char *)%p", (void *)(addr + probe_offset(p)));
	if (pred == -1)
		return 0; /* either way is right: nothing to check */
	if (pred != ACC_OK)
		return expect_access(addr + probe_offset(p), false, 0, pred, NULL, desc);
	st.checks_pages++;
	st.bytes_checked += ps;
	e = page_expect(v);
	for (attempt = 0; attempt < 2; attempt++) {
		if (addr == A(p))
			trace("\ts = rd(A(%zu), PS);", p);
		sig = guarded_copy(pagebuf, addr, ps);
		if (sig) {
			if (addr == A(p))
				trace("\texpect_sig(s, 0, A(%zu), \"read of %s\");", p,
				      page_desc(p, v, addr));
			st.sig_seen[sig == SIGBUS]++;
			return failf(F_SIGNAL, "read of %s: %s at %p", page_desc(p, v, addr),
				     signame(sig), acc_addr);
		}
		if (match_cand(&e, pagebuf, 0, &bad)) {
			cand = 0;
		} else if (e.freed && match_cand(&e, pagebuf, 1, &bad1)) {
			cand = 1;
		} else {
			/*
			 * A page MADV_FREE'd and not written since may be discarded while it is
			 * read; once discarded it stays zero: read it again.
			 */
			if (e.freed && !bits_any(e.w, 0, ps) && attempt == 0)
				continue;
			return data_mismatch(addr, p, v, &e, pagebuf, bad, "read of");
		}
		if (e.freed) {
			/*
			 * Collapse the candidates: a page written since MADV_FREE was decided when
			 * first written; an unwritten one read as the old data may still be dropped
			 * later, but one read as zeros was dropped for good.
			 */
			bool written = bits_any(e.w, 0, ps);
			bool differ = !match_cand(&e, pagebuf, cand ? 0 : 1, &bad1);

			if (differ && cand == 1) {
				for (size_t i = 0; i < ps; i++)
					if (!bit(e.w, i))
						e.cow->val[i] = 0;
				e.cow->freed = false;
				st.freed_zero++;
			} else if (differ && written) {
				e.cow->freed = false;
				st.freed_old++;
			}
		}
		return 0;
	}
	return 0;
}

static int check_page(size_t p)
{
	return check_page_at(A(p), p, &M.pg[p]);
}

/* pread/read() all of [off, off+len) of fd into buf; the count read (to end of file), or -1. */
static ssize_t read_all(int fd, char *buf, size_t len, size_t off, bool use_read)
{
	size_t done = 0;
	ssize_t n;

	if (use_read && lseek(fd, off, SEEK_SET) < 0)
		return -1;
	while (done < len) {
		n = use_read ? read(fd, buf + done, len - done)
			     : pread(fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Compare file bytes read at off with the model. */
static int compare_file(int oid, const uint8_t *got, size_t off, size_t n, const char *how,
			const char *fdexpr)
{
	struct obj *o = &M.obj[oid];
	size_t i;

	if (!memcmp(got, o->val + off, n) && !bits_any(o->unk, off, off + n))
		return 0;
	for (i = 0; i < n; i++) {
		char d1[80], d2[80];
		size_t pos = off + i, w = pos & ~(size_t)7, i0 = pos & ~(size_t)15;
		struct expect e = { o->val, o->unk, NULL, 0, false, NULL };
		uint8_t got8[8];
		size_t k, cnt;
		char where[80];

		if (got[i] == o->val[pos] || bit(o->unk, pos))
			continue;
		for (k = 0; k < 8; k++)
			got8[k] = w + k >= off && w + k < off + n ? got[w + k - off] : 0;
		cnt = off + n - i0 < 32 ? off + n - i0 : 32;
		if (i0 < off)
			i0 = off, cnt = off + n - i0 < 32 ? off + n - i0 : 32;
		snprintf(where, sizeof where, "%s, %zu", fdexpr, i0);
		trace_expect_bytes(strstr(how, "O_DIRECT") ? "expect_dread" : "expect_pread", where,
				   &e, i0, cnt, how);
		return failf(F_DATA, "%s of obj %d (%s) at file offset 0x%zx (page %zu offset "
			     "0x%zx): expected 0x%02x (%s), got 0x%02x (%s)", how, oid,
			     okind_name[o->kind], pos, pos / ps, pos % ps, o->val[pos],
			     decode(o->val + w, d1, sizeof d1), got[i],
			     decode(got8, d2, sizeof d2));
	}
	return 0;
}

/* Read [off, off+len) of a file with pread/read() (or O_DIRECT) and compare with the model. */
static int check_file(int oid, size_t off, size_t len, bool direct, bool use_read)
{
	struct obj *o = &M.obj[oid];
	size_t want = off >= o->size ? 0 : (off + len > o->size ? o->size - off : len);
	int fd = direct ? o->dfd : o->fd;
	char fdexpr[32], how[64];
	char *buf = io_buffer(len ? len : 1);
	ssize_t n;

	if (fd < 0 || !buf)
		return 0;
	snprintf(fdexpr, sizeof fdexpr, "%s[%d]", direct ? "dfd" : "fd", oid);
	snprintf(how, sizeof how, "%s", direct ? "O_DIRECT pread" : use_read ? "read()" : "pread");
	st.checks_files++;
	st.bytes_checked += len;
	trace("\tr = rdfile(%s, %zu, %zu, %d); e = errno;", fdexpr, off, len, use_read);
	n = read_all(fd, buf, len, off, use_read);
	if (n < 0) {
		trace("\texpect_ret(r, e, %zu, 0, \"%s\");", want, how);
		return failf(F_ERRNO, "%s of obj %d at %zu, %zu bytes: %s", how, oid, off, len,
			     strerror(errno));
	}
	if ((size_t)n != want) {
		trace("\texpect_ret(r, e, %zu, 0, \"%s\");", want, how);
		return failf(F_IOCOUNT, "%s of obj %d (%s, size %zu) at %zu, %zu bytes: read %zd, "
			     "expected %zu", how, oid, okind_name[o->kind], o->size, off, len, n,
			     want);
	}
	return compare_file(oid, (uint8_t *)buf, off, want, how, fdexpr);
}

/* The whole file through its buffered fd, and on ext4 also with O_DIRECT. */
static int check_whole_file(int oid, bool direct)
{
	struct obj *o = &M.obj[oid];
	size_t len = (o->size + ps - 1) / ps * ps;

	if (check_file(oid, 0, len + ps, false, false) < 0)
		return -1;
	if (direct && o->dfd >= 0 && check_file(oid, 0, len + ps, true, false) < 0)
		return -1;
	return 0;
}

#endif
