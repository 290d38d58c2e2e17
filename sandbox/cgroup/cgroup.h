/* Pod cgroups: with the cgroupfs driver, create, remove and read stats of
 * a cgroup in every mounted hierarchy, on cgroup v1, v2 (unified) and
 * hybrid hosts; with the systemd driver, a pod's cgroup is a slice that
 * systemd makes (sandbox/cgroup/cgroup-systemd.c) and its containers'
 * are scopes that the OCI runtime asks systemd for. Paths are relative
 * to the hierarchy roots ("/kubepods/besteffort/pod<uid>/berth-pod-<id>";
 * systemd: "/kubepods.slice/kubepods-besteffort.slice/
 * kubepods-besteffort-pod<uid>.slice"), and a path that ends in ".slice"
 * or ".scope" is systemd's. */
#pragma once

#include <glib.h>

#include "sandbox/container/ctrconfig.h"

/* The default parent when the pod config gives none. */
#define CGROUP_DEFAULT_PARENT "/berth"

typedef struct CgroupPath CgroupPath;

/* The pod cgroup's relative path, <parent>/berth-pod-<pod_id>, checked:
 * parent ("" means CGROUP_DEFAULT_PARENT) is absolute, has no "." or ".."
 * or empty component, uses only [A-Za-z0-9_.:@=+-] and is not a systemd
 * slice (which only the systemd driver can take); pod_id uses
 * [A-Za-z0-9_-]. INVALID_ARGUMENT otherwise. */
char *cgroup_pod_relative(const char *parent, const char *pod_id,
			  GError **error);

/* Create the pod cgroup in every hierarchy, with its missing ancestors.
 * v1 cpuset: a new cgroup gets cpus and mems from its parent (else no task
 * could join it). Pure v2: every ancestor enables, in
 * cgroup.subtree_control, the controllers it has. Idempotent; on failure
 * the directories this call made are removed again. */
CgroupPath *cgroup_pod_create(const char *parent, const char *pod_id,
			      GError **error);

const char *cgroup_path_relative(const CgroupPath *p);

/* The absolute directory of the cgroup in each hierarchy it lives in. */
const char *const *cgroup_path_dirs(const CgroupPath *p);

void cgroup_path_free(CgroupPath *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CgroupPath, cgroup_path_free)

/* Remove the cgroup, and any cgroups below it (deepest first), from every
 * hierarchy. Idempotent. A cgroup that still holds processes is
 * FAILED_PRECONDITION naming them. "/" and malformed paths are
 * INVALID_ARGUMENT. */
gboolean cgroup_remove(const char *relative_path, GError **error);

/* One line of a pressure file ("some" or "full"); total in nanoseconds
 * (the kernel writes microseconds). */
typedef struct {
	guint64 total_ns;
	double avg10, avg60, avg300;
	gboolean present;
} CgroupPsiLine;

typedef struct {
	CgroupPsiLine some, full;
	gboolean present;
} CgroupPsi;

/* Parse a cgroup v2 *.pressure file (or /proc/pressure/ *): lines
 * "some|full avg10=<f> avg60=<f> avg300=<f> total=<us>". FALSE when no
 * line parses; lines of other kinds are skipped. */
gboolean cgroup_psi_parse(const char *text, CgroupPsi *out);

typedef struct {
	guint64 cpu_usage_ns;
	guint64 cpu_user_ns, cpu_system_ns;
	/* CFS bandwidth: periods, periods throttled, time throttled. */
	guint64 cfs_periods, cfs_throttled_periods, cfs_throttled_ns;
	gint64 timestamp_ns; /* wall clock, when read */
	guint64 memory_usage, memory_working_set, memory_rss, memory_cache;
	guint64 memory_mapped_file;
	guint64 memory_page_faults, memory_major_page_faults;
	guint64 memory_limit;		/* 0: unlimited */
	guint64 swap_usage, swap_limit; /* swap_limit 0: unlimited */
	guint64 oom_kills;
	guint64 pids;	   /* tasks (threads), hierarchical */
	guint64 processes; /* processes in the cgroup itself */
	guint64 cpu_shares, cpu_quota_us, cpu_period_us; /* quota 0: none */
	CgroupPsi psi_cpu, psi_memory, psi_io;
	gboolean has_cpu, has_memory, has_pids, has_swap, has_oom_kills;
	gboolean has_processes, has_cpu_spec, has_cpu_split, has_cfs;
} CgroupStats;

/* Usage of the cgroup and all below it. v1: cpuacct.usage; memory: usage
 * from memory.usage_in_bytes, working set = usage - total_inactive_file,
 * rss/cache/mapped_file/faults from memory.stat total_*, user/system
 * from cpuacct.stat (USER_HZ ticks), CFS figures from cpu.stat, limit from
 * memory.limit_in_bytes, swap from memory.memsw.* minus memory.*, OOM
 * kills from memory.oom_control; cpu.shares/cfs_quota_us/cfs_period_us;
 * pids.current. v2: cpu.stat usage_usec, memory.current, memory.stat
 * anon/file/inactive_file/pgfault/pgmajfault, memory.max,
 * memory.swap.current/max, memory.events oom_kill, cpu.weight (as
 * shares) and cpu.max, pids.current, and {cpu,memory,io}.pressure (also
 * on a hybrid host, from the unified tree). processes: the lines of
 * cgroup.procs. A controller that is not there leaves its has_* FALSE; a
 * cgroup in no hierarchy is NOT_FOUND. */
gboolean cgroup_stats(const char *relative_path, CgroupStats *out,
		      GError **error);

/* Block I/O of a cgroup (and all below it) on one device. */
typedef struct {
	guint32 major, minor;
	guint64 read_bytes, write_bytes; /* bytes transferred */
	guint64 reads, writes;		 /* operations completed */
} CgroupIoDevice;

/* Devices past this many in one cgroup are left out. */
#define CGROUP_IO_DEVICES 16

typedef struct {
	CgroupIoDevice dev[CGROUP_IO_DEVICES];
	guint n;
	gboolean present; /* a file with the figures was read */
} CgroupIo;

/* Parse v2 io.stat: lines "<maj>:<min> rbytes=N wbytes=N rios=N wios=N
 * ..." (keys in any order, others skipped). Lines that do not start with
 * a device number are skipped; a key that is absent stays 0. Adds to
 * what out holds for the same device. */
void cgroup_io_parse_v2(const char *text, CgroupIo *out);

/* Parse v1 blkio.throttle.io_service_bytes_recursive (bytes) and
 * blkio.throttle.io_serviced_recursive (ios), either may be NULL: lines
 * "<maj>:<min> Read|Write|Sync|Async|Discard|Total N" and a last "Total
 * N"; only Read and Write are kept. */
void cgroup_io_parse_v1(const char *bytes, const char *ios, CgroupIo *out);

/* Per-device block I/O of the cgroup: io.stat where the unified tree has
 * the io controller, else blkio's throttle counters (which every v1
 * kernel keeps, whatever the I/O scheduler). A cgroup in no hierarchy is
 * NOT_FOUND; one with no I/O figures leaves out->present FALSE. */
gboolean cgroup_io(const char *relative_path, CgroupIo *out, GError **error);

/* The DEVNAME of a uevent file's text ("vda", "mapper/x"), or NULL. */
char *cgroup_io_uevent_devname(const char *uevent);

/* A block device's node as cAdvisor names it ("/dev/vda"), from
 * /sys/dev/block/<maj>:<min>/uevent; "/dev/block/<maj>:<min>" (the link
 * udev makes) when that says nothing. Names are kept for a minute. */
char *cgroup_io_device_name(guint32 major, guint32 minor);

/* The cgroup of a container (id) of the pod whose cgroup is pod_cgroup,
 * as berth reads it (cgroupfs: <pod>/berth-<id>; systemd:
 * <pod>/berth-<id>.scope), and as the OCI runtime's cgroupsPath
 * (cgroupfs: the same path; systemd: "<pod slice>:berth:<id>", which the
 * runtime in its systemd mode turns into the scope berth-<id>.scope). */
char *cgroup_container_path(const char *pod_cgroup, const char *id);
char *cgroup_container_oci_path(const char *pod_cgroup, const char *id);

/* --- the systemd driver ------------------------------------------------ */

/* A slice unit name systemd takes: "<part>[-<part>...].slice", parts of
 * [A-Za-z0-9:_.], or "-.slice" (the root). INVALID_ARGUMENT otherwise. */
gboolean cgroup_slice_name_ok(const char *name, GError **error);

/* The cgroup path of a (valid) slice: each dash is a level
 * ("a-b.slice" -> "/a.slice/a-b.slice"). */
char *cgroup_slice_path(const char *name);

/* The slice of a pod: parent itself when given (kubelet gives each pod
 * its own slice, kubepods-<qos>-pod<uid>.slice), else one below
 * default_parent ("berth.slice" -> "berth-pod<id>.slice"). Both must be
 * slice names. */
char *cgroup_pod_slice(const char *parent, const char *default_parent,
		       const char *pod_id, GError **error);

/* Whether systemd manages the cgroup at path (it ends in .slice or
 * .scope), and the unit name that is its last component. */
gboolean cgroup_path_is_systemd(const char *path);
char *cgroup_path_slice(const char *path);

/* Start a transient slice and wait until it is active; a slice that
 * exists already (kubelet makes the pod slices) is started again, which
 * does nothing to an active one. The description marks it as berth's. */
gboolean cgroup_systemd_slice_start(const char *name, const char *description,
				    GError **error);

/* Put pid in a new transient scope in slice (collected once empty), without
 * waiting for the job. */
gboolean cgroup_systemd_scope_start(const char *name, const char *slice,
				    int pid, const char *description,
				    GError **error);

/* Tell systemd a unit's memory limit, CPU weight and quota (its
 * MemoryMax, CPUWeight, CPUQuotaPerSecUSec and CPUQuotaPeriodUSec, for
 * this boot): what systemd writes into the cgroup again at every
 * daemon-reload. Zero fields are left as they are. */
gboolean cgroup_systemd_set_limits(const char *name, const CtrResources *r,
				   GError **error);

/* cpu.shares (2..262144) mapped onto cgroup v2's cpu.weight (1..10000). */
gint64 cgroup_shares_to_weight(gint64 shares);

/* Stop the unit, and wait, only when its Description is description (it
 * is berth's); a unit systemd does not have is TRUE. */
gboolean cgroup_systemd_unit_stop(const char *name, const char *description,
				  GError **error);

/* Write r's cpu (shares, cfs quota and period; v2: cpu.weight, cpu.max),
 * cpuset (cpus, mems) and memory limits (limit and memory+swap; v2:
 * memory.max, memory.swap.max) into an existing cgroup. Zero or empty
 * fields are left as they are. A controller the host does not have is
 * skipped; a cgroup in no hierarchy is NOT_FOUND. */
gboolean cgroup_set_resources(const char *relative_path, const CtrResources *r,
			      GError **error);

/* --- CPU rate between samples ------------------------------------------ */

/* The rate, in nanocores (CPU-ns per second), between two cumulative
 * samples (usage ns, wall-clock ns). FALSE when it cannot be told: no
 * time passed, the clock went back, or the counter went back (the cgroup
 * was made again). */
gboolean cgroup_cpu_rate_between(guint64 prev_usage, gint64 prev_ts,
				 guint64 usage, gint64 ts, guint64 *nano_cores);

/* usage_nano_cores for the cgroup named key at this sample: the rate
 * since the previous sample of key that any caller took, which this one
 * replaces. Samples closer than CGROUP_RATE_MIN_INTERVAL_NS to the kept
 * one do not replace it and get the rate last computed (two callers
 * asking at once see the same figure). FALSE on the first sample of a
 * key. Entries not sampled for ten minutes are dropped. Thread-safe; the
 * lock is held only around the table, never across a file read. */
#define CGROUP_RATE_MIN_INTERVAL_NS G_GINT64_CONSTANT(500000000)
gboolean cgroup_cpu_rate(const char *key, guint64 usage, gint64 ts,
			 guint64 *nano_cores);

/* Whether cgroups here give pressure files: the kernel has PSI on
 * (/proc/pressure) and a v2 hierarchy is mounted (pure or hybrid).
 * Found once. */
gboolean cgroup_has_psi(void);
