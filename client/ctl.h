/* berthctl's commands: the context they share (one connection, the
 * per-call timeout), the command table, and the helpers every command uses
 * to call, print and fail the way crictl users expect. */
#pragma once

#include "client/rpc.h"

#include "api.pb-c.h"

#include <glib.h>
#include <jansson.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_RPC 1
#define CTL_EXIT_USAGE 2

#define CTL_DEFAULT_ENDPOINT "unix:///run/berth/berth.sock"
#define CTL_DEFAULT_TIMEOUT_MS 10000
#define CTL_PULL_TIMEOUT_MS (5 * 60 * 1000)

typedef struct {
	CtlChannel *ch;
	CtlStub *stub;
	gint64 timeout_ms;	/* per call */
	gboolean timeout_given; /* --timeout on the command line */
} CtlCtx;

typedef int (*CtlCommandFn)(CtlCtx *ctx, int argc, char **argv);

typedef struct {
	const char *name;
	CtlCommandFn fn;
	const char *usage;
} CtlCommand;

/* NULL-terminated. */
extern const CtlCommand ctl_commands[];
const CtlCommand *ctl_command_find(const char *name);
void ctl_print_commands(FILE *out);

/* Runs one command (argv[0] is its name) against ctx; the exit code. */
int ctl_run(CtlCtx *ctx, int argc, char **argv);

/* One RPC with the context's timeout. */
gpointer ctl_call(CtlCtx *ctx, const char *method, gconstpointer req,
		  GError **error);
gpointer ctl_call_timeout(CtlCtx *ctx, const char *method, gconstpointer req,
			  gint64 timeout_ms, GError **error);

/* "berthctl: <STATUS>: <message>" on stderr; returns CTL_EXIT_RPC. */
int ctl_fail(GError *error);
/* "berthctl: <cmd>: <message>" and the usage line; returns CTL_EXIT_USAGE. */
int ctl_usage(const CtlCommand *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Full ids from unique prefixes, via ListContainers / ListPodSandbox. */
char *ctl_resolve_container(CtlCtx *ctx, const char *prefix, GError **error);
char *ctl_resolve_pod(CtlCtx *ctx, const char *prefix, GError **error);

/* Print a JSON value indented like crictl (two spaces) plus a newline. */
void ctl_print_json(json_t *j);
/* crictl's inspect output: {"status": <status>, <info key>: <value>...},
 * each info value parsed as JSON when it is JSON, keys sorted. `reply` is
 * a *StatusResponse; `status_field` names its status member. */
typedef void (*CtlStatusFixup)(json_t *status, const ProtobufCMessage *reply);
void ctl_print_status_info(const ProtobufCMessage *reply,
			   const char *status_field, CtlStatusFixup fixup);
/* Go's time.RFC3339Nano of a Unix time in nanoseconds, local zone, as
 * crictl prints timestamps in inspect; NULL/0 with `zero` gives Go's zero
 * time "0001-01-01T00:00:00Z". */
char *ctl_rfc3339nano(gint64 unix_nanos, gboolean zero);

/* "3 minutes ago", like crictl's CREATED column. */
char *ctl_human_ago(gint64 unix_nanos);
/* "1.23MB", decimal units like crictl's SIZE column. */
char *ctl_human_size(guint64 bytes);

/* A table printed with aligned columns (crictl's tabwriter look). */
typedef struct CtlTable CtlTable;
CtlTable *ctl_table_new(void);
void ctl_table_row(CtlTable *t, ...) G_GNUC_NULL_TERMINATED;
void ctl_table_print(CtlTable *t, FILE *out);
void ctl_table_free(CtlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlTable, ctl_table_free)

/* Label selectors from "k=v" strings into a JSON object (FALSE on a
 * malformed one). */
gboolean ctl_parse_labels(char **kv, json_t *obj, GError **error);
/* A request built from JSON (see pbjson.h); NULL with an error. */
gpointer ctl_request_from_json(const char *method, json_t *json,
			       GError **error);
/* Parse a command's flags with getopt_long from argv[0] (the command
 * name); stops at the first non-option. Returns the option or -1. */
void ctl_getopt_reset(void);

/* The commands. */
int ctl_cmd_version(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_info(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_pods(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_runp(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_stopp(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_rmp(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_inspectp(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_ps(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_create(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_start(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_stop(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_rm(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_exec(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_logs(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_inspect(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_stats(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_images(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_pull(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_inspecti(CtlCtx *ctx, int argc, char **argv);
int ctl_cmd_bench(CtlCtx *ctx, int argc, char **argv);
