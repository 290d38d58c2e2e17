/* What every fuzz target shares: libFuzzer's entry points and a
 * NUL-terminated copy of the input for parsers that take C strings. Each
 * tests/fuzz/fuzz_<name>.c is one target; docs/testing.md says how to run
 * them. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a C string (it ends at the first NUL byte, as a C caller's
 * would). Free with g_free. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	return g_strndup((const char *)data, size);
}

/* A finding of the harness itself (a broken property): say what and
 * abort, which libFuzzer reports as a crash with the input saved (g_error
 * would raise SIGTRAP, which it does not catch). */
#define fuzz_fail(...)                                                         \
	do {                                                                   \
		g_printerr("fuzz property failed: " __VA_ARGS__);              \
		g_printerr("\n");                                              \
		abort();                                                       \
	} while (0)
#define fuzz_check(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail("%s", #cond);                                \
	} while (0)
