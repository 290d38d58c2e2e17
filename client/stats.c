/* Percentiles over latency samples (see stats.h). */
#include "client/stats.h"

#include <math.h>
#include <stdlib.h>

void ctl_samples_init(CtlSamples *s)
{
	s->ms = g_array_new(FALSE, FALSE, sizeof(double));
	g_mutex_init(&s->lock);
}

void ctl_samples_clear(CtlSamples *s)
{
	if (s->ms != NULL)
		g_array_free(s->ms, TRUE);
	s->ms = NULL;
	g_mutex_clear(&s->lock);
}

void ctl_samples_add(CtlSamples *s, double ms)
{
	g_mutex_lock(&s->lock);
	g_array_append_val(s->ms, ms);
	g_mutex_unlock(&s->lock);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double ctl_percentile(double *v, guint n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	double rank = nearbyint(p / 100.0 * (double)(n - 1));
	if (rank < 0)
		rank = 0;
	if (rank > n - 1)
		rank = n - 1;
	return v[(guint)rank];
}

CtlSummary ctl_summarize(CtlSamples *s, double wall_s)
{
	CtlSummary r = {0};
	g_mutex_lock(&s->lock);
	double *v = (double *)s->ms->data;
	r.count = s->ms->len;
	r.p50 = ctl_percentile(v, r.count, 50);
	r.p90 = ctl_percentile(v, r.count, 90);
	r.p99 = ctl_percentile(v, r.count, 99);
	r.max = r.count ? v[r.count - 1] : 0;
	r.per_s = wall_s > 0 ? r.count / wall_s : 0;
	g_mutex_unlock(&s->lock);
	return r;
}

double ctl_now_ms(void)
{
	return (double)g_get_monotonic_time() / 1000.0;
}
