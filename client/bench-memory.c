/* The memory scenario: RSS and PSS of the CRI server and of its helper
 * processes (monitors, shims) idle, with N running containers, and after
 * churn, read from /proc/PID/smaps_rollup. */
#include "client/bench.h"
#include "util/error.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean bench_smaps_parse(const char *text, guint64 *rss_kib, guint64 *pss_kib)
{
	gboolean rss = FALSE, pss = FALSE;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "Rss:")) {
			*rss_kib = g_ascii_strtoull(*l + 4, NULL, 10);
			rss = TRUE;
		} else if (g_str_has_prefix(*l, "Pss:")) {
			*pss_kib = g_ascii_strtoull(*l + 4, NULL, 10);
			pss = TRUE;
		}
	}
	return rss && pss;
}

gboolean bench_cpu_parse(const char *stat_text, guint64 *busy, guint64 *total)
{
	/* "cpu  user nice system idle iowait irq softirq steal ..." */
	if (!g_str_has_prefix(stat_text, "cpu "))
		return FALSE;
	const char *p = stat_text + 4;
	guint64 v[8];
	for (int i = 0; i < 8; i++) {
		char *end = NULL;
		while (*p == ' ')
			p++;
		if (!g_ascii_isdigit(*p))
			return FALSE;
		v[i] = g_ascii_strtoull(p, &end, 10);
		p = end;
	}
	guint64 idle = v[3] + v[4];
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*total = *busy + idle;
	return TRUE;
}

static gboolean cpu_now(guint64 *busy, guint64 *total)
{
	g_autofree char *text = NULL;
	return g_file_get_contents("/proc/stat", &text, NULL, NULL) &&
	       bench_cpu_parse(text, busy, total);
}

static double wait_idle(guint max_s)
{
	gint64 start = g_get_monotonic_time();
	guint64 b0, t0;
	if (!cpu_now(&b0, &t0))
		return -1;
	/* Each half-second window starts where the last one ended. */
	for (guint i = 0; i < max_s * 2 && !bench_interrupted; i++) {
		guint64 b1, t1;
		g_usleep(500000);
		if (!cpu_now(&b1, &t1))
			return -1;
		if (t1 > t0 && (b1 - b0) * 10 <= t1 - t0)
			return (g_get_monotonic_time() - start) / 1e6;
		b0 = b1;
		t0 = t1;
	}
	return -1;
}

void bench_settle(const char *what, guint max_s)
{
	double s = wait_idle(max_s);
	if (s < 0)
		fprintf(stderr,
			"bench: %s: the CPUs are still busy after %u s; "
			"measuring anyway\n",
			what, max_s);
	else
		fprintf(stderr, "bench: %s: CPUs idle after %.1f s\n", what, s);
}

static gboolean proc_mem(int pid, guint64 *rss, guint64 *pss)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", pid);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	return bench_smaps_parse(text, rss, pss);
}

/* The server's pid from the socket's peer credentials. */
static int server_pid(Bench *b)
{
	if (b->o.server_pid > 0)
		return b->o.server_pid;
	const char *path = ctl_channel_socket_path(b->ctx->ch);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return 0;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct ucred cred = {0};
	socklen_t len = sizeof cred;
	int pid = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	close(fd);
	return pid;
}

static gboolean is_helper(Bench *b, const char *pid, const char *exe_real)
{
	if (exe_real != NULL) {
		g_autofree char *link = g_strdup_printf("/proc/%s/exe", pid);
		g_autofree char *exe = g_file_read_link(link, NULL);
		if (exe == NULL || strcmp(exe, exe_real) != 0)
			return FALSE;
	}
	if (b->o.helper_match != NULL) {
		g_autofree char *path =
			g_strdup_printf("/proc/%s/cmdline", pid);
		g_autofree char *cmd = NULL;
		gsize len = 0;
		if (!g_file_get_contents(path, &cmd, &len, NULL))
			return FALSE;
		for (gsize i = 0; i + 1 < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		if (strstr(cmd, b->o.helper_match) == NULL)
			return FALSE;
	}
	return TRUE;
}

static void helpers_mem(Bench *b, int server, guint64 *rss, guint64 *pss,
			guint *n)
{
	*rss = *pss = 0;
	*n = 0;
	if (b->o.helper_exe == NULL && b->o.helper_match == NULL)
		return;
	g_autofree char *exe_real =
		b->o.helper_exe ? realpath(b->o.helper_exe, NULL) : NULL;
	if (b->o.helper_exe != NULL && exe_real == NULL)
		exe_real = g_strdup(b->o.helper_exe);
	DIR *d = opendir("/proc");
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!g_ascii_isdigit(e->d_name[0]) ||
		    atoi(e->d_name) == server || atoi(e->d_name) == getpid())
			continue;
		if (!is_helper(b, e->d_name, exe_real))
			continue;
		guint64 r = 0, p = 0;
		if (proc_mem(atoi(e->d_name), &r, &p)) {
			*rss += r;
			*pss += p;
			(*n)++;
		}
	}
	closedir(d);
}

static gboolean measure(Bench *b, const char *variant, GError **error)
{
	int pid = server_pid(b);
	guint64 rss = 0, pss = 0;
	if (pid <= 0 || !proc_mem(pid, &rss, &pss))
		return berth_throw(error, FAILED_PRECONDITION,
				   "memory: cannot read smaps_rollup of the "
				   "server (pid %d); pass --server-pid",
				   pid);
	guint64 hrss, hpss;
	guint n;
	helpers_mem(b, pid, &hrss, &hpss, &n);
	json_array_append_new(
		b->results,
		json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:i}", "scenario", "memory",
			  "variant", variant, "server_rss_kib", (json_int_t)rss,
			  "server_pss_kib", (json_int_t)pss, "helpers_rss_kib",
			  (json_int_t)hrss, "helpers_pss_kib", (json_int_t)hpss,
			  "helpers", (int)n));
	fprintf(stderr,
		"bench: memory %-14s server rss=%" G_GUINT64_FORMAT
		" pss=%" G_GUINT64_FORMAT
		" KiB, %u helpers rss=%" G_GUINT64_FORMAT
		" pss=%" G_GUINT64_FORMAT " KiB\n",
		variant, rss, pss, n, hrss, hpss);
	return TRUE;
}

typedef struct {
	BenchPod *pods;
	char **ctrs;
} Running;

static gboolean job_running(Bench *b, CtlStub *stub, guint i, gpointer data,
			    GError **error)
{
	Running *r = data;
	return bench_pod_with_ctr(b, stub, &r->pods[i], &r->ctrs[i], error);
}

gboolean bench_memory(Bench *b, GError **error)
{
	if (!measure(b, "idle", error))
		return FALSE;
	guint n = b->o.n ? b->o.n : 10;
	Running r = {.pods = g_new0(BenchPod, n),
		     .ctrs = g_new0(char *, n + 1)};
	g_autofree char *variant = g_strdup_printf("running-%u", n);
	gboolean ok = bench_parallel(b, 4, n, job_running, &r, NULL, error) &&
		      measure(b, variant, error);
	bench_pods_cleanup(b, r.pods, n);
	g_free(r.pods);
	g_strfreev(r.ctrs);
	if (!ok)
		return FALSE;
	CtlSamples s;
	ctl_samples_init(&s);
	guint k = b->o.clients ? b->o.clients : 8;
	ok = bench_churn_run(b, k, MAX(n, 40), &s, NULL, error);
	ctl_samples_clear(&s);
	/* Let exits and removals settle before reading. */
	g_usleep(G_USEC_PER_SEC / 2);
	return ok && measure(b, "after-churn", error);
}
