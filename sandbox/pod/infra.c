/* Infra process lifecycle through the OCI runtime's run/delete. */
#include "sandbox/pod/infra.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/spawn.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

gboolean infra_rootfs_prepare(const char *dir, const char *pause_path,
			      GError **error)
{
	g_autofree char *pause = g_build_filename(dir, "pause", NULL);
	if (g_file_test(pause, G_FILE_TEST_IS_EXECUTABLE))
		return TRUE;
	const char *sub[] = {"proc", "dev", "sys", "etc"};
	for (gsize i = 0; i < G_N_ELEMENTS(sub); i++) {
		g_autofree char *d = g_build_filename(dir, sub[i], NULL);
		if (!berth_mkdir_p(d, 0755, error))
			return FALSE;
	}
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!berth_read_file(pause_path, &data, &len, error))
		return FALSE;
	return berth_write_file_atomic(pause, data, len, 0755, error);
}

static json_t *ns_entry(const char *type, const char *path)
{
	json_t *o = json_pack("{s:s}", "type", type);
	if (path != NULL)
		json_object_set_new(o, "path", json_string(path));
	return o;
}

static char *infra_spec_json(const InfraSpec *s)
{
	json_t *ns = json_array();
	json_array_append_new(ns, ns_entry("pid", NULL));
	json_array_append_new(ns, ns_entry("mount", NULL));
	if (s->netns)
		json_array_append_new(ns, ns_entry("network", s->netns));
	if (s->ipcns)
		json_array_append_new(ns, ns_entry("ipc", s->ipcns));
	if (s->utsns)
		json_array_append_new(ns, ns_entry("uts", s->utsns));
	json_t *linux = json_pack(
		"{s:o, s:[s, s, s], s:[s, s]}", "namespaces", ns, "maskedPaths",
		"/proc/kcore", "/proc/keys", "/proc/timer_list",
		"readonlyPaths", "/proc/sys", "/proc/sysrq-trigger");
	if (s->userns)
		userns_spec_apply(linux, s->userns, s->userns_map);
	if (s->cgroup)
		json_object_set_new(linux, "cgroupsPath",
				    json_string(s->cgroup));
	json_t *spec = json_pack(
		"{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s], s:s, s:b,"
		" s:{s:[], s:[], s:[], s:[], s:[]}}, s:{s:s, s:b},"
		" s:[{s:s, s:s, s:s, s:[s, s, s]}], s:o}",
		"ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid",
		65535, "gid", 65535, "args", "/pause", "env", "PATH=/", "cwd",
		"/", "noNewPrivileges", 1, "capabilities", "bounding",
		"effective", "inheritable", "permitted", "ambient", "root",
		"path", s->rootfs, "readonly", 1, "mounts", "destination",
		"/proc", "type", "proc", "source", "proc", "options", "nosuid",
		"noexec", "nodev", "linux", linux);
	if (s->utsns && s->hostname)
		json_object_set_new(spec, "hostname", json_string(s->hostname));
	/* In a user namespace the runtime cannot write the shared rootfs's
	 * root-owned /dev: it gets a tmpfs of its own there. */
	if (s->userns)
		json_array_append_new(
			json_object_get(spec, "mounts"),
			json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination",
				  "/dev", "type", "tmpfs", "source", "tmpfs",
				  "options", "nosuid", "noexec", "mode=755"));
	char *text = json_dumps(spec, JSON_INDENT(1));
	json_decref(spec);
	return text;
}

gboolean infra_start(const OciRuntime *rt, const InfraSpec *s, int *pid,
		     GError **error)
{
	if (!berth_mkdir_p(s->bundle, 0700, error))
		return FALSE;
	g_autofree char *config =
		g_build_filename(s->bundle, "config.json", NULL);
	g_autofree char *pidfile = g_build_filename(s->bundle, "pid", NULL);
	g_autofree char *log = g_build_filename(s->bundle, "runtime.log", NULL);
	g_autofree char *out = g_build_filename(s->bundle, "runtime.out", NULL);
	g_autofree char *spec = infra_spec_json(s);
	if (!berth_replace_file(config, spec, strlen(spec), 0600, error))
		return FALSE;
	/* One runtime process, not `create` and then `start`. */
	const char *run[] = {"run",	   "--detach", "--bundle", s->bundle,
			     "--pid-file", pidfile,    s->id,	   NULL};
	g_autofree char *text = NULL;
	if (!oci_runtime_run_in(rt, s->systemd, log, run, out, error) ||
	    !berth_read_file(pidfile, &text, NULL, error)) {
		g_prefix_error(error, "start the infra process: ");
		infra_stop(rt, s->id, s->systemd, 0, NULL, NULL);
		return FALSE;
	}
	*pid = atoi(text);
	return TRUE;
}

/* Whether pid is still the pod's infra process and not another that got
 * its number: PID 1 of a PID namespace of its own (NSpid ends in 1),
 * running /pause, in the pod's network namespace when it has one. */
static gboolean is_infra(int pid, const char *netns)
{
	if (pid <= 1)
		return FALSE;
	g_autofree char *status_path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree char *cmdline_path =
		g_strdup_printf("/proc/%d/cmdline", pid);
	g_autofree char *status = NULL, *cmdline = NULL;
	gsize len = 0;
	if (!g_file_get_contents(status_path, &status, NULL, NULL) ||
	    !g_file_get_contents(cmdline_path, &cmdline, &len, NULL) ||
	    len < sizeof "/pause" || memcmp(cmdline, "/pause", sizeof "/pause"))
		return FALSE;
	const char *ns = strstr(status, "\nNSpid:");
	const char *end = ns ? strchr(ns + 1, '\n') : NULL;
	if (end == NULL || end - ns < 3 || end[-1] != '1' ||
	    (end[-2] != '\t' && end[-2] != ' '))
		return FALSE;
	if (netns == NULL)
		return TRUE;
	g_autofree char *own = g_strdup_printf("/proc/%d/ns/net", pid);
	struct stat a, b;
	return stat(own, &a) == 0 && stat(netns, &b) == 0 &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* SIGKILL through a pidfd and wait for the exit (its pidfd turns
 * readable), so that `runtime delete` finds a stopped container: runc's
 * `delete --force` of a running one sleeps 100 ms before it looks again. */
static void kill_infra(const OciRuntime *rt, int pid, const char *netns)
{
	autofd pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 || !is_infra(pid, netns))
		return;
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0)
		return;
	struct pollfd p = {pidfd, POLLIN, 0};
	int wait_ms = (int)MIN(rt->timeout_ms, (guint)G_MAXINT);
	while (poll(&p, 1, wait_ms) < 0 && errno == EINTR)
		;
}

gboolean infra_stop(const OciRuntime *rt, const char *id, gboolean systemd,
		    int pid, const char *netns, GError **error)
{
	if (pid > 0)
		kill_infra(rt, pid, netns);
	const char *del[] = {"delete", "--force", id, NULL};
	g_autoptr(GError) local = NULL;
	if (oci_runtime_run_in(rt, systemd, NULL, del, NULL, &local))
		return TRUE;
	if (oci_runtime_gone(local))
		return TRUE; /* already gone is success */
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

gboolean infra_running(const OciRuntime *rt, const char *id)
{
	const char *argv[] = {rt->path, "--root", rt->root, "state", id, NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = rt->timeout_ms};
	SpawnResult r;
	if (!spawn_sync(&o, &r, NULL))
		return FALSE;
	gboolean running = FALSE;
	if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) {
		json_t *j = json_loads(r.out->str, 0, NULL);
		const char *st =
			json_string_value(json_object_get(j, "status"));
		running = st && strcmp(st, "running") == 0;
		json_decref(j);
	}
	spawn_result_clear(&r);
	return running;
}
