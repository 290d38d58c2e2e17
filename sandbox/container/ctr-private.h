/* What the container files (ctrlife, ctrexits, ctrexec, ctrrecover,
 * ctrupdate, ctrstream) share: the manager itself and the steps one of
 * them takes on behalf of another. Nothing outside sandbox/container/
 * includes this. */
#pragma once

#include "sandbox/container/ctrlife.h"
#include "sandbox/container/ctrstore.h"
#include "sandbox/container/exits.h"
#include "sandbox/container/monwatch.h"
#include "sandbox/spec/spec.h"

#include <signal.h>

#define KILL_WAIT_S 10

/* How long a start begun by an earlier berthd may still take beyond the
 * monitor's bound on the runtime (the handler's runtime_timeout). */
#define ADOPT_GRACE_MS 5000u

/* A container stopped or lost before it ever ran. */
#define NEVER_RAN_EXIT_CODE (128 + SIGKILL)

/* A start that failed, as kubelet knows it from containerd. */
#define START_ERROR_EXIT_CODE 128

struct CtrManager {
	const BerthConfig *config;
	PodManager *pods;
	ImageStore *images;
	OciRuntimes *runtimes;
	EventBus *events;
	CdiRegistry *cdi;
	char *conmon_path;
	char *dir;	 /* <root>/containers */
	char *sock_root; /* <runroot>/containers */
	char *exit_dir;	 /* <runroot>/exits */
	Store *store;
	ExitWatch *watch;
	MonWatch *monitors;
	OciHostInfo host;
	/* What AppArmor's RuntimeDefault means here; NULL: no profile
	 * (AppArmor off, or berth-default could not be loaded). */
	const char *apparmor_default;
};

/* --- ctrlife.c ----------------------------------------------------------- */

/* Write c's record (atomically); the _or_log form for state changes that
 * have no caller to tell. */
gboolean ctr_save(CtrManager *m, Container *c, GError **error);
void ctr_save_or_log(CtrManager *m, Container *c);
void ctr_publish(CtrManager *m, Container *c, CtrEventType type);
/* The runtime handler c runs under; FAILED_PRECONDITION when it is no
 * longer configured. */
const OciRuntime *ctr_runtime_of(CtrManager *m, Container *c, GError **error);
/* `runtime delete --force`; a container the runtime does not know is
 * gone already. */
gboolean ctr_runtime_delete(CtrManager *m, Container *c, GError **error);
/* Signal the container init, through its monitor when one answers. */
gboolean ctr_signal_init(CtrManager *m, Container *c, int sig, GError **error);
/* Undo a create (rootfs, runtime leftovers, sockets); idempotent. */
gboolean ctr_undo_create(CtrManager *m, Container *c, GError **error);
/* Mount c's image volumes (ctrvolumes.c); per request mount its path,
 * NULL for a host mount. Unmount is idempotent. */
GPtrArray *ctr_volumes_mount(CtrManager *m, Container *c, GError **error);
gboolean ctr_volumes_unmount(CtrManager *m, Container *c, GError **error);
/* --- ctruserns.c: containers of pods with their own user namespace --- */
/* A container's userns_options, when sent, must be its pod's. */
gboolean ctr_userns_check(const CtrConfig *cfg, const Pod *p, GError **error);
/* c->dir and its parent made passable (0711) for the pod's ids. */
gboolean ctr_userns_prepare_dir(const Container *c, GError **error);
/* Swap each host bind mount in spec for an idmapped copy under
 * <dir>/idmap/ (shm: the pod's /dev/shm, left as it is). */
gboolean ctr_userns_idmap_binds(const Container *c, const Pod *p, json_t *spec,
				const char *shm, GError **error);
/* Unmount and remove <dir>/idmap/; idempotent. */
gboolean ctr_userns_unmount(CtrManager *m, Container *c, GError **error);

/* Whether one of c's image volumes is of image_id. */
gboolean ctr_volumes_use_image(Container *c, const char *image_id);
/* Undo what a start left behind; c is as created afterwards. */
void ctr_undo_start(CtrManager *m, Container *c);
/* The container an earlier berthd's start made, running as pid. */
void ctr_take_earlier_start(CtrManager *m, Container *c, int pid);

/* --- ctrexits.c ---------------------------------------------------------- */

char *ctr_exit_path(CtrManager *m, const char *id);
/* Apply the monitor's exit file to c; FALSE when there is none yet. */
gboolean ctr_apply_exit(CtrManager *m, Container *c);
/* Exited without an exit file (none will come): code, reason and why. */
void ctr_set_exited(CtrManager *m, Container *c, int code, const char *reason,
		    const char *why);
void ctr_mark_lost(CtrManager *m, Container *c, const char *why);
void ctr_kill_lost(CtrManager *m, Container *c, const char *why);
/* The exit watch's and monitor watch's callbacks (data: the manager). */
void ctr_on_exit_file(const char *id, gpointer data);
void ctr_on_monitor_gone(const char *id, gpointer data);
void ctr_watch_monitor(CtrManager *m, Container *c);
gboolean ctr_monitor_alive(const char *socket_dir);
/* The pid the runtime wrote once it made the container, when that
 * process lives; else 0. */
int ctr_runtime_pid_file(Container *c);

/* --- ctrrecover.c -------------------------------------------------------- */

/* What recovery does with a container's record, decided from facts alone
 * (a pure function, tested in tests/unit/test_ctr_recovery.c). */
typedef enum {
	CTR_RECOVER_REMOVE,    /* half made or half removed: undo, delete */
	CTR_RECOVER_KEEP,      /* as recorded */
	CTR_RECOVER_EXIT_FILE, /* it exited meanwhile: take the exit file */
	CTR_RECOVER_LOST,      /* running, monitor gone, no exit file */
	CTR_RECOVER_ADOPT,     /* an earlier start went through: running */
	CTR_RECOVER_KILL_LOST, /* started, monitor gone: kill, lost */
	CTR_RECOVER_START_UNDER_WAY, /* its monitor still runs the start */
	CTR_RECOVER_UNDO_START,	     /* nothing ran: undo, created again */
	CTR_RECOVER_NEVER_RAN,	     /* as undo, and its pod is not ready */
} CtrRecovery;

typedef struct {
	CtrState state;	    /* as recorded */
	gboolean exit_file; /* its monitor wrote a readable exit file */
	gboolean
		monitor_alive; /* its monitor's pid file names a live process */
	gboolean started;      /* the runtime's pid file names a live process */
	gboolean pod_ready;    /* its pod is ready */
} CtrRecoveryFacts;

CtrRecovery ctr_recovery_decide(const CtrRecoveryFacts *f);
