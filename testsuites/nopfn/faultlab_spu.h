/* SPDX-License-Identifier: GPL-2.0 */
/*
 * faultlab_spu: the interface of the lab's Cell/spufs emulation module (module/faultlab_spu.c),
 * shared by the module and the nopfn suite (nopfn.c).
 *
 * QEMU has no Cell machine, so the module emulates what spufs (arch/powerpc/platforms/cell/
 * spufs, Linux 6.1) does with its mappings: SPU contexts whose local store (LS) and
 * problem-state area (PS) live either in "hardware" (one of nr_spus emulated SPUs) or in a
 * backing store, switched by a kernel thread, and mapped with VM_IO | VM_PFNMAP and
 * vmf_insert_pfn() by fault handlers that follow spufs_mem_mmap_fault() and spufs_ps_fault().
 *
 * Device: /dev/faultlab_spu (misc). FLSPU_IOC_CREATE on it returns a new context fd (an
 * anonymous inode of its own, O_RDWR | O_CLOEXEC). On the context fd:
 * - mmap(MAP_SHARED) at the offsets below maps one area each; MAP_PRIVATE fails with EINVAL,
 *   an offset in no area with EINVAL, an area spufs cannot mmap with this page size with
 *   ENODEV. A page past the end of its area maps, but touching it raises SIGBUS.
 * - read()/pread()/write()/pwrite() access the local store (LS_SIZE bytes; past it: end of
 *   file, EFBIG for writes).
 * - FLSPU_IOC_HOLD (int 1/0) keeps the context saved (as spu_acquire_saved() does) until
 *   released or the fd is closed, so that problem-state faults block; FLSPU_IOC_INFO.
 * - /proc/PID/mem and ptrace reach the local store mapping (vm_ops->access), not the others.
 *
 * Debugfs /sys/kernel/debug/faultlab_spu/: one file per counter (below) and `counters` (all of
 * them, "name value" lines); writing anything to `reset` zeroes them.
 * Module parameters (/sys/module/faultlab_spu/parameters/): nr_spus (load time),
 * switch_interval_us (runtime), bug (runtime, FLSPU_BUG_*).
 */
#ifndef FAULTLAB_SPU_H
#define FAULTLAB_SPU_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FLSPU_DEVICE "/dev/faultlab_spu"
#define FLSPU_DEBUGFS "/sys/kernel/debug/faultlab_spu"
#define FLSPU_PARAMS "/sys/module/faultlab_spu/parameters"

#define FLSPU_LS_SIZE 0x40000 /* local store: 256 KiB */
#define FLSPU_PS_SIZE 0x20000 /* problem-state area: 128 KiB (spufs SPUFS_PS_MAP_SIZE) */

/* mmap offsets: one window of FLSPU_AREA_STRIDE bytes per area (64K-page aligned) */
#define FLSPU_AREA_STRIDE 0x100000UL
enum flspu_area {
	FLSPU_AREA_MEM,     /* local store, spufs "mem" */
	FLSPU_AREA_PS,      /* the whole problem-state area, spufs "psmap" */
	FLSPU_AREA_SIGNAL1, /* spufs "signal1" */
	FLSPU_AREA_SIGNAL2, /* spufs "signal2": 4K pages only */
	FLSPU_AREA_MFC,     /* spufs "mfc": 4K pages only */
	FLSPU_AREA_CNTL,    /* spufs "cntl": 4K pages only */
	FLSPU_AREA_MSS,     /* spufs "mss": 4K pages only */
	FLSPU_NR_AREAS,
};

#define FLSPU_AREA_OFFSET(area) ((unsigned long)(area) * FLSPU_AREA_STRIDE)

/*
 * Where an area lies in the problem-state area and how long it is, for a page size, as
 * spufs 6.1 has it (file.c: spufs_*_mmap_fault(), spufs.h: SPUFS_*_MAP_SIZE). The local
 * store is not in the problem-state area (*ps_off = 0, *size = FLSPU_LS_SIZE). Returns 0, or
 * -1 if spufs has no mmap for that area with this page size (its .mmap is NULL: ENODEV).
 */
static inline int flspu_area_geometry(unsigned int area, unsigned long page_size,
				      unsigned long *ps_off, unsigned long *size)
{
	int small = page_size == 0x1000; /* SPUFS_MMAP_4K */

	switch (area) {
	case FLSPU_AREA_MEM:
		*ps_off = 0;
		*size = FLSPU_LS_SIZE;
		return 0;
	case FLSPU_AREA_PS:
		*ps_off = 0;
		*size = FLSPU_PS_SIZE;
		return 0;
	case FLSPU_AREA_SIGNAL1:
		/* with 64K pages one page covers signal 1 and 2 */
		*ps_off = small ? 0x14000 : 0x10000;
		*size = page_size; /* SPUFS_SIGNAL_MAP_SIZE */
		return 0;
	case FLSPU_AREA_SIGNAL2:
		*ps_off = 0x1c000;
		*size = 0x1000;
		return small ? 0 : -1;
	case FLSPU_AREA_MFC:
		*ps_off = 0x3000;
		*size = 0x1000;
		return small ? 0 : -1;
	case FLSPU_AREA_CNTL:
		*ps_off = 0x4000;
		*size = 0x1000;
		return small ? 0 : -1;
	case FLSPU_AREA_MSS:
		*ps_off = 0;
		*size = 0x1000;
		return small ? 0 : -1;
	}
	return -1;
}

struct flspu_info {
	__u64 id;        /* context number, from 1, never reused while the module is loaded */
	__u32 loaded;    /* 1: in an SPU now, 0: saved */
	__u32 spu;       /* the SPU it is in (valid if loaded) */
	__u32 held;      /* FLSPU_IOC_HOLD is on */
	__u32 waiters;   /* problem-state faults waiting for it to be loaded */
	__u64 loads, saves;
};

#define FLSPU_IOC_MAGIC 0xf5
#define FLSPU_IOC_CREATE _IO(FLSPU_IOC_MAGIC, 0)                  /* device: new context fd */
#define FLSPU_IOC_HOLD _IOW(FLSPU_IOC_MAGIC, 1, int)              /* context: 1 hold, 0 release */
#define FLSPU_IOC_INFO _IOR(FLSPU_IOC_MAGIC, 2, struct flspu_info) /* context */

/* Counters in debugfs, in this order in `counters`. */
#define FLSPU_COUNTERS(X)                                                                  \
	X(faults)            /* calls of a fault handler */                                \
	X(refaults)          /* VM_FAULT_NOPAGE returned without a PTE inserted */         \
	X(inserts_hw)        /* PTEs inserted to an SPU's LS or PS */                      \
	X(inserts_backing)   /* PTEs inserted to a saved context's backing LS */           \
	X(switches)          /* context saves + loads by the switcher */                   \
	X(switch_us)         /* microseconds they took, state mutex wait included */       \
	X(waits)             /* problem-state faults that waited for a load */             \
	X(interrupted_waits) /* ... or for the state lock, ended by a signal */            \
	X(sigbus)            /* faults past the end of their area */                       \
	X(accesses)          /* vm_ops->access calls (/proc/PID/mem, ptrace) */            \
	X(contexts)          /* contexts created */

/* bug=N: reintroduce one known bug pattern (0: none) */
enum flspu_bug {
	FLSPU_BUG_NONE,
	FLSPU_BUG_UNLOCKED_INSERT, /* 1: insert the PFN without holding the state lock */
	FLSPU_BUG_NO_UNMAP,        /* 2: switch without unmap_mapping_range() */
	FLSPU_BUG_NOPAGE_LOOP,     /* 3: VM_FAULT_NOPAGE without inserting: endless refaults */
	FLSPU_BUG_EARLY_PUT,       /* 4: drop the context reference while the mmap lock is off */
	/* 5: retake the mmap lock under the state mutex as spufs 6.1 does (an ABBA deadlock) */
	FLSPU_BUG_SPUFS_LOCK_ORDER,
	FLSPU_NR_BUGS,
};

#endif
