/* berthd's side of berth-conmon: start a monitor for a container and get
 * the container's pid (or the runtime's error), talk to its control
 * socket, read its exit file, find it again after a restart, and connect
 * to its attach socket; start exec sessions. The wire formats are in
 * conmon/protocol.h. */
#pragma once

#include <glib.h>

typedef struct {
	const char *conmon_path; /* the berth-conmon binary */
	const char *id;
	const char *bundle;
	const char *runtime_path;
	const char *runtime_root;
	const char *log_path;
	const char *exit_dir;
	const char *socket_dir; /* created (0700) when missing */
	/* The container's memory cgroup dir for OOM kills; NULL: found
	 * from /proc/<pid>/cgroup once the container exists. */
	const char *cgroup;
	/* Global options of the runtime, before its command; NULL-ended. */
	const char *const *runtime_args;
	gboolean terminal;
	gboolean stdin_open;
	gsize log_max_line; /* 0: 16 KiB */
	guint timeout_ms;   /* for the runtime's create; 0: 120 s */
	/* Create and start in one runtime call (`run --detach`). */
	gboolean start;
	/* The monitor runs `runtime delete` once the container exited and
	 * marks the socket dir (CONMON_DELETED_FILE) when that worked. */
	gboolean delete_on_exit;
} ConmonOptions;

typedef struct {
	int exit_code; /* 128 + signal when killed by one */
	int signal;    /* 0 when it exited */
	gboolean oom_killed;
	gint64 finished_at; /* ns since the epoch */
} ConmonExit;

/* Spawn berth-conmon and wait for its report. TRUE with the container's
 * pid once the runtime created it (with o->start: and started it);
 * else the runtime's own message (INTERNAL), DEADLINE_EXCEEDED when no
 * report came in time (the monitor is then killed). */
gboolean conmon_start(const ConmonOptions *o, int *container_pid,
		      GError **error);

/* Control commands; FAILED_PRECONDITION when no monitor answers. */
gboolean conmon_reopen_log(const char *socket_dir, GError **error);
gboolean conmon_resize(const char *socket_dir, guint rows, guint cols,
		       GError **error);
/* Signal the container init through its monitor: no runtime process. */
gboolean conmon_kill(const char *socket_dir, int signo, GError **error);
/* The container init's pid, from its monitor. A monitor still running
 * the runtime answers once it is done, so this waits (up to timeout_ms)
 * for a start under way; UNAVAILABLE when the runtime failed (the
 * monitor then exits without answering). */
gboolean conmon_container_pid(const char *socket_dir, guint timeout_ms,
			      int *pid, GError **error);

/* Parse <exit_dir>/<id>; NOT_FOUND while the container runs (or when
 * its monitor died before it). */
gboolean conmon_read_exit(const char *exit_dir, const char *id, ConmonExit *out,
			  GError **error);

/* The pid of the live monitor whose pid file is in socket_dir; NOT_FOUND
 * when there is none (no file, or its process is gone or is not
 * berth-conmon). */
gboolean conmon_monitor_pid(const char *socket_dir, int *pid, GError **error);

/* A connected SOCK_SEQPACKET fd to the attach socket, or -1. */
int conmon_attach_connect(const char *socket_dir, GError **error);

/* Send bytes as frames of the given type (CONMON_FRAME_STDIN, or
 * CONMON_FRAME_CLOSE_STDIN with no bytes), split as the protocol needs. */
gboolean conmon_attach_send(int fd, int type, const void *data, gsize len,
			    GError **error);

/* Receive one frame: its payload length (0 is a valid empty frame) with
 * the type in *type, or -1 with error set; end of stream is 0 with *type
 * set to -1. buf holds CONMON_ATTACH_MAX_PAYLOAD bytes. */
gssize conmon_attach_recv(int fd, int *type, char *buf, GError **error);

/* Set a tty's window size through an attach connection (a RESIZE
 * frame); works on the container's attach socket and on an exec
 * session. Ignored by the monitor when there is no terminal. */
gboolean conmon_attach_resize(int fd, guint rows, guint cols, GError **error);

/* --- exec sessions (berth-conmon --exec) --------------------------------- */

typedef struct {
	const char *conmon_path; /* the berth-conmon binary */
	const char *id;		 /* the container, as the runtime knows it */
	const char *runtime_path;
	const char *runtime_root;
	/* The container's socket dir: the monitor's diagnostics go to its
	 * conmon.log, the runtime's pid file, log and console socket live
	 * there while it runs (names unique per session). */
	const char *socket_dir;
	/* Global options of the runtime, before its command; NULL-ended. */
	const char *const *runtime_args;
	/* The command, NULL-ended; or NULL with process_file, a
	 * process.json for `runtime exec --process` (its "terminal" must
	 * equal terminal). */
	const char *const *argv;
	const char *process_file;
	gboolean terminal;
	gboolean stdin_open;
	guint timeout_ms; /* for the runtime's exec; 0: 120 s */
} ConmonExecOptions;

/* Start an exec session: a SOCK_SEQPACKET socketpair, berth-conmon
 * --exec spawned with one end (it double-forks: nothing to reap), and its
 * first frame read. TRUE with the other end in *attach_fd (blocking,
 * close-on-exec) and the process's pid in *exec_pid. Output frames
 * (STDOUT/STDERR) follow on the fd, then one EXIT frame
 * (conmon_parse_exit_frame), then end of stream; send STDIN, CLOSE_STDIN
 * (conmon_attach_send) and RESIZE (conmon_attach_resize) frames. The
 * monitor never drops output: a slow reader slows the process. Closing
 * the fd ends the session at any time: the process is killed.
 * Errors: the runtime's message, FAILED_PRECONDITION when the container
 * is not running (or unknown to the runtime), else INTERNAL;
 * DEADLINE_EXCEEDED when the monitor did not answer in time. */
gboolean conmon_exec_start(const ConmonExecOptions *o, int *attach_fd,
			   int *exec_pid, GError **error);

/* The EXIT frame's payload: exit_code (128 + signal when killed by one)
 * and signal (0 when it exited); FALSE when malformed. */
gboolean conmon_parse_exit_frame(const char *buf, gsize len, int *exit_code,
				 int *signal);

/* The status code for a runtime's message about a failed exec:
 * FAILED_PRECONDITION when it says the container is not running or does
 * not exist, else INTERNAL. */
int conmon_exec_error_code(const char *message);
