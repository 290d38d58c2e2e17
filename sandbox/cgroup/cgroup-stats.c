/* CPU, memory and pids usage of a cgroup, read from whichever hierarchy
 * holds each controller: v1 first, the unified tree for what v1 lacks. */
#include "sandbox/cgroup/cgroup-private.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static gboolean read_u64(const char *dir, const char *file, guint64 *out)
{
	g_autofree char *text = cgroup_read(dir, file, NULL);
	if (text == NULL || !g_ascii_isdigit(*text))
		return FALSE;
	*out = g_ascii_strtoull(text, NULL, 10);
	return TRUE;
}

/* Find "key <n>" in a flat-keyed file such as memory.stat. */
static gboolean kv_find(const char *text, const char *key, guint64 *out)
{
	gsize klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*out = g_ascii_strtoull(line + klen + 1, NULL, 10);
			return TRUE;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return FALSE;
}

/* The value of key, 0 when absent. */
static guint64 kv_get(const char *text, const char *key)
{
	guint64 v = 0;
	kv_find(text, key, &v);
	return v;
}

static void v1_cpu(const char *dir, CgroupStats *out)
{
	out->has_cpu = read_u64(dir, "cpuacct.usage", &out->cpu_usage_ns);
}

static void v2_cpu(const char *dir, CgroupStats *out)
{
	g_autofree char *stat = cgroup_read(dir, "cpu.stat", NULL);
	guint64 usec = 0;
	if (stat == NULL || !kv_find(stat, "usage_usec", &usec))
		return;
	out->cpu_usage_ns = usec * 1000;
	out->has_cpu = TRUE;
}

static void set_working_set(CgroupStats *out, guint64 inactive_file)
{
	out->memory_working_set = out->memory_usage > inactive_file
					  ? out->memory_usage - inactive_file
					  : 0;
}

static void v1_memory(const char *dir, CgroupStats *out)
{
	g_autofree char *stat = cgroup_read(dir, "memory.stat", NULL);
	if (stat == NULL ||
	    !read_u64(dir, "memory.usage_in_bytes", &out->memory_usage))
		return;
	set_working_set(out, kv_get(stat, "total_inactive_file"));
	out->memory_rss = kv_get(stat, "total_rss");
	out->memory_page_faults = kv_get(stat, "total_pgfault");
	out->memory_major_page_faults = kv_get(stat, "total_pgmajfault");
	out->has_memory = TRUE;
}

static void v2_memory(const char *dir, CgroupStats *out)
{
	g_autofree char *stat = cgroup_read(dir, "memory.stat", NULL);
	if (stat == NULL ||
	    !read_u64(dir, "memory.current", &out->memory_usage))
		return;
	set_working_set(out, kv_get(stat, "inactive_file"));
	out->memory_rss = kv_get(stat, "anon");
	out->memory_page_faults = kv_get(stat, "pgfault");
	out->memory_major_page_faults = kv_get(stat, "pgmajfault");
	out->has_memory = TRUE;
}

static void pids(const char *dir, CgroupStats *out)
{
	out->has_pids = read_u64(dir, "pids.current", &out->pids);
}

void cgroup_stats_from(const CgroupHierarchy *h, const char *dir,
		       CgroupStats *out)
{
	if (!h->v2) {
		if (!out->has_cpu && cgroup_hierarchy_has(h, "cpuacct"))
			v1_cpu(dir, out);
		if (!out->has_memory && cgroup_hierarchy_has(h, "memory"))
			v1_memory(dir, out);
		if (!out->has_pids && cgroup_hierarchy_has(h, "pids"))
			pids(dir, out);
		return;
	}
	/* cpu.stat usage is kept by the cgroup core even without the cpu
	 * controller; memory and pids files exist only when enabled. */
	if (!out->has_cpu)
		v2_cpu(dir, out);
	if (!out->has_memory)
		v2_memory(dir, out);
	if (!out->has_pids)
		pids(dir, out);
}

static gboolean is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

gboolean cgroup_stats(const char *relative_path, CgroupStats *out,
		      GError **error)
{
	memset(out, 0, sizeof *out);
	if (!cgroup_check_path(relative_path, TRUE, error))
		return FALSE;
	const GPtrArray *hs = cgroup_hierarchies();
	gboolean found = FALSE;
	/* v1 hierarchies come first in the list, so they win. */
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		g_autofree char *dir = cgroup_hierarchy_dir(h, relative_path);
		if (dir == NULL || !is_dir(dir))
			continue;
		found = TRUE;
		cgroup_stats_from(h, dir, out);
	}
	if (!found)
		return berth_throw(error, NOT_FOUND, "cgroup %s does not exist",
				   relative_path);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	out->timestamp_ns =
		(gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
	return TRUE;
}
