"""berthd as a systemd Type=notify service, with a notify socket of the
test's own standing in for systemd's: STATUS while it starts, READY=1 only
once it serves CRI (with what it holds), STOPPING=1 at shutdown; and what
systemd meant for berthd alone never reaches its children (a runtime that
sees NOTIFY_SOCKET talks to it and hangs, as runc and crun do)."""
import json
import os
import signal
import socket

from conftest import api_pb2, wait_for
from test_container_lifecycle import (  # noqa: F401  (fixtures)
    create, cstatus, ctr_config, image_ref, pod_config, run_pod)


def recv_all(sock):
    msgs = []
    while True:
        try:
            msgs.append(sock.recv(4096).decode())
        except BlockingIOError:
            return msgs


def environ_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return [e.decode() for e in f.read().split(b"\0") if e]


def ppid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("PPid:")).split()[1])


def test_notify_and_children_never_see_the_socket(make_berthd, image_ref, tmp_path,
                                                  monkeypatch):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    msgs = []
    wait_for(lambda: msgs.extend(recv_all(sock)) or any("READY=1" in m for m in msgs),
             what="READY=1")
    assert msgs[0].startswith("STATUS=starting")
    ready = next(m for m in msgs if "READY=1" in m)
    assert "STATUS=serving CRI on " in ready and "0 pods, 0 containers" in ready
    # The runtimes probed at start did not see the socket: they work.
    conds = {c.type: c.status for c in b.runtime.Status(
        api_pb2.StatusRequest()).status.conditions}
    assert conds["RuntimeReady"]
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    pod_id = run_pod(b, pod_config(name="notify"))
    cid = create(b, pod_id, pod_config(name="notify"),
                 ctr_config(image_ref, cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    pid = json.loads(cstatus(b, cid, verbose=True).info["info"])["pid"]
    monitor = ppid_of(pid)
    assert not any(e.startswith("NOTIFY_SOCKET=") for e in environ_of(monitor))
    assert any(e.startswith("NOTIFY_SOCKET=") for e in environ_of(b.proc.pid))
    b.remove_all_pods()
    b.proc.send_signal(signal.SIGTERM)
    b.proc.wait(30)
    msgs = recv_all(sock)
    assert any("STOPPING=1" in m for m in msgs)
    sock.close()
    os.unlink(path)
