/* Fuzz target: network/cni-result.c, a CNI plugin's result of any
 * supported version, and the error message drawn from a failed plugin's
 * stdout (network/cni-exec.c). */
#include "network/cni-private.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *json = fuzz_cstr(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(CniResult) r = cni_result_parse(json, "fuzznet", &error);
	if (r == NULL) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
	} else {
		/* An interface index past the list is the plugin's error;
		 * the parser keeps it and never follows it. */
		fuzz_check(r->interfaces && r->ip_configs && r->ips);
		fuzz_check(r->ips->len <= r->ip_configs->len);
		for (guint i = 0; i < r->ips->len; i++)
			fuzz_check(g_hostname_is_ip_address(r->ips->pdata[i]));
	}
	/* exit status 1, the bytes as stdout, nothing on stderr */
	g_autofree char *msg =
		cni_exec_error_message("bridge", "ADD", 1 << 8, json, "");
	fuzz_check(msg != NULL);
	return 0;
}
