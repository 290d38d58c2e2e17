/* Random object ids from getrandom(2). */
#include "util/ids.h"

#include <string.h>
#include <sys/random.h>

char *berth_new_id(void)
{
	guint8 raw[32];
	gsize got = 0;
	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
		if (n > 0)
			got += n;
	}
	GString *s = g_string_sized_new(65);
	for (gsize i = 0; i < sizeof raw; i++)
		g_string_append_printf(s, "%02x", raw[i]);
	return g_string_free(s, FALSE);
}

gboolean berth_is_id(const char *s)
{
	if (strlen(s) != 64)
		return FALSE;
	for (const char *p = s; *p; p++) {
		if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
			return FALSE;
	}
	return TRUE;
}
