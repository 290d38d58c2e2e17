/* The /proc/net/dev parser: headers skipped, receive and transmit
 * columns in their places, loopback left out on request, broken lines
 * skipped; and reading this process's own namespace through a pin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "network/netdev.h"

static const char *const sample =
	"Inter-|   Receive                                                |  "
	"Transmit\n"
	" face |bytes    packets errs drop fifo frame compressed multicast|"
	"bytes    packets errs drop fifo colls carrier compressed\n"
	"    lo:     100       2    0    0    0     0          0         0   "
	"     100       2    0    0    0     0       0          0\n"
	"  eth0: 5254321    4321    1    2    0     0          0         3 "
	"1234567     765    4    5    0     0       0          0\n"
	"broken: 1 2 3\n"
	"net1:7 8 9 10 0 0 0 0 11 12 13 14 0 0 0 0\n";

static void test_parse_columns(void **state)
{
	(void)state;
	g_autoptr(GArray) a = netdev_parse(sample, FALSE);
	assert_int_equal(a->len, 3);
	const NetdevStats *lo = &g_array_index(a, NetdevStats, 0);
	const NetdevStats *eth = &g_array_index(a, NetdevStats, 1);
	const NetdevStats *n1 = &g_array_index(a, NetdevStats, 2);
	assert_string_equal(lo->name, "lo");
	assert_string_equal(eth->name, "eth0");
	assert_int_equal(eth->rx_bytes, 5254321);
	assert_int_equal(eth->rx_packets, 4321);
	assert_int_equal(eth->rx_errors, 1);
	assert_int_equal(eth->rx_dropped, 2);
	assert_int_equal(eth->tx_bytes, 1234567);
	assert_int_equal(eth->tx_packets, 765);
	assert_int_equal(eth->tx_errors, 4);
	assert_int_equal(eth->tx_dropped, 5);
	assert_string_equal(n1->name, "net1");
	assert_int_equal(n1->rx_bytes, 7);
	assert_int_equal(n1->tx_dropped, 14);
}

static void test_skip_loopback(void **state)
{
	(void)state;
	g_autoptr(GArray) a = netdev_parse(sample, TRUE);
	assert_int_equal(a->len, 2);
	assert_string_equal(g_array_index(a, NetdevStats, 0).name, "eth0");
	g_autoptr(GArray) none = netdev_parse("", TRUE);
	assert_int_equal(none->len, 0);
}

static void test_read_own_namespace(void **state)
{
	(void)state;
	g_autoptr(GError) e = NULL;
	g_autoptr(GArray) a = netdev_read_netns("/proc/self/ns/net", &e);
	assert_non_null(a);
	for (guint i = 0; i < a->len; i++)
		assert_string_not_equal(g_array_index(a, NetdevStats, i).name,
					"lo");
	g_autoptr(GArray) gone = netdev_read_netns("/nonexistent/ns", &e);
	assert_null(gone);
	assert_non_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_columns),
		cmocka_unit_test(test_skip_loopback),
		cmocka_unit_test(test_read_own_namespace),
	};
	return cmocka_run_group_tests_name("netdev", tests, NULL, NULL);
}
