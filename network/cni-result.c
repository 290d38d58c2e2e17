/* CNI results of every supported version (0.3.x and 0.4.0 with "version"
 * per IP, 1.x without; the older "ip4"/"ip6" form too) turned into one
 * CniResult, and the pod IPs picked out of it. */
#include "network/cni-private.h"
#include "util/error.h"

#include <gio/gio.h>
#include <string.h>

static void interface_free(gpointer p)
{
	CniInterface *i = p;
	g_free(i->name);
	g_free(i->mac);
	g_free(i->sandbox);
	g_free(i);
}

static void ip_config_free(gpointer p)
{
	CniIpConfig *c = p;
	g_free(c->address);
	g_free(c->gateway);
	g_free(c);
}

void cni_result_free(CniResult *r)
{
	if (r == NULL)
		return;
	g_free(r->network);
	g_free(r->cni_version);
	g_free(r->ifname);
	g_free(r->raw_json);
	g_ptr_array_unref(r->interfaces);
	g_ptr_array_unref(r->ip_configs);
	g_ptr_array_unref(r->ips);
	g_free(r);
}

static char *dup_nonempty(json_t *j)
{
	const char *s = json_string_value(j);
	return s && s[0] ? g_strdup(s) : NULL;
}

/* The address part of "a.b.c.d/nn", checked; NULL when not an IP. */
static char *address_only(const char *cidr, int *family)
{
	const char *slash = strchr(cidr, '/');
	g_autofree char *ip =
		slash ? g_strndup(cidr, slash - cidr) : g_strdup(cidr);
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string(ip);
	if (a == NULL)
		return NULL;
	*family = g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV6 ? 6 : 4;
	return g_inet_address_to_string(a);
}

static gboolean add_ip(CniResult *r, const char *address, json_t *gateway,
		       json_t *iface, GError **error)
{
	if (address == NULL)
		return berth_throw(error, INTERNAL,
				   "CNI result: an IP entry has no address");
	int family = 0;
	g_autofree char *ip = address_only(address, &family);
	if (ip == NULL)
		return berth_throw(error, INTERNAL,
				   "CNI result: \"%s\" is not an IP address",
				   address);
	CniIpConfig *c = g_new0(CniIpConfig, 1);
	c->family = family;
	c->address = g_strdup(address);
	c->gateway = dup_nonempty(gateway);
	c->interface =
		json_is_integer(iface) ? (gint)json_integer_value(iface) : -1;
	g_ptr_array_add(r->ip_configs, c);
	return TRUE;
}

static gboolean parse_ips(CniResult *r, json_t *root, GError **error)
{
	/* 0.3.0 as written said "ip"; every plugin wrote "ips". */
	json_t *ips = json_object_get(root, "ips");
	if (ips == NULL)
		ips = json_object_get(root, "ip");
	if (json_is_array(ips)) {
		gsize i;
		json_t *e;
		json_array_foreach(ips, i, e)
		{
			if (!add_ip(r,
				    json_string_value(
					    json_object_get(e, "address")),
				    json_object_get(e, "gateway"),
				    json_object_get(e, "interface"), error))
				return FALSE;
		}
		return TRUE;
	}
	/* 0.1.0/0.2.0: {"ip4": {"ip": cidr, "gateway": ip}, "ip6": ...} */
	const char *keys[] = {"ip4", "ip6"};
	for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
		json_t *o = json_object_get(root, keys[k]);
		if (!json_is_object(o))
			continue;
		if (!add_ip(r, json_string_value(json_object_get(o, "ip")),
			    json_object_get(o, "gateway"), NULL, error))
			return FALSE;
	}
	return TRUE;
}

static void parse_interfaces(CniResult *r, json_t *root)
{
	json_t *ifs = json_object_get(root, "interfaces");
	gsize i;
	json_t *e;
	json_array_foreach(ifs, i, e)
	{
		CniInterface *it = g_new0(CniInterface, 1);
		it->name = dup_nonempty(json_object_get(e, "name"));
		it->mac = dup_nonempty(json_object_get(e, "mac"));
		it->sandbox = dup_nonempty(json_object_get(e, "sandbox"));
		g_ptr_array_add(r->interfaces, it);
	}
}

static gboolean on_pod_side(const CniResult *r, const CniIpConfig *c)
{
	if (c->interface < 0)
		return TRUE;
	if ((guint)c->interface >= r->interfaces->len)
		return FALSE;
	const CniInterface *it = r->interfaces->pdata[c->interface];
	return it->sandbox != NULL;
}

static void pick_pod_ips(CniResult *r)
{
	g_autoptr(GPtrArray) cands = g_ptr_array_new();
	for (guint i = 0; i < r->ip_configs->len; i++) {
		if (on_pod_side(r, r->ip_configs->pdata[i]))
			g_ptr_array_add(cands, r->ip_configs->pdata[i]);
	}
	if (cands->len == 0) {
		for (guint i = 0; i < r->ip_configs->len; i++)
			g_ptr_array_add(cands, r->ip_configs->pdata[i]);
	}
	int first_v4 = -1;
	for (guint i = 0; i < cands->len && first_v4 < 0; i++) {
		if (((CniIpConfig *)cands->pdata[i])->family == 4)
			first_v4 = i;
	}
	int family;
	if (first_v4 >= 0) {
		CniIpConfig *c = cands->pdata[first_v4];
		g_ptr_array_add(r->ips, address_only(c->address, &family));
	}
	for (guint i = 0; i < cands->len; i++) {
		CniIpConfig *c = cands->pdata[i];
		if ((int)i != first_v4)
			g_ptr_array_add(r->ips,
					address_only(c->address, &family));
	}
}

CniResult *cni_result_parse(const char *json, const char *network,
			    GError **error)
{
	json_error_t jerr;
	g_autoptr(json_t) root = json_loads(json ? json : "", 0, &jerr);
	if (!json_is_object(root))
		return berth_throw_null(error, INTERNAL,
					"CNI result is not a JSON object: %s",
					root ? "wrong type" : jerr.text);
	g_autoptr(CniResult) r = g_new0(CniResult, 1);
	r->network = g_strdup(network);
	r->cni_version = dup_nonempty(json_object_get(root, "cniVersion"));
	r->raw_json = g_strdup(json);
	r->interfaces = g_ptr_array_new_with_free_func(interface_free);
	r->ip_configs = g_ptr_array_new_with_free_func(ip_config_free);
	r->ips = g_ptr_array_new_with_free_func(g_free);
	parse_interfaces(r, root);
	if (!parse_ips(r, root, error))
		return NULL;
	pick_pod_ips(r);
	return g_steal_pointer(&r);
}
