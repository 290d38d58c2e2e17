"""Exec sessions under berth-conmon --exec, in a container a real berthd
runs, with crun and with runc: driven through conmon/client-exec.c by the
conmon-exec-client tool, against the container's runtime root and id.
stdin and EOF, stdout/stderr kept apart, a tty resized before `stty size`,
exit codes 0/1/137, 64 MiB byte for byte, a slow client that does not make
the monitor grow, a killed client that leaves nothing behind, and the
errors for a container that is not running."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN_DIR, SAN, Berthd, api_pb2, wait_for
from test_container_lifecycle import create, ctr_config
from test_pod_lifecycle import pod_config

# Sanitized monitors are larger, and slower to exit (leak checks).
GONE_S = 60 if SAN else 10

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402

CONMON = os.path.join(BIN_DIR, "berth-conmon")
TOOL = os.path.join(os.environ.get("BERTH_TOOLS_DIR", ""), "conmon-exec-client")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(TOOL),
    reason="needs root and the conmon-exec-client tool (make tool-bins)")

FAILED_PRECONDITION = 9
BIG = 64 * 1024 * 1024
# 64 MiB of a known pattern, made inside the container.
BIG_CMD = f"yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c {BIG}"


def big_digest():
    line = b"abcdefghijklmnopqrstuvwxyz0123456789\n"
    data = line * (BIG // len(line) + 1)
    return hashlib.sha256(data[:BIG]).hexdigest()


@pytest.fixture(scope="module")
def image_ref(tmp_path_factory):
    built = images.build_all(tmp_path_factory.mktemp("images"))
    r = registry.Registry()
    r.start()
    try:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        yield f"{r.host}/berth/busybox:latest"
    finally:
        r.stop()


class Target:
    """A running container of one runtime handler, as the exec tool
    needs it: runtime path and root, container id, socket dir."""

    def __init__(self, b, handler, cid, rt):
        self.b = b
        self.handler = handler
        self.id = cid
        self.runtime = rt["path"]
        self.root = rt["root"]
        self.sock = os.path.join(b.runroot, "containers", cid)

    def args(self, *opts, cmd=None, report=None):
        a = [TOOL] + list(opts)
        if report:
            a += ["--report", report]
        a += [CONMON, self.runtime, self.root, self.id, self.sock]
        if cmd is not None:
            a += ["--"] + list(cmd)
        return a

    def run(self, *opts, cmd, stdin=b"", timeout=60):
        return subprocess.run(self.args(*opts, cmd=cmd), input=stdin,
                              capture_output=True, timeout=timeout)


@pytest.fixture(scope="module", params=["runc", "crun"])
def target(request, image_ref):
    base = tempfile.mkdtemp(prefix="berth-exec-it-")
    b = Berthd(os.path.join(base, "b"),
               extra_args=["--insecure-registry", image_ref.split("/")[0]])
    try:
        b.start()
        st = b.runtime.Status(api_pb2.StatusRequest(verbose=True))
        rts = {r["name"]: r for r in json.loads(st.info["runtimes"])}
        rt = rts.get(request.param)
        if rt is None or not rt["works"]:
            pytest.skip(f"{request.param} does not work here: "
                        f"{rt and rt.get('problem')}")
        b.image.PullImage(api_pb2.PullImageRequest(
            image=api_pb2.ImageSpec(image=image_ref)))
        pcfg = pod_config(name=f"exec-{request.param}")
        pcfg.log_directory = os.path.join(base, "logs")
        pod_id = b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
            config=pcfg, runtime_handler=request.param)).pod_sandbox_id
        cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "3600")))
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
        yield Target(b, request.param, cid, rt)
    finally:
        if b.proc is not None and b.proc.poll() is None:
            b.remove_all_pods()
            assert b.stop() == 0, b.logs()
        b.check_sanitizers()
        b.cleanup_host()
        shutil.rmtree(base, ignore_errors=True)


def exec_monitors(cid, spawner=None):
    """Live berth-conmon --exec processes for a container; with spawner,
    not the double fork's middle process (the spawner's child), which
    under a sanitizer can be alone for a while before it forks."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{p}/stat") as f:
                state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if spawner is not None and int(ppid) == spawner:
            continue
        if b"--exec" in argv and cid.encode() in argv and state != "Z":
            found.append(int(p))
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_report(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_stdin_echo_and_exit_codes(target):
    r = target.run("--stdin", cmd=["cat"], stdin=b"hello\nworld")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello\nworld", b"")
    r = target.run(cmd=["sh", "-c", "exit 1"])
    assert r.returncode == 1, r.stdout
    # No --stdin: the process reads /dev/null.
    r = target.run(cmd=["sh", "-c", "cat; echo done"])
    assert (r.returncode, r.stdout) == (0, b"done\n")


def test_stdout_and_stderr_apart(target, tmp_path):
    report = str(tmp_path / "report")
    r = subprocess.run(target.args(cmd=["sh", "-c", "echo out; echo err >&2; echo out2"],
                                   report=report), capture_output=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout == b"out\nout2\n" and r.stderr == b"err\n"
    started, ended = read_report(report)
    assert started["pid"] > 0
    assert ended == {"exit_code": 0, "signal": 0}


def test_killed_process_is_137(target, tmp_path):
    report = str(tmp_path / "report")
    r = subprocess.run(target.args(cmd=["sh", "-c", "kill -9 $$"], report=report),
                       capture_output=True, timeout=60)
    assert r.returncode == 137
    assert read_report(report)[-1] == {"exit_code": 137, "signal": 9}


def test_tty_resize_then_stty_size(target):
    # The resize frame goes before the stdin line that lets stty run.
    r = target.run("--terminal", "--stdin", "--resize", "33,77",
                   cmd=["sh", "-c", "read x; busybox stty size; tty"], stdin=b"go\n")
    assert r.returncode == 0, r
    lines = r.stdout.split(b"\r\n")
    assert lines[0] == b"go" and lines[1] == b"33 77", r.stdout
    assert lines[2].startswith(b"/dev/pts/"), r.stdout
    assert r.stderr == b""


def test_tty_eof_after_a_partial_line(target):
    r = target.run("--terminal", "--stdin", cmd=["sh", "-c", "cat; echo end"],
                   stdin=b"abc")
    assert r.returncode == 0
    assert r.stdout.endswith(b"end\r\n") and b"abc" in r.stdout, r.stdout


def test_64_mib_byte_for_byte(target):
    t0 = time.monotonic()
    p = subprocess.Popen(target.args(cmd=["sh", "-c", BIG_CMD]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    assert p.wait(timeout=120) == 0, p.stderr.read()
    assert n == BIG
    assert h.hexdigest() == big_digest()
    print(f"\n{target.handler}: 64 MiB through an exec session in "
          f"{time.monotonic() - t0:.2f} s")


def monitor_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["RssAnon"].split()[0])


def test_slow_client_back_pressure_and_rss(target):
    # 4 MiB read at 32 KiB per 20 ms: the process must wait for us, and
    # the monitor must hold no more than one frame meanwhile.
    size = 4 * 1024 * 1024
    p = subprocess.Popen(target.args("--slow-ms", "20",
                                     cmd=["sh", "-c", f"head -c {size} /dev/zero"]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mons = wait_for(lambda: len(exec_monitors(target.id, p.pid)) == 1 and
                    exec_monitors(target.id, p.pid), GONE_S, what="one exec monitor")
    time.sleep(1.5)
    rss, anon = monitor_rss_kib(mons[0])
    data = p.stdout.read()
    assert p.wait(timeout=120) == 0
    assert data == b"\0" * size
    print(f"\n{target.handler}: exec monitor VmRSS {rss} KiB, RssAnon {anon} KiB "
          "under a slow client")
    if not SAN:
        assert rss < 1024 and anon < 256


def test_killed_client_leaves_nothing(target, tmp_path):
    report = str(tmp_path / "report")
    p = subprocess.Popen(target.args(cmd=["yes"], report=report),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.read(1 << 20)  # it streams
    pid = read_report(report)[0]["pid"]
    mons = wait_for(lambda: len(exec_monitors(target.id, p.pid)) == 1 and
                    exec_monitors(target.id, p.pid), GONE_S, what="one exec monitor")
    assert len(mons) == 1 and alive(pid)
    p.kill()
    p.wait()
    wait_for(lambda: not alive(pid) and not exec_monitors(target.id), GONE_S,
             what="exec process and monitor gone")
    assert not any(n.startswith("exec-") for n in os.listdir(target.sock))


def test_killed_client_with_tty_leaves_nothing(target, tmp_path):
    report = str(tmp_path / "report")
    p = subprocess.Popen(target.args("--terminal", "--stdin",
                                     cmd=["sh", "-c", "sleep 1000 | cat"], report=report),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(report) and read_report(report), 20, what="start")
    pid = read_report(report)[0]["pid"]
    p.kill()
    p.wait()
    # The whole foreground job goes: sh, sleep and cat.
    wait_for(lambda: not alive(pid) and not exec_monitors(target.id), GONE_S,
             what="exec process and monitor gone")
    ps = subprocess.run(target_ps(target), capture_output=True, text=True)
    assert "sleep 1000" not in ps.stdout, ps.stdout


def target_ps(target):
    return [target.runtime, "--root", target.root, "exec", target.id, "ps", "-o", "args"]


def test_missing_command_is_the_runtimes_message(target):
    r = target.run(cmd=["no-such-command"])
    assert r.returncode == 125
    err = json.loads(r.stdout)["error"]
    assert "no-such-command" in err["message"], err
    wait_for(lambda: not exec_monitors(target.id), GONE_S, what="no exec monitor")


def test_unknown_container_is_failed_precondition(target):
    r = subprocess.run([TOOL, CONMON, target.runtime, target.root, "no-such-ctr",
                        target.sock, "--", "true"], capture_output=True, timeout=60)
    err = json.loads(r.stdout)["error"]
    assert err["code"] == FAILED_PRECONDITION, err


def test_stopped_container_is_failed_precondition(target):
    """Last in the module: the container is stopped for good."""
    target.b.runtime.StopContainer(api_pb2.StopContainerRequest(
        container_id=target.id, timeout=1))
    r = target.run(cmd=["true"])
    assert r.returncode == 125
    err = json.loads(r.stdout)["error"]
    assert err["code"] == FAILED_PRECONDITION, err


# --- container mode: RESIZE on the attach socket (no berthd needed) -------

@pytest.fixture(scope="module")
def shared_rootfs():
    from conmon_env import build_rootfs, spec_template
    base = tempfile.mkdtemp(prefix="berth-conmon-exec-it-")
    rootfs = os.path.join(base, "rootfs")
    build_rootfs(rootfs)
    yield rootfs, spec_template(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def env(shared_rootfs, tmpbase):
    from conmon_env import Env
    e = Env(tmpbase, *shared_rootfs)
    yield e
    e.cleanup()


def test_container_attach_resize_frame(env):
    from conmon_env import FRAME_STDIN, FRAME_STDOUT, recv_until
    import struct
    c = env.container("ttyresize", terminal=True,
                      script='read x; stty size; echo "typed:$x"')
    c.create(terminal=True, stdin=True)
    a = c.attach()
    c.runc("start", c.id)
    a.send(bytes([4]) + struct.pack(">HH", 44, 132))  # RESIZE
    a.send(bytes([FRAME_STDIN]) + b"go\n")
    got = recv_until(a, {FRAME_STDOUT: b"typed:go"})
    assert b"44 132" in got[FRAME_STDOUT]
    assert c.wait_exit()["exit_code"] == 0


def test_container_attach_resize_without_tty_is_ignored(env):
    from conmon_env import FRAME_STDIN, FRAME_STDOUT, recv_until
    c = env.container("notty", script="read x; echo typed:$x")
    c.create(stdin=True)
    a = c.attach()
    c.runc("start", c.id)
    a.send(bytes([4]) + b"\0\x10\0\x20")
    a.send(bytes([FRAME_STDIN]) + b"go\n")
    recv_until(a, {FRAME_STDOUT: b"typed:go"})
    assert c.wait_exit()["exit_code"] == 0
