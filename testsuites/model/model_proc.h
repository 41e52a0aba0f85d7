/*
 * model suite, part 4: the process operations. fork: the child checks its whole copy-on-write
 * view, runs its own operations (writes to private and shared views, madvise, munmap, ...)
 * and tells the parent through a pipe what it wrote to shared objects and whether it passed;
 * the parent must see all of those shared writes and none of the private ones. threads: writers
 * store disjoint words of the same pages while a reader checks that every word is either its
 * old or its new value and a disturber zaps or pages out the range.
 */
#ifndef MODEL_PROC_H
#define MODEL_PROC_H

#include "model_ops.h"

static int exec_op(struct op *op);

/* ---- fork ---- */

struct child_rec {
	int obj;          /* >= 0: a shared write; -1: the final status */
	int kind;         /* status: the failure kind (F_NONE when it passed) */
	size_t off, len;
	unsigned gen;
};

static int child_pipe = -1; /* in a fork child: where its shared writes and status go */

/* In a fork child, a write through a shared view: the parent must see it too. */
static void child_shared_write(int oid, size_t off, size_t len, unsigned gen)
{
	struct child_rec r = { oid, 0, off, len, gen };

	if (child_pipe >= 0 && write(child_pipe, &r, sizeof r) != sizeof r)
		_exit(3);
}

static bool child_op_allowed(const struct op *op)
{
	switch (op->kind) {
	case OP_MWRITE: case OP_MREAD: case OP_PROBE: case OP_MUNMAP: case OP_MPROTECT:
	case OP_MLOCK: case OP_MUNLOCK: case OP_MSYNC: case OP_MREMAP:
		return true;
	case OP_MADVISE:
		return op->p[2] != MADV_REMOVE; /* it would change the shared object */
	}
	return false;
}

static void child_run(struct op *op)
{
	struct child_rec r = { -1, F_NONE, 0, 0, 0 };
	size_t p;
	unsigned i;
	int rc;

	ktap_quiet = 1;
	M.in_child = true;
	for (p = 0; p < NP; p++) /* mlock is not inherited (dup_mmap clears VM_LOCKED) */
		M.pg[p].lock = LK_NONE;
	rc = check_all(false);
	for (i = 0; !rc && i < op->nchild; i++) {
		struct op *c = &op->child[i];

		if (!child_op_allowed(c))
			continue;
		cur_opkind = c->kind;
		op_str(c, cur_opdesc, sizeof cur_opdesc);
		rc = exec_op(c);
	}
	cur_opkind = OP_FORK;
	r.kind = F.kind;
	if (write(child_pipe, &r, sizeof r) != sizeof r ||
	    (rc && write(child_pipe, F.msg, strlen(F.msg)) < 0))
		_exit(3);
	_exit(rc ? 1 : 0);
}

static int op_fork(struct op *op)
{
	int pfd[2], status, kind = F_NONE;
	struct child_rec r;
	char msg[sizeof F.msg];
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	if (pipe(pfd) < 0)
		return failf(F_SETUP, "pipe: %s", strerror(errno));
	fflush(stdout);
	trace("\tpid = fork();");
	trace("\tif (pid == 0) {");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return failf(F_SETUP, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		child_pipe = pfd[1];
		child_run(op);
	}
	close(pfd[1]);
	/* the child's shared writes, then its status and message */
	while ((got = read(pfd[0], &r, sizeof r)) == sizeof r && r.obj >= 0) {
		st.child_writes++;
		if (r.obj < MAXOBJ && M.obj[r.obj].live && r.off + r.len <= M.obj[r.obj].cap) {
			obj_write(r.obj, r.off, r.len, r.gen, true);
			mark_obj(r.obj, r.off, r.off + r.len, false);
		}
	}
	if (got == sizeof r) {
		kind = r.kind;
		while (n < sizeof msg - 1 && (got = read(pfd[0], msg + n, sizeof msg - 1 - n)) > 0)
			n += got;
	}
	msg[n] = 0;
	close(pfd[0]);
	trace("\t\t_exit(0);");
	trace("\t}");
	trace("\twaitpid(pid, &status, 0); expect_child(status);");
	if (waitpid(pid, &status, 0) < 0)
		return failf(F_SETUP, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return failf(F_CHILD, "the fork child was killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) || kind != F_NONE)
		return failf(kind != F_NONE ? kind : F_CHILD, "in the fork child: %s",
			     n ? msg : "exited with a failure and no message");
	/* the parent sees the child's shared writes and none of its private ones */
	mark_all_objs(false);
	memset(dirty_pg, 1, NP);
	return 0;
}

/* ---- threads ---- */

struct thr {
	pthread_t tid;
	int role;               /* 0 writer, 1 reader, 2 disturber */
	unsigned id, n, gen;
	const size_t *pages;    /* writers: pages to write; reader: pages to read */
	size_t npages;
	atomic_int *done;       /* writers still running */
	char msg[300];          /* what went wrong */
	unsigned long passes;
};

static size_t th_page0, th_n;
static int th_adv, th_adv_errno;
static uint8_t *th_old, *th_alt;   /* per read page: old bytes, MADV_FREE alternative */
static uint8_t *th_unk;            /* per read page: 1 where a word has an unknown byte */
static bool *th_written;           /* per read page: the writers write it */

/* One pass of the reader: every word of its pages is its old value or the writers' new one. */
static void reader_pass(struct thr *t)
{
	size_t words = ps / 8, i, k;

	for (k = 0; k < t->npages && !t->msg[0]; k++) {
		size_t q = t->pages[k], pos;
		const uint64_t *w = (const uint64_t *)A(q);
		const uint64_t *old = (const uint64_t *)(th_old + k * ps);
		const uint64_t *alt = (const uint64_t *)(th_alt + k * ps);
		unsigned id;

		coord(q, &M.pg[q], 0, &id, &pos);
		for (i = 0; i < words; i++) {
			uint64_t got = w[i], new = pattern(id, pos / ps, i, t->gen);

			if (got == old[i] || got == alt[i] || th_unk[k * words + i] ||
			    (th_written[k] && got == new))
				continue;
			snprintf(t->msg, sizeof t->msg, "reader: page %zu word %zu: 0x%016" PRIx64
				 ", neither old 0x%016" PRIx64 " nor new 0x%016" PRIx64, q, i, got,
				 old[i], th_written[k] ? new : 0);
			break;
		}
	}
}

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	uint64_t r = t->gen * 7919ULL + t->id;
	size_t i, k, words = ps / 8;

	if (t->role == 0) {
		size_t order[256];

		for (i = 0; i < t->npages; i++)
			order[i] = i;
		for (i = t->npages; i > 1; i--) {
			size_t j = rng_next(&r) % i, x = order[i - 1];

			order[i - 1] = order[j];
			order[j] = x;
		}
		inject_faults(1);
		for (k = 0; k < t->npages; k++) {
			size_t q = t->pages[order[k]];
			struct vpage *v = &M.pg[q];
			unsigned id;
			size_t pos;
			uint64_t *w = (uint64_t *)A(q);

			coord(q, v, 0, &id, &pos);
			for (i = t->id; i < words; i += t->n)
				w[i] = pattern(id, pos / ps, i, t->gen);
		}
		inject_faults(0);
		atomic_fetch_sub(t->done, 1);
		return NULL;
	}
	do {
		if (t->role == 2) {
			long rr = madvise(A(th_page0), th_n * ps, th_adv);
			char b[16];

			if ((rr == 0 ? 0 : errno) != th_adv_errno && !t->msg[0])
				snprintf(t->msg, sizeof t->msg, "madvise(%s) while writers ran: "
					 "%s, expected %s", param_str(T_ADV, th_adv, b, sizeof b),
					 rr ? errname(errno) : "success", errname(th_adv_errno));
		} else {
			inject_faults(1);
			reader_pass(t);
			inject_faults(0);
		}
		t->passes++;
	} while (atomic_load(t->done) > 0);
	return NULL;
}

static int op_threads(struct op *op)
{
	size_t p = op->p[0], n = op->p[1], q, nw = 0, nr = 0, words = ps / 8, i;
	int nthreads = op->p[2], dist = op->p[3], k, started = 0, err = 0, rc = 0;
	size_t *wpages, *rpages;
	struct thr *th;
	atomic_int done;
	bool all_shared = true;

	if (p + n > NP || n > 256 || nthreads < 1 || nthreads > 8)
		return skip_op("parameters out of range");
	wpages = calloc(n, sizeof *wpages);
	rpages = calloc(n, sizeof *rpages);
	th_old = malloc(n * ps);
	th_alt = malloc(n * ps);
	th_unk = calloc(n, words);
	th_written = calloc(n, sizeof *th_written);
	th = calloc(nthreads + 2, sizeof *th);
	if (!wpages || !rpages || !th_old || !th_alt || !th_unk || !th_written || !th) {
		fprintf(stderr, "model: out of memory\n");
		exit(2);
	}
	for (q = p; q < p + n; q++) {
		struct vpage *v = &M.pg[q];

		all_shared &= mapped(q) && v->shared;
		if (access_pred(v, true) == ACC_OK && access_pred(v, false) == ACC_OK)
			wpages[nw++] = q;
		if (access_pred(v, false) == ACC_OK) {
			struct expect e = page_expect(v);

			for (i = 0; i < ps; i++) {
				th_old[nr * ps + i] = exp_byte(&e, i, 0);
				th_alt[nr * ps + i] = exp_byte(&e, i, e.freed);
				if (exp_unknown(&e, i))
					th_unk[nr * words + i / 8] = 1;
			}
			th_written[nr] = access_pred(v, true) == ACC_OK;
			rpages[nr++] = q;
		}
	}
	th_page0 = p;
	th_n = n;
	th_adv = dist == D_DONTNEED && all_shared ? MADV_DONTNEED : dist == D_COLD ? MADV_COLD :
		 dist == D_NONE ? -1 : MADV_PAGEOUT;
	if (th_adv >= 0 && !adv_supported(th_adv))
		th_adv = -1;
	th_adv_errno = th_adv >= 0 ? -madv_model(p, n, th_adv, false) : 0;
	if (th_adv_errno < 0) /* madv_model() cannot tell (mlock state unknown) */
		th_adv = -1;
	atomic_init(&done, nthreads);
	{
		char buf[64];

		trace("\t{");
		trace("\tstatic const struct tpage tp[] = {");
		for (i = 0; i < nw; i++) {
			unsigned id;
			size_t pos;

			coord(wpages[i], &M.pg[wpages[i]], 0, &id, &pos);
			trace("\t\t{ %zu, %u, %zu },", wpages[i], id, pos);
		}
		trace("\t\t{ 0, 0, 0 } };");
		trace("\tthreads_write(tp, %zu, %d, %zu, %zu, %d, %u); /* disturber: %s */", nw,
		      nthreads, p, n, th_adv, op->num,
		      th_adv >= 0 ? param_str(T_ADV, th_adv, buf, sizeof buf) : "none");
		trace("\t}");
	}
	for (k = 0; k < nthreads + 2 && !err; k++) {
		th[k] = (struct thr){ .role = k < nthreads ? 0 : k - nthreads + 1, .id = k,
				      .n = nthreads, .gen = op->num, .done = &done };
		if (th[k].role == 0) {
			th[k].pages = wpages;
			th[k].npages = nw;
		} else if (th[k].role == 1) {
			th[k].pages = rpages;
			th[k].npages = nr;
		} else if (th_adv < 0) {
			continue;
		}
		err = pthread_create(&th[k].tid, NULL, thr_main, &th[k]);
		if (err)
			break;
		started = k + 1;
	}
	if (err) {
		/* writers that never started: let the others stop */
		for (k = started; k < nthreads; k++)
			atomic_fetch_sub(&done, 1);
	}
	for (k = 0; k < started; k++)
		if (th[k].role != 2 || th_adv >= 0)
			pthread_join(th[k].tid, NULL);
	if (err)
		rc = failf(F_SETUP, "pthread_create: %s", strerror(err));
	for (k = 0; !rc && k < started; k++)
		if (th[k].msg[0])
			rc = failf(th[k].role == 1 ? F_DATA : F_ERRNO, "%s", th[k].msg);
	if (!rc) {
		for (i = 0; i < nw; i++)
			model_mwrite(wpages[i], 0, ps, op->num);
		if (th_adv == MADV_PAGEOUT || th_adv == MADV_COLD || th_adv == MADV_DONTNEED)
			madv_model(p, n, th_adv, true); /* no data effect on these pages */
	}
	mark_pages(p, n);
	free(wpages);
	free(rpages);
	free(th_old);
	free(th_alt);
	free(th_unk);
	free(th_written);
	free(th);
	return rc;
}

#endif
