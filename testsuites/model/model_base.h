/*
 * model suite, part 1: constants glibc 2.36 lacks, globals, randomness, data patterns,
 * bitmaps, guarded memory access (SIGSEGV/SIGBUS caught with sigsetjmp) and the trace layer
 * that turns what the program does into a stand-alone C reproducer.
 */
#ifndef MODEL_BASE_H
#define MODEL_BASE_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
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
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/ktap.h"
#include "../lib/rand.h"
#include "../lib/options.h"

/* ---- what glibc 2.36's headers may lack ---- */
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif
#ifndef SYS_mlock2
#ifdef __NR_mlock2
#define SYS_mlock2 __NR_mlock2
#endif
#endif

/*
 * The arena: a fixed stretch of address space far from where the kernel places mmap(NULL)
 * (near the top) and brk (near the binary), so that a page the model calls unmapped really
 * is unmapped, and a reproducer can map the very same addresses.
 */
#define ARENA_ADDR 0x100000000000UL /* 16 TiB */
#define ANON_ID 0x7f                /* the object id in patterns written to private anon memory */
#define MAXOBJ 64                   /* file objects and MAP_SHARED|MAP_ANONYMOUS objects */
#define MAXCHILD 12                 /* operations a fork child runs */

static size_t ps;            /* page size */
static long expected_ps;     /* --page-size */
static size_t NP;            /* arena pages */
static size_t OBJP;          /* pages an object may have */
static size_t MAXMAPPED;     /* pages the generator keeps mapped at most */
static char *arena = (char *)ARENA_ADDR;

static inline char *A(size_t page)
{
	return arena + page * ps;
}

static uint64_t rng;

/* 0..n-1 (0 when n is 0) */
static size_t rnd(size_t n)
{
	return n ? rng_next(&rng) % n : 0;
}

static bool chance(unsigned percent)
{
	return rnd(100) < percent;
}

/* ---- data patterns ---- */

/*
 * Word `word` of page `page` of object `obj`, written by operation `gen`: hex 8O GGGGGG PPP
 * WWWW a. Every byte a write puts anywhere says which object, page, word and operation it
 * belongs to; the top bit and the low nibble keep both ends of every word non-zero.
 */
static uint64_t pattern(unsigned obj, size_t page, size_t word, unsigned gen)
{
	return (uint64_t)(0x80 | (obj & 0x7f)) << 56 | (uint64_t)(gen & 0xffffff) << 32 |
	       (uint64_t)(page & 0xfff) << 20 | (uint64_t)(word & 0xffff) << 4 | 0xa;
}

/* The pattern bytes of positions [pos, pos+len) of object obj's page space into dst. */
static void pat_fill(void *dst, unsigned obj, size_t pos, size_t len, unsigned gen)
{
	unsigned char *d = dst;

	while (len) {
		size_t off = pos % ps, b = off % 8, n = 8 - b;
		uint64_t word = pattern(obj, pos / ps, off / 8, gen);

		if (n > len)
			n = len;
		memcpy(d, (unsigned char *)&word + b, n);
		d += n;
		pos += n;
		len -= n;
	}
}

/* What the 8 bytes at an 8-aligned place hold, in words: "obj 2 page 3 word 0x10 op 17". */
static const char *decode(const unsigned char *p8, char *buf, size_t size)
{
	uint64_t w;

	memcpy(&w, p8, 8);
	if (!w)
		snprintf(buf, size, "zeros");
	else if (w >> 63 && (w & 0xf) == 0xa)
		snprintf(buf, size, "obj %u page %u word 0x%x of op %u", (unsigned)(w >> 56) & 0x7f,
			 (unsigned)(w >> 20) & 0xfff, (unsigned)(w >> 4) & 0xffff,
			 (unsigned)(w >> 32) & 0xffffff);
	else
		snprintf(buf, size, "no pattern");
	return buf;
}

/* ---- bitmaps: one bit per byte of a page or an object ---- */

static inline bool bit(const uint8_t *bm, size_t i)
{
	return bm[i >> 3] >> (i & 7) & 1;
}

static inline void bit_set1(uint8_t *bm, size_t i, bool v)
{
	if (v)
		bm[i >> 3] |= 1 << (i & 7);
	else
		bm[i >> 3] &= ~(1 << (i & 7));
}

static void bits_set(uint8_t *bm, size_t from, size_t to, bool v)
{
	while (from < to && (from & 7)) {
		bit_set1(bm, from, v);
		from++;
	}
	if (to - from >= 8 && from < to) {
		memset(bm + (from >> 3), v ? 0xff : 0, (to - from) >> 3);
		from += (to - from) & ~(size_t)7;
	}
	while (from < to) {
		bit_set1(bm, from, v);
		from++;
	}
}

static bool bits_any(const uint8_t *bm, size_t from, size_t to)
{
	for (; from < to; from++) {
		if (!(from & 7) && to - from >= 8) {
			if (bm[from >> 3])
				return true;
			from += 7;
			continue;
		}
		if (bit(bm, from))
			return true;
	}
	return false;
}

/* Copy bits [sfrom, sfrom+n) of src to [dfrom, ...) of dst (they may overlap: memmove). */
static void bits_move(uint8_t *dst, size_t dfrom, const uint8_t *src, size_t sfrom, size_t n)
{
	size_t i;

	if (dst == src && dfrom > sfrom) {
		for (i = n; i-- > 0;)
			bits_set(dst, dfrom + i, dfrom + i + 1, bit(src, sfrom + i));
	} else {
		for (i = 0; i < n; i++)
			bits_set(dst, dfrom + i, dfrom + i + 1, bit(src, sfrom + i));
	}
}

/* ---- guarded access: a thread-local jump buffer armed around one access ---- */

static __thread sigjmp_buf acc_jmp;
static __thread volatile sig_atomic_t acc_armed;
static __thread volatile int acc_sig;
static __thread void *volatile acc_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!acc_armed) { /* not expected: die when the access is retried */
		signal(sig, SIG_DFL);
		return;
	}
	acc_armed = 0;
	acc_sig = sig;
	acc_addr = si->si_addr;
	siglongjmp(acc_jmp, 1);
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Copy len bytes from a mapping into buf (or, with write, pattern bytes into the mapping),
 * with page-allocation failures injected; 0, or the signal that stopped it (acc_addr says
 * where). These are the memory-only loops the inject profile aims at.
 */
static int guarded_copy(void *buf, const char *src, size_t len)
{
	if (sigsetjmp(acc_jmp, 0)) {
		inject_faults(0);
		return acc_sig;
	}
	acc_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	inject_faults(1);
	memcpy(buf, src, len);
	inject_faults(0);
	atomic_signal_fence(memory_order_seq_cst);
	acc_armed = 0;
	return 0;
}

static int guarded_fill(char *dst, unsigned obj, size_t pos, size_t len, unsigned gen)
{
	if (sigsetjmp(acc_jmp, 0)) {
		inject_faults(0);
		return acc_sig;
	}
	acc_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	inject_faults(1);
	pat_fill(dst, obj, pos, len, gen);
	inject_faults(0);
	atomic_signal_fence(memory_order_seq_cst);
	acc_armed = 0;
	return 0;
}

/* One byte read (write: store val) at p; 0 or the signal. */
static int guarded_byte(char *p, bool write, unsigned char val, unsigned char *out)
{
	if (sigsetjmp(acc_jmp, 0))
		return acc_sig;
	acc_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (write)
		*(volatile unsigned char *)p = val;
	else
		*out = *(volatile unsigned char *)p;
	atomic_signal_fence(memory_order_seq_cst);
	acc_armed = 0;
	return 0;
}

static const char *signame(int sig)
{
	return sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig ? "signal" : "no signal";
}

/* ---- the trace: what the program does, as C statements of a reproducer ---- */

static int trace_fd = -1; /* the trace file while the final replay runs, else -1 */

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (trace_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (write(trace_fd, line, n) != n)
		trace_fd = -1;
}

/* A page-aligned buffer for file I/O (O_DIRECT needs the alignment). */
static char *iobuf;
static size_t iobuf_size;

static char *io_buffer(size_t len)
{
	if (len > iobuf_size) {
		free(iobuf);
		iobuf = NULL;
		if (posix_memalign((void **)&iobuf, ps, len))
			iobuf = NULL;
		iobuf_size = iobuf ? len : 0;
	}
	return iobuf;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EEXIST: return "EEXIST";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFBIG: return "EFBIG";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	}
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

#endif
