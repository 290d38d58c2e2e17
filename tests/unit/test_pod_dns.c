/* Tests of sandbox/dns.c: exact file contents, the host copy, and entries
 * that would inject lines or are not addresses. */
#include "sandbox/pod/dns.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int setup(void **state)
{
	*state = g_dir_make_tmp("berth-test-dns-XXXXXX", NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	berth_rm_rf(*state, NULL);
	g_free(*state);
	return 0;
}

static char *in(void **state, const char *name)
{
	return g_build_filename(*state, name, NULL);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

static void assert_file(const char *path, const char *want)
{
	g_autofree char *got = slurp(path);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_resolv_full(void **state)
{
	g_autofree char *path = in(state, "resolv.conf");
	const char *servers[] = {"10.96.0.10", "fd00::a", NULL};
	const char *searches[] = {"default.svc.cluster.local",
				  "svc.cluster.local", "cluster.local", NULL};
	const char *options[] = {"ndots:5", "edns0", NULL};
	g_autoptr(GError) err = NULL;
	assert_true(pod_dns_write_resolv_conf(path, servers, searches, options,
					      &err));
	assert_file(path, "nameserver 10.96.0.10\n"
			  "nameserver fd00::a\n"
			  "search default.svc.cluster.local svc.cluster.local "
			  "cluster.local\n"
			  "options ndots:5 edns0\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_resolv_partial(void **state)
{
	g_autofree char *path = in(state, "resolv.conf");
	const char *servers[] = {"1.1.1.1", "fe80::1%eth0", NULL};
	const char *empty[] = {NULL};
	const char *options[] = {"timeout:2", NULL};
	assert_true(
		pod_dns_write_resolv_conf(path, servers, empty, NULL, NULL));
	assert_file(path, "nameserver 1.1.1.1\nnameserver fe80::1%eth0\n");
	assert_true(pod_dns_write_resolv_conf(path, NULL, NULL, options, NULL));
	assert_file(path, "options timeout:2\n");
	/* Four servers: kept, only logged. */
	const char *four[] = {"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", NULL};
	berth_log_set_level(BERTH_LOG_ERROR);
	assert_true(pod_dns_write_resolv_conf(path, four, NULL, NULL, NULL));
	assert_file(path, "nameserver 1.1.1.1\nnameserver 2.2.2.2\n"
			  "nameserver 3.3.3.3\nnameserver 4.4.4.4\n");
}

static void test_resolv_host_copy(void **state)
{
	g_autofree char *path = in(state, "resolv.conf");
	const char *empty[] = {NULL};
	g_autoptr(GError) err = NULL;
	assert_true(pod_dns_write_resolv_conf(path, empty, NULL, empty, &err));
	g_autofree char *host = slurp(POD_DNS_HOST_RESOLV_CONF);
	assert_file(path, host ? host : "");

	/* An explicit source, and an absent one giving an empty file. */
	g_autofree char *src = in(state, "src.conf");
	assert_true(g_file_set_contents(src, "nameserver 9.9.9.9\n", -1, NULL));
	assert_true(pod_dns_copy_resolv_conf(src, path, &err));
	assert_file(path, "nameserver 9.9.9.9\n");
	g_autofree char *missing = in(state, "missing.conf");
	berth_log_set_level(BERTH_LOG_ERROR);
	assert_true(pod_dns_copy_resolv_conf(missing, path, &err));
	assert_file(path, "");
}

static void expect_resolv_refused(void **state, const char *const *servers,
				  const char *const *searches,
				  const char *const *options)
{
	g_autofree char *path = in(state, "refused.conf");
	g_autoptr(GError) err = NULL;
	assert_false(pod_dns_write_resolv_conf(path, servers, searches, options,
					       &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_resolv_refused(void **state)
{
	const char *bad_servers[] = {"1.1.1.1\nnameserver 6.6.6.6",
				     "dns.google",
				     "1.2.3",
				     "",
				     "::g",
				     "fe80::1%",
				     "fe80::1%eth 0",
				     "1.1.1.1 ",
				     "10.0.0.256",
				     "1.1.1.1%eth0"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_servers); i++) {
		const char *servers[] = {"8.8.8.8", bad_servers[i], NULL};
		expect_resolv_refused(state, servers, NULL, NULL);
	}
	const char *bad_words[] = {"a.com\nnameserver 6.6.6.6",
				   "a.com b.com",
				   "a.com\tb",
				   "",
				   "a\rb",
				   "caf\xc3\xa9.com"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_words); i++) {
		const char *words[] = {"ok.com", bad_words[i], NULL};
		expect_resolv_refused(state, NULL, words, NULL);
		expect_resolv_refused(state, NULL, NULL, words);
	}
	g_autoptr(GError) err = NULL;
	const char *s[] = {"nope", NULL};
	g_autofree char *path = in(state, "x.conf");
	assert_false(pod_dns_write_resolv_conf(path, s, NULL, NULL, &err));
	assert_string_equal(err->message,
			    "DNS server \"nope\" is not an IP address");
}

static void test_hosts(void **state)
{
	g_autofree char *path = in(state, "hosts");
	const char *ips[] = {"10.88.0.5", "fd00::5", NULL};
	g_autoptr(GError) err = NULL;
	assert_true(pod_dns_write_hosts(path, "web-0", ips, &err));
	assert_file(path, "# berth-managed hosts file\n"
			  "127.0.0.1\tlocalhost\n"
			  "::1\tlocalhost ip6-localhost ip6-loopback\n"
			  "10.88.0.5\tweb-0\n"
			  "fd00::5\tweb-0\n");
	assert_true(pod_dns_write_hosts(path, NULL, NULL, &err));
	assert_file(path, "# berth-managed hosts file\n"
			  "127.0.0.1\tlocalhost\n"
			  "::1\tlocalhost ip6-localhost ip6-loopback\n");
}

static void test_hosts_refused(void **state)
{
	g_autofree char *path = in(state, "hosts-bad");
	const char *inject[] = {"10.0.0.1\n6.6.6.6 evil", NULL};
	const char *good[] = {"10.0.0.1", NULL};
	g_autoptr(GError) err = NULL;
	assert_false(pod_dns_write_hosts(path, "h", inject, &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	g_clear_error(&err);
	assert_false(pod_dns_write_hosts(path, "h\n6.6.6.6 evil", good, &err));
	g_clear_error(&err);
	assert_false(pod_dns_write_hosts(path, "h x", good, &err));
	g_clear_error(&err);
	assert_false(pod_dns_write_hosts(path, NULL, good, &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_hostname(void **state)
{
	g_autofree char *path = in(state, "hostname");
	g_autoptr(GError) err = NULL;
	assert_true(pod_dns_write_hostname(path, "web-0", &err));
	assert_file(path, "web-0\n");
	assert_true(pod_dns_write_hostname(path, "other", &err));
	assert_file(path, "other\n");
	g_autofree char *longname = g_strnfill(65, 'a');
	const char *bad[] = {"", "a\nb", "a b", longname};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		assert_false(pod_dns_write_hostname(path, bad[i], &err));
		assert_true(g_error_matches(err, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		g_clear_error(&err);
	}
	assert_false(pod_dns_write_hostname(path, NULL, NULL));
	assert_file(path, "other\n");
	g_autofree char *max = g_strnfill(64, 'a');
	assert_true(pod_hostname_check(max, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolv_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolv_partial, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolv_host_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolv_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostname, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
