"""Exec, Attach and PortForward through berth's streaming server: the RPCs'
checks, the URL's token rules, the WebSocket channel protocols spoken from
here, SPDY through crictl when it is built, back-pressure and clean-up."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import grpc
import pytest

from conftest import api_pb2, wait_for
from conmon_env import TOOLS_DIR
from test_container_lifecycle import create, cstatus, ctr_config, image_ref  # noqa: F401
from test_pod_lifecycle import pod_config, run_pod
from wsclient import HandshakeError, WebSocket, http_get

# BERTH_CRICTL: a crictl elsewhere (the test VM's, copied in from the host).
CRICTL = os.environ.get("BERTH_CRICTL", "/opt/cri-tools/bin/crictl")
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"


@pytest.fixture
def env(make_berthd, image_ref, tmp_path):  # noqa: F811
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0],
                                "--stream-token-lifetime", "2"]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="streampod")
    cfg.log_directory = str(tmp_path / "logs")
    return b, run_pod(b, cfg), cfg


def start_ctr(b, pod_id, pcfg, image, name="c", cmd=("sleep", "3600"), **kw):
    cid = create(b, pod_id, pcfg, ctr_config(image, name=name, cmd=cmd, **kw))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    return cid


def exec_url(b, cid, cmd, tty=False, stdin=False, stdout=True, stderr=True):
    return b.runtime.Exec(api_pb2.ExecRequest(
        container_id=cid, cmd=list(cmd), tty=tty, stdin=stdin, stdout=stdout,
        stderr=stderr)).url


def ws_session(url, protocol=V5, stdin=None, close_stdin=True, resize=None, before_stdin=None):
    """Runs one remote command session over WebSocket; returns (channels, status)."""
    ws = WebSocket(url, [protocol])
    assert ws.protocol == protocol
    if resize:
        ws.send(bytes([4]) + json.dumps({"Width": resize[1], "Height": resize[0]}).encode())
    if before_stdin:
        time.sleep(before_stdin)
    if stdin is not None:
        ws.send(bytes([0]) + stdin)
        if close_stdin and protocol == V5:
            ws.send(bytes([255, 0]))
    out = {}
    while True:
        m = ws.recv()
        if m is None:
            break
        _, data = m
        if data:
            out[data[0]] = out.get(data[0], b"") + data[1:]
    ws.close()
    err = out.get(3, b"")
    status = json.loads(err) if err else None
    return out, status


def exit_code_of(status):
    if status["status"] == "Success":
        return 0
    assert status["reason"] == "NonZeroExitCode", status
    causes = status["details"]["causes"]
    return int(next(c["message"] for c in causes if c["reason"] == "ExitCode"))


# --- the RPCs -------------------------------------------------------------

def test_requests_are_checked(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    created = create(b, pod_id, pcfg, ctr_config(image_ref, name="idle", cmd=("true",)))
    bad = [
        (dict(container_id=cid, cmd=["true"], stdout=False, stderr=False, stdin=False),
         grpc.StatusCode.INVALID_ARGUMENT),
        (dict(container_id=cid, cmd=["true"], tty=True, stdout=True, stderr=True),
         grpc.StatusCode.INVALID_ARGUMENT),
        (dict(container_id=cid, cmd=[], stdout=True), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(container_id="", cmd=["true"], stdout=True), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(container_id="feedbeef", cmd=["true"], stdout=True), grpc.StatusCode.NOT_FOUND),
        (dict(container_id=created, cmd=["true"], stdout=True),
         grpc.StatusCode.FAILED_PRECONDITION),
    ]
    for req, code in bad:
        with pytest.raises(grpc.RpcError) as e:
            b.runtime.Exec(api_pb2.ExecRequest(**req))
        assert e.value.code() == code, req
        assert e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.Attach(api_pb2.AttachRequest(container_id=cid, stdin=True, stdout=True))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "stdin" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id="nope", port=[80]))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id, port=[70000]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_tokens_are_single_use_and_expire(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    url = exec_url(b, cid, ["echo", "hi"])
    assert url.startswith("http://127.0.0.1:")
    base = url.rsplit("/", 2)[0]
    assert http_get(base + "/exec/not-a-token")[0] == 404
    assert http_get(base + "/")[0] == 404
    # Without an upgrade the request is refused and the token survives.
    assert http_get(url)[0] == 400
    out, status = ws_session(url)
    assert out[1] == b"hi\n" and status["status"] == "Success"
    with pytest.raises(HandshakeError) as e:
        WebSocket(url, [V5])
    assert e.value.status == 404
    # The wrong kind of path is as unknown as a made-up token.
    url = exec_url(b, cid, ["true"])
    assert http_get(url.replace("/exec/", "/attach/"))[0] == 404
    late = exec_url(b, cid, ["true"])
    time.sleep(2.5)
    with pytest.raises(HandshakeError) as e:
        WebSocket(late, [V5])
    assert e.value.status == 404


# --- exec over WebSocket --------------------------------------------------

def test_exec_exit_codes_and_streams(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    out, st = ws_session(exec_url(b, cid, ["sh", "-c", "echo out; echo err >&2"]))
    assert out.get(1) == b"out\n" and out.get(2) == b"err\n"
    assert exit_code_of(st) == 0
    _, st = ws_session(exec_url(b, cid, ["sh", "-c", "exit 1"]))
    assert exit_code_of(st) == 1
    _, st = ws_session(exec_url(b, cid, ["sh", "-c", "kill -9 $$"]))
    assert exit_code_of(st) == 137
    _, st = ws_session(exec_url(b, cid, ["/no/such/binary"]))
    assert st["status"] == "Failure"
    # v4 has no close signal: stdin ends with the session; still works
    # for commands that do not read it.
    out, st = ws_session(exec_url(b, cid, ["echo", "v4"]), protocol=V4)
    assert out.get(1) == b"v4\n" and exit_code_of(st) == 0


def test_exec_stdin_echo(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    data = os.urandom(200000)
    out, st = ws_session(exec_url(b, cid, ["cat"], stdin=True), stdin=data)
    assert out.get(1) == data and exit_code_of(st) == 0


def test_exec_base64_protocol(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    ws = WebSocket(exec_url(b, cid, ["echo", "b64"], stderr=False), ["base64.channel.k8s.io"])
    got = b""
    while (m := ws.recv()) is not None:
        op, data = m
        assert op == 1 and data[:1] in b"0123"
        if data[:1] == b"1":
            import base64
            got += base64.b64decode(data[1:])
    assert got == b"b64\n"


def test_exec_tty_resize(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    url = exec_url(b, cid, ["sh", "-c", "read x; stty size"], tty=True, stdin=True, stderr=False)
    out, st = ws_session(url, stdin=b"go\n", resize=(33, 101), before_stdin=0.3)
    assert b"33 101" in out.get(1, b""), out
    assert exit_code_of(st) == 0


def test_exec_large_output_byte_for_byte(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=[
        "sh", "-c", "head -c 67108864 /dev/urandom > /tmp/big && sha256sum /tmp/big"], timeout=60))
    want = r.stdout.split()[0].decode()
    ws = WebSocket(exec_url(b, cid, ["cat", "/tmp/big"], stderr=False), [V5])
    h, n = hashlib.sha256(), 0
    status = None
    while (m := ws.recv()) is not None:
        data = m[1]
        if data[:1] == b"\x01":
            h.update(data[1:])
            n += len(data) - 1
        elif data[:1] == b"\x03":
            status = json.loads(data[1:])
    assert n == 64 << 20 and h.hexdigest() == want
    assert exit_code_of(status) == 0


def test_exec_output_to_a_client_that_pauses(env, image_ref):  # noqa: F811
    """The command ends and its monitor hangs up while berthd may hold as
    much as the client's connection takes: the client (a small receive
    buffer) stops reading near the end. Every byte and the exit status
    still arrive. Several places to pause, as where the hang-up falls
    varies. (A 64 MiB exec once came 64 KiB short in CI; a monitor's
    hang-up seen while berthd was not reading it ended the stream with
    frames still queued. This test did not catch that moment here.)"""
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    size = 8 << 20
    for left in (256 << 10, 384 << 10, 512 << 10, 768 << 10):
        ws = WebSocket(exec_url(b, cid, ["head", "-c", str(size), "/dev/zero"],
                                stderr=False), [V5])
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 10)
        n, status, paused = 0, None, False
        while (m := ws.recv()) is not None:
            data = m[1]
            if data[:1] == b"\x01":
                n += len(data) - 1
                if not paused and size - n <= left:
                    paused = True
                    time.sleep(0.5)  # the rest goes out; the monitor ends
            elif data[:1] == b"\x03":
                status = json.loads(data[1:])
        assert n == size and status is not None and exit_code_of(status) == 0, \
            (left, n, status)


def exec_monitors(cid):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"berth-conmon") for a in argv[:1]) and b"--exec" in argv and \
                cid.encode() in b" ".join(argv):
            found.append(int(pid))
    return found


def test_client_vanishing_leaves_nothing(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    ws = WebSocket(exec_url(b, cid, ["sh", "-c", "echo started; exec sleep 7777"]), [V5])
    assert ws.recv()[1] == b"\x01started\n"
    assert exec_monitors(cid)
    fds_before = len(os.listdir(f"/proc/{b.proc.pid}/fd"))
    threads_before = len(os.listdir(f"/proc/{b.proc.pid}/task"))
    ws.sock.close()
    wait_for(lambda: not exec_monitors(cid), what="exec monitor gone")

    def sleepers():
        r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["ps"], timeout=10))
        return b"7777" in r.stdout
    wait_for(lambda: not sleepers(), what="exec process gone")
    wait_for(lambda: len(os.listdir(f"/proc/{b.proc.pid}/fd")) < fds_before,
             what="session fds closed")
    # The session's thread ended too.
    wait_for(lambda: len(os.listdir(f"/proc/{b.proc.pid}/task")) < threads_before,
             what="session thread gone")
    # A slow reader: the session must not buffer the whole output.
    ws = WebSocket(exec_url(b, cid, ["sh", "-c", "cat /dev/zero"], stderr=False), [V5])
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rss0 = rss_kib(b.proc.pid)
    time.sleep(2)
    assert rss_kib(b.proc.pid) - rss0 < 8 * 1024
    ws.sock.close()
    wait_for(lambda: not exec_monitors(cid), what="exec monitor gone")


def test_idle_sessions_end(make_berthd, image_ref, tmp_path):  # noqa: F811
    """--stream-idle-timeout ends an exec session that carries no traffic,
    with the reason on the error channel, and its exec process with it."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0],
                                "--stream-idle-timeout", "1"]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="idlepod")
    cfg.log_directory = str(tmp_path / "logs")
    pod_id = run_pod(b, cfg)
    cid = start_ctr(b, pod_id, cfg, image_ref)
    t0 = time.monotonic()
    _, status = ws_session(exec_url(b, cid, ["sleep", "60"]))
    assert time.monotonic() - t0 < 20
    assert status["status"] == "Failure" and "idle for 1 s" in status["message"], status
    wait_for(lambda: not exec_monitors(cid), what="exec monitor gone")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- attach ---------------------------------------------------------------

def test_attach_non_tty_and_tty(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    ticker = start_ctr(b, pod_id, pcfg, image_ref, name="ticker",
                       cmd=("sh", "-c", "while true; do echo tick; sleep 0.2; done"))
    url = b.runtime.Attach(api_pb2.AttachRequest(container_id=ticker, stdout=True,
                                                 stderr=True)).url
    ws = WebSocket(url, [V5])
    got = b""
    while b"tick\ntick\n" not in got:
        got += ws.recv()[1][1:]
    ws.close()
    # Two clients at once each get the output.
    shell = start_ctr(b, pod_id, pcfg, image_ref, name="shell", cmd=("sh",), tty=True,
                      stdin=True)
    urls = [b.runtime.Attach(api_pb2.AttachRequest(container_id=shell, stdin=True,
                                                   stdout=True, tty=True)).url for _ in range(2)]
    a, c = WebSocket(urls[0], [V5]), WebSocket(urls[1], [V5])
    a.send(bytes([4]) + b'{"Width":91,"Height":17}')
    a.send(bytes([0]) + b"stty size; echo mark$((6*7))\n")
    for ws in (a, c):
        got = b""
        while b"mark42" not in got:
            got += ws.recv()[1][1:]
        assert b"17 91" in got
    a.close()
    c.close()
    assert cstatus(b, shell).status.state == api_pb2.CONTAINER_RUNNING


# --- port-forward ---------------------------------------------------------

@pytest.fixture
def web(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    start_ctr(b, pod_id, pcfg, image_ref, name="web", cmd=(
        "sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && "
        "exec httpd -f -p 8080 -h /www"))
    def up():
        r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(
            container_id=cid_of(b, "web"), cmd=["wget", "-qO-", "http://127.0.0.1:8080/"],
            timeout=5))
        return r.exit_code == 0
    wait_for(up, what="httpd up")
    return b, pod_id


def cid_of(b, name):
    for c in b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers:
        if c.metadata.name == name:
            return c.id
    raise KeyError(name)


def portforward_http_get(b, pod_id, port):
    """GET / through a WebSocket port-forward to the pod's port; checks the
    two port frames that open the stream and returns what came back."""
    url = b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id, port=[port])).url
    ws = WebSocket(url + f"?port={port}", [V4])
    first = {}
    while len(first) < 2:
        _, data = ws.recv()
        first[data[0]] = data[1:]
    assert first == {0: port.to_bytes(2, "little"), 1: port.to_bytes(2, "little")}
    ws.send(bytes([0]) + b"GET / HTTP/1.0\r\n\r\n")
    got = b""
    while (m := ws.recv()) is not None:
        if m[1][0] == 0:
            got += m[1][1:]
    return got


def test_portforward_websocket(web):
    b, pod_id = web
    got = portforward_http_get(b, pod_id, 8080)
    assert b"200 OK" in got and b"hello-from-pod" in got
    # A closed port: an error on the error channel, then the end.
    url = b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id)).url
    ws = WebSocket(url + "?port=9", [V4])
    errors = b""
    while (m := ws.recv()) is not None:
        if m[1][0] == 1:
            errors += m[1][1:]
    assert b"refused" in errors[2:].lower(), errors


# --- SPDY through crictl --------------------------------------------------

needs_crictl = pytest.mark.skipif(not os.access(CRICTL, os.X_OK),
                                  reason=f"no crictl at {CRICTL}")


def crictl(b, *args, **kw):
    return subprocess.run([CRICTL, "--runtime-endpoint", f"unix://{b.sock}",
                           "--image-endpoint", f"unix://{b.sock}", "--timeout", "20s", *args],
                          capture_output=True, timeout=kw.pop("timeout", 120), **kw)


@needs_crictl
def test_crictl_exec_spdy(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    r = crictl(b, "exec", cid, "sh", "-c", "echo out; echo err >&2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"out\n" and b"err\n" in r.stderr
    # crictl 1.26 reports the decoded exit code and exits 1 itself.
    r = crictl(b, "exec", cid, "sh", "-c", "exit 3")
    assert r.returncode != 0 and b"exit code 3" in r.stderr, r.stderr
    data = os.urandom(300000)
    r = crictl(b, "exec", "-i", cid, "cat", input=data)
    assert r.returncode == 0 and r.stdout == data
    r = crictl(b, "exec", cid, "sh", "-c", "head -c 16777216 /dev/zero")
    assert r.returncode == 0 and r.stdout == bytes(16 << 20)


@needs_crictl
def test_crictl_exec_tty_and_attach(env, image_ref):  # noqa: F811
    b, pod_id, pcfg = env
    cid = start_ctr(b, pod_id, pcfg, image_ref)
    # crictl -t wants a terminal: give it a pty of a known size; it sends
    # that size over the SPDY resize stream.
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 27, 88, 0, 0))
    p = subprocess.Popen([CRICTL, "--runtime-endpoint", f"unix://{b.sock}", "exec", "-i", "-t",
                          cid, "sh", "-c", "sleep 0.5; stty size; test -t 0 && echo is-a-tty"],
                         stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    assert p.wait(30) == 0, got
    os.close(master)
    assert b"27 88" in got and b"is-a-tty" in got, got
    ticker = start_ctr(b, pod_id, pcfg, image_ref, name="ticker",
                       cmd=("sh", "-c", "while true; do echo tick; sleep 0.2; done"))
    p = subprocess.Popen([CRICTL, "--runtime-endpoint", f"unix://{b.sock}", "attach",
                          ticker], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        got = b""
        while b"tick\ntick\n" not in got:
            got += p.stdout.read1(4096)
    finally:
        p.kill()
        p.wait()


@needs_crictl
def test_crictl_port_forward_spdy(web):
    b, pod_id = web
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([CRICTL, "--runtime-endpoint", f"unix://{b.sock}", "port-forward",
                          pod_id, f"{port}:8080"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        def fetch():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    data = b""
                    while chunk := c.recv(65536):
                        data += chunk
                    return data
            except OSError:
                return None
        assert b"hello-from-pod" in wait_for(fetch, timeout=20, what="forwarded port")
        results = []
        threads = [threading.Thread(target=lambda: results.append(fetch())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 8 and all(r and b"hello-from-pod" in r for r in results)
    finally:
        p.kill()
        p.wait()


# --- SPDY with berth's own codec, plain and tunnelled in WebSocket ---------

@pytest.mark.parametrize("tunnel", [False, True], ids=["spdy", "spdy-in-websocket"])
def test_portforward_spdy_client(web, tunnel):
    b, pod_id = web
    tool = os.path.join(TOOLS_DIR, "spdy-pf")
    flags = ["--tunnel"] if tunnel else []
    url = b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id)).url
    r = subprocess.run([tool, *flags, url, "8080"], input=b"GET / HTTP/1.0\r\n\r\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert b"200 OK" in r.stdout and b"hello-from-pod" in r.stdout
    # A closed port: the refusal on the error stream, both streams ended.
    url = b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id)).url
    r = subprocess.run([tool, *flags, url, "9"], input=b"", capture_output=True, timeout=60)
    assert r.returncode == 1 and b"refused" in r.stderr.lower(), r
    # A port outside the request's list is refused the same way.
    url = b.runtime.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id,
                                                           port=[8080])).url
    r = subprocess.run([tool, *flags, url, "8081"], input=b"", capture_output=True, timeout=60)
    assert r.returncode == 1 and b"not in the PortForward request" in r.stderr, r
