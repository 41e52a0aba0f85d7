// SPDX-License-Identifier: GPL-2.0
/*
 * faultlab_provoke: kernel reports of the debug flavour's checkers that LKDTM cannot
 * provoke, for the oracle's recorded logs (tests/data/console/record_debug.py). No suite
 * loads it. Write a name to /sys/kernel/debug/faultlab_provoke:
 *
 *   lockdep  take two mutexes in both orders (one thread, so no deadlock: lockdep reports
 *            the circular dependency)
 *   kfence   read a kmalloc object after freeing it, once KFENCE guards one
 *   ptc      map an anonymous page writable at a second user address: page_table_check
 *            rejects the second writable mapping (x86_64: the arch that has it)
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>

static DEFINE_MUTEX(lock_a);
static DEFINE_MUTEX(lock_b);
static struct dentry *provoke_file;

static int provoke_lockdep(void)
{
	mutex_lock(&lock_a);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	mutex_unlock(&lock_a);

	mutex_lock(&lock_b);
	mutex_lock(&lock_a); /* b -> a after a -> b */
	mutex_unlock(&lock_a);
	mutex_unlock(&lock_b);
	return 0;
}

static int provoke_kfence(void)
{
	unsigned long deadline = jiffies + 30 * HZ;
	char *object;

	/* KFENCE takes one allocation every sample interval (100 ms): wait for one. */
	while (time_before(jiffies, deadline)) {
		object = kmalloc(64, GFP_KERNEL);
		if (!object)
			return -ENOMEM;
		if (is_kfence_address(object)) {
			kfree(object);
			pr_info("faultlab_provoke: reading a freed KFENCE object\n");
			(void)READ_ONCE(object[0]);
			return 0;
		}
		kfree(object);
		cond_resched();
	}
	return -ETIMEDOUT;
}

#ifdef CONFIG_PAGE_TABLE_CHECK
/* The PTE of a mapped user address (its page tables exist). */
static pte_t *pte_of(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;

	if (pgd_none(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud))
		return NULL;
	pmd = pmd_offset(pud, addr);
	if (pmd_none(*pmd) || pmd_trans_huge(*pmd))
		return NULL;
	return pte_offset_kernel(pmd, addr);
}

/*
 * Map the anonymous page of one private mapping writable at a second address too, through
 * set_pte_at() as the kernel's own code does: page_table_check counts a second writable
 * mapping of an anonymous page and BUGs before the PTE is written. No lock is held then,
 * so the task that dies cleans up; the page stays leaked (its check count is off by one).
 * The second address is the middle page of three whose page table a neighbour's fault
 * made, and its PTE is none: replacing a PTE would uncount the page it mapped.
 */
static int provoke_ptc(void)
{
	struct mm_struct *mm = current->mm;
	unsigned long a, b, target, neighbour;
	struct vm_area_struct *vma;
	struct page *page, *other;
	pte_t *ptep, pte;

	a = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	b = vm_mmap(NULL, 0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    0);
	if (IS_ERR_VALUE(a) || IS_ERR_VALUE(b))
		return -ENOMEM;
	target = b + PAGE_SIZE;
	/* the neighbour in the same page table: the next page if a PMD starts at target */
	neighbour = target & ~PMD_MASK ? b : b + 2 * PAGE_SIZE;
	if (get_user_pages_fast(a, 1, FOLL_WRITE, &page) != 1)
		return -EFAULT;
	if (get_user_pages_fast(neighbour, 1, FOLL_WRITE, &other) != 1)
		return -EFAULT;
	put_page(other);

	mmap_read_lock(mm);
	vma = find_vma(mm, target);
	ptep = pte_of(mm, target);
	if (!vma || !ptep || !pte_none(*ptep)) {
		mmap_read_unlock(mm);
		return -EFAULT;
	}
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	pte = pte_mkwrite(pte_mkdirty(mk_pte(page, vma->vm_page_prot)), vma);
#else
	pte = pte_mkwrite(pte_mkdirty(mk_pte(page, vma->vm_page_prot)));
#endif
	mmap_read_unlock(mm);
	pr_info("faultlab_provoke: mapping the anonymous page at %lx writable at %lx too\n", a,
		target);
	set_pte_at(mm, target, ptep, pte); /* the bug */
	return 0;
}
#else
static int provoke_ptc(void)
{
	return -EOPNOTSUPP; /* without page_table_check the second mapping would be real */
}
#endif

static ssize_t provoke_write(struct file *file, const char __user *buf, size_t len,
			     loff_t *pos)
{
	char what[16] = {};
	int ret = -EINVAL;

	if (len >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, buf, len))
		return -EFAULT;
	if (sysfs_streq(what, "lockdep"))
		ret = provoke_lockdep();
	else if (sysfs_streq(what, "kfence"))
		ret = provoke_kfence();
	else if (sysfs_streq(what, "ptc"))
		ret = provoke_ptc();
	return ret < 0 ? ret : len;
}

static const struct file_operations provoke_fops = {
	.owner = THIS_MODULE,
	.write = provoke_write,
};

static int __init provoke_init(void)
{
	provoke_file = debugfs_create_file("faultlab_provoke", 0200, NULL, NULL, &provoke_fops);
	return 0;
}

static void __exit provoke_exit(void)
{
	debugfs_remove(provoke_file);
}

module_init(provoke_init);
module_exit(provoke_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("faultlab: provoke lockdep, KFENCE and page_table_check reports");
