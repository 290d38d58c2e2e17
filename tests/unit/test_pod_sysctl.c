/* Tests of sandbox/sysctl.c: the namespace table, both name forms, the
 * malformed names and values, and refusals with host namespaces. */
#include "sandbox/pod/sysctl.h"
#include "util/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
	const char *name;
	PodSysctlNs ns;
} NsCase;

static void test_namespace_table(void **state)
{
	(void)state;
	const NsCase cases[] = {
		{"net.ipv4.ip_forward", POD_SYSCTL_NS_NET},
		{"net/ipv4/ip_forward", POD_SYSCTL_NS_NET},
		{"net.ipv4.conf.eth0/100.rp_filter", POD_SYSCTL_NS_NET},
		{"net/ipv4/conf/eth0.100/rp_filter", POD_SYSCTL_NS_NET},
		{"net.core.somaxconn", POD_SYSCTL_NS_NET},
		{"kernel.shmmax", POD_SYSCTL_NS_IPC},
		{"kernel.shmall", POD_SYSCTL_NS_IPC},
		{"kernel.shm_rmid_forced", POD_SYSCTL_NS_IPC},
		{"kernel.msgmax", POD_SYSCTL_NS_IPC},
		{"kernel/msgmnb", POD_SYSCTL_NS_IPC},
		{"kernel.sem", POD_SYSCTL_NS_IPC},
		{"kernel.sem_next_id", POD_SYSCTL_NS_IPC},
		{"fs.mqueue.msg_max", POD_SYSCTL_NS_IPC},
		{"fs/mqueue/queues_max", POD_SYSCTL_NS_IPC},
		{"kernel.domainname", POD_SYSCTL_NS_UTS},
		{"kernel.hostname", POD_SYSCTL_NS_NONE},
		{"kernel.semx", POD_SYSCTL_NS_NONE},
		{"kernel.pid_max", POD_SYSCTL_NS_NONE},
		{"vm.swappiness", POD_SYSCTL_NS_NONE},
		{"user.max_user_namespaces", POD_SYSCTL_NS_NONE},
		{"fs.mqueue", POD_SYSCTL_NS_NONE},
		{"fs.file-max", POD_SYSCTL_NS_NONE},
		{"net", POD_SYSCTL_NS_NONE},
		{"network.x", POD_SYSCTL_NS_NONE},
		{"kernel.msg", POD_SYSCTL_NS_NONE},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		if (pod_sysctl_namespace(cases[i].name) != cases[i].ns)
			fail_msg("%s: namespace %d, want %d", cases[i].name,
				 pod_sysctl_namespace(cases[i].name),
				 cases[i].ns);
}

static void test_path_forms(void **state)
{
	(void)state;
	const char *cases[][2] = {
		{"net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		{"net/ipv4/ip_forward", "net/ipv4/ip_forward"},
		{"net.ipv4.conf.eth0/100.rp_filter",
		 "net/ipv4/conf/eth0.100/rp_filter"},
		{"net/ipv4/conf/eth0.100/rp_filter",
		 "net/ipv4/conf/eth0.100/rp_filter"},
		{"kernel.shm_rmid_forced", "kernel/shm_rmid_forced"},
		{"net.ipv6.conf.all.disable_ipv6",
		 "net/ipv6/conf/all/disable_ipv6"},
		{"fs.mqueue.msg-max", "fs/mqueue/msg-max"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *p = pod_sysctl_path(cases[i][0], &err);
		if (p == NULL)
			fail_msg("%s: %s", cases[i][0], err->message);
		assert_string_equal(p, cases[i][1]);
	}
}

static void test_malformed_names(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		".",
		"net..ipv4",
		"net.ipv4.",
		".net.ipv4",
		"net/ipv4/",
		"net//ipv4",
		"net/../kernel/pid_max",
		"net/ipv4/conf/../../../vm/swappiness",
		"net/./ipv4",
		"net.ipv4.conf./../x",
		"net.IPV4.ip_forward",
		"net.ipv4.ip forward",
		"net.ipv4.ip_forward\n",
		"net.ipv4.ip$forward",
		"net.ipv4.ip_forward=1",
		"/net/ipv4/ip_forward",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *p = pod_sysctl_path(bad[i], &err);
		if (p != NULL)
			fail_msg("\"%s\" accepted as %s", bad[i], p);
		assert_true(g_error_matches(err, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		g_clear_error(&err);
		assert_false(pod_sysctl_check(bad[i], "1", FALSE, FALSE, &err));
		assert_true(g_error_matches(err, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
	}
	g_autofree char *longname = g_strnfill(300, 'a');
	assert_null(pod_sysctl_path(longname, NULL));
	assert_null(pod_sysctl_path(NULL, NULL));
}

typedef struct {
	const char *name;
	gboolean host_net, host_ipc;
	gboolean ok;
} CheckCase;

static void test_check_table(void **state)
{
	(void)state;
	const CheckCase cases[] = {
		{"net.ipv4.ip_local_port_range", FALSE, FALSE, TRUE},
		{"net.ipv4.ip_local_port_range", FALSE, TRUE, TRUE},
		{"net.ipv4.ip_local_port_range", TRUE, FALSE, FALSE},
		{"net/ipv4/tcp_syncookies", TRUE, TRUE, FALSE},
		{"kernel.shm_rmid_forced", FALSE, FALSE, TRUE},
		{"kernel.shm_rmid_forced", TRUE, FALSE, TRUE},
		{"kernel.shm_rmid_forced", FALSE, TRUE, FALSE},
		{"kernel.sem", FALSE, FALSE, TRUE},
		{"kernel.msgmax", FALSE, TRUE, FALSE},
		{"fs.mqueue.msg_max", FALSE, FALSE, TRUE},
		{"fs.mqueue.msg_max", FALSE, TRUE, FALSE},
		{"kernel.domainname", FALSE, FALSE, TRUE},
		{"kernel.domainname", TRUE, FALSE, FALSE},
		{"kernel.hostname", FALSE, FALSE, FALSE},
		{"vm.swappiness", FALSE, FALSE, FALSE},
		{"kernel.pid_max", FALSE, FALSE, FALSE},
		{"kernel.randomize_va_space", FALSE, FALSE, FALSE},
		{"user.max_user_namespaces", FALSE, FALSE, FALSE},
		{"fs.file-max", FALSE, FALSE, FALSE},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const CheckCase *c = &cases[i];
		g_autoptr(GError) err = NULL;
		gboolean ok = pod_sysctl_check(c->name, "1", c->host_net,
					       c->host_ipc, &err);
		if (ok != c->ok)
			fail_msg("%s (host_net %d host_ipc %d): %s", c->name,
				 c->host_net, c->host_ipc,
				 ok ? "accepted" : err->message);
		if (!ok) {
			assert_true(
				g_error_matches(err, BERTH_ERROR,
						BERTH_ERROR_INVALID_ARGUMENT));
			assert_non_null(strstr(err->message, c->name));
		}
	}
}

static void test_check_messages(void **state)
{
	(void)state;
	g_autoptr(GError) err = NULL;
	assert_false(
		pod_sysctl_check("vm.swappiness", "10", FALSE, FALSE, &err));
	assert_string_equal(err->message,
			    "sysctl \"vm.swappiness\" is not allowed: it is "
			    "not namespaced, setting it would change the host");
	g_clear_error(&err);
	assert_false(pod_sysctl_check("net.core.somaxconn", "10", TRUE, FALSE,
				      &err));
	assert_string_equal(err->message,
			    "sysctl \"net.core.somaxconn\" is not allowed: "
			    "the pod uses the host's network namespace");
	g_clear_error(&err);
	assert_false(
		pod_sysctl_check("kernel.hostname", "x", FALSE, FALSE, &err));
	assert_non_null(strstr(err->message, "hostname instead"));
	g_clear_error(&err);
	/* UTS given on its own. */
	assert_true(pod_sysctl_check_ns("kernel.domainname", "x", TRUE, FALSE,
					FALSE, NULL));
	assert_false(pod_sysctl_check_ns("kernel.domainname", "x", FALSE, FALSE,
					 TRUE, NULL));
}

static void test_values(void **state)
{
	(void)state;
	assert_true(pod_sysctl_check("kernel.sem", "250 32000 32 128", FALSE,
				     FALSE, NULL));
	assert_true(pod_sysctl_check("net.ipv4.ip_local_port_range",
				     "1024\t65000", FALSE, FALSE, NULL));
	assert_true(
		pod_sysctl_check("kernel.domainname", "", FALSE, FALSE, NULL));
	g_autoptr(GError) err = NULL;
	assert_false(pod_sysctl_check("net.ipv4.ip_forward", "1\n0", FALSE,
				      FALSE, &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	assert_non_null(strstr(err->message, "control character"));
	assert_false(pod_sysctl_check("net.ipv4.ip_forward", "1\r", FALSE,
				      FALSE, NULL));
	assert_false(pod_sysctl_check("net.ipv4.ip_forward", NULL, FALSE, FALSE,
				      NULL));
	g_autofree char *big = g_strnfill(5000, '1');
	assert_false(pod_sysctl_check("net.ipv4.ip_forward", big, FALSE, FALSE,
				      NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespace_table),
		cmocka_unit_test(test_path_forms),
		cmocka_unit_test(test_malformed_names),
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
