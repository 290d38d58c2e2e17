/* The host facts the spec generator needs, probed once: what capabilities
 * and oom_score_adj values a container can get, the cgroup layout, and
 * which LSMs are on. */
#include "sandbox/spec/spec-private.h"
#include "sandbox/spec/apparmor.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The hex mask on the "<field>:" line of /proc/self/status text. */
static gboolean status_mask(const char *status, const char *field, guint64 *out)
{
	g_autofree char *key = g_strdup_printf("\n%s:", field);
	const char *p = strstr(status, key);
	if (p == NULL)
		return FALSE;
	*out = g_ascii_strtoull(p + strlen(key), NULL, 16);
	return TRUE;
}

static int oom_floor(const char *status)
{
	guint64 eff = 0;
	if (status_mask(status, "CapEff", &eff) &&
	    (eff >> CAP_SYS_RESOURCE) & 1)
		return -1000;
	g_autofree char *text = NULL;
	if (!berth_read_file("/proc/self/oom_score_adj", &text, NULL, NULL))
		return 0;
	return CLAMP(atoi(text), -1000, 1000);
}

static gboolean file_is(const char *path, const char *want)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	return g_str_has_prefix(g_strstrip(text), want);
}

gboolean oci_spec_host_probe(OciHostInfo *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	g_autofree char *status = NULL;
	if (!berth_read_file("/proc/self/status", &status, NULL, error) ||
	    !ctr_caps_parse_status(status, &out->cap_bounding, error))
		return FALSE;
	out->oom_score_adj_min = oom_floor(status);
	out->cgroup_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	out->swap_accounting =
		out->cgroup_v2 ||
		access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
		       F_OK) == 0;
	out->apparmor = access("/sys/kernel/security/apparmor", F_OK) == 0 &&
			file_is("/sys/module/apparmor/parameters/enabled", "Y");
	out->apparmor_loaded = apparmor_profile_loaded;
	out->selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
	out->dev_dir = "/dev";
	log_debug("spec host: oom_score_adj floor %d, cgroup %s, swap "
		  "accounting %d, apparmor %d, selinux %d",
		  out->oom_score_adj_min, out->cgroup_v2 ? "v2" : "v1/hybrid",
		  out->swap_accounting, out->apparmor, out->selinux);
	return TRUE;
}
