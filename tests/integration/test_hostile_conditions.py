"""berth under hostile conditions (issue 21): an OCI runtime and a CNI
plugin that hang, a full disk, a container flooding its log, a fork bomb,
and who may reach the CRI socket and the streaming server. Each case checks
the error the RPC gives, that nothing is left behind, and that berthd keeps
answering meanwhile. Traffic stays on 127.0.0.1 and the test's own netns."""
import errno
import glob
import grp
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import grpc
import pytest

from conftest import SAN, api_pb2, wait_for
from test_container_lifecycle import (LOG_LINE, create, cstatus, ctr_config,  # noqa: F401
                                      image_ref, log_lines, wait_exited)
from test_container_recovery import ctr_dirs, monitors_of, runtime_ids, slow_runtime_berthd
from test_pod_lifecycle import list_ids, pod_config, run_pod
from test_pod_recovery import berthd_with_plugin, nothing_left, plugdir  # noqa: F401
from test_streaming import V5, env, exec_url, start_ctr  # noqa: F401
from wsclient import HandshakeError, WebSocket, http_get

TIMEOUT_S = 3  # runtime_timeout and cni_timeout of these tests


def sleepers(marker):
    """Pids of `sleep <marker>` processes."""
    r = subprocess.run(["pgrep", "-x", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


class Answering(threading.Thread):
    """Cheap RPCs in a loop while something slow runs: each must come back
    within a second."""

    def __init__(self, b):
        super().__init__(daemon=True)
        self.b, self.stop, self.calls, self.slowest = b, threading.Event(), 0, 0.0
        self.error = None

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                self.b.runtime.Version(api_pb2.VersionRequest(), timeout=5)
                self.b.runtime.ListContainers(api_pb2.ListContainersRequest(), timeout=5)
                self.b.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest(), timeout=5)
            except Exception as e:  # noqa: BLE001 (reported by check)
                self.error = e
                return
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self.calls += 1
            time.sleep(0.1)

    def check(self):
        self.stop.set()
        self.join()
        assert self.error is None, self.error
        assert self.calls >= 5 and self.slowest < 1.0, (self.calls, self.slowest)


# --- a hung OCI runtime -----------------------------------------------------

# test_container_recovery's runc wrapper, whose "slow" verbs sleep in a
# child of the script (a runtime's helper stuck in the kernel, say) for
# MARKER seconds: the number marks them for the leftovers check.
MARKER = "7321"


@pytest.fixture
def hung(make_berthd, image_ref, tmp_path):  # noqa: F811
    """That wrapper as runtime handler `slow`, runtime_timeout = 3 s, a pod
    on the handler, and hang(verbs...) to choose what hangs."""
    b, pod_id, cfg, d = slow_runtime_berthd(
        make_berthd, image_ref, tmp_path, f"[berth.runtime]\nruntime_timeout = {TIMEOUT_S}\n")

    def hang(*verbs):
        for f in d.glob("slow-*"):
            f.unlink()
        for v in verbs:
            (d / f"slow-{v}").write_text(MARKER)
    yield b, pod_id, cfg, hang, str(d / "slowrunc")
    hang()
    assert sleepers(MARKER) == []


def no_sleepers():
    """The hung runtime's helper was killed with it (SIGKILL to its
    process group: gone within moments)."""
    wait_for(lambda: sleepers(MARKER) == [], timeout=2,
             what="the hung runtime's child killed")


def runtime_state(b, cid):
    return os.path.join(b.runroot, "runtimes", "slow", cid)


def test_hung_runtime_run_times_out_and_leaves_nothing(hung, image_ref):  # noqa: F811
    b, pod_id, pcfg, hang, wrapper = hung
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "1000")))
    hang("run")
    answering = Answering(b)
    answering.start()
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid), timeout=60)
    took = time.monotonic() - t0
    answering.check()
    # DEADLINE_EXCEEDED, naming the runtime (path and verb) and the
    # deadline.
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"{wrapper} run: timed out after {TIMEOUT_S} s" in e.value.details()
    assert TIMEOUT_S <= took < TIMEOUT_S + 10
    # The runtime and everything it started were killed, the monitor is
    # gone, and so are its dir and the runtime's state.
    no_sleepers()
    wait_for(lambda: monitors_of(cid) == [], what="monitor gone")
    assert ctr_dirs(b, cid) == [os.path.join(b.root, "containers", cid)]
    assert not os.path.exists(runtime_state(b, cid))
    # A failed start leaves an exited container (kubelet removes it and
    # makes a new one), saying why.
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.reason == "StartError"
    assert "timed out" in st.message
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert ctr_dirs(b, cid) == []
    with pytest.raises(grpc.RpcError) as e:
        cstatus(b, cid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # The handler works again once the runtime does.
    hang()
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="again", cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING


def test_hung_runtime_delete_and_kill_time_out(hung, image_ref):  # noqa: F811
    b, pod_id, pcfg, hang, wrapper = hung
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    # Without its monitor, a stop signals through `runtime kill`. The hang
    # comes first: berthd kills a container whose monitor died (through
    # `runtime kill` too), and that kill must not get in before the hang.
    hang("kill", "delete")
    for pid in monitors_of(cid):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: monitors_of(cid) == [], what="monitor killed")
    answering = Answering(b)
    answering.start()
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0),
                                timeout=60)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"runtime slow kill: {wrapper} timed out after {TIMEOUT_S} s" in e.value.details()
    assert time.monotonic() - t0 < TIMEOUT_S + 10
    no_sleepers()
    hang("delete")
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid), timeout=60)
    answering.check()
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"runtime slow delete: {wrapper} timed out after {TIMEOUT_S} s" in e.value.details()
    no_sleepers()
    # A retry once the runtime answers again removes everything.
    hang()
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    with pytest.raises(grpc.RpcError) as e:
        cstatus(b, cid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert ctr_dirs(b, cid) == [] and not os.path.exists(runtime_state(b, cid))


def test_hung_runtime_run_of_infra_rolls_back_the_pod(hung):
    """A pod sharing one PID namespace gets an infra process from berthd's
    own `runtime run`: when that hangs, RunPodSandbox fails at the
    deadline and the pod is undone."""
    b, pod_id, pcfg, hang, wrapper = hung
    leases = b.leases()
    hang("run")
    answering = Answering(b)
    answering.start()
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
            config=pod_config(name="shared", pid=api_pb2.POD), runtime_handler="slow"),
            timeout=60)
    answering.check()
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (f"start the infra process: runtime slow run: {wrapper} timed out after "
            f"{TIMEOUT_S} s") in e.value.details()
    assert time.monotonic() - t0 < TIMEOUT_S + 10
    no_sleepers()
    assert list_ids(b) == {pod_id}
    assert os.listdir(os.path.join(b.root, "pods")) == [pod_id]
    assert b.leases() == leases
    assert runtime_ids(b) == set()

# --- a hung CNI plugin ------------------------------------------------------

def test_hung_cni_plugin_times_out_and_rolls_back(make_berthd, plugdir):  # noqa: F811
    """test_pod_recovery's plugin, after the bridge in the chain, sleeping
    in ADD: the bridge's ADD gave the pod an address, which must go again."""
    (plugdir / "sleep").write_text("3600")
    b = berthd_with_plugin(make_berthd, plugdir, extra=["--cni-timeout", str(TIMEOUT_S)]).start()
    answering = Answering(b)
    answering.start()
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        run_pod(b, pod_config(name="cnihang"), timeout=60)
    took = time.monotonic() - t0
    answering.check()
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"CNI plugin testplug ADD timed out after {TIMEOUT_S} s and was killed" in \
        e.value.details()
    assert TIMEOUT_S <= took < TIMEOUT_S + 10
    r = subprocess.run(["pgrep", "-f", str(plugdir / "testplug")], capture_output=True, text=True)
    assert r.stdout == ""
    # No pod record, netns, address, NAT rule or cgroup is left.
    nothing_left(b)
    (plugdir / "sleep").unlink()
    pod_id = run_pod(b, pod_config(name="cnihang"))
    assert b.leases() != []
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    nothing_left(b)

# --- who may reach berthd ---------------------------------------------------

NOBODY = 65534


def connect_as(sock, uid, groups=()):
    """Connect to the socket as uid with these supplementary groups: "" when
    it worked, else the error."""
    code = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
            "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(e.strerror)\n")
    r = subprocess.run([sys.executable, "-c", code, sock], user=uid, group=NOBODY,
                       extra_groups=list(groups), capture_output=True, text=True, check=True)
    return r.stdout.strip()


def socket_mode_gid(b):
    st = os.stat(b.sock)
    assert stat.S_ISSOCK(st.st_mode)
    return stat.S_IMODE(st.st_mode), st.st_gid


def test_cri_socket_mode_and_group(make_berthd, tmpbase):
    os.chmod(tmpbase, 0o711)  # let an unprivileged uid walk to the sockets
    a = make_berthd("a").start()
    assert socket_mode_gid(a) == (0o660, 0)
    assert connect_as(a.sock, NOBODY) == "Permission denied"
    assert connect_as(a.sock, NOBODY, [0]) == ""
    g = make_berthd("g", extra_args=["--listen-group", "4242"]).start()
    assert socket_mode_gid(g) == (0o660, 4242)
    assert connect_as(g.sock, NOBODY) == "Permission denied"
    assert connect_as(g.sock, NOBODY, [4242]) == ""
    daemon = grp.getgrnam("daemon").gr_gid
    n = make_berthd("n", conf_text='[berth]\nlisten_group = "daemon"\n').start()
    assert socket_mode_gid(n) == (0o660, daemon)
    bad = make_berthd("bad", conf_text='[berth]\nlisten_group = "no-such-group-b21"\n')
    bad.start(wait=False)
    assert bad.proc.wait(60) != 0
    assert "listen_group no-such-group-b21: no such group" in bad.logs()
    assert not os.path.exists(bad.sock)

def refused(url, status=404):
    with pytest.raises(HandshakeError) as e:
        WebSocket(url, [V5])
    return e.value.status == status


def test_streaming_refuses_other_paths_and_races(env, image_ref):  # noqa: F811
    """Beyond test_streaming's token rules: no path but the exact token path
    is served, a refused path leaves the token usable, and of clients racing
    for one token exactly one gets the session."""
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    url = exec_url(b, cid, ["echo", "hi"])
    base, token = url.rsplit("/exec/", 1)
    swapped = token.swapcase()
    assert swapped != token
    for path in (f"/exec/{token}/", f"/exec//{token}", f"//exec/{token}",
                 f"/exec/../exec/{token}", f"/exec/{token}%2F", f"/exec/{token}/x",
                 f"/EXEC/{token}", f"/exec/{token[:-1]}", f"/exec/{token}x",
                 f"/exec/{swapped}", f"/attach/{token}", f"/portforward/{token}",
                 f"/{token}", f"/exec/x/{token}"):
        assert refused(base + path), path
    for method in ("PUT", "DELETE", "OPTIONS"):
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as s:
            s.sendall(f"{method} /exec/{token} HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n".encode())
            assert s.recv(100).split(b" ")[1] == b"405", method
    ws = WebSocket(url, [V5])
    out = b""
    while (m := ws.recv()) is not None:
        out += m[1]
    ws.close()
    assert out.startswith(b"\x01hi\n")
    assert refused(url)

    url = exec_url(b, cid, ["echo", "once"])
    results = []

    def race():
        try:
            WebSocket(url, [V5]).close()
            results.append(101)
        except HandshakeError as e:
            results.append(e.status)
    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [101] + [404] * 7

    # Every kind of URL expires (lifetime 2 s here), unused.
    urls = [exec_url(b, cid, ["true"]),
            b.runtime.Attach(api_pb2.AttachRequest(container_id=cid, stdout=True)).url,
            b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id,
                                                             port=[80])).url]
    time.sleep(2.5)
    for u in urls:
        assert refused(u), u
    assert http_get(base + "/")[0] == 404


# --- a full disk ------------------------------------------------------------

def fill(path):
    """Take every free byte of path's filesystem with one file."""
    filler = os.path.join(path, f"filler-{time.monotonic_ns()}")  # small_root removes it too
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    return filler


def started_with_pod(b, image_ref, log_dir):  # noqa: F811
    """b started, the image pulled, and a pod logging under log_dir."""
    b.start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="hostile")
    cfg.log_directory = log_dir
    return b, run_pod(b, cfg), cfg


@pytest.fixture
def small_root(make_berthd, image_ref, tmp_path):  # noqa: F811
    """A berthd whose root (store, records, and the pod's logs) is a 64 MiB
    tmpfs, with the image pulled and a pod."""
    b = make_berthd("small", extra_args=["--insecure-registry", image_ref.split("/")[0]])
    os.makedirs(b.root)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0711", "berth-small", b.root],
                   check=True)
    yield started_with_pod(b, image_ref, os.path.join(b.root, "logs"))
    for f in glob.glob(os.path.join(b.root, "filler-*")):  # a failed test's
        os.unlink(f)


def ctr_ids(b):
    return {c.id for c in b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers}


def test_full_disk(small_root, image_ref):  # noqa: F811
    b, pod_id, pcfg = small_root
    # A container that logs a numbered 200-byte line every 20 ms throughout.
    ticker = create(b, pod_id, pcfg, ctr_config(image_ref, name="ticker", cmd=(
        "sh", "-c", f"i=0; while true; do i=$((i+1)); echo tick $i {'x' * 190}; usleep 20000; "
        "done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=ticker))
    log = cstatus(b, ticker).status.log_path
    wait_for(lambda: os.path.getsize(log) > 0, what="first log line")
    victim = create(b, pod_id, pcfg, ctr_config(image_ref, name="victim", cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=victim))
    filler = fill(b.root)
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(image_ref, name="late", cmd=("echo", "late")))
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.value.details()
    assert "No space left on device" in e.value.details()
    # Nothing half-made: no record, no dir, no mount of the failed create.
    assert ctr_ids(b) == {ticker, victim}
    assert sorted(os.listdir(os.path.join(b.root, "containers"))) == sorted([ticker, victim])
    # The ticker and its monitor go on while its log cannot grow.
    full_size = os.path.getsize(log)
    time.sleep(1)
    assert os.path.getsize(log) - full_size < 4096
    assert cstatus(b, ticker).status.state == api_pb2.CONTAINER_RUNNING
    assert monitors_of(ticker)
    # Removing is how kubelet frees space (eviction): it needs none.
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=victim, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=victim))
    assert ctr_ids(b) == {ticker} and ctr_dirs(b, victim) == []
    with open("/proc/self/mountinfo") as f:
        assert sum(os.path.join(b.root, "containers") in line for line in f) == 1
    fillers = [filler, fill(b.root)]
    # A restart on the full disk finds the same, no broken record, and its
    # runtimes working (their probe needs no space).
    assert b.stop() == 0
    before = len(b.logs())
    b.start()
    assert ctr_ids(b) == {ticker}
    assert cstatus(b, ticker).status.state == api_pb2.CONTAINER_RUNNING
    bad = [line for line in b.logs()[before:].splitlines() if line.split()[1:2] != ["info"]]
    assert bad == []
    conditions = b.runtime.Status(api_pb2.StatusRequest()).status.conditions
    assert all(c.status for c in conditions), conditions
    # Space comes back: a create works, and the ticker's log grows again.
    size = os.path.getsize(log)
    for f in fillers:
        os.unlink(f)
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="late", cmd=("echo", "late")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert wait_exited(b, cid).exit_code == 0
    wait_for(lambda: os.path.getsize(log) > size + 10000, what="the log growing again")
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=ticker, timeout=0))
    # Every line of the log is a whole CRI record, in order; lines written
    # while the disk was full are lost, none is cut.
    ticks = [int(m.split()[1]) for _, s, t, m in log_lines(log)]
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
    assert ticks[0] == 1
    # A full disk again: the pod still stops and goes, with all it had.
    filler = fill(b.root)
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert ctr_ids(b) == set() and list_ids(b) == set()
    assert os.listdir(os.path.join(b.root, "pods")) == []
    assert os.listdir(os.path.join(b.root, "containers")) == []


# --- a log flood ------------------------------------------------------------

def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def tail_line(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4096))
        return f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]


def test_log_flood(env, image_ref):  # noqa: F811
    """seq as fast as it can (about 2 million lines a second here) for 6 s,
    with kubelet's rotation (rename, then ReopenContainerLog) half-way:
    berthd's and the monitor's memory stay flat, berthd answers, and the two
    files hold every number once, in order, each a whole CRI record."""
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref, name="flood", cmd=("seq", "1", "999999999"))
    log = cstatus(b, cid).status.log_path
    [monitor] = monitors_of(cid)
    time.sleep(2)
    rss0 = {p: vm_rss_kib(p) for p in (b.proc.pid, monitor)}
    answering = Answering(b)
    answering.start()
    time.sleep(2)
    os.rename(log, log + ".1")
    b.runtime.ReopenContainerLog(api_pb2.ReopenContainerLogRequest(container_id=cid))
    time.sleep(2)
    rss1 = {p: vm_rss_kib(p) for p in (b.proc.pid, monitor)}
    answering.check()
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert os.path.getsize(log) > 1 << 20  # the reopened file got its share
    # All but the last record: "<time> stdout F <n>" with n the line number.
    # The last may be cut short by the kill (P).
    check = subprocess.run(
        f"cat {log}.1 {log} | head -n -1 | awk '$2 != \"stdout\" || $3 != \"F\" || "
        "$4 != NR {print NR \": \" $0; exit 1} END {print NR}'",
        shell=True, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[:300]
    lines = int(check.stdout)
    assert lines > 1000000
    _, s, t, m = LOG_LINE.match(tail_line(log)).groups()
    assert s == b"stdout" and (m == b"%d" % (lines + 1) or t == b"P"), (s, t, m)
    if not SAN:
        assert rss1[b.proc.pid] - rss0[b.proc.pid] < 4096, (rss0, rss1)
        assert rss1[monitor] - rss0[monitor] < 256, (rss0, rss1)


# --- a fork bomb ------------------------------------------------------------

PIDS_LIMIT = 64


def pids_cgroup(pid):
    """The pids controller's dir of a process (v1 or v2)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "pids" in ctrls.split(","):
                return f"/sys/fs/cgroup/pids{path}"
            if ctrls == "" and os.path.exists(f"/sys/fs/cgroup/unified{path}/pids.max"):
                return f"/sys/fs/cgroup/unified{path}"
    raise AssertionError(f"no pids cgroup for {pid}")


def read_int(path):
    with open(path) as f:
        return f.read().strip()


def test_fork_bomb_under_pids_limit(make_berthd, image_ref, tmp_path):  # noqa: F811
    """pids_limit (CRI has no pids field; berth's config gives every
    container one): a fork bomb fills its container's pids cgroup and no
    more, the host and berthd go on, and stop + remove end every process."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0],
                                "--pids-limit", str(PIDS_LIMIT)])
    b, pod_id, pcfg = started_with_pod(b, image_ref, str(tmp_path / "logs"))
    # Every process forks for ever; one whose fork fails dies (busybox sh),
    # and its slot goes to the next fork: the cgroup stays full. The init
    # becomes a sleep, which forks no more and so lives on. A fifth of a
    # CPU keeps the bomb from taking the machine's.
    bomb = "f() { while :; do f & done; }; f & exec sleep 100000 # bomb-7321"
    cfg = ctr_config(image_ref, name="bomb", cmd=("sh", "-c", bomb))
    cfg.linux.resources.cpu_period, cfg.linux.resources.cpu_quota = 100000, 20000
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    info = json.loads(cstatus(b, cid, verbose=True).info["info"])
    cg = pids_cgroup(info["pid"])
    assert read_int(f"{cg}/pids.max") == str(PIDS_LIMIT)
    answering = Answering(b)
    answering.start()
    wait_for(lambda: int(read_int(f"{cg}/pids.current")) >= PIDS_LIMIT - 2, timeout=20,
             what="the bomb filling its pids cgroup")
    time.sleep(2)
    assert int(read_int(f"{cg}/pids.current")) <= PIDS_LIMIT
    assert int(read_int(f"{cg}/pids.events").split()[-1]) > 0  # forks were refused
    assert len(subprocess.run(["pgrep", "-f", "bomb-7321"], capture_output=True,
                              text=True).stdout.split()) <= PIDS_LIMIT
    # The host still forks; berthd still answers, execs included.
    assert subprocess.run(["true"]).returncode == 0
    answering.check()
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    wait_for(lambda: subprocess.run(["pgrep", "-f", "bomb-7321"]).returncode == 1,
             what="every bomb process gone")
    assert ctr_dirs(b, cid) == []
