/* The CDI registry: the spec files of the configured dirs, kept parsed and
 * re-checked by stat on every resolve (only what changed is read again),
 * the device index with its priority and conflict rules, resolving names
 * to edits, and the device names a container's config asks for. */
#include "sandbox/spec/cdi-private.h"
#include "util/kv.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A file changed this close to when we looked may change again within the
 * same timestamp tick unseen: look again next time (as git does). */
#define RACY_NS (100 * G_GINT64_CONSTANT(1000000))

typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	gint64 mtime, ctime; /* ns */
} Stamp;

typedef struct {
	char *name;
	char *path;
	Stamp stamp;
	gboolean racy;
	gboolean gone; /* vanished or a dir: ignored */
	CdiSpec *spec; /* NULL: broken (or gone) */
	GError *error; /* why it is broken */
	char *kind;    /* broken: the kind it names, if it does */
} SpecFile;

typedef struct {
	char *path;
	gboolean exists;
	Stamp stamp;
	gboolean racy;
	GPtrArray *files; /* SpecFile*, by name */
} SpecDir;

typedef struct {
	const CdiSpec *spec;
	int priority;
	const char *conflict; /* another file of the same dir defining it */
} DevEntry;

struct CdiRegistry {
	GMutex lock;
	GPtrArray *dirs;   /* SpecDir*, lowest priority first */
	GHashTable *index; /* "v/c=name" -> DevEntry* */
};

static void spec_file_free(gpointer p)
{
	SpecFile *f = p;
	g_free(f->name);
	g_free(f->path);
	cdi_spec_free(f->spec);
	g_clear_error(&f->error);
	g_free(f->kind);
	g_free(f);
}

static void spec_dir_free(gpointer p)
{
	SpecDir *d = p;
	g_free(d->path);
	g_ptr_array_unref(d->files);
	g_free(d);
}

CdiRegistry *cdi_registry_new(const char *const *dirs)
{
	static const char *const defaults[] = {"/etc/cdi", "/var/run/cdi",
					       NULL};
	if (dirs == NULL)
		dirs = defaults;
	CdiRegistry *r = g_new0(CdiRegistry, 1);
	g_mutex_init(&r->lock);
	r->dirs = g_ptr_array_new_with_free_func(spec_dir_free);
	for (; *dirs; dirs++) {
		SpecDir *d = g_new0(SpecDir, 1);
		d->path = g_canonicalize_filename(*dirs, "/");
		d->files = g_ptr_array_new_with_free_func(spec_file_free);
		g_ptr_array_add(r->dirs, d);
	}
	r->index =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return r;
}

void cdi_registry_free(CdiRegistry *r)
{
	if (r == NULL)
		return;
	g_hash_table_unref(r->index);
	g_ptr_array_unref(r->dirs);
	g_mutex_clear(&r->lock);
	g_free(r);
}

/* --- noticing changes ----------------------------------------------------- */

static void stamp_of(const struct stat *st, Stamp *s)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
		   st->st_mtim.tv_nsec;
	s->ctime = st->st_ctim.tv_sec * G_GINT64_CONSTANT(1000000000) +
		   st->st_ctim.tv_nsec;
}

static gboolean stamp_equal(const Stamp *a, const Stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime == b->mtime && a->ctime == b->ctime;
}

static gboolean stamp_racy(const Stamp *s, gint64 now_ns)
{
	return MAX(s->mtime, s->ctime) >= now_ns - RACY_NS;
}

static void load_file(SpecFile *f)
{
	g_clear_pointer(&f->spec, cdi_spec_free);
	g_clear_error(&f->error);
	g_clear_pointer(&f->kind, g_free);
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(f->path, &data, &len, &local)) {
		(void)berth_throw(&f->error, FAILED_PRECONDITION, "%s",
				  local->message);
		return;
	}
	f->spec = cdi_spec_parse_kind(data, len, f->path,
				      g_str_has_suffix(f->name, ".yaml"),
				      &f->kind, &f->error);
}

static gboolean forget_file(SpecFile *f)
{
	gboolean was = !f->gone;
	f->gone = TRUE;
	g_clear_pointer(&f->spec, cdi_spec_free);
	g_clear_error(&f->error);
	g_clear_pointer(&f->kind, g_free);
	return was;
}

/* TRUE when the file's spec (or error) changed. A file that went away
 * (or is a dir) is ignored; one that cannot be looked at is broken. */
static gboolean refresh_file(SpecFile *f, gint64 now)
{
	struct stat st;
	int errsv = stat(f->path, &st) < 0 ? errno : 0;
	if (errsv == ENOENT || (errsv == 0 && S_ISDIR(st.st_mode)))
		return forget_file(f);
	if (errsv != 0) {
		forget_file(f);
		f->gone = FALSE;
		(void)berth_throw(&f->error, FAILED_PRECONDITION, "%s: %s",
				  f->path, g_strerror(errsv));
		return TRUE;
	}
	Stamp s;
	stamp_of(&st, &s);
	if (!f->gone && !f->racy && stamp_equal(&s, &f->stamp))
		return FALSE;
	f->gone = FALSE;
	f->stamp = s;
	f->racy = stamp_racy(&s, now);
	load_file(f);
	return TRUE;
}

static gboolean spec_file_name(const char *name)
{
	return name[0] != '.' && (g_str_has_suffix(name, ".json") ||
				  g_str_has_suffix(name, ".yaml"));
}

static gint cmp_name(gconstpointer a, gconstpointer b)
{
	return strcmp((*(SpecFile *const *)a)->name,
		      (*(SpecFile *const *)b)->name);
}

static SpecFile *take_file(GPtrArray *old, const char *dir, const char *name)
{
	for (guint i = 0; i < old->len; i++) {
		SpecFile *f = old->pdata[i];
		if (strcmp(f->name, name) == 0)
			return g_ptr_array_steal_index_fast(old, i);
	}
	SpecFile *f = g_new0(SpecFile, 1);
	f->name = g_strdup(name);
	f->path = g_build_filename(dir, name, NULL);
	f->gone = TRUE;
	return f;
}

/* Read the dir's entry list again, keeping what is known of the files
 * still there. TRUE when a file came or went. */
static gboolean rescan_dir(SpecDir *d)
{
	DIR *dir = opendir(d->path);
	g_autoptr(GPtrArray) old = d->files;
	d->files = g_ptr_array_new_with_free_func(spec_file_free);
	if (dir == NULL)
		return old->len > 0;
	guint kept = 0;
	struct dirent *ent;
	while ((ent = readdir(dir)) != NULL) {
		if (!spec_file_name(ent->d_name))
			continue;
		guint before = old->len;
		g_ptr_array_add(d->files, take_file(old, d->path, ent->d_name));
		kept += old->len < before;
	}
	closedir(dir);
	g_ptr_array_sort(d->files, cmp_name);
	return old->len > 0 || kept < d->files->len;
}

static gboolean refresh_dir(SpecDir *d, gint64 now)
{
	struct stat st;
	gboolean changed = FALSE;
	if (stat(d->path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		changed = d->files->len > 0;
		g_ptr_array_set_size(d->files, 0);
		d->exists = FALSE;
		return changed;
	}
	Stamp s;
	stamp_of(&st, &s);
	if (!d->exists || d->racy || !stamp_equal(&s, &d->stamp)) {
		d->exists = TRUE;
		d->stamp = s;
		d->racy = stamp_racy(&s, now);
		changed = rescan_dir(d);
	}
	for (guint i = 0; i < d->files->len; i++)
		changed |= refresh_file(d->files->pdata[i], now);
	return changed;
}

static void index_add_file(CdiRegistry *r, const SpecFile *f, int priority)
{
	for (const char *const *n = cdi_spec_devices(f->spec); *n; n++) {
		char *q = g_strdup_printf("%s=%s", f->spec->kind, *n);
		DevEntry *e = g_hash_table_lookup(r->index, q);
		if (e != NULL && e->priority == priority) {
			if (e->conflict == NULL)
				e->conflict = f->path;
			g_free(q);
			continue;
		}
		e = g_new0(DevEntry, 1);
		*e = (DevEntry){f->spec, priority, NULL};
		g_hash_table_replace(r->index, q, e);
	}
}

/* Later dirs win; the same device twice in one dir is a conflict. */
static void index_rebuild(CdiRegistry *r)
{
	g_hash_table_remove_all(r->index);
	for (guint p = 0; p < r->dirs->len; p++) {
		SpecDir *d = r->dirs->pdata[p];
		for (guint i = 0; i < d->files->len; i++) {
			SpecFile *f = d->files->pdata[i];
			if (f->spec != NULL)
				index_add_file(r, f, (int)p);
		}
	}
}

static void refresh(CdiRegistry *r)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	gint64 now = ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
	gboolean changed = FALSE;
	for (guint i = 0; i < r->dirs->len; i++)
		changed |= refresh_dir(r->dirs->pdata[i], now);
	if (changed)
		index_rebuild(r);
}

/* --- resolving ------------------------------------------------------------ */

static CdiEdits *edits_new(void)
{
	CdiEdits *e = g_new0(CdiEdits, 1);
	e->entries = g_ptr_array_new();
	e->devices = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(e->devices, NULL);
	return e;
}

void cdi_edits_free(CdiEdits *e)
{
	if (e == NULL)
		return;
	for (guint i = 0; i < e->entries->len; i++) {
		CdiEditsEntry *x = e->entries->pdata[i];
		json_decref(x->edits);
		g_free(x->origin);
		g_free(x);
	}
	g_ptr_array_unref(e->entries);
	g_ptr_array_unref(e->devices);
	g_free(e);
}

const char *const *cdi_edits_devices(const CdiEdits *e)
{
	return (const char *const *)e->devices->pdata;
}

static void edits_add(CdiEdits *e, json_t *edits, char *origin)
{
	CdiEditsEntry *x = g_new0(CdiEditsEntry, 1);
	x->edits = json_deep_copy(edits);
	x->origin = origin;
	g_ptr_array_add(e->entries, x);
}

/* A spec that did not parse blocks a device when it could have defined
 * it: its kind is the device's or unknown, and its dir is not below the
 * one of the definition found (min_priority; 0: none found). */
static gboolean check_broken(CdiRegistry *r, const char *name, const char *kind,
			     int min_priority, GError **error)
{
	for (guint p = (guint)min_priority; p < r->dirs->len; p++) {
		SpecDir *d = r->dirs->pdata[p];
		for (guint i = 0; i < d->files->len; i++) {
			SpecFile *f = d->files->pdata[i];
			if (f->error == NULL ||
			    (f->kind != NULL && strcmp(f->kind, kind) != 0))
				continue;
			return berth_throw(
				error, FAILED_PRECONDITION,
				"CDI device \"%s\": a spec file that "
				"may define it is not valid: %s",
				name, f->error->message);
		}
	}
	return TRUE;
}

static gboolean not_found(CdiRegistry *r, const char *name, const char *kind,
			  const char *device, GError **error)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new();
	g_autoptr(GPtrArray) dirs = g_ptr_array_new();
	for (guint p = 0; p < r->dirs->len; p++) {
		SpecDir *d = r->dirs->pdata[p];
		g_ptr_array_add(dirs, d->path);
		for (guint i = 0; i < d->files->len; i++) {
			SpecFile *f = d->files->pdata[i];
			if (f->spec && strcmp(f->spec->kind, kind) == 0)
				g_ptr_array_add(files, f->path);
		}
	}
	g_ptr_array_add(files, NULL);
	g_ptr_array_add(dirs, NULL);
	g_autofree char *fl = g_strjoinv(", ", (char **)files->pdata);
	g_autofree char *dl = g_strjoinv(", ", (char **)dirs->pdata);
	if (dirs->len == 1)
		return berth_throw(error, NOT_FOUND,
				   "unknown CDI device \"%s\": no CDI spec "
				   "dirs are configured",
				   name);
	if (files->len > 1)
		return berth_throw(error, NOT_FOUND,
				   "unknown CDI device \"%s\": the specs of %s "
				   "(%s) define no device \"%s\"",
				   name, kind, fl, device);
	return berth_throw(error, NOT_FOUND,
			   "unknown CDI device \"%s\": no CDI spec of kind %s "
			   "in %s",
			   name, kind, dl);
}

static gboolean resolve_one(CdiRegistry *r, const char *name, CdiEdits *out,
			    GHashTable *specs, GError **error)
{
	g_autofree char *vendor = NULL, *class_ = NULL, *device = NULL;
	if (!cdi_parse_name(name, &vendor, &class_, &device, error))
		return FALSE;
	g_autofree char *kind = g_strdup_printf("%s/%s", vendor, class_);
	const DevEntry *e = g_hash_table_lookup(r->index, name);
	if (!check_broken(r, name, kind, e ? e->priority : 0, error))
		return FALSE;
	if (e == NULL)
		return not_found(r, name, kind, device, error);
	if (e->conflict != NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CDI device \"%s\" is defined twice in one "
				   "dir: by %s and by %s",
				   name, e->spec->path, e->conflict);
	if (g_hash_table_add(specs, (gpointer)e->spec) && e->spec->edits &&
	    json_object_size(e->spec->edits) > 0)
		edits_add(out, e->spec->edits,
			  g_strdup_printf("the spec-wide edits of %s (%s)",
					  e->spec->kind, e->spec->path));
	edits_add(
		out, g_hash_table_lookup(e->spec->devices, device),
		g_strdup_printf("CDI device \"%s\" (%s)", name, e->spec->path));
	g_ptr_array_insert(out->devices, (gint)out->devices->len - 1,
			   g_strdup(name));
	return TRUE;
}

gboolean cdi_resolve(CdiRegistry *r, const char *const *names, CdiEdits **out,
		     GError **error)
{
	g_autoptr(CdiEdits) e = edits_new();
	if (names == NULL || names[0] == NULL) {
		*out = g_steal_pointer(&e);
		return TRUE;
	}
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) specs = g_hash_table_new(NULL, NULL);
	gboolean ok = TRUE;
	g_mutex_lock(&r->lock);
	refresh(r);
	for (; ok && *names; names++) {
		if (g_hash_table_add(seen, (char *)*names))
			ok = resolve_one(r, *names, e, specs, error);
	}
	g_mutex_unlock(&r->lock);
	if (!ok)
		return FALSE;
	*out = g_steal_pointer(&e);
	return TRUE;
}

/* --- what a container asks for -------------------------------------------- */

static gboolean add_name(GPtrArray *out, GHashTable *seen, const char *name,
			 GError **error)
{
	if (!cdi_parse_name(name, NULL, NULL, NULL, error))
		return FALSE;
	if (!g_hash_table_contains(seen, name)) {
		g_hash_table_add(seen, g_strdup(name));
		g_ptr_array_add(out, g_strdup(name));
	}
	return TRUE;
}

static gint cmp_kv(gconstpointer a, gconstpointer b)
{
	return strcmp((*(KeyValue *const *)a)->key,
		      (*(KeyValue *const *)b)->key);
}

static gboolean add_annotations(GPtrArray *out, GHashTable *seen,
				const GPtrArray *annotations, GError **error)
{
	g_autoptr(GPtrArray) cdi = g_ptr_array_new();
	for (guint i = 0; annotations && i < annotations->len; i++) {
		KeyValue *kv = annotations->pdata[i];
		if (g_str_has_prefix(kv->key, CDI_ANNOTATION_PREFIX))
			g_ptr_array_add(cdi, kv);
	}
	g_ptr_array_sort(cdi, cmp_kv);
	for (guint i = 0; i < cdi->len; i++) {
		KeyValue *kv = cdi->pdata[i];
		g_auto(GStrv) names = g_strsplit(kv->value, ",", -1);
		for (char **n = names; *n; n++) {
			if (!add_name(out, seen, *n, error)) {
				g_prefix_error(error,
					       "annotation %s: ", kv->key);
				return FALSE;
			}
		}
	}
	return TRUE;
}

char **cdi_device_names(const char *const *requested,
			const GPtrArray *annotations, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) seen =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (; requested && *requested; requested++) {
		if (!add_name(out, seen, *requested, error)) {
			g_prefix_error(error, "CDI_devices: ");
			return NULL;
		}
	}
	if (!add_annotations(out, seen, annotations, error))
		return NULL;
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}
