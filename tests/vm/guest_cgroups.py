"""Inside the test VM: a kubelet-shaped pod on the cgroup driver berthd
runs with, checked against the real cgroup v2 tree and systemd's units.

Talks CRI to the installed berthd (/run/berth/berth.sock) with the stubs
the build generated (build/py over the 9p share). Prints PASS:/FAIL: lines
as guest-test.sh does, and exits with the number of failures.

Usage: python3 tests/vm/guest_cgroups.py systemd|cgroupfs IMAGE_REF
"""
import json
import os
import subprocess
import sys
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "build", "py"))

import grpc  # noqa: E402
import api_pb2  # noqa: E402
import api_pb2_grpc  # noqa: E402

SOCK = "unix:///run/berth/berth.sock"
CG = "/sys/fs/cgroup"
MIB = 1024 * 1024
failures = 0


def check(ok, what):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures += 1
    return ok


def note(text):
    print("    " + text, flush=True)


def wait_for(pred, timeout=60.0, step=0.2):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return f"<{e.strerror}>"


def unit_state(name):
    r = subprocess.run(["systemctl", "show", "-p", "ActiveState", "--value", name],
                       capture_output=True, text=True)
    return r.stdout.strip()


def berth_units():
    """The names of every unit systemd has loaded."""
    r = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend"],
                       capture_output=True, text=True)
    return [line.split()[0] for line in r.stdout.splitlines() if line.split()]


def proc_cgroup(pid):
    for line in read(f"/proc/{pid}/cgroup").splitlines():
        if line.startswith("0::"):
            return line[3:]
    return ""


def monitor_pid(cid):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"berth-conmon") and b"--exec" not in argv \
                and cid.encode() in argv:
            return int(p)
    return 0


class Cri:
    def __init__(self):
        ch = grpc.insecure_channel(SOCK)
        self.rt = api_pb2_grpc.RuntimeServiceStub(ch)
        self.img = api_pb2_grpc.ImageServiceStub(ch)


def pod_config(uid, parent):
    return api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name=f"cg-{uid[:8]}", uid=uid,
                                            namespace="default"),
        hostname="cg", log_directory=f"/tmp/berth-vm-test/cg-{uid}",
        linux=api_pb2.LinuxPodSandboxConfig(cgroup_parent=parent))


def ctr_config(image, name, cmd, memory=0):
    res = api_pb2.LinuxContainerResources(memory_limit_in_bytes=memory,
                                          cpu_period=100000, cpu_quota=50000,
                                          cpu_shares=256)
    return api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name=name),
        image=api_pb2.ImageSpec(image=image), command=list(cmd),
        log_path=f"{name}.log", linux=api_pb2.LinuxContainerConfig(resources=res))


def run_ctr(c, pod_id, pcfg, image, name, cmd, memory=0):
    cid = c.rt.CreateContainer(api_pb2.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=ctr_config(image, name, cmd, memory),
        sandbox_config=pcfg), timeout=120).container_id
    c.rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid), timeout=120)
    return cid


def status(c, cid):
    return c.rt.ContainerStatus(api_pb2.ContainerStatusRequest(container_id=cid,
                                                               verbose=True), timeout=30)


def main(driver, image):
    os.makedirs("/tmp/berth-vm-test", exist_ok=True)
    systemd = driver == "systemd"
    c = Cri()
    cfg = c.rt.RuntimeConfig(api_pb2.RuntimeConfigRequest(), timeout=30)
    want = api_pb2.SYSTEMD if systemd else api_pb2.CGROUPFS
    check(cfg.linux.cgroup_driver == want,
          f"RuntimeConfig reports cgroup driver "
          f"{api_pb2.CgroupDriver.Name(cfg.linux.cgroup_driver)} ({driver})")

    uid = uuid.uuid4().hex
    if systemd:
        parent = f"kubepods-besteffort-pod{uid}.slice"
        pod_dir = f"/kubepods.slice/kubepods-besteffort.slice/{parent}"
    else:
        parent = f"/kubepods/besteffort/pod{uid}"
        pod_dir = None  # below the parent, berth-pod-<id>
    pcfg = pod_config(uid, parent)
    pod_id = c.rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg),
                                timeout=120).pod_sandbox_id
    check(True, f"{driver}: RunPodSandbox with cgroup_parent {parent} ({pod_id[:12]})")
    if pod_dir is None:
        pod_dir = f"{parent}/berth-pod-{pod_id}"
    check(os.path.isdir(CG + pod_dir), f"{driver}: pod cgroup {pod_dir} exists")
    if systemd:
        check(unit_state(parent) == "active", f"systemd: {parent} is active "
              f"({unit_state(parent)})")

    c1 = run_ctr(c, pod_id, pcfg, image, "limited", ["sleep", "1000"], memory=64 * MIB)
    c2 = run_ctr(c, pod_id, pcfg, image, "plain", ["sleep", "1000"])
    leaf = {}
    for cid, name in ((c1, "limited"), (c2, "plain")):
        info = json.loads(status(c, cid).info["info"])
        pid = info.get("pid", 0)
        cg = proc_cgroup(pid)
        leaf[cid] = CG + cg
        scope = f"{pod_dir}/berth-{cid}" + (".scope" if systemd else "")
        note(f"{name} {cid[:12]}: pid {pid} in {cg}; berth reads {info.get('cgroup')}")
        check(cg == scope or cg.startswith(scope + "/"),
              f"{driver}: container {name} runs in {scope}")
        check(info.get("cgroup") == scope, f"{driver}: berth reads {name}'s stats from {scope}")
        if systemd:
            unit = f"berth-{cid}.scope"
            check(unit_state(unit) == "active", f"systemd: {unit} active ({unit_state(unit)})")
        mpid = monitor_pid(cid)
        mcg = proc_cgroup(mpid)
        if systemd:
            check(mcg == f"/system.slice/berth-conmon-{cid}.scope",
                  f"systemd: monitor {mpid} of {name} in its own scope ({mcg})")
        else:
            note(f"cgroupfs: monitor {mpid} of {name} in {mcg}")

    # The limits are in the container's own cgroup: the scope itself, or
    # (crun) the "container" cgroup crun makes inside its scope.
    scope1 = CG + f"{pod_dir}/berth-{c1}" + (".scope" if systemd else "")
    lim = leaf[c1]
    note(f"limits of limited read from {lim}")
    check(read(f"{lim}/memory.max") == str(64 * MIB),
          f"{driver}: memory limit in memory.max ({read(lim + '/memory.max')})")
    check(read(f"{lim}/cpu.max") == "50000 100000",
          f"{driver}: cpu quota in cpu.max ({read(lim + '/cpu.max')})")
    c.rt.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
        container_id=c1, linux=api_pb2.LinuxContainerResources(
            memory_limit_in_bytes=96 * MIB, cpu_period=100000, cpu_quota=20000)), timeout=60)
    check(read(f"{lim}/memory.max") == str(96 * MIB),
          f"{driver}: UpdateContainerResources memory in memory.max "
          f"({read(lim + '/memory.max')})")
    check(read(f"{lim}/cpu.max") == "20000 100000",
          f"{driver}: UpdateContainerResources cpu quota in cpu.max "
          f"({read(lim + '/cpu.max')})")
    if systemd:
        r = subprocess.run(["systemctl", "show", "-p", "MemoryMax", "--value",
                            f"berth-{c1}.scope"], capture_output=True, text=True)
        note(f"systemd's MemoryMax of berth-{c1}.scope: {r.stdout.strip()}")

    st = c.rt.ContainerStats(api_pb2.ContainerStatsRequest(container_id=c1), timeout=30).stats
    check(st.cpu.usage_core_nano_seconds.value > 0 and st.memory.working_set_bytes.value > 0,
          f"{driver}: ContainerStats from cgroup v2 (cpu {st.cpu.usage_core_nano_seconds.value}"
          f" ns, working set {st.memory.working_set_bytes.value} B)")
    for f in ("cpu.pressure", "memory.pressure", "io.pressure"):
        check(read(f"{scope1}/{f}").startswith("some "), f"{driver}: PSI {f} in the scope")
    # Pod-level limits (in-place resize): in the pod cgroup, and with the
    # systemd driver kept by systemd across a daemon-reload.
    c.rt.UpdatePodSandboxResources(api_pb2.UpdatePodSandboxResourcesRequest(
        pod_sandbox_id=pod_id, resources=api_pb2.LinuxContainerResources(
            memory_limit_in_bytes=512 * MIB, cpu_period=100000, cpu_quota=150000)),
        timeout=60)
    pod_cg = CG + pod_dir
    check(read(f"{pod_cg}/memory.max") == str(512 * MIB)
          and read(f"{pod_cg}/cpu.max") == "150000 100000",
          f"{driver}: UpdatePodSandboxResources in the pod cgroup "
          f"(memory.max {read(pod_cg + '/memory.max')}, cpu.max {read(pod_cg + '/cpu.max')})")
    if systemd:
        r = subprocess.run(["systemctl", "show", "-p", "MemoryMax", "--value", parent],
                           capture_output=True, text=True)
        check(r.stdout.strip() == str(512 * MIB),
              f"systemd: the pod slice's MemoryMax is {r.stdout.strip()}")
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        check(read(f"{pod_cg}/memory.max") == str(512 * MIB)
              and read(f"{pod_cg}/cpu.max") == "150000 100000",
              f"systemd: pod limits kept across daemon-reload "
              f"(memory.max {read(pod_cg + '/memory.max')}, cpu.max {read(pod_cg + '/cpu.max')})")
    pst = c.rt.PodSandboxStats(api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id),
                               timeout=30).stats
    check(pst.linux.memory.working_set_bytes.value > 0,
          f"{driver}: PodSandboxStats from the pod cgroup "
          f"({pst.linux.memory.working_set_bytes.value} B)")

    # An OOM kill under a 32 MiB limit, reported as kubelet reads it.
    hog = run_ctr(c, pod_id, pcfg, image, "hog",
                  ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"], memory=32 * MIB)
    done = wait_for(lambda: (s := status(c, hog).status).state == api_pb2.CONTAINER_EXITED and s,
                    timeout=120)
    check(bool(done) and done.reason == "OOMKilled",
          f"{driver}: OOM kill reported: state "
          f"{api_pb2.ContainerState.Name(done.state) if done else 'still running'}, "
          f"reason {done.reason if done else '-'}, exit code {done.exit_code if done else '-'}")

    for cid in (c1, c2, hog):
        c.rt.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=5), timeout=60)
        c.rt.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid), timeout=60)
    c.rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    c.rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    check(True, f"{driver}: containers and pod removed")
    gone = wait_for(lambda: not os.path.exists(CG + pod_dir), timeout=30)
    check(gone, f"{driver}: pod cgroup {pod_dir} gone")
    if systemd:
        left = [u for u in berth_units()
                if u.endswith((".scope", ".slice")) and ("berth" in u or uid in u)
                and u != "berth.slice"]
        check(left == [], f"systemd: no unit left behind ({' '.join(left) or 'none'})")
    return failures


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except grpc.RpcError as e:
        check(False, f"{sys.argv[1]}: CRI call failed: {e.code().name}: {e.details()}")
        sys.exit(failures)
