/* What berthd and berth-conmon agree on: file and socket names in the
 * socket dir, the attach socket's frames and the control commands. Shared
 * by the monitor (plain C) and the client library (GLib).
 *
 * Sync fd: one line of JSON, then the monitor closes it:
 *   {"pid": 1234}                      the runtime created the container
 *   {"error": "<runtime's message>"}  it did not; the monitor exits 1
 *   {"timeout": "<message>"}          the runtime ran out of time (killed)
 *
 * Attach socket (<socket-dir>/attach, SOCK_SEQPACKET): every message is
 * one frame, a type byte then the payload (at most
 * CONMON_ATTACH_MAX_PAYLOAD bytes). The monitor sends STDOUT and STDERR
 * frames (a tty's output is all STDOUT) to every client; a client sends
 * STDIN frames (written to the container's stdin when it has one) and one
 * CLOSE_STDIN frame (empty) to close it. The monitor closes every client
 * after the container exits and its output is drained.
 *
 * A client may also send RESIZE frames (payload: rows then cols, each a
 * big-endian uint16, 4 bytes): the monitor sets the terminal's window
 * size (ignored without a terminal). A client whose socket buffer is full
 * (CONMON_ATTACH_CLIENT_SNDBUF) is disconnected: output never waits for
 * a client, the CRI log has every byte.
 *
 * Exec mode (berth-conmon --exec, see conmon/exec.h): one attach
 * connection, a socketpair berthd made, passed as --attach-fd. The same
 * frames both ways, plus three from the monitor, each JSON:
 *   STARTED {"pid": N}                 first frame, once the runtime ran
 *   ERROR   {"error": "<message>"}     instead, when it failed; then EOF
 *   EXIT    {"exit_code": N, "signal": S}  last frame, after the process
 *                                      was reaped and its output sent
 * Output waits for the client here (back-pressure: the process blocks
 * on its writes), and a hang-up of the client kills the process.
 *
 * Control socket (<socket-dir>/ctl, SOCK_SEQPACKET): each message is one
 * command, each answered by one message, "ok" or "error: <why>":
 *   resize <rows> <cols>   set the terminal's window size
 *   reopen                 reopen the log file (after kubelet rotated it)
 *   kill <signal>          send the container init signal number <signal>
 *                          (1 to SIGRTMAX); "ok" too once it was reaped
 *   pid                    "ok <pid>": the container init's pid. Commands
 *                          are read once the runtime has run, so this
 *                          also waits for a start under way; a monitor
 *                          whose runtime failed closes the connection
 *
 * Exit file (<exit-dir>/<id>, written atomically once the container init
 * is reaped):
 *   {"exit_code": N, "signal": S, "oom_killed": B, "finished_at": NS}
 * exit_code is 128+S when the init was killed by signal S (S is 0 when it
 * exited); finished_at is in nanoseconds since the epoch.
 */
#pragma once

#define CONMON_ATTACH_SOCKET "attach"
#define CONMON_CTL_SOCKET "ctl"
#define CONMON_PID_FILE "conmon.pid"
/* Written by the runtime (--pid-file) once it made the container. */
#define CONMON_CONTAINER_PID_FILE "container.pid"
#define CONMON_DIAG_FILE "conmon.log"
/* Written by a --delete monitor once `runtime delete` of its exited
 * container succeeded: no runtime state is left. */
#define CONMON_DELETED_FILE "deleted"

#define CONMON_ATTACH_MAX_PAYLOAD 32768
#define CONMON_CTL_MAX_MESSAGE 256

enum {
	CONMON_FRAME_STDIN = 0,
	CONMON_FRAME_STDOUT = 1,
	CONMON_FRAME_STDERR = 2,
	CONMON_FRAME_CLOSE_STDIN = 3,
	CONMON_FRAME_RESIZE = 4,  /* client -> monitor: 2 x be16 rows, cols */
	CONMON_FRAME_STARTED = 5, /* exec mode: {"pid": N} */
	CONMON_FRAME_ERROR = 6,	  /* exec mode: {"error": "..."} */
	CONMON_FRAME_EXIT = 7,	  /* exec mode: {"exit_code": N, "signal": S} */
};

#define CONMON_RESIZE_PAYLOAD 4
/* Room for bursts of output before a slow attach client is dropped
 * (container mode). */
#define CONMON_ATTACH_CLIENT_SNDBUF (1024 * 1024)

#define CONMON_DEFAULT_LOG_MAX_LINE (16 * 1024)
#define CONMON_DEFAULT_TIMEOUT_S 120
