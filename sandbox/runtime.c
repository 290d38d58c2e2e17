/* Runtime probing: the one way to know a runtime works on a host (crun on
 * a hybrid cgroup host, say) is to run a container with it; what it can
 * do beyond that (rro mounts) comes from `<runtime> features` and the
 * kernel. */
#include "sandbox/runtime.h"
#include "sandbox/pod/userns.h"
#include "util/idmap.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/spawn.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 20000

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

static json_t *probe_spec_json(void)
{
	return json_pack(
		"{s:s, s:{s:b, s:{s:i, s:i}, s:[s, s], s:[s], s:s, s:b},"
		" s:{s:s, s:b}, s:s,"
		" s:[{s:s, s:s, s:s, s:[s, s, s]}, {s:s, s:s, s:s, s:[s, s]}],"
		" s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
		"ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid",
		0, "gid", 0, "args", "/pause", "--probe", "env", "PATH=/",
		"cwd", "/", "noNewPrivileges", 1, "root", "path", "rootfs",
		"readonly", 1, "hostname", "berth-probe", "mounts",
		"destination", "/proc", "type", "proc", "source", "proc",
		"options", "nosuid", "noexec", "nodev", "destination", "/dev",
		"type", "tmpfs", "source", "tmpfs", "options", "nosuid",
		"mode=755", "linux", "namespaces", "type", "pid", "type",
		"mount", "type", "ipc", "type", "uts", "type", "network");
}

static char *probe_spec(void)
{
	g_autoptr(json_t) spec = probe_spec_json();
	return json_dumps(spec, JSON_COMPACT);
}

/* path holds exactly data (len bytes), written anew only when it does not:
 * a restart on a full disk must not need a byte of it. */
static gboolean keep_file(const char *path, const char *data, gsize len,
			  mode_t mode, GError **error)
{
	g_autofree char *have = NULL;
	gsize have_len = 0;
	if (g_file_get_contents(path, &have, &have_len, NULL) &&
	    have_len == len && memcmp(have, data, len) == 0)
		return TRUE;
	return berth_replace_file(path, data, len, mode, error);
}

/* A probe rootfs: /pause (mode pause_mode), /proc and /dev (crun, unlike
 * runc, needs /dev to exist). */
static gboolean keep_rootfs(const char *rootfs, const char *pause_path,
			    mode_t pause_mode, GError **error)
{
	g_autofree char *pause = g_build_filename(rootfs, "pause", NULL);
	g_autofree char *proc = g_build_filename(rootfs, "proc", NULL);
	g_autofree char *dev = g_build_filename(rootfs, "dev", NULL);
	g_autofree char *data = NULL;
	gsize len = 0;
	return berth_mkdir_p(dev, 0755, error) &&
	       berth_mkdir_p(proc, 0755, error) &&
	       berth_read_file(pause_path, &data, &len, error) &&
	       keep_file(pause, data, len, pause_mode, error) &&
	       (chmod(pause, pause_mode) == 0 ||
		berth_throw_errno(error, errno, "chmod %s", pause));
}

/* The probe's bundle, the same for every probe and every start, so it is
 * kept under dir and only checked: berthd restarted on a full disk still
 * finds its runtimes working (it once judged them all broken). */
static gboolean keep_bundle(const char *dir, const char *pause_path,
			    GError **error)
{
	g_autofree char *rootfs = g_build_filename(dir, "rootfs", NULL);
	if (!keep_rootfs(rootfs, pause_path, 0755, error))
		return FALSE;
	g_autofree char *spec = probe_spec();
	g_autofree char *config = g_build_filename(dir, "config.json", NULL);
	return keep_file(config, spec, strlen(spec), 0644, error);
}

/* `runtime run` of the bundle in dir; *problem says why it failed. */
static gboolean probe_run(const char *path, const char *root, const char *dir,
			  char **problem)
{
	g_autofree char *id = g_strdup_printf("berth-probe-%d-%08x", getpid(),
					      g_random_int());
	g_autoptr(GError) error = NULL;
	const char *argv[] = {path,	  "--root", root, "run",
			      "--bundle", dir,	    id,	  NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = PROBE_TIMEOUT_MS};
	SpawnResult r;
	gboolean ok = spawn_sync(&o, &r, &error);
	if (!ok)
		*problem = g_strdup(error->message);
	else if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status))
		*problem = spawn_describe_failure(&o, &r);
	spawn_result_clear(&r);
	if (*problem != NULL) {
		/* A failed run may leave state behind: delete it. */
		const char *del[] = {path,	"--root", root, "delete",
				     "--force", id,	  NULL};
		SpawnOptions d = {.argv = del, .timeout_ms = PROBE_TIMEOUT_MS};
		if (spawn_sync(&d, &r, NULL))
			spawn_result_clear(&r);
	}
	return *problem == NULL;
}

gboolean oci_runtime_probe_one(const char *path, const char *root,
			       const char *pause_path, const char *workdir,
			       char **problem)
{
	*problem = NULL;
	if (access(path, X_OK) < 0) {
		*problem = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return FALSE;
	}
	g_autofree char *dir = g_build_filename(workdir, "bundle", NULL);
	g_autoptr(GError) error = NULL;
	if (!keep_bundle(dir, pause_path, &error)) {
		*problem = g_strdup_printf("cannot prepare probe bundle: %s",
					   error->message);
		return FALSE;
	}
	return probe_run(path, root, dir, problem);
}

/* --- user namespaces ------------------------------------------------------ */

/* Where the probe's user namespace maps its ids: high, so that no real
 * file or process on the host has them. */
static const UsernsMap probe_map = {
	.uid = {.container_id = 0, .host_id = 0x7ff00000, .length = 65536},
	.gid = {.container_id = 0, .host_id = 0x7ff00000, .length = 65536},
};

/* The probe's rootfs source: /pause only its owner may run (0700), so the
 * container runs it only when the idmapped mount shows it as owned by the
 * container's root. */
static gboolean keep_userns_bundle(const char *dir, const char *pause_path,
				   GError **error)
{
	g_autofree char *src = g_build_filename(dir, "rootfs-src", NULL);
	g_autofree char *rootfs = g_build_filename(dir, "rootfs", NULL);
	return keep_rootfs(src, pause_path, 0700, error) &&
	       berth_mkdir_p(rootfs, 0755, error);
}

static gboolean write_userns_spec(const char *dir, pid_t holder, GError **error)
{
	g_autoptr(json_t) spec = probe_spec_json();
	json_t *linux_ = json_object_get(spec, "linux");
	g_autofree char *ns = g_strdup_printf("/proc/%d/ns/user", (int)holder);
	userns_spec_apply(linux_, ns, &probe_map);
	g_autofree char *text = json_dumps(spec, JSON_COMPACT);
	g_autofree char *config = g_build_filename(dir, "config.json", NULL);
	return berth_replace_file(config, text, strlen(text), 0644, error);
}

/* Run the probe container in a user namespace of berth's making, its
 * rootfs an idmapped mount: what a pod with hostUsers: false needs. */
static gboolean probe_userns_run(OciRuntime *rt, const char *pause_path,
				 const char *workdir, char **why)
{
	g_autofree char *dir = g_build_filename(workdir, "userns", NULL);
	g_autofree char *src = g_build_filename(dir, "rootfs-src", NULL);
	g_autofree char *rootfs = g_build_filename(dir, "rootfs", NULL);
	g_autoptr(GError) error = NULL;
	/* berth_unmount_all: a copy left by a berthd killed here. */
	if (!berth_unmount_all(rootfs, &error) ||
	    !keep_userns_bundle(dir, pause_path, &error)) {
		*why = g_strdup_printf("cannot prepare the probe: %s",
				       error->message);
		return FALSE;
	}
	UsernsHolder h = {.pid = -1, .release_fd = -1};
	if (!userns_holder_start(&probe_map, 0, &h, &error)) {
		*why = g_strdup(error->message);
		return FALSE;
	}
	g_autofree char *ns = g_strdup_printf("/proc/%d/ns/user", (int)h.pid);
	int fd = userns_open(ns, &error);
	gboolean ok = fd >= 0 &&
		      idmap_mount(src, rootfs, fd, FALSE, TRUE, &error) &&
		      write_userns_spec(dir, h.pid, &error);
	if (fd >= 0)
		close(fd);
	if (!ok)
		*why = g_strdup(error->message);
	else
		ok = probe_run(rt->path, rt->root, dir, why);
	berth_unmount_all(rootfs, NULL);
	userns_holder_stop(&h);
	return ok;
}

static void probe_userns(OciRuntime *rt, gboolean kernel,
			 const char *pause_path, const char *workdir)
{
	g_autofree char *why = NULL;
	if (!rt->works)
		return;
	if (!kernel)
		why = g_strdup("the kernel has no mount_setattr(2) (Linux "
			       "5.12) for idmapped mounts");
	else
		rt->userns = probe_userns_run(rt, pause_path, workdir, &why);
	if (rt->userns)
		log_info("runtime %s: user namespaces with idmapped mounts "
			 "work",
			 rt->name);
	else
		log_info("runtime %s: no user namespaces: %s", rt->name, why);
	g_free(rt->userns_problem);
	rt->userns_problem = g_steal_pointer(&why);
}

/* Flags no kernel accepts: a kernel with the call answers EINVAL before
 * looking at the fd; one without answers ENOSYS (a seccomp filter that
 * hides it, EPERM or ENOSYS: also a no). */
gboolean oci_kernel_has_mount_setattr(void)
{
	long r = syscall(SYS_mount_setattr, -1, "", ~0U, NULL, (size_t)0);
	return r < 0 && errno == EINVAL;
}

static gboolean features_list_option(json_t *features, const char *opt)
{
	json_t *opts = json_object_get(features, "mountOptions");
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v)
	{
		if (g_strcmp0(json_string_value(v), opt) == 0)
			return TRUE;
	}
	return FALSE;
}

gboolean oci_runtime_has_mount_option(const char *path, const char *opt,
				      char **why)
{
	*why = NULL;
	const char *argv[] = {path, "features", NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = PROBE_TIMEOUT_MS};
	SpawnResult r;
	g_autoptr(GError) error = NULL;
	if (!spawn_sync(&o, &r, &error)) {
		*why = g_strdup(error->message);
		return FALSE;
	}
	gboolean ok = FALSE;
	if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
		g_autofree char *f = spawn_describe_failure(&o, &r);
		*why = g_strdup_printf("`%s features` failed (%s)", path, f);
	} else {
		json_error_t je;
		g_autoptr(json_t) doc =
			json_loadb(r.out->str, r.out->len, 0, &je);
		if (doc == NULL)
			*why = g_strdup_printf("`%s features` is not JSON: %s",
					       path, je.text);
		else if (!(ok = features_list_option(doc, opt)))
			*why = g_strdup_printf("`%s features` does not list "
					       "mount option %s",
					       path, opt);
	}
	spawn_result_clear(&r);
	return ok;
}

/* rro needs both the runtime and the kernel; the log says which lacks. */
static void probe_rro(OciRuntime *rt, gboolean kernel)
{
	g_autofree char *why = NULL;
	if (!rt->works)
		return;
	rt->rro = oci_runtime_has_mount_option(rt->path, "rro", &why);
	if (rt->rro && !kernel) {
		rt->rro = FALSE;
		why = g_strdup("the kernel has no mount_setattr(2) (Linux "
			       "5.12)");
	}
	if (rt->rro)
		log_info("runtime %s: recursive read-only mounts supported",
			 rt->name);
	else
		log_info("runtime %s: no recursive read-only mounts: %s",
			 rt->name, why);
}

static void runtime_free(gpointer p)
{
	OciRuntime *r = p;
	g_free(r->name);
	g_free(r->path);
	g_free(r->root);
	g_free(r->problem);
	g_free(r->userns_problem);
	g_free(r);
}

void oci_runtimes_free(OciRuntimes *r)
{
	if (r == NULL)
		return;
	g_ptr_array_unref(r->runtimes);
	g_free(r->default_why);
	g_free(r);
}

const OciRuntime *oci_runtimes_get(const OciRuntimes *r, const char *name)
{
	for (guint i = 0; i < r->runtimes->len; i++) {
		const OciRuntime *rt = g_ptr_array_index(r->runtimes, i);
		if (strcmp(rt->name, name) == 0)
			return rt;
	}
	return NULL;
}

static void choose_default(OciRuntimes *out, const BerthConfig *c)
{
	if (c->default_runtime[0] != '\0') {
		OciRuntime *rt =
			(OciRuntime *)oci_runtimes_get(out, c->default_runtime);
		out->default_runtime = rt;
		out->default_why = g_strdup_printf(
			"default runtime %s (configured)%s%s", rt->name,
			rt->works ? "" : " does not work: ",
			rt->works ? "" : rt->problem);
		return;
	}
	const OciRuntime *crun = oci_runtimes_get(out, "crun");
	const OciRuntime *runc = oci_runtimes_get(out, "runc");
	if (crun && crun->works) {
		out->default_runtime = (OciRuntime *)crun;
		out->default_why = g_strdup("default runtime crun: it runs "
					    "containers on this host");
	} else if (runc && runc->works) {
		out->default_runtime = (OciRuntime *)runc;
		out->default_why = g_strdup_printf(
			"default runtime runc: crun %s",
			crun ? crun->problem : "is not configured");
	} else {
		out->default_why = g_strdup_printf(
			"no default runtime: crun: %s; runc: %s",
			crun ? crun->problem : "not configured",
			runc ? runc->problem : "not configured");
	}
}

/* --- the probe cache -------------------------------------------------------
 * Every start of berthd ran every probe: a container per runtime and per
 * feature, 100-300 ms before CRI was served, on every restart (an upgrade,
 * a crash, systemd's Restart=). What the probes found for the runtimes that
 * work is kept in the runroot (a tmpfs that a reboot empties), keyed by
 * the boot, berth's build and the identity of the runtime's binary, so a
 * restart on the same boot with the same binaries probes nothing. A runtime
 * that did not work is probed again at every start: the operator may have
 * mended what stopped it. */

static char *probe_key(const OciRuntime *rt, const char *workdir)
{
	g_autofree char *boot = NULL;
	struct stat st;
	if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL,
				 NULL) ||
	    stat(rt->path, &st) < 0)
		return NULL;
	return g_strdup_printf(
		"%s %s|%s|%s|%s|%s|%ju:%ju:%jd:%jd.%09ld", BERTH_VERSION,
		BERTH_COMMIT, g_strstrip(boot), workdir, rt->path, rt->root,
		(uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
		(intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		(long)st.st_mtim.tv_nsec);
}

/* The cached findings for rt, when its key matches. */
static gboolean probe_cache_take(json_t *cache, OciRuntime *rt,
				 const char *workdir)
{
	json_t *e = json_object_get(cache, rt->name);
	g_autofree char *key = probe_key(rt, workdir);
	const char *problem =
		json_string_value(json_object_get(e, "userns_problem"));
	if (key == NULL || !json_is_object(e) ||
	    g_strcmp0(json_string_value(json_object_get(e, "key")), key) != 0)
		return FALSE;
	rt->works = TRUE;
	rt->rro = json_is_true(json_object_get(e, "rro"));
	rt->userns = json_is_true(json_object_get(e, "userns"));
	rt->userns_problem =
		rt->userns ? NULL : g_strdup(problem ? problem : "");
	log_info("runtime %s (%s) works; recursive read-only mounts %s, user "
		 "namespaces %s (probed earlier in this boot)",
		 rt->name, rt->path, rt->rro ? "supported" : "not supported",
		 rt->userns ? "work" : "do not work");
	return TRUE;
}

static void probe_cache_save(const char *path, const OciRuntimes *out,
			     const char *workdir)
{
	g_autoptr(json_t) cache = json_object();
	for (guint i = 0; i < out->runtimes->len; i++) {
		const OciRuntime *rt = g_ptr_array_index(out->runtimes, i);
		g_autofree char *key = probe_key(rt, workdir);
		if (!rt->works || key == NULL)
			continue;
		json_t *e = json_pack("{s:s, s:b, s:b}", "key", key, "rro",
				      rt->rro, "userns", rt->userns);
		if (rt->userns_problem != NULL)
			json_object_set_new(e, "userns_problem",
					    json_string(rt->userns_problem));
		json_object_set_new(cache, rt->name, e);
	}
	g_autofree char *text = json_dumps(cache, JSON_COMPACT);
	g_autoptr(GError) error = NULL;
	if (!berth_replace_file(path, text, strlen(text), 0600, &error))
		log_warn("runtime probe cache: %s", error->message);
}

OciRuntimes *oci_runtimes_probe(const BerthConfig *c, const char *pause_path,
				const char *workdir, const char *cache_path)
{
	OciRuntimes *out = g_new0(OciRuntimes, 1);
	out->runtimes = g_ptr_array_new_with_free_func(runtime_free);
	/* 0711: runc joins a user namespace before it mounts the rootfs,
	 * and the namespace's root must be able to reach it. */
	if (!berth_mkdir_p(workdir, 0711, NULL) || chmod(workdir, 0711) < 0)
		log_warn("cannot create %s", workdir);
	gboolean setattr = oci_kernel_has_mount_setattr();
	log_info("kernel mount_setattr(2): %s", setattr ? "present" : "absent");
	g_autoptr(json_t) cache =
		cache_path ? json_load_file(cache_path, 0, NULL) : NULL;
	gboolean probed = FALSE;
	for (guint i = 0; i < c->runtimes->len; i++) {
		const BerthRuntimeHandler *h =
			g_ptr_array_index(c->runtimes, i);
		OciRuntime *rt = g_new0(OciRuntime, 1);
		rt->name = g_strdup(h->name);
		rt->path = g_strdup(h->runtime_path);
		rt->root = berth_config_runtime_root(c, h);
		rt->timeout_ms = (guint)c->runtime_timeout * 1000;
		g_ptr_array_add(out->runtimes, rt);
		if (probe_cache_take(cache, rt, workdir))
			continue;
		probed = TRUE;
		rt->works = oci_runtime_probe_one(
			rt->path, rt->root, pause_path, workdir, &rt->problem);
		if (rt->works)
			log_info("runtime %s (%s) works", rt->name, rt->path);
		else
			log_warn("runtime %s (%s) cannot run containers here: "
				 "%s",
				 rt->name, rt->path, rt->problem);
		probe_rro(rt, setattr);
		probe_userns(rt, setattr, pause_path, workdir);
	}
	if (cache_path != NULL && probed)
		probe_cache_save(cache_path, out, workdir);
	choose_default(out, c);
	return out;
}

/* Run `<runtime> --root R [--log L] args...`; on failure the message is
 * the runtime's own (from its log or stderr). */
gboolean oci_runtime_run(const OciRuntime *rt, const char *log,
			 const char *const *args, const char *output,
			 GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, rt->path);
	g_ptr_array_add(argv, "--root");
	g_ptr_array_add(argv, rt->root);
	if (log != NULL) {
		g_ptr_array_add(argv, "--log");
		g_ptr_array_add(argv, (char *)log);
	}
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	SpawnOptions o = {.argv = (const char *const *)argv->pdata,
			  .timeout_ms = rt->timeout_ms,
			  .output_path = output};
	/* The operation is the command, after any global options. */
	const char *op = args[0];
	for (const char *const *a = args; *a && (*a)[0] == '-'; a++)
		op = a[1] ? a[1] : op;
	g_autoptr(GError) local = NULL;
	gint64 start = g_get_monotonic_time();
	gboolean ok = spawn_sync_ok(&o, &local);
	berth_metrics_runtime_call(rt->name, op,
				   g_get_monotonic_time() - start);
	if (ok)
		return TRUE;
	g_autofree char *logtext = NULL;
	if (log != NULL && g_file_get_contents(log, &logtext, NULL, NULL))
		g_strstrip(logtext);
	return berth_throw_code(error, local->code, "runtime %s %s: %s%s%s",
				rt->name, op, local->message,
				logtext && *logtext ? ": " : "",
				logtext ? logtext : "");
}

const char *const *oci_runtime_cgroup_args(gboolean systemd)
{
	static const char *const sd[] = {"--systemd-cgroup", NULL};
	return systemd ? sd : sd + 1;
}

gboolean oci_runtime_run_in(const OciRuntime *rt, gboolean systemd,
			    const char *log, const char *const *args,
			    const char *output, GError **error)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	for (const char *const *a = oci_runtime_cgroup_args(systemd); *a; a++)
		g_ptr_array_add(all, (char *)*a);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(all, (char *)*a);
	g_ptr_array_add(all, NULL);
	return oci_runtime_run(rt, log, (const char *const *)all->pdata, output,
			       error);
}

gboolean oci_runtime_gone(const GError *e)
{
	return strstr(e->message, "does not exist") ||
	       strstr(e->message, "not found") ||
	       strstr(e->message, "No such file");
}
