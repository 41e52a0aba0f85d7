// SPDX-License-Identifier: GPL-2.0
/*
 * faultlab_spu: emulated Cell SPUs with spufs's mapping semantics, for the nopfn suite.
 *
 * QEMU has no Cell machine, so this module reproduces what arch/powerpc/platforms/cell/spufs
 * (Linux 6.1) does with its mappings, on ordinary pages:
 * - nr_spus "hardware" SPUs, each a 256 KiB local store (LS) and a 128 KiB problem-state
 *   area (PS) in pages the module owns;
 * - contexts (an fd each, from an ioctl on /dev/faultlab_spu), each with a backing store (a
 *   saved LS and PS), loaded into an SPU and saved again by a switcher thread, which first
 *   unmaps the context's mappings and then copies LS and PS, all under the state mutex (as
 *   spu_bind_context() and spu_unbind_context() do);
 * - VM_IO | VM_PFNMAP mappings filled by vmf_insert_pfn() from fault handlers that follow
 *   spufs_mem_mmap_fault() (LS: the SPU's PFN when loaded, the backing store's when saved)
 *   and spufs_ps_fault() (PS: the SPU's PFN when loaded; when saved, drop the mmap lock, wait
 *   for a load and return VM_FAULT_NOPAGE so the access faults again).
 * The interface is in ../faultlab_spu.h. The `bug` parameter brings back one known bug
 * pattern (enum flspu_bug) so that the suite can prove it catches each.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "../faultlab_spu.h"

#define CTX_MAGIC 0x53505543u  /* "SPUC": a live context */
#define CTX_POISON 0x6b6b6b6bu /* a destroyed one (slab's POISON_FREE bytes) */
#define MAX_SPUS 16
#define GRAVE_MS 5000          /* destroyed contexts stay readable this long (see ctx_release) */
/*
 * Bug 1: between reading the state and inserting the PFN, sleep as a fault that waits for
 * memory would; the switcher then gets a real chance to run in the window.
 */
#define BUG1_SLEEP_US 100

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/* ---- parameters ---- */

static unsigned int nr_spus = 2;
module_param(nr_spus, uint, 0444);
MODULE_PARM_DESC(nr_spus, "number of emulated SPUs (1-16, default 2)");

static unsigned int switch_interval_us = 500;
static unsigned int bug;

static int set_bounded(const char *val, const struct kernel_param *kp, unsigned int max)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v > max)
		return -ERANGE;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int set_interval(const char *val, const struct kernel_param *kp)
{
	return set_bounded(val, kp, USEC_PER_SEC);
}

static int set_bug(const char *val, const struct kernel_param *kp)
{
	int ret = set_bounded(val, kp, FLSPU_NR_BUGS - 1);

	/* in the log, so that a failing run shows which pattern was on */
	if (!ret)
		pr_info("bug pattern %u\n", READ_ONCE(bug));
	return ret;
}

static const struct kernel_param_ops interval_ops = {
	.set = set_interval,
	.get = param_get_uint,
};

static const struct kernel_param_ops bug_ops = {
	.set = set_bug,
	.get = param_get_uint,
};

module_param_cb(switch_interval_us, &interval_ops, &switch_interval_us, 0644);
MODULE_PARM_DESC(switch_interval_us,
		 "time slice of the context switcher in microseconds (0: load on demand only)");
module_param_cb(bug, &bug_ops, &bug, 0644);
MODULE_PARM_DESC(bug, "known bug pattern to bring back: 0 none, 1-5 (enum flspu_bug)");

/* ---- counters ---- */

#define COUNTER_ENUM(name) C_##name,
enum { FLSPU_COUNTERS(COUNTER_ENUM) NR_COUNTERS };
#define COUNTER_NAME(name) #name,
static const char *const counter_names[] = { FLSPU_COUNTERS(COUNTER_NAME) };

static atomic64_t counters[NR_COUNTERS];

static inline void count(int c)
{
	atomic64_inc(&counters[c]);
}

/* ---- SPUs and contexts ---- */

struct flspu_ctx;

struct flspu_spu {
	unsigned int id;
	struct page *ls, *ps;  /* the "hardware": FLSPU_LS_SIZE and FLSPU_PS_SIZE bytes */
	struct flspu_ctx *ctx; /* loaded context or NULL, under sched_lock */
};

struct flspu_ctx {
	u32 magic;
	struct kref kref;
	u64 id;
	/* state_mutex protects loaded, spu and the contents of LS/PS (spufs's state_mutex) */
	struct mutex state_mutex;
	bool loaded;
	struct flspu_spu *spu;
	void *ls_backing, *ps_backing;
	wait_queue_head_t run_wq;  /* woken when loaded (and when destroyed) */
	atomic_t waiters;          /* problem-state faults waiting for a load */
	/*
	 * The address space of the context's file, on which its areas are mapped at distinct
	 * offsets: a mapping of its own (not the shared anon inode's), so that a switch unmaps
	 * this context's PTEs only.
	 */
	struct address_space mapping;
	/* under sched_lock */
	struct list_head list;     /* ctx_list, or the graveyard once destroyed */
	bool held;                 /* FLSPU_IOC_HOLD: keep saved */
	u64 loads, saves;
	unsigned long dead_since;  /* jiffies, in the graveyard */
};

static struct flspu_spu spus[MAX_SPUS];
static DEFINE_MUTEX(sched_lock); /* ctx_list, spus[].ctx, ctx->held/list, victim */
static LIST_HEAD(ctx_list);     /* live contexts, least recently loaded first */
static LIST_HEAD(graveyard);    /* destroyed contexts, freed after GRAVE_MS */
static unsigned int victim;     /* round-robin SPU to evict */
static atomic64_t next_ctx_id;
static struct task_struct *switcher;
static struct dentry *debugfs_dir;

/*
 * Page by page with copy_page(): memcpy() may use "rep movsb", which QEMU's TCG runs one
 * byte per iteration, and the switch rate is what the suite depends on.
 */
static void copy_area(void *to, void *from, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += PAGE_SIZE)
		copy_page(to + off, from + off);
}

static void ctx_unmap(struct flspu_ctx *ctx)
{
	if (READ_ONCE(bug) != FLSPU_BUG_NO_UNMAP)
		unmap_mapping_range(&ctx->mapping, 0, 0, 1);
}

/* Save a loaded context into its backing store and free its SPU. Under sched_lock. */
static void ctx_save(struct flspu_ctx *ctx, bool copy)
{
	struct flspu_spu *spu = ctx->spu;
	ktime_t t0 = ktime_get();

	mutex_lock(&ctx->state_mutex);
	/* no PTE may reach the SPU once it is handed to another context */
	ctx_unmap(ctx);
	if (copy) {
		copy_area(ctx->ls_backing, page_address(spu->ls), FLSPU_LS_SIZE);
		copy_area(ctx->ps_backing, page_address(spu->ps), FLSPU_PS_SIZE);
	}
	WRITE_ONCE(ctx->spu, NULL);
	WRITE_ONCE(ctx->loaded, false);
	spu->ctx = NULL;
	ctx->saves++;
	mutex_unlock(&ctx->state_mutex);
	count(C_switches);
	atomic64_add(ktime_us_delta(ktime_get(), t0), &counters[C_switch_us]);
}

/* Load a saved context into a free SPU and wake its waiters. Under sched_lock. */
static void ctx_load(struct flspu_ctx *ctx, struct flspu_spu *spu)
{
	ktime_t t0 = ktime_get();

	mutex_lock(&ctx->state_mutex);
	/* LS PTEs to the backing store must go: from now on the SPU holds the data */
	ctx_unmap(ctx);
	copy_area(page_address(spu->ls), ctx->ls_backing, FLSPU_LS_SIZE);
	copy_area(page_address(spu->ps), ctx->ps_backing, FLSPU_PS_SIZE);
	spu->ctx = ctx;
	WRITE_ONCE(ctx->spu, spu);
	WRITE_ONCE(ctx->loaded, true);
	ctx->loads++;
	mutex_unlock(&ctx->state_mutex);
	wake_up_all(&ctx->run_wq);
	count(C_switches);
	atomic64_add(ktime_us_delta(ktime_get(), t0), &counters[C_switch_us]);
}

/*
 * One scheduling decision: load the first saved context that has waiters or, when time
 * slicing (slice), that simply is saved; into a free SPU, or one whose context is saved first.
 */
static void schedule_once(bool slice)
{
	struct flspu_ctx *ctx, *cand = NULL;
	struct flspu_spu *spu = NULL;
	unsigned int i;

	mutex_lock(&sched_lock);
	for (i = 0; i < nr_spus && !spu; i++)
		if (!spus[i].ctx)
			spu = &spus[i];
	list_for_each_entry(ctx, &ctx_list, list) {
		if (ctx->loaded || ctx->held)
			continue;
		if (atomic_read(&ctx->waiters)) {
			cand = ctx;
			break;
		}
		if (!cand && (slice || spu))
			cand = ctx;
	}
	if (cand) {
		if (!spu) {
			spu = &spus[victim++ % nr_spus];
			ctx_save(spu->ctx, true);
		}
		list_move_tail(&cand->list, &ctx_list); /* round-robin */
		ctx_load(cand, spu);
	}
	mutex_unlock(&sched_lock);
}

static void reap_graveyard(bool all)
{
	struct flspu_ctx *ctx, *tmp;

	mutex_lock(&sched_lock);
	list_for_each_entry_safe(ctx, tmp, &graveyard, list) {
		if (!all && time_before(jiffies, ctx->dead_since + msecs_to_jiffies(GRAVE_MS)))
			break;
		list_del(&ctx->list);
		kfree(ctx);
	}
	mutex_unlock(&sched_lock);
}

static int switcher_fn(void *unused)
{
	while (!kthread_should_stop()) {
		unsigned int us = READ_ONCE(switch_interval_us);

		schedule_once(us != 0);
		reap_graveyard(false);
		/* without time slicing, still look for waiters every millisecond */
		if (!us)
			us = 1000;
		usleep_range(us, us + us / 8);
	}
	return 0;
}

static void ctx_release(struct kref *kref)
{
	struct flspu_ctx *ctx = container_of(kref, struct flspu_ctx, kref);

	mutex_lock(&sched_lock);
	if (ctx->loaded)
		ctx_save(ctx, false);
	mutex_lock(&ctx->state_mutex);
	WRITE_ONCE(ctx->magic, CTX_POISON);
	mutex_unlock(&ctx->state_mutex);
	/*
	 * Only a fault that kept no reference (bug 4) can still sleep on run_wq: wake it to
	 * find the poison. The struct stays in the graveyard for GRAVE_MS, so that use after
	 * free is a WARNING on wake-up instead of silent corruption.
	 */
	wake_up_all(&ctx->run_wq);
	vfree(ctx->ls_backing);
	vfree(ctx->ps_backing);
	ctx->ls_backing = NULL;
	ctx->ps_backing = NULL;
	ctx->dead_since = jiffies;
	list_move_tail(&ctx->list, &graveyard);
	mutex_unlock(&sched_lock);
	module_put(THIS_MODULE); /* taken in ctx_create(): waiters may outlive the file */
}

static void ctx_get(struct flspu_ctx *ctx)
{
	kref_get(&ctx->kref);
}

static void ctx_put(struct flspu_ctx *ctx)
{
	kref_put(&ctx->kref, ctx_release);
}

/* ---- faults ---- */

/* The area of a mapping (set at mmap) and the byte offset of a fault inside it. */
static unsigned int vma_area(struct vm_area_struct *vma)
{
	return (unsigned long)vma->vm_private_data;
}

static unsigned long fault_offset(struct vm_fault *vmf)
{
	return (vmf->pgoff << PAGE_SHIFT) - FLSPU_AREA_OFFSET(vma_area(vmf->vma));
}

static unsigned long ls_pfn(struct flspu_ctx *ctx, struct flspu_spu *spu, unsigned long offset)
{
	if (spu) {
		count(C_inserts_hw);
		return page_to_pfn(spu->ls) + (offset >> PAGE_SHIFT);
	}
	count(C_inserts_backing);
	return vmalloc_to_pfn(ctx->ls_backing + offset);
}

/* spufs_mem_mmap_fault(): the local store, wherever it is now. */
static vm_fault_t mem_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct flspu_ctx *ctx = vma->vm_file->private_data;
	unsigned long offset = fault_offset(vmf);
	vm_fault_t ret;

	count(C_faults);
	if (offset >= FLSPU_LS_SIZE) {
		count(C_sigbus);
		return VM_FAULT_SIGBUS;
	}
	if (READ_ONCE(bug) == FLSPU_BUG_UNLOCKED_INSERT) {
		unsigned long pfn = ls_pfn(ctx, READ_ONCE(ctx->spu), offset);

		usleep_range(BUG1_SLEEP_US, 2 * BUG1_SLEEP_US);
		return vmf_insert_pfn(vma, vmf->address, pfn);
	}
	if (mutex_lock_interruptible(&ctx->state_mutex)) {
		/* let the signal be delivered; the access faults again */
		count(C_interrupted_waits);
		count(C_refaults);
		return VM_FAULT_NOPAGE;
	}
	ret = vmf_insert_pfn(vma, vmf->address, ls_pfn(ctx, ctx->spu, offset));
	mutex_unlock(&ctx->state_mutex);
	return ret;
}

/*
 * spufs_wait(ctx->run_wq, loaded): called and returns 0 with state_mutex held; returns
 * -ERESTARTSYS with it dropped if a signal came. A destroyed context (bug 4) also ends it.
 */
static int wait_loaded(struct flspu_ctx *ctx)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&ctx->run_wq, &wait, TASK_INTERRUPTIBLE);
		if (ctx->loaded || READ_ONCE(ctx->magic) != CTX_MAGIC)
			break;
		mutex_unlock(&ctx->state_mutex);
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		schedule();
		ret = mutex_lock_interruptible(&ctx->state_mutex);
		if (ret)
			break;
	}
	finish_wait(&ctx->run_wq, &wait);
	return ret;
}

/* spufs_ps_fault(): a problem-state page; on a saved context wait for a load and refault. */
static vm_fault_t ps_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct flspu_ctx *ctx = vma->vm_file->private_data;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long offset = fault_offset(vmf), ps_off, size, pfn;
	unsigned int mode = READ_ONCE(bug);
	bool ref, locked, inserted = false;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct flspu_spu *spu;

	count(C_faults);
	flspu_area_geometry(vma_area(vma), PAGE_SIZE, &ps_off, &size);
	if (offset >= size) {
		count(C_sigbus);
		return VM_FAULT_SIGBUS;
	}
	if (fatal_signal_pending(current))
		return VM_FAULT_SIGBUS;

	if (mode == FLSPU_BUG_UNLOCKED_INSERT) {
		spu = READ_ONCE(ctx->spu);
		if (spu) {
			pfn = page_to_pfn(spu->ps) + ((ps_off + offset) >> PAGE_SHIFT);
			usleep_range(BUG1_SLEEP_US, 2 * BUG1_SLEEP_US);
			count(C_inserts_hw);
			return vmf_insert_pfn(vma, vmf->address, pfn);
		}
	}

	/*
	 * We drop the mmap lock below; then the mapping, and with it the file and its
	 * reference to the context, can go away while we sleep: hold a reference of our own.
	 * Bug 4 does without it (as if dropped once the mmap lock is off).
	 */
	ref = mode != FLSPU_BUG_EARLY_PUT;
	if (ref)
		ctx_get(ctx);
	if (mutex_lock_interruptible(&ctx->state_mutex)) {
		count(C_interrupted_waits);
		goto refault;
	}
	locked = true;
	if (!ctx->loaded) {
		/*
		 * Wait for a load without the mmap lock (munmap, mremap and other faults of this
		 * mm must not wait for the switcher); the VMA may be gone when we come back, so
		 * only refault. The fault is never called under a per-VMA lock here (6.4+): we
		 * have no ->map_pages, so vmf_can_call_fault() retries it under the mmap lock.
		 */
		atomic_inc(&ctx->waiters);
		count(C_waits);
		mmap_read_unlock(mm);
		locked = wait_loaded(ctx) == 0;
		atomic_dec(&ctx->waiters);
		WARN_ON_ONCE(READ_ONCE(ctx->magic) != CTX_MAGIC); /* freed while we slept */
		if (!locked)
			count(C_interrupted_waits);
		/*
		 * spufs 6.1 takes the mmap lock back with state_mutex still held: an ABBA with a
		 * fault that holds the mmap lock and waits for state_mutex, as soon as a writer
		 * (mmap, munmap, a new thread's stack) queues on the mmap lock between them, so
		 * readers stop getting in. This module lets go of state_mutex first; bug 5 keeps
		 * spufs's order.
		 */
		if (locked && mode != FLSPU_BUG_SPUFS_LOCK_ORDER) {
			mutex_unlock(&ctx->state_mutex);
			locked = false;
		}
		mmap_read_lock(mm);
	} else if (mode != FLSPU_BUG_NOPAGE_LOOP) {
		pfn = page_to_pfn(ctx->spu->ps) + ((ps_off + offset) >> PAGE_SHIFT);
		ret = vmf_insert_pfn(vma, vmf->address, pfn);
		inserted = true;
		count(C_inserts_hw);
	}
	if (locked)
		mutex_unlock(&ctx->state_mutex);
refault:
	if (ref)
		ctx_put(ctx);
	if (!inserted)
		count(C_refaults);
	return ret;
}

/* spufs_mem_mmap_access(): /proc/PID/mem and ptrace on the local store mapping. */
static int mem_access(struct vm_area_struct *vma, unsigned long addr, void *buf, int len,
		      int write)
{
	struct flspu_ctx *ctx = vma->vm_file->private_data;
	unsigned long offset = addr - vma->vm_start + (vma->vm_pgoff << PAGE_SHIFT) -
			       FLSPU_AREA_OFFSET(FLSPU_AREA_MEM);
	char *ls;

	count(C_accesses);
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EACCES;
	if (offset >= FLSPU_LS_SIZE)
		return -EFAULT;
	if (mutex_lock_interruptible(&ctx->state_mutex))
		return -EINTR;
	len = min_t(unsigned long, len, FLSPU_LS_SIZE - offset);
	ls = ctx->loaded ? page_address(ctx->spu->ls) : ctx->ls_backing;
	if (write)
		memcpy(ls + offset, buf, len);
	else
		memcpy(buf, ls + offset, len);
	mutex_unlock(&ctx->state_mutex);
	return len;
}

static const struct vm_operations_struct mem_vmops = {
	.fault = mem_fault,
	.access = mem_access,
};

static const struct vm_operations_struct ps_vmops = {
	.fault = ps_fault,
};

/* ---- the context file ---- */

static int ctx_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long ps_off, size;
	unsigned int area;

	if (vma->vm_pgoff >= (FLSPU_NR_AREAS * FLSPU_AREA_STRIDE) >> PAGE_SHIFT)
		return -EINVAL;
	area = (vma->vm_pgoff << PAGE_SHIFT) / FLSPU_AREA_STRIDE;
	/* spufs has no .mmap for these with 64K pages: do_mmap() fails with ENODEV first */
	if (flspu_area_geometry(area, PAGE_SIZE, &ps_off, &size))
		return -ENODEV;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	/*
	 * spufs maps the SPU uncached; our "hardware" is ordinary RAM, which must not get an
	 * uncached alias of the kernel's cached mapping, so vm_page_prot stays as it is.
	 */
	vma->vm_private_data = (void *)(unsigned long)area;
	vma->vm_ops = area == FLSPU_AREA_MEM ? &mem_vmops : &ps_vmops;
	return 0;
}

/*
 * The local store goes through a bounce buffer: copying to or from user memory with the
 * state mutex held would deadlock if that memory were a mapping of this very context.
 */
static ssize_t ctx_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	struct flspu_ctx *ctx = file->private_data;
	loff_t pos = *ppos;
	size_t left;
	char *bounce;

	if (pos < 0)
		return -EINVAL;
	if (pos >= FLSPU_LS_SIZE || !len)
		return 0;
	len = min_t(size_t, len, FLSPU_LS_SIZE - pos);
	bounce = kvmalloc(len, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	if (mutex_lock_interruptible(&ctx->state_mutex)) {
		kvfree(bounce);
		return -EINTR;
	}
	memcpy(bounce, (ctx->loaded ? page_address(ctx->spu->ls) : ctx->ls_backing) + pos, len);
	mutex_unlock(&ctx->state_mutex);
	left = copy_to_user(buf, bounce, len);
	kvfree(bounce);
	if (left == len)
		return -EFAULT;
	*ppos = pos + len - left;
	return len - left;
}

static ssize_t ctx_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	struct flspu_ctx *ctx = file->private_data;
	loff_t pos = *ppos;
	char *bounce;

	if (pos < 0)
		return -EINVAL;
	if (pos > FLSPU_LS_SIZE)
		return -EFBIG;
	len = min_t(size_t, len, FLSPU_LS_SIZE - pos);
	if (!len)
		return 0;
	bounce = memdup_user(buf, len);
	if (IS_ERR(bounce))
		return PTR_ERR(bounce);
	if (mutex_lock_interruptible(&ctx->state_mutex)) {
		kfree(bounce);
		return -EINTR;
	}
	memcpy((ctx->loaded ? page_address(ctx->spu->ls) : ctx->ls_backing) + pos, bounce, len);
	mutex_unlock(&ctx->state_mutex);
	kfree(bounce);
	*ppos = pos + len;
	return len;
}

static loff_t ctx_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, FLSPU_LS_SIZE);
}

static long ctx_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct flspu_ctx *ctx = file->private_data;
	struct flspu_info info = {};
	int hold;

	switch (cmd) {
	case FLSPU_IOC_HOLD:
		if (get_user(hold, (int __user *)arg))
			return -EFAULT;
		mutex_lock(&sched_lock);
		ctx->held = hold != 0;
		if (ctx->held && ctx->loaded)
			ctx_save(ctx, true); /* as spu_acquire_saved() */
		mutex_unlock(&sched_lock);
		return 0;
	case FLSPU_IOC_INFO:
		mutex_lock(&sched_lock);
		info.id = ctx->id;
		info.loaded = ctx->loaded;
		info.spu = ctx->loaded ? ctx->spu->id : 0;
		info.held = ctx->held;
		info.waiters = atomic_read(&ctx->waiters);
		info.loads = ctx->loads;
		info.saves = ctx->saves;
		mutex_unlock(&sched_lock);
		return copy_to_user((void __user *)arg, &info, sizeof(info)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static int ctx_file_release(struct inode *inode, struct file *file)
{
	struct flspu_ctx *ctx = file->private_data;

	/* the holder is gone: faults still waiting (they keep a reference) must progress */
	mutex_lock(&sched_lock);
	ctx->held = false;
	mutex_unlock(&sched_lock);
	ctx_put(ctx);
	return 0;
}

static const struct file_operations ctx_fops = {
	.owner = THIS_MODULE,
	.read = ctx_read,
	.write = ctx_write,
	.llseek = ctx_llseek,
	.mmap = ctx_mmap,
	.unlocked_ioctl = ctx_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = ctx_file_release,
};

static struct flspu_ctx *ctx_alloc(void)
{
	struct flspu_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return NULL;
	ctx->ls_backing = vmalloc_user(FLSPU_LS_SIZE); /* zeroed, page aligned */
	ctx->ps_backing = vzalloc(FLSPU_PS_SIZE);
	if (!ctx->ls_backing || !ctx->ps_backing) {
		vfree(ctx->ls_backing);
		vfree(ctx->ps_backing);
		kfree(ctx);
		return NULL;
	}
	ctx->magic = CTX_MAGIC;
	kref_init(&ctx->kref);
	ctx->id = atomic64_inc_return(&next_ctx_id);
	mutex_init(&ctx->state_mutex);
	init_waitqueue_head(&ctx->run_wq);
	atomic_set(&ctx->waiters, 0);
	address_space_init_once(&ctx->mapping);
	INIT_LIST_HEAD(&ctx->list);
	return ctx;
}

static int ctx_create(void)
{
	struct flspu_ctx *ctx = ctx_alloc();
	struct file *file;
	int fd;

	if (!ctx)
		return -ENOMEM;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto err_free;
	/* the file's reference is the initial one, dropped in ctx_file_release() */
	file = anon_inode_getfile("[faultlab_spu]", &ctx_fops, ctx, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto err_free;
	}
	ctx->mapping.host = file_inode(file);
	file->f_mapping = &ctx->mapping;
	/* pseudo files are not positional by default: read()/pread() of the local store */
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	__module_get(THIS_MODULE);
	mutex_lock(&sched_lock);
	list_add(&ctx->list, &ctx_list); /* at the head: the next to be loaded */
	mutex_unlock(&sched_lock);
	count(C_contexts);
	fd_install(fd, file);
	return fd;

err_free:
	vfree(ctx->ls_backing);
	vfree(ctx->ps_backing);
	kfree(ctx);
	return fd;
}

static long dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != FLSPU_IOC_CREATE)
		return -ENOTTY;
	if (arg)
		return -EINVAL;
	return ctx_create();
}

static const struct file_operations dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice flspu_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "faultlab_spu",
	.fops = &dev_fops,
	.mode = 0666,
};

/* ---- debugfs ---- */

static int counter_get(void *data, u64 *val)
{
	*val = atomic64_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(counter_fops, counter_get, NULL, "%llu\n");

static int counters_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < NR_COUNTERS; i++)
		seq_printf(m, "%s %lld\n", counter_names[i],
			   (long long)atomic64_read(&counters[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counters);

static int contexts_show(struct seq_file *m, void *unused)
{
	struct flspu_ctx *ctx;

	mutex_lock(&sched_lock);
	list_for_each_entry(ctx, &ctx_list, list)
		seq_printf(m, "%llu %s spu %d held %d waiters %d loads %llu saves %llu\n", ctx->id,
			   ctx->loaded ? "loaded" : "saved", ctx->loaded ? (int)ctx->spu->id : -1,
			   ctx->held, atomic_read(&ctx->waiters), ctx->loads, ctx->saves);
	mutex_unlock(&sched_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(contexts);

static ssize_t reset_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	int i;

	for (i = 0; i < NR_COUNTERS; i++)
		atomic64_set(&counters[i], 0);
	return len;
}

static const struct file_operations reset_fops = {
	.owner = THIS_MODULE,
	.write = reset_write,
	.llseek = noop_llseek,
};

static void debugfs_init(void)
{
	int i;

	debugfs_dir = debugfs_create_dir("faultlab_spu", NULL);
	for (i = 0; i < NR_COUNTERS; i++)
		debugfs_create_file_unsafe(counter_names[i], 0444, debugfs_dir, &counters[i],
					   &counter_fops);
	debugfs_create_file("counters", 0444, debugfs_dir, NULL, &counters_fops);
	debugfs_create_file("contexts", 0444, debugfs_dir, NULL, &contexts_fops);
	debugfs_create_file("reset", 0200, debugfs_dir, NULL, &reset_fops);
}

/* ---- module ---- */

static void free_spus(void)
{
	unsigned int i;

	for (i = 0; i < MAX_SPUS; i++) {
		if (spus[i].ls)
			__free_pages(spus[i].ls, get_order(FLSPU_LS_SIZE));
		if (spus[i].ps)
			__free_pages(spus[i].ps, get_order(FLSPU_PS_SIZE));
		spus[i].ls = NULL;
		spus[i].ps = NULL;
	}
}

static int __init flspu_init(void)
{
	unsigned int i;
	int ret;

	if (!nr_spus || nr_spus > MAX_SPUS) {
		pr_err("nr_spus=%u: must be 1-%d\n", nr_spus, MAX_SPUS);
		return -EINVAL;
	}
	for (i = 0; i < nr_spus; i++) {
		spus[i].id = i;
		spus[i].ls = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(FLSPU_LS_SIZE));
		spus[i].ps = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(FLSPU_PS_SIZE));
		if (!spus[i].ls || !spus[i].ps) {
			free_spus();
			return -ENOMEM;
		}
	}
	debugfs_init();
	ret = misc_register(&flspu_misc);
	if (ret)
		goto err;
	switcher = kthread_create(switcher_fn, NULL, "faultlab_spu");
	if (IS_ERR(switcher)) {
		ret = PTR_ERR(switcher);
		misc_deregister(&flspu_misc);
		goto err;
	}
	/*
	 * A time slice ends on time, as on hardware: as a normal task the switcher would wait
	 * behind every thread that keeps the CPUs busy faulting.
	 */
	sched_set_fifo_low(switcher);
	wake_up_process(switcher);
	pr_info("%u SPUs, %lu-byte pages, switch every %u us, bug pattern %u\n", nr_spus,
		PAGE_SIZE, switch_interval_us, bug);
	return 0;
err:
	debugfs_remove_recursive(debugfs_dir);
	free_spus();
	return ret;
}

static void __exit flspu_exit(void)
{
	/* every context held a module reference until it was destroyed: ctx_list is empty */
	misc_deregister(&flspu_misc);
	kthread_stop(switcher);
	reap_graveyard(true);
	debugfs_remove_recursive(debugfs_dir);
	free_spus();
}

module_init(flspu_init);
module_exit(flspu_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("faultlab");
MODULE_DESCRIPTION("faultlab: emulated Cell SPUs with spufs's nopfn mapping semantics");
