/* Process-wide malloc settings for the long-running gRPC processes. */
#pragma once

/* Fixed mmap and trim thresholds instead of glibc's sliding ones: a
 * reply of a few hundred KiB (ListContainers at 1,000) no longer hands
 * its pages back to the kernel after every call only to fault them in
 * again on the next one. At most BERTH_MALLOC_TRIM of free memory stays
 * at the top of each malloc arena; blocks from BERTH_MALLOC_MMAP up are
 * mapped and unmapped on their own. Call once, first thing in main. */
#define BERTH_MALLOC_MMAP (4u << 20)
#define BERTH_MALLOC_TRIM (8u << 20)

void berth_malloc_tune(void);
