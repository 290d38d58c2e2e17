/* The monitor's state and its event loop: one epoll set over the
 * container's output, its stdin, a signalfd for SIGCHLD, and the attach and
 * control sockets. Each module owns a part of the state and takes the
 * whole Conmon. */
#pragma once

#include "conmon/args.h"
#include "conmon/log.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What an epoll event is about; stored with the fd in epoll's u64. */
typedef enum {
	CONMON_EV_SIGNAL = 1,
	CONMON_EV_OUTPUT, /* a stdout/stderr pipe or the pty master */
	CONMON_EV_STDIN,  /* the stdin pipe, writable */
	CONMON_EV_ATTACH_LISTEN,
	CONMON_EV_ATTACH_CLIENT,
	CONMON_EV_CTL_LISTEN,
	CONMON_EV_CTL_CLIENT,
	CONMON_EV_EXEC, /* exec mode: the attach connection */
	CONMON_EV_OOM,	/* inotify on the memory cgroup's events file */
} ConmonEventKind;

typedef struct {
	char *buf; /* CONMON_ATTACH_MAX_PAYLOAD bytes once needed */
	size_t len, off;
	bool close_after; /* close stdin once the queue is written */
} ConmonStdinQueue;

typedef struct {
	const ConmonConfig *cfg;
	int epfd;
	int sigfd;
	ConmonLog log;
	/* Read ends of stdout and stderr; on a tty out[0] is the pty
	 * master and out[1] is -1. */
	int out[2];
	/* Where stdin frames go: the stdin pipe's write end, or the pty
	 * master; -1 when there is no stdin or it was closed. */
	int stdin_fd;
	ConmonStdinQueue stdin_q;
	int attach_listen;
	int ctl_listen;
	int *clients;
	size_t n_clients, cap_clients;
	bool clients_paused;
	pid_t container_pid;
	bool exited;
	int wait_status;
	int64_t finished_at;
	char oom_file[512]; /* memory.events or memory.oom_control */
	int64_t oom_before; /* -1: unknown */
	/* The highest oom_kill count read since (-1: none): on each change
	 * of the file (oom_fd, inotify) and when the container is reaped.
	 * The cgroup can be gone by the time the exit file is written (with
	 * the systemd driver, systemd removes an empty scope at once). */
	int64_t oom_seen;
	int oom_fd;
	int64_t partial_deadline[2]; /* monotonic ns; 0: none */
	bool in_socket_dir;	     /* cwd is the socket dir, pid file ours */
	bool out_watched[2];	     /* c->out[i] is in the epoll set */
	char stdin_last;	     /* last byte written to stdin */
	/* Exec mode (conmon/exec.h): the one attach connection, and the
	 * output frame it could not take yet (its bytes stay where they
	 * were read; no output is read meanwhile). */
	int exec_fd;
	bool output_paused;
	int pending_type;
	const char *pending;
	size_t pending_len;
	bool hung_up;
	bool exit_sent;
} Conmon;

/* Leave the process berthd spawned (it exits at once) for a grandchild
 * in a new session, reparented away from berthd; 0 or -errno. */
int conmon_daemonize(void);

/* Run the monitor after the daemonizing forks; returns the exit status. */
int conmon_run(const ConmonConfig *cfg);

/* Block SIGCHLD, SIGTERM, SIGINT, SIGHUP into c->sigfd; ignore
 * SIGPIPE. 0 or -errno. */
int conmon_setup_signals(Conmon *c);

/* Handle one event of the loop (both modes). */
struct epoll_event;
void conmon_dispatch(Conmon *c, const struct epoll_event *ev);

/* Reap every exited child; the container (or exec'd) process's status
 * goes to c->wait_status and c->exited. */
void conmon_reap(Conmon *c);

/* Report {"error": why} on the sync fd (when there is one). */
void conmon_report_error(int sync_fd, const char *why);

/* Add, change or remove fd in the epoll set. */
int conmon_watch(Conmon *c, ConmonEventKind kind, int fd, uint32_t events);
int conmon_rewatch(Conmon *c, ConmonEventKind kind, int fd, uint32_t events);
void conmon_unwatch(Conmon *c, int fd);

/* A unix SOCK_SEQPACKET listener named name in the current directory
 * (the socket dir), mode 0600; fd or -errno. */
int conmon_listen_seqpacket(const char *name);
