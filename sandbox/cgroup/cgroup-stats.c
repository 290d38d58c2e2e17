/* CPU, memory and pids usage of a cgroup, read from whichever hierarchy
 * holds each controller: v1 first, the unified tree for what v1 lacks. */
#include "sandbox/cgroup/cgroup-private.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Every file of a cgroup is read relative to its directory's fd: one path
 * component to look up instead of the whole path through cgroupfs, whose
 * lookups were most of a ListContainerStats call. The text is stripped;
 * NULL when unreadable. */
#define READ_AT_CHUNK 4096

static char *read_at(int dir, const char *file)
{
	autofd fd = openat(dir, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	gsize cap = READ_AT_CHUNK, len = 0;
	char *buf = g_malloc(cap);
	for (;;) {
		if (cap - len < 2) {
			cap *= 2;
			buf = g_realloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (gsize)n;
	}
	buf[len] = '\0';
	return g_strstrip(buf);
}

static gboolean read_u64(int dir, const char *file, guint64 *out)
{
	g_autofree char *text = read_at(dir, file);
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

/* memory.limit_in_bytes and the memsw files say "unlimited" with a huge
 * page-rounded number; anything from 2^62 up is taken as no limit. */
#define UNLIMITED_FROM (G_GUINT64_CONSTANT(1) << 62)

static guint64 limit_or_zero(guint64 v)
{
	return v >= UNLIMITED_FROM ? 0 : v;
}

/* A v2 limit file: "max" or a number; FALSE when unreadable. */
static gboolean read_max(int dir, const char *file, guint64 *out)
{
	g_autofree char *text = read_at(dir, file);
	if (text == NULL)
		return FALSE;
	*out = g_str_has_prefix(text, "max") ? 0
					     : g_ascii_strtoull(text, NULL, 10);
	return TRUE;
}

static void v1_cpu(int dir, CgroupStats *out)
{
	out->has_cpu = read_u64(dir, "cpuacct.usage", &out->cpu_usage_ns);
	g_autofree char *stat = read_at(dir, "cpuacct.stat");
	long hz = sysconf(_SC_CLK_TCK);
	guint64 user, system;
	if (stat == NULL || hz <= 0 || !kv_find(stat, "user", &user) ||
	    !kv_find(stat, "system", &system))
		return;
	out->cpu_user_ns = user * (G_GUINT64_CONSTANT(1000000000) / hz);
	out->cpu_system_ns = system * (G_GUINT64_CONSTANT(1000000000) / hz);
	out->has_cpu_split = TRUE;
}

/* CFS bandwidth figures of cpu.stat; throttled_key and its unit differ
 * (v1: throttled_time in ns; v2: throttled_usec). */
static void cfs(const char *stat, const char *throttled_key, guint64 unit,
		CgroupStats *out)
{
	guint64 t;
	if (out->has_cfs || stat == NULL ||
	    !kv_find(stat, "nr_periods", &out->cfs_periods) ||
	    !kv_find(stat, "nr_throttled", &out->cfs_throttled_periods) ||
	    !kv_find(stat, throttled_key, &t))
		return;
	out->cfs_throttled_ns = t * unit;
	out->has_cfs = TRUE;
}

/* cpu.shares, cfs quota (-1: none) and period. */
static void v1_cpu_spec(int dir, CgroupStats *out)
{
	g_autofree char *stat = read_at(dir, "cpu.stat");
	cfs(stat, "throttled_time", 1, out);
	g_autofree char *quota = read_at(dir, "cpu.cfs_quota_us");
	if (quota == NULL || !read_u64(dir, "cpu.shares", &out->cpu_shares) ||
	    !read_u64(dir, "cpu.cfs_period_us", &out->cpu_period_us))
		return;
	gint64 q = g_ascii_strtoll(quota, NULL, 10);
	out->cpu_quota_us = q > 0 ? (guint64)q : 0;
	out->has_cpu_spec = TRUE;
}

static void v2_cpu(int dir, CgroupStats *out)
{
	g_autofree char *stat = read_at(dir, "cpu.stat");
	guint64 usec = 0;
	if (stat == NULL || !kv_find(stat, "usage_usec", &usec))
		return;
	out->cpu_usage_ns = usec * 1000;
	out->has_cpu = TRUE;
	guint64 user, system;
	if (!out->has_cpu_split && kv_find(stat, "user_usec", &user) &&
	    kv_find(stat, "system_usec", &system)) {
		out->cpu_user_ns = user * 1000;
		out->cpu_system_ns = system * 1000;
		out->has_cpu_split = TRUE;
	}
	cfs(stat, "throttled_usec", 1000, out);
}

/* cpu.weight back to shares (the inverse of cgroup_shares_to_weight),
 * and cpu.max "<quota|max> <period>". */
static void v2_cpu_spec(int dir, CgroupStats *out)
{
	guint64 weight;
	g_autofree char *max = read_at(dir, "cpu.max");
	if (max == NULL || !read_u64(dir, "cpu.weight", &weight))
		return;
	out->cpu_shares = 2 + ((MAX(weight, 1) - 1) * 262142) / 9999;
	char *period = strchr(max, ' ');
	out->cpu_period_us =
		period ? g_ascii_strtoull(period + 1, NULL, 10) : 100000;
	out->cpu_quota_us =
		g_ascii_isdigit(*max) ? g_ascii_strtoull(max, NULL, 10) : 0;
	out->has_cpu_spec = TRUE;
}

static void set_working_set(CgroupStats *out, guint64 inactive_file)
{
	out->memory_working_set = out->memory_usage > inactive_file
					  ? out->memory_usage - inactive_file
					  : 0;
}

/* Swap is memory+swap minus memory; present only with swap accounting. */
static void v1_swap(int dir, CgroupStats *out)
{
	guint64 memsw, memsw_limit;
	if (!read_u64(dir, "memory.memsw.usage_in_bytes", &memsw) ||
	    !read_u64(dir, "memory.memsw.limit_in_bytes", &memsw_limit))
		return;
	out->swap_usage =
		memsw > out->memory_usage ? memsw - out->memory_usage : 0;
	memsw_limit = limit_or_zero(memsw_limit);
	out->swap_limit = memsw_limit > out->memory_limit && out->memory_limit
				  ? memsw_limit - out->memory_limit
				  : 0;
	out->has_swap = TRUE;
}

static void v1_memory(int dir, CgroupStats *out)
{
	g_autofree char *stat = read_at(dir, "memory.stat");
	if (stat == NULL ||
	    !read_u64(dir, "memory.usage_in_bytes", &out->memory_usage))
		return;
	set_working_set(out, kv_get(stat, "total_inactive_file"));
	out->memory_rss = kv_get(stat, "total_rss");
	out->memory_cache = kv_get(stat, "total_cache");
	out->memory_mapped_file = kv_get(stat, "total_mapped_file");
	out->memory_page_faults = kv_get(stat, "total_pgfault");
	out->memory_major_page_faults = kv_get(stat, "total_pgmajfault");
	guint64 limit = 0;
	read_u64(dir, "memory.limit_in_bytes", &limit);
	out->memory_limit = limit_or_zero(limit);
	out->has_memory = TRUE;
	v1_swap(dir, out);
	g_autofree char *oom = read_at(dir, "memory.oom_control");
	out->has_oom_kills =
		oom != NULL && kv_find(oom, "oom_kill", &out->oom_kills);
}

static void v2_memory(int dir, CgroupStats *out)
{
	g_autofree char *stat = read_at(dir, "memory.stat");
	if (stat == NULL ||
	    !read_u64(dir, "memory.current", &out->memory_usage))
		return;
	set_working_set(out, kv_get(stat, "inactive_file"));
	out->memory_rss = kv_get(stat, "anon");
	out->memory_cache = kv_get(stat, "file");
	out->memory_mapped_file = kv_get(stat, "file_mapped");
	out->memory_page_faults = kv_get(stat, "pgfault");
	out->memory_major_page_faults = kv_get(stat, "pgmajfault");
	read_max(dir, "memory.max", &out->memory_limit);
	out->has_memory = TRUE;
	out->has_swap = read_u64(dir, "memory.swap.current", &out->swap_usage);
	if (out->has_swap)
		read_max(dir, "memory.swap.max", &out->swap_limit);
	g_autofree char *events = read_at(dir, "memory.events");
	out->has_oom_kills =
		events != NULL && kv_find(events, "oom_kill", &out->oom_kills);
}

static void v2_pressure(int dir, const char *file, CgroupPsi *out)
{
	g_autofree char *text = read_at(dir, file);
	if (out->present || text == NULL)
		return;
	cgroup_psi_parse(text, out);
}

static void pids(int dir, CgroupStats *out)
{
	out->has_pids = read_u64(dir, "pids.current", &out->pids);
}

static void processes(int dir, CgroupStats *out)
{
	g_autofree char *procs = read_at(dir, "cgroup.procs");
	if (procs == NULL)
		return;
	out->processes = 0;
	for (const char *p = procs; *p; p++)
		out->processes += *p == '\n';
	if (*procs != '\0')
		out->processes++; /* the read strips the last newline */
	out->has_processes = TRUE;
}

static void stats_from_fd(const CgroupHierarchy *h, int dir, CgroupStats *out)
{
	if (!out->has_processes)
		processes(dir, out);
	if (!h->v2) {
		if (!out->has_cpu && cgroup_hierarchy_has(h, "cpuacct"))
			v1_cpu(dir, out);
		if (!out->has_cpu_spec && cgroup_hierarchy_has(h, "cpu"))
			v1_cpu_spec(dir, out);
		if (!out->has_memory && cgroup_hierarchy_has(h, "memory"))
			v1_memory(dir, out);
		if (!out->has_pids && cgroup_hierarchy_has(h, "pids"))
			pids(dir, out);
		return;
	}
	/* cpu.stat usage and the pressure files are kept by the cgroup core
	 * even without the controllers; the others exist only when enabled. */
	if (!out->has_cpu)
		v2_cpu(dir, out);
	if (!out->has_cpu_spec)
		v2_cpu_spec(dir, out);
	if (!out->has_memory)
		v2_memory(dir, out);
	if (!out->has_pids)
		pids(dir, out);
	v2_pressure(dir, "cpu.pressure", &out->psi_cpu);
	v2_pressure(dir, "memory.pressure", &out->psi_memory);
	v2_pressure(dir, "io.pressure", &out->psi_io);
}

void cgroup_stats_from(const CgroupHierarchy *h, const char *dir,
		       CgroupStats *out)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	stats_from_fd(h, fd, out);
	close(fd);
}

/* A v1 hierarchy with none of the controllers read here (blkio, devices,
 * freezer, the named systemd one, ...) is not visited at all. */
static gboolean has_stats(const CgroupHierarchy *h)
{
	return h->v2 || cgroup_hierarchy_has(h, "cpuacct") ||
	       cgroup_hierarchy_has(h, "cpu") ||
	       cgroup_hierarchy_has(h, "memory") ||
	       cgroup_hierarchy_has(h, "pids");
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
		if (!has_stats(h))
			continue;
		g_autofree char *dir = cgroup_hierarchy_dir(h, relative_path);
		int fd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (fd < 0)
			continue;
		found = TRUE;
		stats_from_fd(h, fd, out);
		close(fd);
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

static gboolean psi_probe(void)
{
	const GPtrArray *hs = cgroup_hierarchies();
	for (guint i = 0; i < hs->len; i++)
		if (((const CgroupHierarchy *)hs->pdata[i])->v2)
			return g_file_test("/proc/pressure/cpu",
					   G_FILE_TEST_EXISTS);
	return FALSE;
}

gboolean cgroup_has_psi(void)
{
	static gsize probed;
	static gboolean has;
	if (g_once_init_enter(&probed)) {
		has = psi_probe();
		g_once_init_leave(&probed, 1);
	}
	return has;
}
