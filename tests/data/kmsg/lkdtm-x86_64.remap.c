#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("/tmp/remap", O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 4 * pg))
		return 1;
	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	printf("remap_file_pages: %d\n", remap_file_pages(p, pg, 0, 2, 0));
	return 0;
}
