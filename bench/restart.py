#!/usr/bin/python3
"""The restart scenario of bench/compare.sh: a CRI server killed with much
on disk, and how long it takes to serve a correct ListContainers again.

    bench/restart.py --endpoint SOCKET --server-pid PID --image REF --json FILE
                     [--containers 1000] [--per-pod 10] [--runs 3]
                     [--cgroup-parent P] [--pid-file FILE] [--log FILE]
                     [--settle 30] [--timeout 600] -- COMMAND...

Populates N containers in N/PER_POD pods (each pod holds PER_POD of them,
half `sleep 3600`, half `true`, started and waited for until EXITED), all
from IMAGE, 4 pods at a time. Then RUNS times: waits for the CPUs to go
idle (up to SETTLE s), SIGKILLs the server (PID, then the one it started
itself), waits until it is gone (every thread: the last one closes the
listening socket), runs COMMAND (the server's own command line, from
compare.sh; stdin /dev/null, stdout and stderr appended to --log) and
polls, every 5 ms, connecting, then Version, then ListContainers. It times
from just before the exec to the first answered Version ("version") and
to the first ListContainers reply that lists every container it made
with its state, N/2 running and N/2 exited ("ready-list"). Then it
removes its pods.

The pid of each server it starts goes to --pid-file at once, so that the
caller can stop the last one whatever happens here; if it is stopped
between a kill and the restart, it restarts the server first. The JSON is
berthctl bench's schema: {"results": [{"scenario": "restart", "variant":
..., "count": RUNS, "p50_ms": the median, "max_ms": ..., "samples_ms":
[...]}, ...]}, with each run's details beside it. Exit status 1 on
failure. Needs root (it kills and starts the server)."""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.environ.get("BERTH_PYSTUBS", os.path.join(REPO, "build", "py")))
import grpc  # noqa: E402
import api_pb2 as pb  # noqa: E402
import api_pb2_grpc as pbg  # noqa: E402

POLL = 0.005
CALL_TIMEOUT = 300
LABEL = "berth-bench-restart"
THREADS = 4
# The measuring channel retries a refused connection every 5 ms, not after
# gRPC's default backoff of one second and more.
FAST_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 5),
                  ("grpc.min_reconnect_backoff_ms", 5),
                  ("grpc.max_reconnect_backoff_ms", 5)]


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} restart: {msg}", file=sys.stderr, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


# --- populating ---------------------------------------------------------------

def pod_config(run_id, i, logdir, cgroup_parent):
    name = f"restart-{run_id}-p{i}"
    linux = pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(
        namespace_options=pb.NamespaceOption(pid=pb.CONTAINER)))
    if cgroup_parent:
        linux.cgroup_parent = cgroup_parent
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, namespace="bench", uid=f"{name}-uid"),
        hostname=f"p{i}", log_directory=os.path.join(logdir, name),
        labels={LABEL: run_id}, linux=linux)


def ctr_config(run_id, image, name, running):
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=image),
        command=["sleep", "3600"] if running else ["true"], log_path=f"{name}.log",
        labels={LABEL: run_id},
        linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
            namespace_options=pb.NamespaceOption(pid=pb.CONTAINER))))


def make_pod(rt, args, run_id, logdir, i, n_ctrs, pods, expect):
    """One pod and its containers, the even ones running, the odd ones
    exiting at once; each id goes into pods or expect (with the state it
    should reach) as soon as it exists."""
    pcfg = pod_config(run_id, i, logdir, args.cgroup_parent)
    os.makedirs(pcfg.log_directory, exist_ok=True)
    pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pcfg),
                           timeout=CALL_TIMEOUT).pod_sandbox_id
    pods.append(pod)
    for k in range(n_ctrs):
        running = k % 2 == 0
        cid = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=ctr_config(run_id, args.image, f"c{k}", running),
            sandbox_config=pcfg), timeout=CALL_TIMEOUT).container_id
        expect[cid] = pb.CONTAINER_RUNNING if running else pb.CONTAINER_EXITED
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=CALL_TIMEOUT)


def ours(reply, run_id):
    return {c.id: c.state for c in reply.containers if c.labels.get(LABEL) == run_id}


def populate(rt, args, run_id, logdir, pods, expect):
    """args.containers containers in pods of args.per_pod (the last pod
    takes the remainder), THREADS pods at a time, then waits for every one
    to be in its state. pods and expect fill up as it goes, so that
    clean-up finds what was made even when this fails half-way. The
    seconds it took."""
    n_pods = max(1, -(-args.containers // args.per_pod))
    sizes = [args.per_pod] * (n_pods - 1) + [args.containers - args.per_pod * (n_pods - 1)]
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
        futs = [ex.submit(make_pod, rt, args, run_id, logdir, i, n, pods, expect)
                for i, n in enumerate(sizes)]
        done = 0
        try:
            for fut in concurrent.futures.as_completed(futs):
                fut.result()
                done += 1
                if done % 10 == 0 or done == n_pods:
                    log(f"{done}/{n_pods} pods, {len(expect)} containers")
        except BaseException:
            # The pods under way finish; those not begun never will.
            for f in futs:
                f.cancel()
            raise
    deadline = time.monotonic() + CALL_TIMEOUT
    while True:
        seen = ours(rt.ListContainers(pb.ListContainersRequest(), timeout=CALL_TIMEOUT), run_id)
        if seen == expect:
            break
        if time.monotonic() > deadline:
            wrong = sum(1 for c, s in expect.items() if seen.get(c) != s)
            raise RuntimeError(f"{wrong} containers not in their state after "
                               f"{CALL_TIMEOUT} s")
        time.sleep(0.2)
    return time.perf_counter() - t0


def remove_pods(rt, pods):
    """Stop and remove each pod (and with it its containers); errors are
    printed, the others still removed. The number that failed."""
    def one(pod):
        try:
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod),
                              timeout=CALL_TIMEOUT)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod),
                                timeout=CALL_TIMEOUT)
            return 0
        except grpc.RpcError as e:
            log(f"clean-up: pod {pod[:12]}: {e.code().name}: {e.details()}")
            return 1
    with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
        return sum(ex.map(one, pods))


# --- the server ---------------------------------------------------------------

def cpu_now():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]
    busy = sum(v) - idle
    return busy, busy + idle


def settle(max_s):
    """Until the CPUs are 90% idle over half a second (berthctl bench
    --settle's rule), at most max_s seconds."""
    start = time.monotonic()
    b0, t0 = cpu_now()
    for _ in range(int(max_s * 2)):
        time.sleep(0.5)
        b1, t1 = cpu_now()
        if t1 > t0 and (b1 - b0) * 10 <= t1 - t0:
            log(f"CPUs idle after {time.monotonic() - start:.1f} s")
            return
        b0, t0 = b1, t1
    if max_s > 0:
        log(f"the CPUs are still busy after {max_s} s; measuring anyway")


def gone(pid):
    """Whether pid has exited: no process, or a zombie not yet reaped whose
    other threads are gone too (a killed thread group's leader is a zombie
    at once, while the others may still hold its files, the listening
    socket among them, for tens of ms)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                return False
        return os.listdir(f"/proc/{pid}/task") == [str(pid)]
    except (FileNotFoundError, ProcessLookupError):
        return True


class Server:
    """The server under test: first the one compare.sh started (a pid),
    then the ones started here (a Popen each)."""

    def __init__(self, args):
        self.args = args
        self.pid = args.server_pid
        self.proc = None
        self.killed = False

    def kill(self):
        t0 = time.perf_counter()
        os.kill(self.pid, signal.SIGKILL)
        self.killed = True
        if self.proc is not None:
            self.proc.wait()
        else:
            deadline = time.monotonic() + 30
            while not gone(self.pid):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pid {self.pid} still there 30 s after SIGKILL")
                time.sleep(0.001)
        return time.perf_counter() - t0

    def start(self):
        """Runs the command, as compare.sh ran it; the time just before."""
        with open(self.args.log or os.devnull, "ab") as out:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(self.args.command, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.killed = False
        if self.args.pid_file:
            tmp = self.args.pid_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{self.pid}\n")
            os.rename(tmp, self.args.pid_file)
        return t0

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the server exited at start (status "
                               f"{self.proc.returncode}); see {self.args.log}")


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_ready(server, endpoint, run_id, expect, t0, limit):
    """Polls until the socket takes a connection, then until Version
    answers, then until ListContainers is right; times from t0 (just
    before the exec), in ms, and what the failed calls said."""
    out = {"connect_ms": None, "version_ms": None, "first_list_ms": None,
           "ready_ms": None, "wrong_lists": 0, "failed_calls": 0, "errors": {}}
    deadline = time.monotonic() + limit
    last = ["no connection"]

    def since():
        return (time.perf_counter() - t0) * 1000

    def retry():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready {limit} s after the restart: {last[0]}")
        server.check_alive()
        time.sleep(POLL)

    def failed(method, e):
        out["failed_calls"] += 1
        last[0] = f"{method}: {e.code().name}: {(e.details() or '')[:100]}"
        out["errors"][last[0]] = out["errors"].get(last[0], 0) + 1

    while not listening(endpoint):
        retry()
    out["connect_ms"] = since()
    with grpc.insecure_channel("unix://" + endpoint, options=FAST_RECONNECT) as ch:
        rt = pbg.RuntimeServiceStub(ch)
        while out["version_ms"] is None:
            try:
                rt.Version(pb.VersionRequest(), timeout=5, wait_for_ready=True)
                out["version_ms"] = since()
            except grpc.RpcError as e:
                failed("Version", e)
                retry()
        while True:
            try:
                reply = rt.ListContainers(pb.ListContainersRequest(), timeout=CALL_TIMEOUT)
            except grpc.RpcError as e:
                failed("ListContainers", e)
                retry()
                continue
            took = since()
            if out["first_list_ms"] is None:
                out["first_list_ms"] = took
            seen = ours(reply, run_id)
            if seen == expect:
                out["ready_ms"] = took
                break
            out["wrong_lists"] += 1
            n_run = sum(1 for s in seen.values() if s == pb.CONTAINER_RUNNING)
            n_exit = sum(1 for s in seen.values() if s == pb.CONTAINER_EXITED)
            last[0] = (f"ListContainers lists {len(seen)} of {len(expect)} "
                       f"({n_run} running, {n_exit} exited)")
            retry()
        # What one ListContainers of this size costs once the server is up,
        # this client's decoding included: the part of ready_ms that is the
        # last call itself.
        calls = []
        for _ in range(5):
            t = time.perf_counter()
            rt.ListContainers(pb.ListContainersRequest(), timeout=CALL_TIMEOUT)
            calls.append((time.perf_counter() - t) * 1000)
        out["list_call_ms"] = statistics.median(calls)
    return out


def restart_once(server, args, run_id, expect):
    settle(args.settle)
    killed_ms = None
    t0 = None
    try:
        killed_ms = server.kill() * 1000
        t0 = server.start()
    finally:
        # Stopped between the kill and the exec: leave a server behind, for
        # the caller's clean-up to talk to.
        if server.killed and t0 is None:
            server.start()
    out = wait_ready(server, args.endpoint, run_id, expect, t0, args.timeout)
    out["kill_ms"] = killed_ms
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def result(variant, samples):
    samples = [round(x, 3) for x in samples]
    return {"scenario": "restart", "variant": variant, "count": len(samples),
            "p50_ms": statistics.median(samples), "p90_ms": pct(samples, 90),
            "p99_ms": pct(samples, 99), "max_ms": max(samples), "min_ms": min(samples),
            "samples_ms": samples}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="the server's socket path")
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--per-pod", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cgroup-parent")
    ap.add_argument("--pid-file", help="where the restarted server's pid goes")
    ap.add_argument("--log", help="the server's log, appended to")
    ap.add_argument("--settle", type=float, default=30,
                    help="before each kill, wait up to S s for the CPUs to go idle")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds a restart may take before it counts as failed")
    ap.add_argument("command", nargs="+", help="the server's command line (after --)")
    args = ap.parse_args()
    if args.containers < 2 or args.per_pod < 1 or args.runs < 1:
        ap.error("--containers must be at least 2, --per-pod and --runs at least 1")
    endpoint = args.endpoint[len("unix://"):] if args.endpoint.startswith("unix://") \
        else args.endpoint
    args.endpoint = endpoint

    # compare.sh stops it with SIGINT, then SIGTERM: a background job of a
    # script starts with SIGINT ignored, so both are set here.
    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    run_id = uuid.uuid4().hex[:8]
    logdir = tempfile.mkdtemp(prefix="berth-bench-restart-")
    server = Server(args)
    pods, expect, runs = [], {}, []
    doc = {"containers": args.containers, "per_pod": args.per_pod}
    rc = 1
    try:
        with grpc.insecure_channel("unix://" + endpoint) as ch:
            rt = pbg.RuntimeServiceStub(ch)
            others = len(rt.ListContainers(pb.ListContainersRequest(),
                                           timeout=CALL_TIMEOUT).containers)
            if others:
                log(f"warning: the server holds {others} containers already")
            log(f"populating: {args.containers} containers in pods of {args.per_pod}")
            doc["populate_s"] = round(populate(rt, args, run_id, logdir, pods, expect), 2)
        doc["pods"] = len(pods)
        doc["running"] = sum(1 for s in expect.values() if s == pb.CONTAINER_RUNNING)
        doc["exited"] = len(expect) - doc["running"]
        log(f"{len(pods)} pods, {doc['running']} running and {doc['exited']} exited "
            f"containers in {doc['populate_s']} s")
        for i in range(args.runs):
            r = restart_once(server, args, run_id, expect)
            runs.append(r)
            log(f"run {i + 1}: Version after {r['version_ms']:.1f} ms, a correct "
                f"ListContainers after {r['ready_ms']:.1f} ms (socket after "
                f"{r['connect_ms']:.1f} ms, first list {r['first_list_ms']:.1f} ms, "
                f"{r['wrong_lists']} incomplete, {r['failed_calls']} failed calls, "
                f"one list call {r['list_call_ms']:.1f} ms); pid {server.pid}")
            for err, n in r["errors"].items():
                log(f"run {i + 1}: {n}x {err}")
        doc["runs"] = runs
        doc["results"] = [result("ready-list", [r["ready_ms"] for r in runs]),
                          result("version", [r["version_ms"] for r in runs])]
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        rc = 0
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    except (RuntimeError, grpc.RpcError, grpc.FutureTimeoutError, OSError) as e:
        if isinstance(e, grpc.RpcError):
            log(f"error: {e.code().name}: {e.details()}")
        else:
            log(f"error: {e}")
    finally:
        if pods:
            log(f"removing {len(pods)} pods")
            try:
                with grpc.insecure_channel("unix://" + endpoint) as ch:
                    grpc.channel_ready_future(ch).result(timeout=60)
                    if remove_pods(pbg.RuntimeServiceStub(ch), pods):
                        rc = 1
            except grpc.FutureTimeoutError:
                log("clean-up: the server does not answer")
                rc = 1
        shutil.rmtree(logdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
