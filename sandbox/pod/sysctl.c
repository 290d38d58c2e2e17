/* Pod sysctls: name forms, the namespace table, and the admission check.
 * The table follows the kernel's own split (ipc/ipc_sysctl.c,
 * ipc/mq_sysctl.c, kernel/utsname_sysctl.c, net/) as kubelet does. */
#include "sandbox/pod/sysctl.h"
#include "util/error.h"

#include <string.h>

/* Longest name we take; kubelet's limit for a sysctl name. */
#define SYSCTL_NAME_MAX 253
/* A /proc/sys write is at most a page. */
#define SYSCTL_VALUE_MAX 4096

/* The name with '/' separators, not validated. */
static char *sysctl_to_path(const char *name)
{
	char *p = g_strdup(name);
	gsize first = strcspn(p, "./");
	if (p[first] == '/')
		return p;
	for (char *c = p; *c; c++) {
		if (*c == '.')
			*c = '/';
		else if (*c == '/')
			*c = '.';
	}
	return p;
}

static gboolean has_prefix_after(const char *path, const char *prefix)
{
	return g_str_has_prefix(path, prefix) && path[strlen(prefix)] != '\0';
}

PodSysctlNs pod_sysctl_namespace(const char *name)
{
	g_autofree char *path = sysctl_to_path(name);
	if (has_prefix_after(path, "net/"))
		return POD_SYSCTL_NS_NET;
	if (has_prefix_after(path, "fs/mqueue/"))
		return POD_SYSCTL_NS_IPC;
	if (has_prefix_after(path, "kernel/shm") ||
	    has_prefix_after(path, "kernel/msg") ||
	    strcmp(path, "kernel/sem") == 0 ||
	    strcmp(path, "kernel/sem_next_id") == 0)
		return strchr(path + strlen("kernel/"), '/')
			       ? POD_SYSCTL_NS_NONE
			       : POD_SYSCTL_NS_IPC;
	if (strcmp(path, "kernel/domainname") == 0)
		return POD_SYSCTL_NS_UTS;
	return POD_SYSCTL_NS_NONE;
}

static gboolean component_ok(const char *c, gsize len)
{
	if (len == 0)
		return FALSE;
	if ((len == 1 && c[0] == '.') ||
	    (len == 2 && c[0] == '.' && c[1] == '.'))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		char ch = c[i];
		if (!g_ascii_islower(ch) && !g_ascii_isdigit(ch) &&
		    !strchr("_.-", ch))
			return FALSE;
	}
	return TRUE;
}

char *pod_sysctl_path(const char *name, GError **error)
{
	if (name == NULL || *name == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"sysctl name is empty");
	}
	if (strlen(name) > SYSCTL_NAME_MAX) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"sysctl name is longer than %d characters",
			SYSCTL_NAME_MAX);
	}
	g_autofree char *path = sysctl_to_path(name);
	const char *c = path;
	for (;;) {
		gsize len = strcspn(c, "/");
		if (!component_ok(c, len)) {
			return berth_throw_null(
				error, INVALID_ARGUMENT,
				"sysctl \"%s\": malformed name (components "
				"must be non-empty, not \".\" or \"..\", "
				"and use only [a-z0-9_.-])",
				name);
		}
		if (c[len] == '\0')
			break;
		c += len + 1;
	}
	return g_steal_pointer(&path);
}

static gboolean value_ok(const char *name, const char *value, GError **error)
{
	if (value == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\": no value", name);
	if (strlen(value) > SYSCTL_VALUE_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\": value longer than %d bytes",
				   name, SYSCTL_VALUE_MAX);
	for (const char *v = value; *v; v++)
		if (g_ascii_iscntrl(*v) && *v != '\t')
			return berth_throw(error, INVALID_ARGUMENT,
					   "sysctl \"%s\": value contains a "
					   "control character",
					   name);
	return TRUE;
}

gboolean pod_sysctl_check_ns(const char *name, const char *value,
			     gboolean host_net, gboolean host_ipc,
			     gboolean host_uts, GError **error)
{
	g_autofree char *path = pod_sysctl_path(name, error);
	if (path == NULL)
		return FALSE;
	if (!value_ok(name, value, error))
		return FALSE;
	switch (pod_sysctl_namespace(name)) {
	case POD_SYSCTL_NS_NET:
		if (host_net)
			return berth_throw(error, INVALID_ARGUMENT,
					   "sysctl \"%s\" is not allowed: the "
					   "pod uses the host's network "
					   "namespace",
					   name);
		return TRUE;
	case POD_SYSCTL_NS_IPC:
		if (host_ipc)
			return berth_throw(error, INVALID_ARGUMENT,
					   "sysctl \"%s\" is not allowed: the "
					   "pod uses the host's IPC namespace",
					   name);
		return TRUE;
	case POD_SYSCTL_NS_UTS:
		if (host_uts)
			return berth_throw(error, INVALID_ARGUMENT,
					   "sysctl \"%s\" is not allowed: the "
					   "pod uses the host's UTS namespace",
					   name);
		return TRUE;
	case POD_SYSCTL_NS_NONE:
		break;
	}
	if (strcmp(path, "kernel/hostname") == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\" is not allowed: set the "
				   "pod's hostname instead",
				   name);
	return berth_throw(error, INVALID_ARGUMENT,
			   "sysctl \"%s\" is not allowed: it is not "
			   "namespaced, setting it would change the host",
			   name);
}

gboolean pod_sysctl_check(const char *name, const char *value,
			  gboolean host_net, gboolean host_ipc, GError **error)
{
	return pod_sysctl_check_ns(name, value, host_net, host_ipc, host_net,
				   error);
}
