#!/usr/bin/env python3
"""Writes the binary seed inputs of fuzz targets whose formats are awkward
to type: cri_request (protobuf), spdy (frames, zlib header blocks) and ws
(masked frames). The text seeds of the other targets are committed as they
are. Run from the repository root after `make` (it needs build/py):
    /usr/bin/python3 tests/fuzz/seeds.py
"""
import os
import re
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, "..", "..", "build", "py"))
import api_pb2 as pb  # noqa: E402


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- cri_request: the first byte picks the RPC, RuntimeService first -------
METHODS = [m.name for s in ("RuntimeService", "ImageService")
           for m in pb.DESCRIPTOR.services_by_name[s].methods]


def request(name, msg, tail=b""):
    write("cri_request", name,
          bytes([METHODS.index(name)]) + msg.SerializeToString() + tail)


def cri_seeds():
    linux = pb.LinuxPodSandboxConfig(
        cgroup_parent="/kubepods",
        sysctls={"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1",
                 "net/ipv4/conf/eth0.100/rp_filter": "0"},
        security_context=pb.LinuxSandboxSecurityContext(
            namespace_options=pb.NamespaceOption(network=pb.POD,
                                                 pid=pb.CONTAINER),
            run_as_user=pb.Int64Value(value=1000)))
    cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="web", uid="u1",
                                       namespace="default", attempt=1),
        hostname="web-0", log_directory="/var/log/pods/x",
        labels={"app": "web"}, annotations={"a": "b"},
        dns_config=pb.DNSConfig(servers=["10.0.0.10"],
                                searches=["svc.cluster.local"],
                                options=["ndots:5"]),
        port_mappings=[pb.PortMapping(protocol=pb.UDP, container_port=53,
                                      host_port=5353, host_ip="127.0.0.1")],
        linux=linux)
    request("Version", pb.VersionRequest(version="v1"))
    request("RunPodSandbox",
            pb.RunPodSandboxRequest(config=cfg, runtime_handler="runc"))
    ctr = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="c"),
        image=pb.ImageSpec(image="busybox:1.36"), command=["/bin/sh"],
        args=["-c", "sleep 1"], working_dir="/",
        envs=[pb.KeyValue(key="A", value=b"b")],
        mounts=[pb.Mount(container_path="/data", host_path="/tmp/x",
                         readonly=True)],
        tty=True, stdin=True,
        linux=pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(
            cpu_shares=512, memory_limit_in_bytes=1 << 26)))
    request("CreateContainer", pb.CreateContainerRequest(
        pod_sandbox_id="a" * 64, config=ctr, sandbox_config=cfg))
    request("PullImage", pb.PullImageRequest(
        image=pb.ImageSpec(image="localhost:5000/team/app:v1",
                           annotations={"k": "v"}),
        auth=pb.AuthConfig(username="u", password="p", auth="dXNlcjpwYXNz",
                           server_address="https://index.docker.io/v1/")))
    request("ImageStatus", pb.ImageStatusRequest(
        image=pb.ImageSpec(image="sha256:" + "ab" * 32), verbose=True))
    request("RemoveImage", pb.RemoveImageRequest(image=pb.ImageSpec(
        image="docker.io/library/busybox@sha256:" + "cd" * 32)))
    request("ListContainers", pb.ListContainersRequest(
        filter=pb.ContainerFilter(
            id="abc", state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING),
            label_selector={"a": "b"})))
    request("ExecSync", pb.ExecSyncRequest(container_id="abc",
                                           cmd=["ls", "-l"], timeout=5))
    request("Exec", pb.ExecRequest(container_id="abc", cmd=["sh"], tty=True,
                                   stdin=True, stdout=True))
    request("PortForward", pb.PortForwardRequest(pod_sandbox_id="p",
                                                 port=[80, 443]))
    request("StopContainer", pb.StopContainerRequest(container_id="abc",
                                                     timeout=30))
    # a string field that is not UTF-8 (0xff as the last byte)
    bad = bytearray(bytes([METHODS.index("ExecSync")]) + pb.ExecSyncRequest(
        container_id="abc", cmd=["x"]).SerializeToString())
    bad[-1] = 0xFF
    write("cri_request", "bad-utf8", bytes(bad))
    # an unknown field (number 99, varint) after a known one
    request("Status", pb.StatusRequest(verbose=True), tail=b"\x98\x06\x01")


# --- spdy: the first byte picks raw frames (even) or records (odd) ----------
def spdy_dictionary():
    src = open(os.path.join(ROOT, "..", "..", "server", "streaming",
                            "spdy.c")).read()
    body = src[src.index("spdy_dictionary[] = {"):]
    return bytes(int(x, 16)
                 for x in re.findall(r"0x([0-9a-f]{2})", body[:body.index("};")]))


def block(headers):
    b = struct.pack(">I", len(headers))
    for k, v in headers:
        b += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return b


def ctrl(t, flags, payload):
    return struct.pack(">HHI", 0x8003, t, flags << 24 | len(payload)) + payload


def data(stream, flags, payload):
    return struct.pack(">II", stream, flags << 24 | len(payload)) + payload


def record(t, flags, b):
    return bytes([t, flags]) + struct.pack(">H", len(b)) + b


def spdy_seeds():
    z = zlib.compressobj(zdict=spdy_dictionary())

    def comp(h):
        return z.compress(block(h)) + z.flush(zlib.Z_SYNC_FLUSH)

    syn = ctrl(1, 0, struct.pack(">IIBB", 1, 0, 0, 0) +
               comp([(b"streamtype", b"stdout"), (b"port", b"80")]))
    syn2 = ctrl(1, 2, struct.pack(">IIBB", 3, 0, 0x60, 0) +
                comp([(b"streamtype", b"error"), (b"requestid", b"0\x001")]))
    reply = ctrl(2, 0, struct.pack(">I", 1) + comp([]))
    headers = ctrl(8, 1, struct.pack(">I", 1) + comp([(b"x", b"")]))
    settings = ctrl(4, 0, struct.pack(">I", 2) +
                    struct.pack(">II", 1 << 24 | 4, 100) +
                    struct.pack(">II", 7, 65536))
    ping = ctrl(6, 0, struct.pack(">I", 1))
    goaway = ctrl(7, 0, struct.pack(">II", 5, 0))
    update = ctrl(9, 0, struct.pack(">II", 1, 1024))
    rst = ctrl(3, 0, struct.pack(">II", 1, 5))
    noop = ctrl(5, 0, b"")
    write("spdy", "raw-session",
          b"\x00" + syn + syn2 + reply + headers + data(1, 0, b"hello") +
          data(1, 1, b"") + update + ping + settings + rst + goaway)
    write("spdy", "raw-control", b"\x00" + settings + ping + update + noop +
          goaway)
    write("spdy", "raw-bad-version", b"\x00" + struct.pack(">HHI", 0x8002, 1, 0))
    write("spdy", "raw-partial", b"\x00" + syn[:20])
    write("spdy", "blocks",
          b"\x01" + record(1, 0, block([(b"streamtype", b"data"),
                                        (b"port", b"8080")])) +
          record(8, 1, block([(b"a", b"b\x00c")])) + record(0, 1, b"payload"))
    write("spdy", "blocks-dup",
          b"\x01" + record(2, 0, block([(b"x", b"1"), (b"x", b"2")])))
    write("spdy", "blocks-upper", b"\x01" + record(1, 0, block([(b"Host", b"h")])))
    write("spdy", "blocks-count", b"\x01" + record(8, 0, struct.pack(">I", 1000)))


# --- ws: the first byte: bit 0 masked (server side), the rest chunk size ----
def frame(op, payload, fin=True, mask=None):
    b = bytes([(0x80 if fin else 0) | op])
    n, m = len(payload), 0x80 if mask is not None else 0
    if n < 126:
        b += bytes([m | n])
    elif n < 65536:
        b += bytes([m | 126]) + struct.pack(">H", n)
    else:
        b += bytes([m | 127]) + struct.pack(">Q", n)
    if mask is not None:
        b += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return b + payload


def ws_seeds():
    k = b"\x12\x34\x56\x78"
    write("ws", "text", bytes([1 | 7 << 1]) + frame(1, "héllo".encode(), mask=k))
    write("ws", "fragments",
          bytes([1]) + frame(2, b"\x00abc", fin=False, mask=k) +
          frame(9, b"ping", mask=k) + frame(0, b"def", mask=k))
    write("ws", "close",
          bytes([1 | 63 << 1]) + frame(8, struct.pack(">H", 1000) + b"bye", mask=k))
    write("ws", "long16", bytes([1 | 127 << 1]) + frame(2, b"x" * 300, mask=k))
    write("ws", "long64", bytes([1, 0x82, 0xFF]) + struct.pack(">Q", 1 << 40) + k)
    write("ws", "server-side", bytes([3 << 1]) + frame(1, b"unmasked") + frame(10, b""))
    write("ws", "bad-utf8", bytes([1 | 5 << 1]) + frame(1, b"\xed\xa0\x80", mask=k))
    write("ws", "key", b"\x01dGhlIHNhbXBsZSBub25jZQ==")


if __name__ == "__main__":
    cri_seeds()
    spdy_seeds()
    ws_seeds()
