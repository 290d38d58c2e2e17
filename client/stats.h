/* Latency samples and their summary: count, percentiles, max, throughput. */
#pragma once

#include <glib.h>

typedef struct {
	GArray *ms; /* double, one per operation */
	GMutex lock;
} CtlSamples;

typedef struct {
	guint count;
	double p50, p90, p99, max;
	double per_s;
} CtlSummary;

void ctl_samples_init(CtlSamples *s);
void ctl_samples_clear(CtlSamples *s);
/* Thread-safe. */
void ctl_samples_add(CtlSamples *s, double ms);

/* The p-th percentile (0..100) of n values, sorted in place: the value at
 * rank round-half-even(p/100 * (n-1)), as the bench/ scripts compute it. 0 for
 * n == 0. */
double ctl_percentile(double *v, guint n, double p);
/* wall_s is the elapsed time of the whole run, for ops/s. */
CtlSummary ctl_summarize(CtlSamples *s, double wall_s);

/* Milliseconds on the monotonic clock. */
double ctl_now_ms(void);
