"""Inside the test VM (Debian's kernel has AppArmor on): what berth does
with a container's AppArmor profile. RuntimeDefault is berth-default
(berthd loads it at start), Unconfined is unconfined, a Localhost profile
must be loaded (one this script loads denies writes), and an unloaded one
fails CreateContainer. Same output as guest_cgroups.py.

Usage: python3 tests/vm/guest_apparmor.py IMAGE_REF
"""
import subprocess
import sys
import tempfile
import uuid

import grpc

import guest_cgroups as g
from guest_cgroups import api_pb2, check, note

DENY_WRITE = "berth-vm-test-deny-write"
PROFILE = f"""#include <tunables/global>
profile {DENY_WRITE} flags=(attach_disconnected) {{
  #include <abstractions/base>
  file,
  deny /** w,
}}
"""


def with_profile(cfg, kind, ref=""):
    cfg.linux.security_context.apparmor.CopyFrom(
        api_pb2.SecurityProfile(profile_type=kind, localhost_ref=ref))
    return cfg


def create(c, pod_id, pcfg, cfg):
    return c.rt.CreateContainer(api_pb2.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=pcfg), timeout=120).container_id


def exec_out(c, cid, cmd):
    r = c.rt.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=30),
                      timeout=60)
    return r.exit_code, (r.stdout + r.stderr).decode(errors="replace").strip()


def main(image):
    check(open("/sys/module/apparmor/parameters/enabled").read().strip() == "Y",
          "apparmor: enabled in the guest's kernel")
    loaded = open("/sys/kernel/security/apparmor/profiles").read()
    check("berth-default (enforce)" in loaded.splitlines(),
          "apparmor: berthd loaded berth-default")
    with tempfile.NamedTemporaryFile("w", suffix=".profile") as f:
        f.write(PROFILE)
        f.flush()
        r = subprocess.run(["apparmor_parser", "-r", "-K", f.name],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"apparmor: test profile {DENY_WRITE} loaded {r.stderr.strip()}")

    c = g.Cri()
    uid = uuid.uuid4().hex
    pcfg = g.pod_config(uid, "")
    pod_id = c.rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg),
                                timeout=120).pod_sandbox_id
    cases = [("default", api_pb2.SecurityProfile.RuntimeDefault, "",
              "berth-default (enforce)"),
             ("unconfined", api_pb2.SecurityProfile.Unconfined, "", "unconfined"),
             ("localhost", api_pb2.SecurityProfile.Localhost, DENY_WRITE,
              f"{DENY_WRITE} (enforce)")]
    made = []
    for name, kind, ref, want in cases:
        cfg = with_profile(g.ctr_config(image, name, ["sleep", "1000"]), kind, ref)
        cid = create(c, pod_id, pcfg, cfg)
        made.append(cid)
        c.rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid), timeout=120)
        code, out = exec_out(c, cid, ["cat", "/proc/self/attr/current"])
        check(code == 0 and out == want, f"apparmor: {name} container runs as {out!r}")
        code, out = exec_out(c, cid, ["touch", "/tmp/x"])
        if name == "localhost":
            check(code != 0, f"apparmor: {DENY_WRITE} denies a write ({out})")
        else:
            check(code == 0, f"apparmor: {name} container may write /tmp ({out or 'ok'})")
    try:
        cfg = with_profile(g.ctr_config(image, "unloaded", ["sleep", "1000"]),
                           api_pb2.SecurityProfile.Localhost, "berth-vm-no-such-profile")
        made.append(create(c, pod_id, pcfg, cfg))
        check(False, "apparmor: CreateContainer with an unloaded profile succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not loaded" in e.details(),
              f"apparmor: unloaded profile refused: {e.code().name}: {e.details()}")
    for cid in made:
        c.rt.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid), timeout=60)
    c.rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    c.rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    subprocess.run(["apparmor_parser", "-R", "-K", "/dev/stdin"], input=PROFILE,
                   capture_output=True, text=True)
    note("test profile unloaded")
    return g.failures


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except grpc.RpcError as e:
        check(False, f"apparmor: CRI call failed: {e.code().name}: {e.details()}")
        sys.exit(g.failures)

