#!/usr/bin/python3
"""The few CRI calls bench/compare.sh makes itself, on the Python stubs that
`make all` generates (build/py), so that setting up and tearing down does
not depend on the client under test:

    cri.py ENDPOINT wait [SECONDS]   until Version answers
    cri.py ENDPOINT version          runtime name and version as JSON
    cri.py ENDPOINT pull REF...      pull each image unless present
    cri.py ENDPOINT cleanup          stop and remove every container and pod

cleanup removes pods through the server, so that the CNI plugins' DEL runs
(IP leases, iptables chains, veths). It reports what it removed and goes
on past errors; exit status 1 when anything is left."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, os.environ.get("BERTH_PYSTUBS", str(REPO / "build" / "py")))
import grpc  # noqa: E402
import api_pb2 as pb  # noqa: E402
import api_pb2_grpc as pbg  # noqa: E402

CALL_TIMEOUT = 120


def channel(endpoint):
    if not endpoint.startswith("unix://"):
        endpoint = "unix://" + endpoint
    return grpc.insecure_channel(endpoint)


def wait(ch, seconds=60.0):
    grpc.channel_ready_future(ch).result(timeout=float(seconds))
    pbg.RuntimeServiceStub(ch).Version(pb.VersionRequest(), timeout=10)
    return 0


def version(ch):
    v = pbg.RuntimeServiceStub(ch).Version(pb.VersionRequest(), timeout=10)
    print(f'{{"runtime_name": "{v.runtime_name}", '
          f'"runtime_version": "{v.runtime_version}"}}')
    return 0


def pull(ch, *refs):
    img = pbg.ImageServiceStub(ch)
    for ref in refs:
        spec = pb.ImageSpec(image=ref)
        if img.ImageStatus(pb.ImageStatusRequest(image=spec), timeout=10).image.id:
            continue
        img.PullImage(pb.PullImageRequest(image=spec), timeout=600)
    return 0


def cleanup(ch):
    rt = pbg.RuntimeServiceStub(ch)
    failed = 0
    ctrs = rt.ListContainers(pb.ListContainersRequest(), timeout=CALL_TIMEOUT).containers
    for c in ctrs:
        try:
            if c.state == pb.CONTAINER_RUNNING:
                rt.StopContainer(pb.StopContainerRequest(container_id=c.id, timeout=0),
                                 timeout=CALL_TIMEOUT)
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id),
                               timeout=CALL_TIMEOUT)
        except grpc.RpcError as e:
            failed += 1
            print(f"cri cleanup: container {c.id[:12]}: {e.code().name}: {e.details()}",
                  file=sys.stderr)
    pods = rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=CALL_TIMEOUT).items
    for p in pods:
        try:
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id),
                              timeout=CALL_TIMEOUT)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id),
                                timeout=CALL_TIMEOUT)
        except grpc.RpcError as e:
            failed += 1
            print(f"cri cleanup: pod {p.id[:12]}: {e.code().name}: {e.details()}",
                  file=sys.stderr)
    if ctrs or pods:
        print(f"cri cleanup: removed {len(ctrs)} containers, {len(pods)} pods"
              f"{f', {failed} failed' if failed else ''}", file=sys.stderr)
    return 1 if failed else 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    ops = {"wait": wait, "version": version, "pull": pull, "cleanup": cleanup}
    if argv[2] not in ops:
        print(f"cri.py: unknown command {argv[2]!r}", file=sys.stderr)
        return 2
    with channel(argv[1]) as ch:
        try:
            return ops[argv[2]](ch, *argv[3:])
        except grpc.FutureTimeoutError:
            print(f"cri.py: {argv[1]}: no answer", file=sys.stderr)
            return 1
        except grpc.RpcError as e:
            print(f"cri.py: {argv[1]} {argv[2]}: {e.code().name}: {e.details()}",
                  file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
