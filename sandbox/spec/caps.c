/* Capability names, the host bounding set, and the container's sets. */
#include "sandbox/spec/caps.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

#define BIT(n) (G_GUINT64_CONSTANT(1) << (n))

/* Index = capability number (linux/capability.h). */
static const char *const cap_names[CTR_CAP_LAST + 1] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *ctr_cap_name(int cap)
{
	if (cap < 0 || cap > CTR_CAP_LAST)
		return NULL;
	return cap_names[cap];
}

int ctr_cap_from_name(const char *name)
{
	g_autofree char *up = g_ascii_strup(name, -1);
	const char *bare = g_str_has_prefix(up, "CAP_") ? up + 4 : up;
	for (int i = 0; i <= CTR_CAP_LAST; i++)
		if (strcmp(cap_names[i] + 4, bare) == 0)
			return i;
	return -1;
}

gboolean ctr_caps_parse_status(const char *status, guint64 *mask,
			       GError **error)
{
	const char *line = strstr(status, "\nCapBnd:");
	if (line == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "no CapBnd line in the process status");
	const char *p = line + strlen("\nCapBnd:");
	while (*p == ' ' || *p == '\t')
		p++;
	char *end = NULL;
	guint64 v = g_ascii_strtoull(p, &end, 16);
	if (end == p || (*end != '\n' && *end != '\0'))
		return berth_throw(error, INVALID_ARGUMENT,
				   "malformed CapBnd line in the process "
				   "status");
	*mask = v;
	return TRUE;
}

gboolean ctr_caps_host_bounding(guint64 *mask, GError **error)
{
	g_autofree char *text = NULL;
	if (!berth_read_file("/proc/self/status", &text, NULL, error))
		return FALSE;
	return ctr_caps_parse_status(text, mask, error);
}

char **ctr_caps_names(guint64 mask)
{
	GPtrArray *out = g_ptr_array_new();
	for (int i = 0; i <= CTR_CAP_LAST; i++)
		if (mask & BIT(i))
			g_ptr_array_add(out, g_strdup(cap_names[i]));
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean has_all(const char *const *names)
{
	for (; names && *names; names++)
		if (g_ascii_strcasecmp(*names, "ALL") == 0)
			return TRUE;
	return FALSE;
}

/* The mask of the names, "ALL" skipped (callers handle it) unless
 * all_means is non-zero. */
static gboolean names_mask(const char *const *names, const char *what,
			   guint64 all_means, guint64 *out, GError **error)
{
	guint64 m = 0;
	for (; names && *names; names++) {
		if (g_ascii_strcasecmp(*names, "ALL") == 0) {
			m |= all_means;
			continue;
		}
		int cap = ctr_cap_from_name(*names);
		if (cap < 0)
			return berth_throw(error, INVALID_ARGUMENT,
					   "unknown capability \"%s\" in %s",
					   *names, what);
		m |= BIT(cap);
	}
	*out = m;
	return TRUE;
}

static void warn_missing(guint64 wanted, guint64 host)
{
	guint64 missing = wanted & ~host;
	if (missing == 0)
		return;
	g_auto(GStrv) names = ctr_caps_names(missing);
	g_autofree char *list = g_strjoinv(", ", names);
	log_warn("capabilities not in the host's bounding set, left out: %s",
		 list);
}

gboolean ctr_caps_compute(const CtrSecurity *sec, const char *const *defaults,
			  guint64 host, CtrCapSets *out, GError **error)
{
	guint64 set, add, drop, ambient;
	memset(out, 0, sizeof(*out));
	if (!names_mask(defaults, "the default capabilities", host, &set,
			error) ||
	    !names_mask((const char *const *)sec->cap_add, "add", 0, &add,
			error) ||
	    !names_mask((const char *const *)sec->cap_drop, "drop", 0, &drop,
			error) ||
	    !names_mask((const char *const *)sec->cap_add_ambient,
			"add_ambient", host, &ambient, error))
		return FALSE;
	if (sec->privileged) {
		set = host;
	} else {
		if (has_all((const char *const *)sec->cap_add))
			set = host;
		if (has_all((const char *const *)sec->cap_drop))
			set = 0;
		set = ((set | add | ambient) & ~drop);
		ambient &= ~drop;
	}
	warn_missing(set | ambient, host);
	set &= host;
	ambient &= set;
	out->bounding = out->effective = out->permitted = set;
	out->inheritable = out->ambient = ambient;
	return TRUE;
}
