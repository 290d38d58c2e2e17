/* resolv.conf, hosts and hostname files for pods. Validation first, then
 * one atomic write per file. */
#include "sandbox/pod/dns.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#define DNS_FILE_MODE 0644
/* glibc's MAXNS: later nameserver lines are ignored. */
#define DNS_MAX_SERVERS 3
/* kubelet's limit on search domains. */
#define DNS_MAX_SEARCHES 32
#define DNS_WORD_MAX 253

static gsize strv_len(const char *const *v)
{
	return v ? g_strv_length((char **)v) : 0;
}

static gboolean zone_ok(const char *zone)
{
	gsize len = strlen(zone);
	if (len == 0 || len >= IF_NAMESIZE)
		return FALSE;
	for (const char *c = zone; *c; c++)
		if (!g_ascii_isalnum(*c) && !strchr("_.-", *c))
			return FALSE;
	return TRUE;
}

gboolean pod_dns_is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (s == NULL)
		return FALSE;
	if (inet_pton(AF_INET, s, buf) == 1)
		return TRUE;
	const char *pct = strchr(s, '%');
	if (pct == NULL)
		return inet_pton(AF_INET6, s, buf) == 1;
	g_autofree char *addr = g_strndup(s, pct - s);
	return inet_pton(AF_INET6, addr, buf) == 1 && zone_ok(pct + 1);
}

/* One word of a resolv.conf or hosts line: printable ASCII, no blanks. */
static gboolean word_ok(const char *what, const char *w, GError **error)
{
	if (w == NULL || *w == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "%s is empty",
				   what);
	if (strlen(w) > DNS_WORD_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s is longer than %d characters", what,
				   DNS_WORD_MAX);
	for (const char *c = w; *c; c++)
		if (*c <= ' ' || *c > '~') {
			g_autofree char *esc = g_strescape(w, NULL);
			return berth_throw(error, INVALID_ARGUMENT,
					   "%s \"%s\" contains whitespace or a "
					   "non-printable character",
					   what, esc);
		}
	return TRUE;
}

gboolean pod_hostname_check(const char *hostname, GError **error)
{
	if (!word_ok("hostname", hostname, error))
		return FALSE;
	if (strlen(hostname) > 64)
		return berth_throw(error, INVALID_ARGUMENT,
				   "hostname \"%s\" is longer than 64 "
				   "characters",
				   hostname);
	return TRUE;
}

static gboolean servers_ok(const char *const *servers, GError **error)
{
	for (gsize i = 0; i < strv_len(servers); i++)
		if (!pod_dns_is_ip(servers[i])) {
			g_autofree char *esc = g_strescape(servers[i], NULL);
			return berth_throw(error, INVALID_ARGUMENT,
					   "DNS server \"%s\" is not an IP "
					   "address",
					   esc);
		}
	if (strv_len(servers) > DNS_MAX_SERVERS)
		log_warn("pod DNS config has %zu nameservers; the resolver "
			 "uses only the first %d",
			 strv_len(servers), DNS_MAX_SERVERS);
	return TRUE;
}

static gboolean words_ok(const char *what, const char *const *words,
			 GError **error)
{
	for (gsize i = 0; i < strv_len(words); i++)
		if (!word_ok(what, words[i], error))
			return FALSE;
	return TRUE;
}

static void append_line(GString *out, const char *key, const char *const *words)
{
	if (strv_len(words) == 0)
		return;
	g_string_append(out, key);
	for (gsize i = 0; words[i]; i++)
		g_string_append_printf(out, " %s", words[i]);
	g_string_append_c(out, '\n');
}

gboolean pod_dns_copy_resolv_conf(const char *host_path, const char *path,
				  GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!berth_read_file(host_path, &text, &len, &local)) {
		if (!g_error_matches(local, BERTH_ERROR,
				     BERTH_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		log_warn("%s does not exist; pods get an empty resolv.conf",
			 host_path);
	}
	return berth_replace_file(path, text ? text : "", len, DNS_FILE_MODE,
				  error);
}

gboolean pod_dns_write_resolv_conf(const char *path, const char *const *servers,
				   const char *const *searches,
				   const char *const *options, GError **error)
{
	if (strv_len(servers) + strv_len(searches) + strv_len(options) == 0)
		return pod_dns_copy_resolv_conf(POD_DNS_HOST_RESOLV_CONF, path,
						error);
	if (!servers_ok(servers, error) ||
	    !words_ok("DNS search domain", searches, error) ||
	    !words_ok("DNS option", options, error))
		return FALSE;
	if (strv_len(searches) > DNS_MAX_SEARCHES)
		log_warn("pod DNS config has %zu search domains; more than %d "
			 "may be ignored by resolvers",
			 strv_len(searches), DNS_MAX_SEARCHES);
	g_autoptr(GString) out = g_string_new(NULL);
	for (gsize i = 0; i < strv_len(servers); i++)
		g_string_append_printf(out, "nameserver %s\n", servers[i]);
	append_line(out, "search", searches);
	append_line(out, "options", options);
	return berth_replace_file(path, out->str, out->len, DNS_FILE_MODE,
				  error);
}

gboolean pod_dns_write_hosts(const char *path, const char *hostname,
			     const char *const *ips, GError **error)
{
	if (strv_len(ips) > 0 && !pod_hostname_check(hostname, error))
		return FALSE;
	for (gsize i = 0; i < strv_len(ips); i++)
		if (!pod_dns_is_ip(ips[i])) {
			g_autofree char *esc = g_strescape(ips[i], NULL);
			return berth_throw(error, INVALID_ARGUMENT,
					   "pod IP \"%s\" is not an IP address",
					   esc);
		}
	g_autoptr(GString) out = g_string_new("# berth-managed hosts file\n"
					      "127.0.0.1\tlocalhost\n"
					      "::1\tlocalhost ip6-localhost "
					      "ip6-loopback\n");
	for (gsize i = 0; i < strv_len(ips); i++)
		g_string_append_printf(out, "%s\t%s\n", ips[i], hostname);
	return berth_replace_file(path, out->str, out->len, DNS_FILE_MODE,
				  error);
}

gboolean pod_dns_write_hostname(const char *path, const char *hostname,
				GError **error)
{
	if (!pod_hostname_check(hostname, error))
		return FALSE;
	g_autofree char *text = g_strdup_printf("%s\n", hostname);
	return berth_replace_file(path, text, strlen(text), DNS_FILE_MODE,
				  error);
}
