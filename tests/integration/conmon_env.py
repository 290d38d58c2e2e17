"""Containers under berth-conmon without berthd: a busybox rootfs shared
by every test, a runc bundle per container (from `runc spec`, edited), the
conmon-client tool that drives conmon/client.c, and cleanup of everything a
container leaves (runc state, cgroups, the monitor itself)."""
import json
import os
import re
import signal
import socket
import subprocess
import time

from conftest import BIN_DIR, SAN, wait_for

RUNC = "/usr/sbin/runc"
CONMON = os.path.join(BIN_DIR, "berth-conmon")
TOOLS_DIR = os.environ.get("BERTH_TOOLS_DIR", "")
TOOL = os.path.join(TOOLS_DIR, "conmon-client")
CGROUP_ROOT = "/sys/fs/cgroup"
APPLETS = ["sh", "cat", "echo", "printf", "sleep", "head", "tail", "tr",
           "stty", "yes", "seq", "kill", "true", "dd", "ls", "usleep", "wc"]
RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$",
    re.S)

FRAME_STDIN, FRAME_STDOUT, FRAME_STDERR, FRAME_CLOSE_STDIN = 0, 1, 2, 3


def build_rootfs(path):
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    subprocess.run(["cp", "/bin/busybox", os.path.join(path, "bin", "busybox")],
                   check=True)
    for a in APPLETS:
        os.symlink("busybox", os.path.join(path, "bin", a))


def spec_template(base):
    d = os.path.join(base, "spec-template")
    os.makedirs(d)
    subprocess.run([RUNC, "spec", "--bundle", d], check=True)
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)


def cgroup_dirs(name):
    """Every hierarchy's dir of a cgroup named name at the top level."""
    found = []
    for h in os.listdir(CGROUP_ROOT):
        p = os.path.join(CGROUP_ROOT, h, name)
        if os.path.isdir(p):
            found.append(p)
    return found


def parse_log(path):
    """The CRI log file as (timestamp, stream, tag, content) records."""
    with open(path, "rb") as f:
        data = f.read().decode()
    assert data == "" or data.endswith("\n"), repr(data[-100:])
    records = []
    for line in data.split("\n")[:-1]:
        m = RECORD.match(line)
        assert m, f"not a CRI log record: {line!r}"
        records.append(m.groups())
    return records


def stream_text(records, stream):
    """What kubelet shows for a stream: P records joined to the next."""
    out = []
    for _, s, tag, content in records:
        if s == stream:
            out.append(content + ("\n" if tag == "F" else ""))
    return "".join(out)


class Container:
    def __init__(self, env, name, script=None, args=None, terminal=False,
                 memory=None):
        self.env = env
        self.id = f"berth-cmt-{os.getpid()}-{env.next_n()}-{name}"
        self.dir = os.path.join(env.base, self.id)
        self.bundle = os.path.join(self.dir, "bundle")
        self.sock = os.path.join(self.dir, "sock")
        self.log = os.path.join(self.dir, "ctr.log")
        self.exit_file = os.path.join(env.exits, self.id)
        os.makedirs(self.bundle)
        spec = json.loads(json.dumps(env.template))
        spec["process"]["terminal"] = terminal
        spec["process"]["args"] = args or ["/bin/sh", "-c", script]
        spec["root"] = {"path": env.rootfs, "readonly": True}
        spec["hostname"] = "cmt"
        spec["linux"]["cgroupsPath"] = "/" + self.id
        if memory is not None:
            spec["linux"].setdefault("resources", {})["memory"] = {
                "limit": memory}
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(spec, f)

    def start_args(self, terminal=False, stdin=False, max_line=None,
                   timeout_ms=None, cgroup=None, start=False):
        a = [TOOL, "start"]
        if start:
            a.append("--start")
        if terminal:
            a.append("--terminal")
        if stdin:
            a.append("--stdin")
        if max_line:
            a += ["--log-max-line", str(max_line)]
        if timeout_ms:
            a += ["--timeout-ms", str(timeout_ms)]
        if cgroup:
            a += ["--cgroup", cgroup]
        return a + [CONMON, RUNC, self.env.runc_root, self.id, self.bundle,
                    self.log, self.env.exits, self.sock]

    def create(self, **kw):
        """conmon_start through the tool; the reply as a dict."""
        r = subprocess.run(self.start_args(**kw), capture_output=True,
                           text=True, timeout=90)
        assert r.stdout, f"conmon-client printed nothing: {r.stderr}"
        return json.loads(r.stdout)

    def run(self, **kw):
        """Create (must succeed), then `runc start`; the container pid."""
        reply = self.create(**kw)
        assert "pid" in reply, reply
        self.pid = reply["pid"]
        self.runc("start", self.id)
        return self.pid

    def runc(self, *args, check=True):
        return subprocess.run([RUNC, "--root", self.env.runc_root] + list(args),
                              capture_output=True, text=True, check=check,
                              timeout=30)

    def state(self):
        r = self.runc("state", self.id, check=False)
        return json.loads(r.stdout)["status"] if r.returncode == 0 else None

    def tool(self, *args):
        r = subprocess.run([TOOL] + list(args), capture_output=True,
                           text=True, timeout=30)
        return json.loads(r.stdout)

    def wait_exit(self, timeout=30):
        wait_for(lambda: os.path.exists(self.exit_file), timeout,
                 what=f"exit file of {self.id}")
        with open(self.exit_file) as f:
            return json.load(f)

    def monitor_pid(self):
        try:
            with open(os.path.join(self.sock, "conmon.pid")) as f:
                return int(f.read())
        except FileNotFoundError:
            return None

    def monitor_gone(self, timeout=10):
        """Wait until the monitor process has exited."""
        pid = self.monitor_pid()

        def gone():
            return pid is None or not os.path.exists(f"/proc/{pid}") or \
                open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        wait_for(gone, timeout, what="the monitor's exit")
        return True

    def records(self):
        return parse_log(self.log)

    def attach(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(os.path.join(self.sock, "attach"))
        s.settimeout(20)
        return s

    def diag(self):
        try:
            with open(os.path.join(self.sock, "conmon.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cleanup(self):
        pid = self.monitor_pid()
        self.runc("delete", "--force", self.id, check=False)
        if pid and os.path.exists(f"/proc/{pid}/comm"):
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "berth-conmon":
                    # Its container is gone: it exits on its own.
                    try:
                        wait_for(lambda: not os.path.exists(f"/proc/{pid}"),
                                 10, what="monitor exit")
                    except AssertionError:
                        os.kill(pid, signal.SIGKILL)
        for d in cgroup_dirs(self.id):
            os.rmdir(d)
        if SAN:
            text = self.diag()
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                assert marker not in text, text


class Env:
    def __init__(self, base, rootfs, template):
        self.base = base
        self.rootfs = rootfs
        self.template = template
        self.runc_root = os.path.join(base, "runc")
        self.exits = os.path.join(base, "exits")
        os.makedirs(self.runc_root)
        os.makedirs(self.exits)
        self.containers = []
        self._n = 0

    def next_n(self):
        self._n += 1
        return self._n

    def container(self, name, **kw):
        c = Container(self, name, **kw)
        self.containers.append(c)
        return c

    def cleanup(self):
        for c in self.containers:
            c.cleanup()
        left = [d for c in self.containers for d in cgroup_dirs(c.id)]
        assert not left, left


def recv_until(sock, want, timeout=20):
    """Frames from an attach socket until the joined payloads of each
    stream contain want[stream] (a dict of type -> bytes)."""
    got = {FRAME_STDOUT: b"", FRAME_STDERR: b""}
    end = time.monotonic() + timeout
    while any(w not in got[t] for t, w in want.items()):
        sock.settimeout(max(0.01, end - time.monotonic()))
        frame = sock.recv(65536)
        assert frame, f"attach closed early; got {got}"
        got[frame[0]] += frame[1:]
    return got


def recv_all(sock, timeout=20):
    """Every frame until the monitor closes the connection."""
    got = {FRAME_STDOUT: b"", FRAME_STDERR: b""}
    sock.settimeout(timeout)
    while True:
        frame = sock.recv(65536)
        if not frame:
            return got
        got[frame[0]] += frame[1:]
