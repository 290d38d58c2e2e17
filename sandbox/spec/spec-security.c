/* The security part of a container's spec: capabilities, no_new_privs,
 * masked and read-only paths, seccomp, AppArmor and SELinux. */
#include "sandbox/spec/apparmor.h"
#include "sandbox/spec/seccomp-profile.h"
#include "sandbox/spec/spec-private.h"
#include "util/error.h"
#include "util/log.h"

/* What kubelet sends for the Default proc mount type: kernel interfaces
 * that leak host information or change host state. Masked paths get
 * /dev/null (files) or an empty read-only tmpfs (directories) on top. */
const char *const oci_spec_default_masked_paths[] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
	NULL,
};

/* Readable, but host-wide when written. */
const char *const oci_spec_default_readonly_paths[] = {
	"/proc/bus",	       "/proc/fs", "/proc/irq", "/proc/sys",
	"/proc/sysrq-trigger", NULL,
};

static json_t *caps_array(guint64 mask)
{
	g_auto(GStrv) names = ctr_caps_names(mask);
	return oci_json_strv((const char *const *)names);
}

static json_t *caps_json(const CtrCapSets *s)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o}", "bounding",
		caps_array(s->bounding), "effective", caps_array(s->effective),
		"permitted", caps_array(s->permitted), "inheritable",
		caps_array(s->inheritable), "ambient", caps_array(s->ambient));
}

/* The request's list when it gave one (an empty one masks nothing), the
 * defaults otherwise, nothing for a privileged container. */
static gboolean path_list(const CtrConfig *c, char *const *asked,
			  const char *const *defaults, const char *what,
			  json_t **out, GError **error)
{
	*out = NULL;
	if (c->security.privileged) {
		*out = json_array();
		return TRUE;
	}
	const char *const *list = asked ? (const char *const *)asked : defaults;
	for (const char *const *p = list; *p; p++)
		if (!g_path_is_absolute(*p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "%s path \"%s\" is not absolute",
					   what, *p);
	*out = oci_json_strv(list);
	return TRUE;
}

static gboolean add_paths(json_t *linux_, const CtrConfig *c, GError **error)
{
	json_t *masked, *ro;
	if (!path_list(c, c->security.masked_paths,
		       oci_spec_default_masked_paths, "masked", &masked, error))
		return FALSE;
	if (!path_list(c, c->security.readonly_paths,
		       oci_spec_default_readonly_paths, "read-only", &ro,
		       error)) {
		json_decref(masked);
		return FALSE;
	}
	json_object_set_new(linux_, "maskedPaths", masked);
	json_object_set_new(linux_, "readonlyPaths", ro);
	return TRUE;
}

/* A privileged container runs without a filter whatever it asks, as the
 * CRI allows and critest expects (a Localhost profile is ignored then). */
static gboolean add_seccomp(json_t *linux_, const CtrConfig *c,
			    const CtrCapSets *caps, GError **error)
{
	const CtrProfile *p = &c->security.seccomp;
	json_t *profile = NULL;
	if (c->security.privileged || p->kind == CTR_PROFILE_UNCONFINED)
		return TRUE;
	if (p->kind == CTR_PROFILE_RUNTIME_DEFAULT) {
		profile = seccomp_default_profile(caps->bounding);
	} else if (p->kind == CTR_PROFILE_LOCALHOST) {
		if (*p->localhost_ref == '\0')
			return berth_throw(error, INVALID_ARGUMENT,
					   "seccomp profile type Localhost "
					   "without a path");
		profile = seccomp_profile_load(p->localhost_ref,
					       caps->effective, error);
		if (profile == NULL)
			return FALSE;
	} else {
		return berth_throw(error, INVALID_ARGUMENT,
				   "unknown seccomp profile type %d", p->kind);
	}
	json_object_set_new(linux_, "seccomp", profile);
	return TRUE;
}

static gboolean add_apparmor(json_t *process, const CtrConfig *c,
			     const CtrSpecContext *ctx, GError **error)
{
	const CtrProfile *p = &c->security.apparmor;
	const char *name = NULL;
	if (p->kind == CTR_PROFILE_LOCALHOST && *p->localhost_ref == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "AppArmor profile type Localhost without a "
				   "name");
	if (!ctx->host->apparmor) {
		if (p->kind == CTR_PROFILE_LOCALHOST)
			log_info("container %s: AppArmor profile %s ignored: "
				 "AppArmor is not enabled on this host",
				 c->name, p->localhost_ref);
		return TRUE;
	}
	if (c->security.privileged || p->kind == CTR_PROFILE_UNCONFINED)
		name = "unconfined";
	else if (p->kind == CTR_PROFILE_LOCALHOST) {
		name = apparmor_localhost_name(p->localhost_ref);
		if (ctx->host->apparmor_loaded &&
		    !ctx->host->apparmor_loaded(name))
			return berth_throw(error, FAILED_PRECONDITION,
					   "AppArmor profile \"%s\" is not "
					   "loaded on this node (load it with "
					   "apparmor_parser first)",
					   name);
	} else if (ctx->apparmor_default)
		name = ctx->apparmor_default;
	else
		log_debug("container %s: no default AppArmor profile loaded",
			  c->name);
	if (name)
		json_object_set_new(process, "apparmorProfile",
				    json_string(name));
	return TRUE;
}

/* berth does not generate SELinux labels: it passes a complete label the
 * request spells out, on hosts with SELinux, and notes anything else. */
static void add_selinux(json_t *process, const CtrConfig *c,
			const CtrSpecContext *ctx)
{
	const CtrSecurity *s = &c->security;
	gboolean any = *s->selinux_user || *s->selinux_role ||
		       *s->selinux_type || *s->selinux_level;
	gboolean all = *s->selinux_user && *s->selinux_role &&
		       *s->selinux_type && *s->selinux_level;
	if (!any || s->privileged)
		return;
	if (!ctx->host->selinux || !all) {
		log_info("container %s: SELinux options ignored (%s)", c->name,
			 ctx->host->selinux ? "incomplete label"
					    : "SELinux is not enabled");
		return;
	}
	g_autofree char *label =
		g_strdup_printf("%s:%s:%s:%s", s->selinux_user, s->selinux_role,
				s->selinux_type, s->selinux_level);
	json_object_set_new(process, "selinuxLabel", json_string(label));
}

gboolean oci_spec_add_security(json_t *process, json_t *linux_,
			       const CtrConfig *c, const CtrSpecContext *ctx,
			       GError **error)
{
	CtrCapSets caps;
	if (!ctr_caps_compute(&c->security, ctx->default_capabilities,
			      ctx->host->cap_bounding, &caps, error))
		return FALSE;
	json_object_set_new(process, "capabilities", caps_json(&caps));
	json_object_set_new(process, "noNewPrivileges",
			    json_boolean(c->security.no_new_privs));
	add_selinux(process, c, ctx);
	return add_paths(linux_, c, error) &&
	       add_seccomp(linux_, c, &caps, error) &&
	       add_apparmor(process, c, ctx, error);
}
