/* See malloc.h. Measured on 2 vCPUs, ListContainers at 1,000 containers:
 * with glibc's sliding thresholds berthd spent a quarter of the call in
 * sysmalloc and page faults, growing and trimming a thread arena per
 * call (p50 9-12 ms through berthctl); fixed ones take it to ~2 ms. */
#include "util/malloc.h"

#include <malloc.h>

void berth_malloc_tune(void)
{
	/* Setting either threshold also turns off glibc's dynamic
	 * adjustment of both. */
	mallopt(M_MMAP_THRESHOLD, (int)BERTH_MALLOC_MMAP);
	mallopt(M_TRIM_THRESHOLD, (int)BERTH_MALLOC_TRIM);
}
