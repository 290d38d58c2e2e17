/* The systemd cgroup driver: slice names and the cgroup paths systemd
 * gives them, and the few conversations with systemd's manager over D-Bus
 * (sd-bus) that the driver needs: start a transient slice for a pod, a
 * transient scope for a monitor process, stop a unit berth made.
 *
 * One bus connection, opened at first use and again after it broke (a
 * `systemctl daemon-reexec` closes it). sd_bus objects are not
 * thread-safe, so every call holds bus_lock; the calls are short (a
 * method call and, for slices, the wait for its job). */
#include "sandbox/cgroup/cgroup.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
/* How long a job (start or stop of a slice) may take. */
#define SD_JOB_TIMEOUT_US (30 * G_USEC_PER_SEC)

/* --- names (pure) --------------------------------------------------------- */

gboolean cgroup_slice_name_ok(const char *name, GError **error)
{
	gsize n = name ? strlen(name) : 0;
	const char *why = NULL;
	if (n <= strlen(".slice") || !g_str_has_suffix(name, ".slice"))
		why = "a slice name ends in \".slice\"";
	else if (n > 255)
		why = "a unit name is at most 255 bytes";
	else if (strcmp(name, "-.slice") != 0) {
		gsize body = n - strlen(".slice");
		if (name[0] == '-' || name[body - 1] == '-' ||
		    g_strstr_len(name, body, "--"))
			why = "its dashes must separate non-empty parts";
		for (gsize i = 0; why == NULL && i < body; i++)
			if (!g_ascii_isalnum(name[i]) &&
			    !strchr(":_.-", name[i]))
				why = "it may use only [A-Za-z0-9:_.-]";
	}
	if (why == NULL)
		return TRUE;
	g_autofree char *esc = g_strescape(name ? name : "", NULL);
	return berth_throw(error, INVALID_ARGUMENT,
			   "\"%s\" is not a systemd slice name: %s "
			   "(e.g. kubepods-besteffort-pod<uid>.slice)",
			   esc, why);
}

char *cgroup_slice_path(const char *name)
{
	if (strcmp(name, "-.slice") == 0)
		return g_strdup("/");
	/* a-b-c.slice lives in /a.slice/a-b.slice/a-b-c.slice */
	gsize body = strlen(name) - strlen(".slice");
	GString *path = g_string_new(NULL);
	for (gsize i = 0; i <= body; i++)
		if (i == body || name[i] == '-') {
			g_string_append_c(path, '/');
			g_string_append_len(path, name, i);
			g_string_append(path, ".slice");
		}
	return g_string_free(path, FALSE);
}

char *cgroup_pod_slice(const char *parent, const char *default_parent,
		       const char *pod_id, GError **error)
{
	/* "/test.slice" (critest >= 1.30 on the systemd driver) is a
	 * top-level slice's cgroup path: its name, as CRI-O takes it. */
	if (parent != NULL && parent[0] == '/' && parent[1] != '\0' &&
	    !strchr(parent + 1, '/'))
		parent++;
	if (parent != NULL && *parent != '\0')
		return cgroup_slice_name_ok(parent, error) ? g_strdup(parent)
							   : NULL;
	if (!cgroup_slice_name_ok(default_parent, error))
		return NULL;
	if (strcmp(default_parent, "-.slice") == 0)
		return g_strdup_printf("pod%s.slice", pod_id);
	gsize body = strlen(default_parent) - strlen(".slice");
	return g_strdup_printf("%.*s-pod%s.slice", (int)body, default_parent,
			       pod_id);
}

gboolean cgroup_path_is_systemd(const char *path)
{
	return path != NULL && (g_str_has_suffix(path, ".slice") ||
				g_str_has_suffix(path, ".scope"));
}

char *cgroup_path_slice(const char *path)
{
	const char *base = strrchr(path, '/');
	return g_strdup(base ? base + 1 : path);
}

/* --- the bus ---------------------------------------------------------- */

static GMutex bus_lock;
static sd_bus *bus; /* guarded by bus_lock */

/* The system bus, else systemd's private socket (root only, and there
 * even without a D-Bus daemon). Subscribed, so that JobRemoved comes. */
static sd_bus *bus_get(GError **error)
{
	if (bus != NULL && sd_bus_is_open(bus) > 0)
		return bus;
	bus = sd_bus_flush_close_unref(bus);
	int r = sd_bus_open_system(&bus);
	if (r < 0) {
		log_info("systemd: system bus: %s; trying systemd's private "
			 "socket",
			 g_strerror(-r));
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(
				bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(bus);
	}
	sd_bus_error e = SD_BUS_ERROR_NULL;
	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER,
				       "Subscribe", &e, NULL, "");
	if (r < 0) {
		bus = sd_bus_flush_close_unref(bus);
		berth_throw(error, UNAVAILABLE,
			    "cannot talk to systemd over D-Bus: %s",
			    e.message ? e.message : g_strerror(-r));
		sd_bus_error_free(&e);
		return NULL;
	}
	return bus;
}

static gboolean bus_fail(GError **error, int r, sd_bus_error *e,
			 const char *what, const char *unit)
{
	berth_throw(error, INTERNAL, "systemd: %s %s: %s", what, unit,
		    e->message ? e->message : g_strerror(-r));
	sd_bus_error_free(e);
	return FALSE;
}

typedef struct {
	const char *job; /* the object path waited for */
	char *result;	 /* "done", "failed", ...; NULL while running */
} JobWait;

static int on_job_removed(sd_bus_message *m, void *data, sd_bus_error *e)
{
	(void)e;
	JobWait *w = data;
	uint32_t id;
	const char *path, *unit, *result;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0 &&
	    strcmp(path, w->job) == 0)
		w->result = g_strdup(result);
	return 0;
}

/* Call a Manager method that queues a job (its reply is the job's path),
 * then wait for the job to end: TRUE when it ends "done". The signal's
 * match is in place before the call, so a fast job is not missed. */
static gboolean call_job(sd_bus *b, const char *what, const char *unit,
			 sd_bus_message *call, GError **error)
{
	JobWait w = {0};
	sd_bus_slot *slot = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_match_signal(b, &slot, SD_DEST, SD_PATH, SD_MANAGER,
				    "JobRemoved", on_job_removed, &w);
	sd_bus_message *reply = NULL;
	if (r >= 0)
		r = sd_bus_call(b, call, SD_JOB_TIMEOUT_US, &e, &reply);
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &w.job);
	gint64 deadline = g_get_monotonic_time() + SD_JOB_TIMEOUT_US;
	while (r >= 0 && w.result == NULL) {
		r = sd_bus_process(b, NULL);
		if (r > 0 || w.result != NULL)
			continue;
		gint64 left = deadline - g_get_monotonic_time();
		if (r == 0 && left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (r == 0)
			r = sd_bus_wait(b, (uint64_t)left);
	}
	gboolean ok = r >= 0 && g_strcmp0(w.result, "done") == 0;
	if (r >= 0 && !ok)
		berth_throw(error, INTERNAL, "systemd: %s %s: the job ended %s",
			    what, unit, w.result);
	else if (r < 0)
		bus_fail(error, r, &e, what, unit);
	g_free(w.result);
	sd_bus_message_unref(reply);
	sd_bus_slot_unref(slot);
	return ok;
}

/* StartTransientUnit(name, "fail", properties, no aux units): the message
 * with its header and name; the caller appends properties between
 * open and close of the a(sv) array. */
static int transient_begin(sd_bus *b, sd_bus_message **m, const char *name)
{
	int r = sd_bus_message_new_method_call(
		b, m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(*m, "ss", name, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(*m, 'a', "(sv)");
	return r;
}

static int transient_end(sd_bus_message *m)
{
	int r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	return r;
}

/* StartUnit or StopUnit (method) of name, mode "replace", waited for. */
static gboolean unit_job(sd_bus *b, const char *method, const char *name,
			 GError **error)
{
	const char *what = strcmp(method, "StartUnit") == 0 ? "start" : "stop";
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(b, &m, SD_DEST, SD_PATH,
					       SD_MANAGER, method);
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", name, "replace");
	gboolean ok = r >= 0 && call_job(b, what, name, m, error);
	sd_bus_message_unref(m);
	if (r < 0)
		return berth_throw(error, INTERNAL, "systemd: %s %s: %s", what,
				   name, g_strerror(-r));
	return ok;
}

/* Start (or, when it exists, start again) a slice, and wait for it. */
static gboolean slice_start(sd_bus *b, const char *name,
			    const char *description, GError **error)
{
	sd_bus_message *m = NULL;
	int r = transient_begin(b, &m, name);
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)", "Description", "s",
					  description, "DefaultDependencies",
					  "b", 0);
	if (r >= 0)
		r = transient_end(m);
	g_autoptr(GError) local = NULL;
	gboolean ok = r >= 0 && call_job(b, "start", name, m, &local);
	m = sd_bus_message_unref(m);
	if (r < 0)
		return berth_throw(error, INTERNAL, "systemd: start %s: %s",
				   name, g_strerror(-r));
	if (ok || !strstr(local->message, "already exists")) {
		if (!ok)
			g_propagate_error(error, g_steal_pointer(&local));
		return ok;
	}
	/* Made by kubelet (or by berth for another pod): started again,
	 * which is nothing when it is active. */
	return unit_job(b, "StartUnit", name, error);
}

gboolean cgroup_systemd_slice_start(const char *name, const char *description,
				    GError **error)
{
	g_mutex_lock(&bus_lock);
	sd_bus *b = bus_get(error);
	gboolean ok = b != NULL && slice_start(b, name, description, error);
	g_mutex_unlock(&bus_lock);
	return ok;
}

static gboolean scope_start(sd_bus *b, const char *name, const char *slice,
			    int pid, const char *description, GError **error)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = transient_begin(b, &m, name);
	if (r >= 0)
		r = sd_bus_message_append(
			m, "(sv)(sv)(sv)(sv)", "Description", "s", description,
			"Slice", "s", slice, "PIDs", "au", 1, (uint32_t)pid,
			"CollectMode", "s", "inactive-or-failed");
	if (r >= 0)
		r = transient_end(m);
	/* Not waited for: the reply says the job is queued, and it moves
	 * one process; a create should not wait on systemd's queue. */
	if (r >= 0)
		r = sd_bus_call(b, m, SD_JOB_TIMEOUT_US, &e, &reply);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r >= 0 || bus_fail(error, r, &e, "start", name);
}

gboolean cgroup_systemd_scope_start(const char *name, const char *slice,
				    int pid, const char *description,
				    GError **error)
{
	g_mutex_lock(&bus_lock);
	sd_bus *b = bus_get(error);
	gboolean ok = b != NULL &&
		      scope_start(b, name, slice, pid, description, error);
	g_mutex_unlock(&bus_lock);
	return ok;
}

/* The unit's Description, or NULL when systemd has no such unit loaded
 * (then error is not set). */
static char *unit_description(sd_bus *b, const char *name, GError **error)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r = sd_bus_call_method(b, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit",
				   &e, &reply, "s", name);
	if (r < 0 &&
	    sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		sd_bus_error_free(&e);
		return NULL;
	}
	char *desc = NULL;
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		r = sd_bus_get_property_string(b, SD_DEST, path, SD_UNIT,
					       "Description", &e, &desc);
	sd_bus_message_unref(reply);
	if (r < 0) {
		bus_fail(error, r, &e, "look up", name);
		return NULL;
	}
	char *out = g_strdup(desc);
	free(desc);
	return out;
}

static gboolean unit_stop(sd_bus *b, const char *name, const char *description,
			  GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *desc = unit_description(b, name, &local);
	if (local != NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (desc == NULL || strcmp(desc, description) != 0)
		return TRUE; /* gone, or not berth's: left alone */
	return unit_job(b, "StopUnit", name, error);
}

gboolean cgroup_systemd_unit_stop(const char *name, const char *description,
				  GError **error)
{
	g_mutex_lock(&bus_lock);
	sd_bus *b = bus_get(error);
	gboolean ok = b != NULL && unit_stop(b, name, description, error);
	g_mutex_unlock(&bus_lock);
	return ok;
}

/* One (sv) property with a uint64 ("t") value. */
static int append_t(sd_bus_message *m, const char *name, guint64 v)
{
	return sd_bus_message_append(m, "(sv)", name, "t", (uint64_t)v);
}

static gboolean set_limits(sd_bus *b, const char *name, const CtrResources *r,
			   GError **error)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r2 = sd_bus_message_new_method_call(
		b, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
	if (r2 >= 0) /* runtime: not written into /etc */
		r2 = sd_bus_message_append(m, "sb", name, 1);
	if (r2 >= 0)
		r2 = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r2 >= 0 && r->memory_limit > 0)
		r2 = append_t(m, "MemoryMax", (guint64)r->memory_limit);
	if (r2 >= 0 && r->cpu_shares > 0)
		r2 = append_t(m, "CPUWeight",
			      (guint64)cgroup_shares_to_weight(r->cpu_shares));
	if (r2 >= 0 && (r->cpu_quota != 0 || r->cpu_period > 0)) {
		gint64 period = r->cpu_period > 0 ? r->cpu_period : 100000;
		/* systemd's quota is per second of wall time; none: max. */
		guint64 per_sec = r->cpu_quota > 0
					  ? (guint64)r->cpu_quota * 1000000 /
						    (guint64)period
					  : G_MAXUINT64;
		r2 = append_t(m, "CPUQuotaPerSecUSec", per_sec);
		if (r2 >= 0)
			r2 = append_t(m, "CPUQuotaPeriodUSec", (guint64)period);
	}
	if (r2 >= 0)
		r2 = sd_bus_message_close_container(m);
	if (r2 >= 0)
		r2 = sd_bus_call(b, m, SD_JOB_TIMEOUT_US, &e, &reply);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r2 >= 0 || bus_fail(error, r2, &e, "set the limits of", name);
}

gboolean cgroup_systemd_set_limits(const char *name, const CtrResources *r,
				   GError **error)
{
	g_mutex_lock(&bus_lock);
	sd_bus *b = bus_get(error);
	gboolean ok = b != NULL && set_limits(b, name, r, error);
	g_mutex_unlock(&bus_lock);
	return ok;
}
