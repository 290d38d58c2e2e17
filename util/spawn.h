/* Run a helper program to completion with posix_spawn: optional stdin
 * data, captured stdout/stderr (bounded), and a timeout after which the
 * child is killed with its process group (it leads its own session). Only
 * the three stdio fds reach the child. */
#pragma once

#include <glib.h>

typedef struct {
	const char *const *argv; /* argv[0] is an absolute path */
	const char *const *envp; /* NULL: berth_child_environ() */
	const char *stdin_data;	 /* NULL: /dev/null */
	gsize stdin_len;
	guint timeout_ms; /* 0: none */
	gsize max_output; /* per stream; 0: 1 MiB */
	/* stdout and stderr into this file instead of pipes (read back into
	 * the result's err afterwards): for a runtime's create, whose
	 * container inherits them and would hold a pipe open for ever. */
	const char *output_path;
} SpawnOptions;

typedef struct {
	int status; /* as from waitpid */
	gboolean timed_out;
	GString *out;
	GString *err;
} SpawnResult;

void spawn_result_clear(SpawnResult *r);

/* FALSE only when the program could not be started or waited for; a
 * program that ran and failed is TRUE with its status in r. */
gboolean spawn_sync(const SpawnOptions *opts, SpawnResult *r, GError **error);

/* "exited with 1: <stderr tail>", "killed by signal 9", "timed out after
 * 10 s": a short human account of a failed run. */
char *spawn_describe_failure(const SpawnOptions *opts, const SpawnResult *r);

/* spawn_sync for a program that must succeed: FALSE also when it timed out
 * (DEADLINE_EXCEEDED) or did not exit 0 (INTERNAL), in
 * spawn_describe_failure's words. */
gboolean spawn_sync_ok(const SpawnOptions *opts, GError **error);

/* Wait, without polling, until process pid is gone (exited, even if not
 * yet reaped by its parent) or timeout_ms passed: TRUE when it is gone. */
gboolean spawn_wait_gone(int pid, guint timeout_ms);
