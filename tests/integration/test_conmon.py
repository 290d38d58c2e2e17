"""berth-conmon driven directly and through conmon/client.c (the
conmon-client tool), with runc and a busybox rootfs: the CRI log to the
byte, exit codes, signals and OOM kills in the exit file, the monitor's
independence from its parent, log reopening, attach with several clients
and stdin, a tty with resize, a monitor killed -9, create failures."""
import datetime
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import SAN, wait_for
from conmon_env import (CONMON, FRAME_CLOSE_STDIN, FRAME_STDERR, FRAME_STDIN,
                        FRAME_STDOUT, RUNC, TOOL, Env, build_rootfs,
                        cgroup_dirs, parse_log, recv_all, recv_until,
                        spec_template, stream_text)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(RUNC) or not os.path.exists(TOOL),
    reason="needs root, runc and the conmon-client tool (make test)")


@pytest.fixture(scope="module")
def shared():
    base = tempfile.mkdtemp(prefix="berth-conmon-it-")
    rootfs = os.path.join(base, "rootfs")
    build_rootfs(rootfs)
    yield rootfs, spec_template(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def env(shared, tmpbase):
    e = Env(tmpbase, *shared)
    yield e
    e.cleanup()


def now_ns():
    return time.time_ns()


def ts_ns(ts):
    """A log timestamp (nine fraction digits, Z) in ns since the epoch."""
    d = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 10**9 + int(ts[20:29])


LOG_SCRIPT = r"""
echo first
printf 'par'; printf 'tial\n'
echo err1 >&2
head -c 40000 /dev/zero | tr '\0' x; echo
printf 'dos\r\nempty next\n\n'
printf 'no newline at the end' >&2
printf 'last words'
"""


def test_log_format_partial_and_long_lines(env):
    c = env.container("log", script=LOG_SCRIPT)
    t0 = now_ns()
    c.run()
    assert c.wait_exit()["exit_code"] == 0
    c.monitor_gone()
    recs = c.records()
    out = [(s, tag, text) for _, s, tag, text in recs if s == "stdout"]
    err = [(s, tag, text) for _, s, tag, text in recs if s == "stderr"]
    x = "x" * 16384
    assert out == [
        ("stdout", "F", "first"),
        ("stdout", "F", "partial"),
        ("stdout", "P", x),
        ("stdout", "P", x),
        ("stdout", "F", "x" * (40000 - 2 * 16384)),
        ("stdout", "F", "dos\r"),
        ("stdout", "F", "empty next"),
        ("stdout", "F", ""),
        ("stdout", "P", "last words"),
    ]
    assert err == [("stderr", "F", "err1"),
                   ("stderr", "P", "no newline at the end")]
    stamps = [ts_ns(r[0]) for r in recs]
    assert all(t0 - 10**9 < t < now_ns() for t in stamps)
    out_stamps = [ts_ns(r[0]) for r in recs if r[1] == "stdout"]
    assert out_stamps == sorted(out_stamps)


def test_log_max_line_option_and_idle_partial(env):
    c = env.container("maxline", script="echo 0123456789abcdef; printf abc; "
                      "sleep 2; echo def")
    c.run(max_line=10)
    c.wait_exit()
    c.monitor_gone()
    got = [(s, tag, text) for _, s, tag, text in c.records()]
    # The partial "abc" waited a second for its newline, then went out.
    assert got == [("stdout", "P", "0123456789"), ("stdout", "F", "abcdef"),
                   ("stdout", "P", "abc"), ("stdout", "F", "def")]


def test_exit_file_and_cleanup(env):
    c = env.container("exit3", script="sleep 0.2; exit 3")
    t0 = now_ns()
    c.run()
    assert os.path.exists(os.path.join(c.sock, "attach"))
    assert os.path.exists(os.path.join(c.sock, "ctl"))
    assert c.tool("monitor", c.sock)["pid"] == c.monitor_pid()
    e = c.wait_exit()
    assert e["exit_code"] == 3 and e["signal"] == 0
    assert e["oom_killed"] is False
    assert t0 < e["finished_at"] <= now_ns()
    assert c.tool("exit", env.exits, c.id) == e
    c.monitor_gone()
    left = sorted(os.listdir(c.sock))
    assert "conmon.pid" not in left and "attach" not in left and "ctl" not in left
    assert [f for f in os.listdir(env.exits) if f.startswith(".")] == []
    assert c.state() == "stopped"
    assert c.tool("monitor", c.sock)["error"]["code"] == 5


def test_exit_by_signal(env):
    c = env.container("sig", script="exec sleep 100")
    c.run()
    c.runc("kill", c.id, "KILL")
    e = c.wait_exit()
    assert (e["exit_code"], e["signal"], e["oom_killed"]) == (137, 9, False)
    assert c.tool("exit", env.exits, c.id)["signal"] == 9


def test_oom_kill(env):
    c = env.container("oom", memory=10 * 1024 * 1024,
                      script="head -c 100m /dev/zero | tail")
    c.run()
    e = c.wait_exit(60)
    # tail was killed and the shell (init) exited with its status, or the
    # OOM killer took the shell too while tail's memory was being freed.
    assert (e["exit_code"], e["oom_killed"]) == (137, True), e
    assert e["signal"] in (0, 9)
    # The same container without the limit is not OOM killed.
    d = env.container("nooom", script="head -c 1m /dev/zero | tail >/dev/null")
    d.run()
    assert d.wait_exit()["oom_killed"] is False


def test_oom_kill_of_init_with_cgroup_arg(env):
    c = env.container("oominit", memory=10 * 1024 * 1024,
                      script="exec tail /dev/zero")
    # The cgroup dir passed explicitly (runc creates it during create, so
    # it is named before it exists).
    c.run(cgroup=f"/sys/fs/cgroup/memory/{c.id}")
    e = c.wait_exit(60)
    assert (e["exit_code"], e["signal"], e["oom_killed"]) == (137, 9, True)


def test_start_mode_creates_and_starts_in_one_call(env):
    """--start (what berthd's StartContainer uses): `run --detach`, no
    `runc start`. The reported pid runs at once, its output is logged, the
    control socket's "pid" names it, and an OOM kill that may come before
    the monitor reads the cgroup's count still counts."""
    c = env.container("startmode", script="echo hello; exec sleep 100")
    pid = c.create(start=True)["pid"]
    assert c.state() == "running"
    assert c.tool("pid", c.sock) == {"pid": pid}
    wait_for(lambda: stream_text(c.records(), "stdout") == "hello\n", 10,
             what="the output logged")
    c.runc("kill", c.id, "KILL")
    assert c.wait_exit()["exit_code"] == 137
    o = env.container("startoom", memory=10 * 1024 * 1024, script="exec tail /dev/zero")
    assert "pid" in o.create(start=True)
    e = o.wait_exit(60)
    assert (e["exit_code"], e["oom_killed"]) == (137, True), e


def test_monitor_outlives_its_parent(env):
    c = env.container("orphan", script="sleep 1; echo done")
    tool = subprocess.Popen(c.start_args(), stdout=subprocess.PIPE, text=True)
    reply = json.loads(tool.stdout.read())
    assert tool.wait() == 0
    c.runc("start", c.id)
    mon = c.monitor_pid()
    with open(f"/proc/{mon}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ppid, sid = int(fields[1]), int(fields[3])
    assert ppid != tool.pid and ppid != os.getpid()
    assert sid not in (tool.pid, os.getsid(0))
    # A subreaper: the container init is its child.
    with open(f"/proc/{reply['pid']}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == mon
    assert c.wait_exit()["exit_code"] == 0
    assert stream_text(c.records(), "stdout") == "done\n"


def test_reopen_loses_nothing(env):
    c = env.container("reopen", script="i=0; while [ $i -lt 400 ]; do "
                      "echo line-$i; i=$((i+1)); usleep 5000; done")
    c.run()
    wait_for(lambda: len(c.records()) >= 100, 20, what="100 lines")
    os.rename(c.log, c.log + ".1")
    assert c.tool("reopen", c.sock) == {"ok": True}
    c.wait_exit()
    c.monitor_gone()
    old, new = parse_log(c.log + ".1"), parse_log(c.log)
    assert len(new) > 10, "reopen too late to test anything"
    lines = [r[3] for r in old + new]
    assert lines == [f"line-{i}" for i in range(400)]
    assert all(r[2] == "F" for r in old + new)


def test_reopen_failure_and_no_terminal(env):
    c = env.container("reopenfail", script="exec sleep 100")
    c.run()
    os.rename(os.path.dirname(c.log), os.path.dirname(c.log) + "-moved")
    c.log = os.path.join(os.path.dirname(c.log) + "-moved", "ctr.log")
    c.sock = os.path.join(os.path.dirname(c.log), "sock")
    r = c.tool("reopen", c.sock)
    assert r["error"]["code"] == 9 and "No such file" in r["error"]["message"]
    r = c.tool("resize", c.sock, "10", "20")
    assert r["error"] == {"code": 9, "message": "the container has no terminal"}
    c.runc("kill", c.id, "KILL")
    c.wait_exit()


def test_attach_two_clients_and_stdin(env):
    c = env.container("attach", script='read x; echo "got:$x"; '
                      'echo "err:$x" >&2; exec cat')
    c.create(stdin=True)
    a, b = c.attach(), c.attach()
    c.runc("start", c.id)
    a.send(bytes([FRAME_STDIN]) + b"hello\n")
    want = {FRAME_STDOUT: b"got:hello\n", FRAME_STDERR: b"err:hello\n"}
    for s in (a, b):
        recv_until(s, want)
    b.send(bytes([FRAME_STDIN]) + b"more\n")
    for s in (a, b):
        recv_until(s, {FRAME_STDOUT: b"more\n"})
    a.send(bytes([FRAME_CLOSE_STDIN]))
    assert c.wait_exit()["exit_code"] == 0
    for s in (a, b):
        assert recv_all(s) == {FRAME_STDOUT: b"", FRAME_STDERR: b""}
    assert stream_text(c.records(), "stdout") == "got:hello\nmore\n"
    assert stream_text(c.records(), "stderr") == "err:hello\n"


def test_attach_through_client_library(env):
    c = env.container("attachlib", script="read x; echo \"[$x]\"; "
                      "echo oops >&2; exec cat")
    c.create(stdin=True)
    c.runc("start", c.id)
    r = subprocess.run([TOOL, "attach", c.sock], input="one\ntwo\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[one]\ntwo\n"
    assert r.stderr == "oops\n"
    assert c.wait_exit()["exit_code"] == 0


def test_stdin_backpressure(env):
    """More stdin than the pipe holds, sent before the container reads:
    the monitor queues and pauses its clients, and nothing is lost."""
    c = env.container("stdinbig", script="sleep 1; wc -c")
    c.create(stdin=True)
    a = c.attach()
    c.runc("start", c.id)
    chunk = b"z" * 32768
    a.setblocking(True)
    for _ in range(64):
        a.send(bytes([FRAME_STDIN]) + chunk)
    a.send(bytes([FRAME_CLOSE_STDIN]))
    got = recv_all(a, 60)
    assert got[FRAME_STDOUT].strip() == str(64 * 32768).encode()
    assert c.wait_exit()["exit_code"] == 0


def test_slow_attach_client_does_not_stall(env):
    c = env.container("slow", script="seq 1 300000")
    c.create()
    stuck = c.attach()  # never reads
    c.runc("start", c.id)
    assert c.wait_exit(60)["exit_code"] == 0
    c.monitor_gone()
    assert stream_text(c.records(), "stdout") == "".join(
        f"{i}\n" for i in range(1, 300001))
    assert "too slow" in c.diag()
    stuck.close()


def test_exit_drains_all_output(env):
    c = env.container("drain", script="seq 1 100000; echo tail >&2")
    c.create()
    a = c.attach()
    c.runc("start", c.id)
    got = recv_all(a, 60)
    want = "".join(f"{i}\n" for i in range(1, 100001))
    assert got[FRAME_STDOUT].decode() == want
    assert got[FRAME_STDERR] == b"tail\n"
    c.wait_exit()
    assert stream_text(c.records(), "stdout") == want


def test_tty_resize_and_stdin(env):
    c = env.container("tty", terminal=True,
                      script='read x; stty size; echo "typed:$x"')
    c.create(terminal=True, stdin=True)
    a = c.attach()
    c.runc("start", c.id)
    assert c.tool("resize", c.sock, "33", "101") == {"ok": True}
    a.send(bytes([FRAME_STDIN]) + b"go\n")
    recv_until(a, {FRAME_STDOUT: b"typed:go"})
    assert c.wait_exit()["exit_code"] == 0
    c.monitor_gone()
    recs = c.records()
    assert {r[1] for r in recs} == {"stdout"}
    # The tty echoes the input; its CRLF endings are not content.
    assert [r[3] for r in recs if r[2] == "F"] == ["go", "33 101", "typed:go"]


def test_tty_close_stdin_sends_eof(env):
    c = env.container("ttyeof", terminal=True, script="cat; echo after-eof")
    c.create(terminal=True, stdin=True)
    a = c.attach()
    c.runc("start", c.id)
    a.send(bytes([FRAME_STDIN]) + b"abc\n")
    recv_until(a, {FRAME_STDOUT: b"abc\r\nabc\r\n"})
    a.send(bytes([FRAME_CLOSE_STDIN]))
    assert c.wait_exit()["exit_code"] == 0
    assert [r[3] for r in c.records()] == ["abc", "abc", "after-eof"]


def test_monitor_killed_leaves_container_running(env):
    c = env.container("kill9", script="exec sleep 1000")
    c.run()
    mon = c.monitor_pid()
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{mon}"), 10, what="monitor gone")
    time.sleep(0.3)
    assert c.state() == "running"
    assert os.path.exists(f"/proc/{c.pid}")
    assert not os.path.exists(c.exit_file)
    assert c.tool("monitor", c.sock)["error"]["code"] == 5
    assert c.tool("exit", env.exits, c.id)["error"]["code"] == 5


def test_create_failure_reports_runtime_message(env):
    c = env.container("fail", args=["/nonexistent-binary"])
    r = c.create()
    assert "error" in r, r
    assert r["error"]["code"] == 13
    assert "/nonexistent-binary" in r["error"]["message"]
    assert "no such file" in r["error"]["message"].lower()
    c.monitor_gone()
    assert not os.path.exists(c.exit_file)
    assert not os.path.exists(os.path.join(c.sock, "conmon.pid"))
    assert c.state() is None


def test_create_failure_bad_bundle(env):
    c = env.container("badbundle", script="true")
    os.remove(os.path.join(c.bundle, "config.json"))
    r = c.create()
    assert "config.json" in r["error"]["message"], r
    assert not os.path.exists(c.exit_file)


def spawn_direct(args, sync_fd_arg=None):
    """berth-conmon spawned by hand with a pipe as its sync fd; returns
    (exit status of the spawned process, the report bytes)."""
    r, w = os.pipe()
    fd = str(w) if sync_fd_arg is None else sync_fd_arg
    p = subprocess.Popen([CONMON, "--sync-fd", fd] + args, pass_fds=[w],
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(w)
    rc = p.wait(30)
    p.stderr.close()
    report = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        report += chunk
    os.close(r)
    return rc, report


def test_direct_spawn_protocol(env):
    c = env.container("direct", script="read x; echo $x")
    args = ["--id", c.id, "--bundle", c.bundle, "--runtime", RUNC,
            "--runtime-root", env.runc_root, "--log-path", c.log,
            "--exit-dir", env.exits, "--socket-dir", c.sock, "--stdin"]
    rc, report = spawn_direct(args)
    assert rc == 0
    assert report.endswith(b"\n") and report.count(b"\n") == 1
    pid = json.loads(report)["pid"]
    c.runc("start", c.id)
    # The container has its stdio and nothing else of the monitor's.
    wait_for(lambda: os.readlink(f"/proc/{pid}/exe").endswith("busybox"), 10,
             what="container exec")
    assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]
    s = c.attach()
    s.send(bytes([FRAME_STDIN]) + b"hi\n")
    assert c.wait_exit()["exit_code"] == 0
    assert stream_text(c.records(), "stdout") == "hi\n"


def test_direct_spawn_bad_arguments():
    rc, report = spawn_direct(["--id", "x", "--bundle", "relative"])
    assert rc == 2
    assert json.loads(report) == {"error": "not an absolute path: relative"}
    rc, report = spawn_direct(["--id", "x"], sync_fd_arg="77")
    assert rc == 2 and report == b""


@pytest.mark.skipif(SAN, reason="RSS of a sanitized build means nothing")
def test_monitor_rss_under_one_mib(env):
    c = env.container("rss", script="exec sleep 100")
    c.run(stdin=True)
    a = c.attach()
    with open(f"/proc/{c.monitor_pid()}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    rss_kib = int(status["VmRSS"].split()[0])
    print(f"berth-conmon VmRSS {rss_kib} KiB")
    assert rss_kib < 1024, status["VmRSS"]
    a.close()
    c.runc("kill", c.id, "KILL")
    c.wait_exit()


def test_cleanup_leaves_no_cgroups(env):
    c = env.container("cg", script="true")
    c.run()
    c.wait_exit()
    assert cgroup_dirs(c.id)
    c.runc("delete", c.id)
    assert cgroup_dirs(c.id) == []


def fake_runtime(env, body):
    """A shell script standing in for the OCI runtime."""
    path = os.path.join(env.base, f"fake-runtime-{env.next_n()}")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def create_with(c, runtime, *extra):
    args = c.start_args()
    args[2:2] = list(extra)
    args[args.index(RUNC)] = runtime
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return json.loads(r.stdout)


def test_runtime_command_line(env):
    c = env.container("argv", script="true")
    record = os.path.join(env.base, "argv")
    rt = fake_runtime(env, f'printf "%s\\n" "$@" > {record}; exit 1\n')
    args = c.start_args(terminal=True)
    args[args.index(RUNC)] = rt
    args[2:2] = ["--runtime-arg", "--debug"]
    r = json.loads(subprocess.run(args, capture_output=True, text=True,
                                  timeout=60).stdout)
    assert r["error"]["message"] == "runtime exited with status 1"
    with open(record) as f:
        argv = f.read().split("\n")[:-1]
    assert argv == ["--debug", "--root", env.runc_root,
                    "--log", os.path.join(c.sock, "runtime.log"),
                    "--log-format", "json", "create", "--bundle", c.bundle,
                    "--pid-file", os.path.join(c.sock, "container.pid"),
                    "--console-socket", os.path.join(c.sock, "console.sock"),
                    c.id]
    c.monitor_gone()
    assert not os.path.exists(c.exit_file)


def test_runtime_failures_without_runc(env):
    c = env.container("stderr", script="true")
    rt = fake_runtime(env, "echo first >&2; echo 'the real reason' >&2; exit 3\n")
    assert create_with(c, rt)["error"] == {"code": 13,
                                           "message": "the real reason"}
    c = env.container("nopid", script="true")
    rt = fake_runtime(env, "exit 0\n")
    msg = create_with(c, rt)["error"]["message"]
    assert msg.startswith("read ") and "container.pid" in msg, msg
    c = env.container("hang", script="true")
    rt = fake_runtime(env, "exec sleep 60\n")
    t0 = time.monotonic()
    r = create_with(c, rt, "--timeout-ms", "1000")
    assert r["error"] == {"code": 4, "message": f"{rt} create: timed out after 1 s"}  # DEADLINE_EXCEEDED
    assert time.monotonic() - t0 < 10
    c.monitor_gone()
