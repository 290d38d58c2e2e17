/* Pressure stall information: the parser of the kernel's *.pressure
 * files, kept pure so that tests can feed it text. */
#include "sandbox/cgroup/cgroup.h"

#include <stdlib.h>
#include <string.h>

/* "key=<number>" somewhere in line (up to end); FALSE when absent. */
static gboolean field(const char *line, const char *end, const char *key,
		      const char **value)
{
	gsize klen = strlen(key);
	for (const char *p = line; p && p + klen < end; p = strchr(p, ' ')) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			*value = p + klen + 1;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean parse_line(const char *line, const char *end,
			   CgroupPsiLine *out)
{
	const char *a10, *a60, *a300, *total;
	if (!field(line, end, "avg10", &a10) ||
	    !field(line, end, "avg60", &a60) ||
	    !field(line, end, "avg300", &a300) ||
	    !field(line, end, "total", &total) || !g_ascii_isdigit(*total))
		return FALSE;
	out->avg10 = g_ascii_strtod(a10, NULL);
	out->avg60 = g_ascii_strtod(a60, NULL);
	out->avg300 = g_ascii_strtod(a300, NULL);
	out->total_ns = g_ascii_strtoull(total, NULL, 10) * 1000;
	out->present = TRUE;
	return TRUE;
}

gboolean cgroup_psi_parse(const char *text, CgroupPsi *out)
{
	memset(out, 0, sizeof *out);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		if (g_str_has_prefix(line, "some "))
			parse_line(line + 5, end, &out->some);
		else if (g_str_has_prefix(line, "full "))
			parse_line(line + 5, end, &out->full);
		line = *end ? end + 1 : NULL;
	}
	out->present = out->some.present || out->full.present;
	return out->present;
}
