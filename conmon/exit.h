/* The container's end: OOM kills counted from its memory cgroup, and the
 * exit file berthd watches for (see conmon/protocol.h). */
#pragma once

#include "conmon/monitor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The "oom_kill N" counter of a v1 memory.oom_control or a v2
 * memory.events text; -1 when absent. */
int64_t conmon_oom_parse(const char *text);

/* The file holding the OOM kill counter for the container: in --cgroup
 * if given, else in the memory cgroup /proc/<pid>/cgroup names. Writes
 * it to out; -1 when none is found. cgroup_text is /proc/<pid>/cgroup,
 * sysfs the cgroup mount root (/sys/fs/cgroup; tests pass their own). */
int conmon_oom_file(const char *cgroup_dir, const char *cgroup_text,
		    const char *sysfs, char *out, size_t cap);

/* Find the counter file and read the count before the container runs. */
void conmon_oom_setup(Conmon *c);
/* Read the counter now, keeping the highest seen (the container was just
 * reaped); conmon_oom_event does it on an inotify event of the file. */
void conmon_oom_update(Conmon *c);
void conmon_oom_event(Conmon *c);
/* Whether the counter went up since conmon_oom_setup. */
bool conmon_oom_killed(const Conmon *c);

/* The exit file's JSON for a waitpid status. */
size_t conmon_exit_format(int wait_status, bool oom_killed, int64_t finished_at,
			  char *out, size_t cap);

/* Write <exit-dir>/<id> atomically; 0 or -errno. */
int conmon_exit_write(Conmon *c);
