/* Per-device block I/O of a cgroup: the parsers of v2 io.stat and v1
 * blkio's throttle counters (pure, for the tests), the reader, and the
 * device names cAdvisor's metrics carry. */
#include "sandbox/cgroup/cgroup-private.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* The entry of a device, made when new; NULL when the table is full. */
static CgroupIoDevice *device(CgroupIo *io, guint32 major, guint32 minor)
{
	for (guint i = 0; i < io->n; i++)
		if (io->dev[i].major == major && io->dev[i].minor == minor)
			return &io->dev[i];
	if (io->n == CGROUP_IO_DEVICES)
		return NULL;
	CgroupIoDevice *d = &io->dev[io->n++];
	*d = (CgroupIoDevice){.major = major, .minor = minor};
	return d;
}

/* A decimal number at *p (digits only, at most 2^64-1), *p moved past
 * it. */
static gboolean number(const char **p, guint64 *out)
{
	const char *s = *p;
	guint64 v = 0;
	if (!g_ascii_isdigit(*s))
		return FALSE;
	for (; g_ascii_isdigit(*s); s++) {
		guint d = (guint)(*s - '0');
		if (v > (G_MAXUINT64 - d) / 10)
			return FALSE;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return TRUE;
}

/* "<maj>:<min>" then a space at *p, *p moved past the space. */
static gboolean devno(const char **p, guint32 *major, guint32 *minor)
{
	const char *s = *p;
	guint64 ma, mi;
	if (!number(&s, &ma) || *s++ != ':' || !number(&s, &mi) || *s != ' ' ||
	    ma > G_MAXUINT32 || mi > G_MAXUINT32)
		return FALSE;
	*p = s + 1;
	*major = (guint32)ma;
	*minor = (guint32)mi;
	return TRUE;
}

/* Each line of text, NUL-terminated in a copy, to fn. */
static void each_line(const char *text, void (*fn)(const char *, void *),
		      void *data)
{
	if (text == NULL)
		return;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		fn(*l, data);
}

static void v2_line(const char *line, void *data)
{
	CgroupIo *io = data;
	guint32 major, minor;
	const char *p = line;
	if (!devno(&p, &major, &minor))
		return;
	CgroupIoDevice *d = device(io, major, minor);
	if (d == NULL)
		return;
	static const struct {
		const char *key;
		gsize off;
	} keys[] = {
		{"rbytes=", G_STRUCT_OFFSET(CgroupIoDevice, read_bytes)},
		{"wbytes=", G_STRUCT_OFFSET(CgroupIoDevice, write_bytes)},
		{"rios=", G_STRUCT_OFFSET(CgroupIoDevice, reads)},
		{"wios=", G_STRUCT_OFFSET(CgroupIoDevice, writes)},
	};
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
			gsize klen = strlen(keys[k].key);
			const char *v = p + klen;
			guint64 n;
			if (strncmp(p, keys[k].key, klen) == 0 &&
			    number(&v, &n) && (*v == ' ' || *v == '\0')) {
				G_STRUCT_MEMBER(guint64, d, keys[k].off) += n;
				break;
			}
		}
		p = strchr(p, ' ');
		if (p == NULL)
			break;
	}
}

void cgroup_io_parse_v2(const char *text, CgroupIo *out)
{
	each_line(text, v2_line, out);
}

typedef struct {
	CgroupIo *io;
	gboolean counts; /* ios, not bytes */
} V1Parse;

static void v1_line(const char *line, void *data)
{
	V1Parse *v = data;
	guint32 major, minor;
	const char *p = line;
	gboolean read;
	guint64 n;
	if (!devno(&p, &major, &minor))
		return; /* also the last "Total N" */
	if (strncmp(p, "Read ", 5) == 0)
		read = TRUE;
	else if (strncmp(p, "Write ", 6) == 0)
		read = FALSE;
	else
		return;
	p += read ? 5 : 6;
	if (!number(&p, &n) || *p != '\0')
		return;
	CgroupIoDevice *d = device(v->io, major, minor);
	if (d == NULL)
		return;
	if (v->counts)
		*(read ? &d->reads : &d->writes) += n;
	else
		*(read ? &d->read_bytes : &d->write_bytes) += n;
}

void cgroup_io_parse_v1(const char *bytes, const char *ios, CgroupIo *out)
{
	V1Parse b = {out, FALSE}, c = {out, TRUE};
	each_line(bytes, v1_line, &b);
	each_line(ios, v1_line, &c);
}

gboolean cgroup_io(const char *relative_path, CgroupIo *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (!cgroup_check_path(relative_path, TRUE, error))
		return FALSE;
	const GPtrArray *hs = cgroup_hierarchies();
	gboolean found = FALSE;
	/* v1 hierarchies come first; on a hybrid host blkio is there and the
	 * unified tree has no io controller. */
	for (guint i = 0; i < hs->len && !out->present; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		if (!h->v2 && !cgroup_hierarchy_has(h, "blkio"))
			continue;
		g_autofree char *dir = cgroup_hierarchy_dir(h, relative_path);
		if (dir == NULL || !g_file_test(dir, G_FILE_TEST_IS_DIR))
			continue;
		found = TRUE;
		if (h->v2) {
			g_autofree char *t = cgroup_read(dir, "io.stat", NULL);
			cgroup_io_parse_v2(t, out);
			out->present = t != NULL;
			continue;
		}
		g_autofree char *b = cgroup_read(
			dir, "blkio.throttle.io_service_bytes_recursive", NULL);
		g_autofree char *c = cgroup_read(
			dir, "blkio.throttle.io_serviced_recursive", NULL);
		cgroup_io_parse_v1(b, c, out);
		out->present = b != NULL || c != NULL;
	}
	if (!found)
		return berth_throw(error, NOT_FOUND, "cgroup %s does not exist",
				   relative_path);
	return TRUE;
}

char *cgroup_io_uevent_devname(const char *uevent)
{
	g_auto(GStrv) lines = g_strsplit(uevent, "\n", -1);
	for (char **l = lines; *l; l++)
		if (g_str_has_prefix(*l, "DEVNAME=") && (*l)[8] != '\0' &&
		    strstr(*l, "..") == NULL)
			return g_strdup(*l + 8);
	return NULL;
}

/* Names looked up, "<maj>:<min>" -> Name, each kept NAME_KEEP_US. */
#define NAME_KEEP_US (60 * G_USEC_PER_SEC)

typedef struct {
	char *name;
	gint64 at;
} Name;

static void name_free(gpointer p)
{
	Name *n = p;
	g_free(n->name);
	g_free(n);
}

static GMutex names_lock;
static GHashTable *names;

char *cgroup_io_device_name(guint32 major, guint32 minor)
{
	char key[32];
	g_snprintf(key, sizeof key, "%u:%u", major, minor);
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&names_lock);
	if (names == NULL)
		names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      name_free);
	Name *n = g_hash_table_lookup(names, key);
	char *hit = n && now - n->at < NAME_KEEP_US ? g_strdup(n->name) : NULL;
	g_mutex_unlock(&names_lock);
	if (hit)
		return hit;
	g_autofree char *path =
		g_strdup_printf("/sys/dev/block/%s/uevent", key);
	g_autofree char *text = NULL;
	g_autofree char *dev = NULL;
	if (g_file_get_contents(path, &text, NULL, NULL))
		dev = cgroup_io_uevent_devname(text);
	char *name = dev ? g_strconcat("/dev/", dev, NULL)
			 : g_strconcat("/dev/block/", key, NULL);
	n = g_new(Name, 1);
	*n = (Name){g_strdup(name), now};
	g_mutex_lock(&names_lock);
	g_hash_table_replace(names, g_strdup(key), n);
	g_mutex_unlock(&names_lock);
	return name;
}
