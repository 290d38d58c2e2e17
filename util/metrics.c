/* Metric families and their series, and the text exposition format.
 * Series are never freed before the registry, so a pointer to one may be
 * kept and updated with atomics alone; a family's lock guards only its
 * table of series, and a render copies that table before formatting. */
#include "util/metrics.h"

#include <math.h>
#include <string.h>

typedef enum {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
} MetricType;

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

struct MetricSeries {
	MetricFamily *family;
	char **values;	 /* label values, as many as the family's labels */
	char *labels;	 /* `a="x",b="y"`, escaped; "" without labels */
	guint64 value;	 /* counter, or a gauge's double bits */
	guint64 sum;	 /* histogram, in raw units */
	guint64 *counts; /* histogram: per bucket, not cumulative; +Inf last */
};

struct MetricFamily {
	char *name;
	char *help;
	MetricType type;
	char **labels;
	guint n_labels;
	double *bounds; /* histogram, exposed unit */
	guint64 *raw_bounds;
	char **le; /* formatted bounds, "+Inf" last */
	guint n_bounds;
	double scale;

	GMutex lock;	    /* guards what follows */
	GHashTable *by_key; /* joined values -> MetricSeries* (owned) */
	GPtrArray *sorted;  /* MetricSeries*, in label-value order */
};

typedef struct {
	MetricsCollectFn fn;
	gpointer data;
} Collector;

struct MetricsRegistry {
	GMutex lock;	     /* guards what follows */
	GPtrArray *families; /* MetricFamily*, in name order */
	GArray *collectors;  /* Collector */
};

/* --- numbers and escaping ------------------------------------------------ */

/* The shortest text that reads back as v; integers without a dot. */
static void append_double(GString *out, double v)
{
	if (isnan(v)) {
		g_string_append(out, "NaN");
		return;
	}
	if (isinf(v)) {
		g_string_append(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (fabs(v) < 1e15 && v == (double)(gint64)v) {
		g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)v);
		return;
	}
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	for (int prec = 15; prec <= 17; prec++) {
		char fmt[8];
		g_snprintf(fmt, sizeof fmt, "%%.%dg", prec);
		g_ascii_formatd(buf, sizeof buf, fmt, v);
		if (g_ascii_strtod(buf, NULL) == v)
			break;
	}
	g_string_append(out, buf);
}

/* Label values escape \, " and newline; HELP text only \ and newline. */
static void append_escaped(GString *out, const char *s, gboolean quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else if (*p == '"' && quote)
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *p);
	}
}

/* --- families ------------------------------------------------------------ */

static void series_free(gpointer p)
{
	MetricSeries *s = p;
	g_strfreev(s->values);
	g_free(s->labels);
	g_free(s->counts);
	g_free(s);
}

static void family_free(gpointer p)
{
	MetricFamily *f = p;
	g_ptr_array_unref(f->sorted);
	g_hash_table_unref(f->by_key);
	g_mutex_clear(&f->lock);
	g_free(f->name);
	g_free(f->help);
	g_strfreev(f->labels);
	g_free(f->bounds);
	g_free(f->raw_bounds);
	g_strfreev(f->le);
	g_free(f);
}

static gint family_cmp(gconstpointer a, gconstpointer b)
{
	const MetricFamily *fa = *(MetricFamily *const *)a;
	const MetricFamily *fb = *(MetricFamily *const *)b;
	return strcmp(fa->name, fb->name);
}

static MetricFamily *family_add(MetricsRegistry *r, MetricType type,
				const char *name, const char *help,
				const char *const *labels)
{
	MetricFamily *f = g_new0(MetricFamily, 1);
	f->type = type;
	f->name = g_strdup(name);
	f->help = g_strdup(help);
	f->labels = labels ? g_strdupv((char **)labels) : g_new0(char *, 1);
	f->n_labels = g_strv_length(f->labels);
	f->scale = 1;
	g_mutex_init(&f->lock);
	f->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  series_free);
	f->sorted = g_ptr_array_new();
	g_mutex_lock(&r->lock);
	g_ptr_array_add(r->families, f);
	g_ptr_array_sort(r->families, family_cmp);
	g_mutex_unlock(&r->lock);
	return f;
}

/* A family without labels has its one series from the start. */
static MetricFamily *family_ready(MetricFamily *f)
{
	if (f->n_labels == 0)
		metric_only(f);
	return f;
}

MetricFamily *metrics_counter_new(MetricsRegistry *r, const char *name,
				  const char *help, const char *const *labels)
{
	return family_ready(family_add(r, METRIC_COUNTER, name, help, labels));
}

MetricFamily *metrics_gauge_new(MetricsRegistry *r, const char *name,
				const char *help, const char *const *labels)
{
	return family_ready(family_add(r, METRIC_GAUGE, name, help, labels));
}

MetricFamily *metrics_histogram_new(MetricsRegistry *r, const char *name,
				    const char *help, const char *const *labels,
				    const double *bounds, guint n_bounds,
				    double scale)
{
	MetricFamily *f = family_add(r, METRIC_HISTOGRAM, name, help, labels);
	f->scale = scale;
	f->n_bounds = n_bounds;
	f->bounds = g_memdup2(bounds, n_bounds * sizeof *bounds);
	f->raw_bounds = g_new0(guint64, n_bounds);
	f->le = g_new0(char *, n_bounds + 2);
	for (guint i = 0; i < n_bounds; i++) {
		/* An observation of raw units x falls in bucket i when
		 * x * scale <= bounds[i]. */
		f->raw_bounds[i] = (guint64)(bounds[i] / scale + 1e-9);
		g_autoptr(GString) le = g_string_new(NULL);
		append_double(le, bounds[i]);
		f->le[i] = g_string_free(g_steal_pointer(&le), FALSE);
	}
	f->le[n_bounds] = g_strdup("+Inf");
	return family_ready(f);
}

/* --- series -------------------------------------------------------------- */

static gint series_cmp(gconstpointer a, gconstpointer b)
{
	const MetricSeries *sa = *(MetricSeries *const *)a;
	const MetricSeries *sb = *(MetricSeries *const *)b;
	for (guint i = 0; i < sa->family->n_labels; i++) {
		int c = strcmp(sa->values[i], sb->values[i]);
		if (c != 0)
			return c;
	}
	return 0;
}

static MetricSeries *series_new(MetricFamily *f, const char *const *values)
{
	MetricSeries *s = g_new0(MetricSeries, 1);
	s->family = f;
	s->values = g_new0(char *, f->n_labels + 1);
	g_autoptr(GString) labels = g_string_new(NULL);
	for (guint i = 0; i < f->n_labels; i++) {
		s->values[i] = g_strdup(values[i] ? values[i] : "");
		g_string_append_printf(labels, "%s%s=\"", i ? "," : "",
				       f->labels[i]);
		append_escaped(labels, s->values[i], TRUE);
		g_string_append_c(labels, '"');
	}
	s->labels = g_string_free(g_steal_pointer(&labels), FALSE);
	if (f->type == METRIC_HISTOGRAM)
		s->counts = g_new0(guint64, f->n_bounds + 1);
	return s;
}

/* The family's values joined; a NULL value is "". Values hold no \x1f in
 * practice, and a clash would only merge two series. */
static char *series_key(const MetricFamily *f, const char *const *values)
{
	GString *key = g_string_new(NULL);
	for (guint i = 0; i < f->n_labels; i++) {
		if (i > 0)
			g_string_append_c(key, '\x1f');
		g_string_append(key, values[i] ? values[i] : "");
	}
	return g_string_free(key, FALSE);
}

MetricSeries *metric_series(MetricFamily *f, const char *const *values)
{
	g_autofree char *key = series_key(f, values);
	g_mutex_lock(&f->lock);
	MetricSeries *s = g_hash_table_lookup(f->by_key, key);
	if (s == NULL) {
		s = series_new(f, values);
		g_hash_table_insert(f->by_key, g_steal_pointer(&key), s);
		g_ptr_array_add(f->sorted, s);
		g_ptr_array_sort(f->sorted, series_cmp);
	}
	g_mutex_unlock(&f->lock);
	return s;
}

MetricSeries *metric_only(MetricFamily *f)
{
	static const char *const none[] = {NULL};
	return metric_series(f, none);
}

void metric_add(MetricSeries *s, guint64 n)
{
	__atomic_fetch_add(&s->value, n, __ATOMIC_RELAXED);
}

void metric_set(MetricSeries *s, double v)
{
	guint64 bits;
	memcpy(&bits, &v, sizeof bits);
	__atomic_store_n(&s->value, bits, __ATOMIC_RELAXED);
}

void metric_observe(MetricSeries *s, guint64 raw)
{
	const MetricFamily *f = s->family;
	guint i = 0;
	while (i < f->n_bounds && raw > f->raw_bounds[i])
		i++;
	__atomic_fetch_add(&s->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum, raw, __ATOMIC_RELAXED);
}

/* --- rendering ----------------------------------------------------------- */

static void append_sample(GString *out, const char *name, const char *suffix,
			  const char *labels, const char *le)
{
	g_string_append(out, name);
	g_string_append(out, suffix);
	if (labels[0] || le != NULL) {
		g_string_append_c(out, '{');
		g_string_append(out, labels);
		if (le != NULL)
			g_string_append_printf(out, "%sle=\"%s\"",
					       labels[0] ? "," : "", le);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ' ');
}

static void render_histogram(GString *out, const MetricFamily *f,
			     const MetricSeries *s)
{
	guint64 total = 0;
	for (guint i = 0; i <= f->n_bounds; i++) {
		total += __atomic_load_n(&s->counts[i], __ATOMIC_RELAXED);
		append_sample(out, f->name, "_bucket", s->labels, f->le[i]);
		g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", total);
	}
	append_sample(out, f->name, "_sum", s->labels, NULL);
	/* Dividing by 1e6 rounds right where multiplying by 1e-6 may not. */
	append_double(out, (double)__atomic_load_n(&s->sum, __ATOMIC_RELAXED) /
				   (1 / f->scale));
	g_string_append_c(out, '\n');
	append_sample(out, f->name, "_count", s->labels, NULL);
	g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", total);
}

static void render_series(GString *out, const MetricFamily *f,
			  const MetricSeries *s)
{
	guint64 v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	switch (f->type) {
	case METRIC_COUNTER:
		append_sample(out, f->name, "", s->labels, NULL);
		g_string_append_printf(out, "%" G_GUINT64_FORMAT "\n", v);
		break;
	case METRIC_GAUGE: {
		double d;
		memcpy(&d, &v, sizeof d);
		append_sample(out, f->name, "", s->labels, NULL);
		append_double(out, d);
		g_string_append_c(out, '\n');
		break;
	}
	case METRIC_HISTOGRAM:
		render_histogram(out, f, s);
		break;
	}
}

static void render_family(GString *out, MetricFamily *f)
{
	g_mutex_lock(&f->lock);
	guint n = f->sorted->len;
	g_autofree MetricSeries **series =
		g_memdup2(f->sorted->pdata, n * sizeof(gpointer));
	g_mutex_unlock(&f->lock);
	g_string_append_printf(out, "# HELP %s ", f->name);
	append_escaped(out, f->help, FALSE);
	g_string_append_printf(out, "\n# TYPE %s %s\n", f->name,
			       type_names[f->type]);
	for (guint i = 0; i < n; i++)
		render_series(out, f, series[i]);
}

void metrics_render(MetricsRegistry *r, GString *out)
{
	g_mutex_lock(&r->lock);
	g_autofree Collector *collectors = g_memdup2(
		r->collectors->data, r->collectors->len * sizeof(Collector));
	guint n_collectors = r->collectors->len;
	guint n = r->families->len;
	g_autofree MetricFamily **families =
		g_memdup2(r->families->pdata, n * sizeof(gpointer));
	g_mutex_unlock(&r->lock);
	for (guint i = 0; i < n_collectors; i++)
		collectors[i].fn(collectors[i].data);
	for (guint i = 0; i < n; i++)
		render_family(out, families[i]);
}

/* --- the registry -------------------------------------------------------- */

MetricsRegistry *metrics_registry_new(void)
{
	MetricsRegistry *r = g_new0(MetricsRegistry, 1);
	g_mutex_init(&r->lock);
	r->families = g_ptr_array_new_with_free_func(family_free);
	r->collectors = g_array_new(FALSE, FALSE, sizeof(Collector));
	return r;
}

void metrics_registry_add_collector(MetricsRegistry *r, MetricsCollectFn fn,
				    gpointer data)
{
	Collector c = {fn, data};
	g_mutex_lock(&r->lock);
	g_array_append_val(r->collectors, c);
	g_mutex_unlock(&r->lock);
}

void metrics_registry_remove_collector(MetricsRegistry *r, MetricsCollectFn fn,
				       gpointer data)
{
	g_mutex_lock(&r->lock);
	for (guint i = r->collectors->len; i-- > 0;) {
		Collector *c = &g_array_index(r->collectors, Collector, i);
		if (c->fn == fn && c->data == data)
			g_array_remove_index(r->collectors, i);
	}
	g_mutex_unlock(&r->lock);
}

void metrics_registry_free(MetricsRegistry *r)
{
	if (r == NULL)
		return;
	g_ptr_array_unref(r->families);
	g_array_unref(r->collectors);
	g_mutex_clear(&r->lock);
	g_free(r);
}
