"""Shared fixtures: a real berthd on a temporary root, runroot and socket.

Run through `make test` (it sets BERTH_BIN_DIR and BERTH_PYSTUBS); the stubs
are generated from cri/api.proto at build time."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import fcntl
import json

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN_DIR = os.environ.get("BERTH_BIN_DIR", os.path.join(REPO, "bin"))
PYSTUBS = os.environ.get("BERTH_PYSTUBS", os.path.join(REPO, "build", "py"))
SAN = os.environ.get("BERTH_SAN") == "1"
sys.path.insert(0, PYSTUBS)

import grpc  # noqa: E402
import api_pb2  # noqa: E402
import api_pb2_grpc  # noqa: E402

BERTHD = os.path.join(BIN_DIR, "berthd")
# The cgroup driver of every berthd the suite starts (cgroupfs or systemd).
CGROUP_MANAGER = os.environ.get("BERTH_TEST_CGROUP_MANAGER", "cgroupfs")
NET_LOCK = "/run/berth-test-net.lock"


def _reserve_bridge_number():
    """A bridge name and /24 no other test process uses: under a host-wide
    lock, the first berth-t<n> that does not exist yet is created (empty)
    to hold the name; the CNI bridge plugin adopts it."""
    with open(NET_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for n in range(10, 250):
            if os.path.exists(f"/sys/class/net/berth-t{n}"):
                continue
            subprocess.run(["ip", "link", "add", f"berth-t{n}", "type", "bridge"], check=True)
            return n
    raise RuntimeError("no free test bridge number")
CONTRIB_CNI = os.path.join(REPO, "contrib", "cni")


def edit_record(path, **fields):
    """Set fields of a JSON record berthd wrote (as a crash or a reboot
    might have left it)."""
    with open(path) as f:
        rec = json.load(f)
    rec.update(fields)
    with open(path, "w") as f:
        json.dump(rec, f)


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


class Berthd:
    """One berthd process with its own dirs; stop() checks a clean exit."""

    def __init__(self, base, extra_args=(), conf_text="", cni_conf=True):
        self.base = base
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        self.sock = os.path.join(self.runroot, "berth.sock")
        self.conf = os.path.join(base, "berth.conf")
        self.conf_dir = os.path.join(base, "berth.conf.d")
        self.cni_dir = os.path.join(base, "cni")
        self.ipam_dir = os.path.join(base, "ipam")
        n = _reserve_bridge_number()
        self.bridge = f"berth-t{n}"
        self.subnet = f"10.247.{n}"
        # Pod cgroups of this instance only: test runs may overlap. The
        # manager is explicit (berthd would take systemd on a systemd
        # host); BERTH_TEST_CGROUP_MANAGER=systemd gives each instance a
        # slice instead.
        self.cgroup_manager = CGROUP_MANAGER
        self.cgroup_parent = (f"berthit{n}.slice" if CGROUP_MANAGER == "systemd"
                              else f"/berth-it-{n}")
        os.makedirs(self.conf_dir, exist_ok=True)
        os.makedirs(self.cni_dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(conf_text)
        if cni_conf:
            self.install_cni_conf()
        self.args = [
            BERTHD, "--config", self.conf, "--config-dir", self.conf_dir,
            "--root", self.root, "--runroot", self.runroot,
            "--listen", self.sock, "--cni-config-dir", self.cni_dir,
            "--shutdown-grace", "2", "--cgroup-manager", self.cgroup_manager,
            "--default-cgroup-parent", self.cgroup_parent,
        ] + list(extra_args)
        self.proc = None
        self.log_path = os.path.join(base, "berthd.log")
        self.channel = None

    def install_cni_conf(self, plugins_before=(), plugins_after=()):
        """contrib's conflist, on a bridge, subnet and IPAM dir of this
        instance's own, so tests never share addresses or leases."""
        with open(os.path.join(CONTRIB_CNI, "10-berth.conflist")) as f:
            conf = json.load(f)
        bridge = conf["plugins"][0]
        bridge["bridge"] = self.bridge
        bridge["ipam"]["ranges"] = [[{"subnet": f"{self.subnet}.0/24",
                                      "gateway": f"{self.subnet}.1"}]]
        bridge["ipam"]["dataDir"] = self.ipam_dir
        conf["plugins"] = list(plugins_before) + conf["plugins"] + list(plugins_after)
        with open(os.path.join(self.cni_dir, "10-berth.conflist"), "w") as f:
            json.dump(conf, f)

    def leases(self):
        """IP leases host-local holds for this instance's network."""
        d = os.path.join(self.ipam_dir, "berth")
        if not os.path.isdir(d):
            return []
        return sorted(f for f in os.listdir(d) if f[0].isdigit())

    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        if SAN:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log, env=env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"berthd exited {self.proc.returncode}:\n{self.logs()}")
            return os.path.exists(self.sock)
        wait_for(ready, timeout, what="berthd socket")
        self.channel = grpc.insecure_channel("unix://" + self.sock)
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    @property
    def runtime(self):
        return api_pb2_grpc.RuntimeServiceStub(self.channel)

    @property
    def image(self):
        return api_pb2_grpc.ImageServiceStub(self.channel)

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"berthd did not stop on {sig}:\n{self.logs()}")
        self.log.close()
        return rc

    def remove_all_pods(self):
        """Pods outlive berthd by design: tests remove theirs at the end."""
        try:
            for p in self.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items:
                self.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=p.id))
                self.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=p.id))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def cleanup_host(self):
        """What outlives berthd by design: the CNI bridge, and the private
        bind mount under which berthd pins namespaces."""
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        if self.cgroup_manager == "systemd":
            subprocess.run(["systemctl", "stop", self.cgroup_parent], capture_output=True)
        for hier in os.listdir("/sys/fs/cgroup"):
            d = f"/sys/fs/cgroup/{hier}{self.cgroup_parent}"
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(self.base + "/")]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)

    def check_sanitizers(self):
        text = self.logs()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in text, f"sanitizer report in berthd log:\n{text}"


@pytest.fixture(scope="session", autouse=True)
def prepare_host():
    """crun refuses a cgroup-v1 hybrid host whose v2 hierarchy holds a
    controller (hugetlb on these machines). Mounting a v1 hugetlb
    hierarchy frees it (DESIGN.md), so both runtimes can be tested. berthd
    itself never changes host cgroup mounts."""
    unified = "/sys/fs/cgroup/unified/cgroup.controllers"
    try:
        with open(unified) as f:
            controllers = f.read().split()
    except OSError:
        return
    if "hugetlb" not in controllers:
        return
    os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
    r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup",
                        "/sys/fs/cgroup/hugetlb"], capture_output=True, text=True)
    if r.returncode == 0:
        print("\ntest host: mounted a cgroup v1 hugetlb hierarchy at "
              "/sys/fs/cgroup/hugetlb so that crun can run (see DESIGN.md)")
    else:
        print(f"\ntest host: could not mount hugetlb ({r.stderr.strip()}); "
              "crun tests will be skipped")


# --- cgroups, on either hierarchy and either driver --------------------


def _cgroup_mounts():
    """{controller: mount dir} of the v1 hierarchies, and the v2 mount
    (or None): /sys/fs/cgroup itself on a unified host,
    /sys/fs/cgroup/unified on a hybrid one."""
    v1, v2 = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2" and v2 is None:
                v2 = fields[4]
            elif fstype == "cgroup":
                for o in opts:
                    v1.setdefault(o, fields[4])
    return v1, v2


class Cgroup:
    """A cgroup as berth's tests read it: the directory each controller's
    files are in (memory, cpu, pids), on cgroup v1, v2 or a hybrid of the
    two, and its limits in the words of CRI (bytes, cpu shares)."""

    def __init__(self, paths):
        # paths: {controller or "": path relative to its hierarchy}, as in
        # /proc/PID/cgroup ("" is the v2 line).
        v1, v2 = _cgroup_mounts()
        self.dirs = {}
        for ctrl in ("memory", "cpu", "pids"):
            if ctrl in v1 and ctrl in paths:
                self.dirs[ctrl] = v1[ctrl] + paths[ctrl]
            elif v2 is not None and "" in paths:
                self.dirs[ctrl] = v2 + paths[""]
        self.v2 = {c for c, d in self.dirs.items() if v2 is not None and d.startswith(v2 + "/")}

    @classmethod
    def of_pid(cls, pid):
        """Where a process is (a container's init: with crun's systemd mode
        that is <scope>/container, where crun puts the limits)."""
        paths = {}
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                for c in ctrls.split(",") if ctrls else [""]:
                    paths[c] = path
        return cls(paths)

    @classmethod
    def of_path(cls, path):
        """A path berth reports (ContainerStatus / PodSandboxStatus verbose
        info "cgroup"), the same below every hierarchy."""
        return cls({c: path for c in ("", "memory", "cpu", "pids")})

    def read(self, ctrl, name):
        with open(os.path.join(self.dirs[ctrl], name)) as f:
            return f.read().strip()

    def memory_limit(self):
        """Bytes, or None for no limit."""
        v = self.read("memory", "memory.max" if "memory" in self.v2 else
                      "memory.limit_in_bytes")
        return None if v == "max" or int(v) >= 1 << 62 else int(v)

    def cpu_weight(self):
        """cpu.shares (v1), or cpu.weight (v2)."""
        return int(self.read("cpu", "cpu.weight" if "cpu" in self.v2 else "cpu.shares"))

    def cpu_weight_of_shares(self, shares):
        """What cpu_weight() reads once CRI's cpu_shares are set: the same
        on v1, mapped onto 1..10000 on v2 (as crun, runc and berth do)."""
        if "cpu" not in self.v2:
            return shares
        return 1 + ((min(max(shares, 2), 262144) - 2) * 9999) // 262142


def verbose_info(reply):
    return json.loads(reply.info["info"])


def container_cgroup(b, cid):
    """The cgroup a running container's processes are in."""
    info = verbose_info(b.runtime.ContainerStatus(api_pb2.ContainerStatusRequest(
        container_id=cid, verbose=True)))
    return Cgroup.of_pid(info["pid"])


def pod_cgroup(b, pod_id):
    """A pod's own cgroup (cgroupfs: <parent>/berth-pod-<id>; systemd: its
    slice)."""
    info = verbose_info(b.runtime.PodSandboxStatus(api_pb2.PodSandboxStatusRequest(
        pod_sandbox_id=pod_id, verbose=True)))
    return Cgroup.of_path(info["cgroup"])


def pod_cgroups(b):
    """Pod cgroups of one berthd instance (memory hierarchy)."""
    base = "/sys/fs/cgroup/memory" + b.cgroup_parent
    if not os.path.isdir(base):
        return set()
    return {d for d in os.listdir(base) if d.startswith("berth-pod-")}


@pytest.fixture
def tmpbase():
    d = tempfile.mkdtemp(prefix="berth-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_berthd(tmpbase):
    made = []

    def make(name="b", **kw):
        b = Berthd(os.path.join(tmpbase, name), **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        # Tests that expect berthd to fail wait for it themselves; those
        # still running here must stop cleanly.
        if b.proc is not None and b.proc.poll() is None:
            b.remove_all_pods()
            rc = b.stop()
            assert rc == 0, f"berthd exited {rc}:\n{b.logs()}"
        b.check_sanitizers()
        b.cleanup_host()


@pytest.fixture
def berthd(make_berthd):
    return make_berthd().start()


def run_berthd(*args, timeout=30):
    """Run berthd as a command (config, --help, a bad config) and return it."""
    return subprocess.run([BERTHD] + list(args), capture_output=True, text=True, timeout=timeout)
