// SPDX-License-Identifier: GPL-2.0
/*
 * faultlab_provoke: kernel reports of the debug flavour's checkers that LKDTM cannot
 * provoke, for the oracle's recorded logs (tests/data/console/record_debug.py). No suite
 * loads it. Write a name to /sys/kernel/debug/faultlab_provoke:
 *
 *   lockdep  take two mutexes in both orders (one thread, so no deadlock: lockdep reports
 *            the circular dependency)
 *   kfence   read a kmalloc object after freeing it, once KFENCE guards one
 *   ptc      free a page that a user mapping (remap_pfn_range) still maps: page_table_check
 *            finds its map count nonzero when the page is freed (x86_64 only)
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

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

static int ptc_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct page *page = file->private_data;

	return remap_pfn_range(vma, vma->vm_start, page_to_pfn(page), PAGE_SIZE,
			       vma->vm_page_prot);
}

static const struct file_operations ptc_fops = {
	.owner = THIS_MODULE,
	.mmap = ptc_mmap,
};

static int provoke_ptc(void)
{
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long addr;
	struct file *file;

	if (!page)
		return -ENOMEM;
	file = anon_inode_getfile("faultlab_provoke", &ptc_fops, page, O_RDONLY);
	if (IS_ERR(file)) {
		__free_page(page);
		return PTR_ERR(file);
	}
	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	fput(file);
	if (IS_ERR_VALUE(addr)) {
		__free_page(page);
		return (int)addr;
	}
	pr_info("faultlab_provoke: freeing a page still mapped at %lx\n", addr);
	__free_page(page); /* the bug: the PTE at addr still maps it */
	return 0;
}

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
