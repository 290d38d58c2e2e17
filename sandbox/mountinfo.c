/* A parser for /proc/self/mountinfo lines:
 *   id parent maj:min root mount_point opts [optional...] - fstype src sopts */
#include "sandbox/mountinfo.h"
#include "util/fs.h"

#include <stdlib.h>
#include <string.h>

static void mount_entry_free(gpointer p)
{
	MountEntry *e = p;
	g_free(e->dev);
	g_free(e->root);
	g_free(e->mount_point);
	g_free(e->optional);
	g_free(e->fstype);
	g_free(e->source);
	g_free(e->super_opts);
	g_free(e);
}

/* Decode the kernel's \ooo escapes (space, tab, newline, backslash). */
static char *unescape(const char *s)
{
	GString *out = g_string_sized_new(strlen(s));
	for (const char *c = s; *c; c++) {
		if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' &&
		    c[2] <= '7' && c[3] >= '0' && c[3] <= '7') {
			g_string_append_c(out, (char)((c[1] - '0') * 64 +
						      (c[2] - '0') * 8 +
						      (c[3] - '0')));
			c += 3;
			continue;
		}
		g_string_append_c(out, *c);
	}
	return g_string_free(out, FALSE);
}

static MountEntry *parse_line(const char *line)
{
	g_auto(GStrv) f = g_strsplit(line, " ", -1);
	guint n = g_strv_length(f);
	guint sep = 6;
	while (sep < n && strcmp(f[sep], "-") != 0)
		sep++;
	if (n < 7 || sep + 2 >= n)
		return NULL;
	MountEntry *e = g_new0(MountEntry, 1);
	e->id = atoi(f[0]);
	e->parent_id = atoi(f[1]);
	e->dev = g_strdup(f[2]);
	e->root = unescape(f[3]);
	e->mount_point = unescape(f[4]);
	GString *opt = g_string_new(NULL);
	for (guint i = 6; i < sep; i++)
		g_string_append_printf(opt, "%s%s", i > 6 ? " " : "", f[i]);
	e->optional = g_string_free(opt, FALSE);
	e->fstype = g_strdup(f[sep + 1]);
	e->source = unescape(f[sep + 2]);
	e->super_opts = g_strdup(sep + 3 < n ? f[sep + 3] : "");
	return e;
}

GPtrArray *mountinfo_parse(const char *text)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(mount_entry_free);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		if (lines[i][0] == '\0')
			continue;
		MountEntry *e = parse_line(lines[i]);
		if (e)
			g_ptr_array_add(out, e);
	}
	return out;
}

GPtrArray *mountinfo_read(GError **error)
{
	g_autofree char *text = NULL;
	if (!berth_read_file("/proc/self/mountinfo", &text, NULL, error))
		return NULL;
	return mountinfo_parse(text);
}

const MountEntry *mountinfo_find(const GPtrArray *entries, const char *path)
{
	for (guint i = entries->len; i > 0; i--) {
		const MountEntry *e = entries->pdata[i - 1];
		if (strcmp(e->mount_point, path) == 0)
			return e;
	}
	return NULL;
}

gboolean mountinfo_is_private(const MountEntry *e)
{
	return strstr(e->optional, "shared:") == NULL &&
	       strstr(e->optional, "master:") == NULL;
}
