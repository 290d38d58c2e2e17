"""CRI stats completeness and the CRI metrics RPCs (kubelet's cAdvisor
replacement): the CPU rate of a busy and an idle container, memory that
grows when a container allocates, an OOM kill counted, pod network bytes
from the pod's own namespace after traffic between two pods, every
announced metric sampled, and the errors of bad input."""
import os
import time

import grpc
import pytest

from conftest import api_pb2, wait_for
from test_container_lifecycle import (  # noqa: F401  (fixtures)
    create, ctr_config, image_ref, pod, wait_exited)
from test_pod_lifecycle import BUSYBOX, in_netns, pod_config, run_pod, status

MIB = 1024 * 1024
BUSY_MIN = 0.25e9
BUSY = ("sh", "-c", "while :; do :; done")
IDLE = ("sleep", "1000")
# A subshell that grows a shell variable until the limit kills it; the
# container's first process survives and sleeps.
OOM = ("sh", "-c", "(x=$(head -c 200000000 /dev/zero | tr '\\0' a)); sleep 1000")
OOM_EXIT = ("sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); sleep 1000")
# Writes 4 MiB to its root filesystem past the page cache (O_DIRECT), so
# that the block device sees them and the cgroup's I/O counters count
# them; then BUSY or IDLE.
DIRECT_WRITE = "dd if=/dev/zero of=/direct bs=65536 count=64 oflag=direct"
DIRECT_WRITE_BYTES = 64 * 65536
IO_METRICS = {"container_fs_reads_bytes_total", "container_fs_writes_bytes_total",
              "container_fs_reads_total", "container_fs_writes_total"}
# Sleeps a moment, then holds about 40 MB.
GROW = ("sh", "-c", "sleep 3; x=$(head -c 40000000 /dev/zero | tr '\\0' a); sleep 1000")


def run(b, pod_id, pcfg, image, name, cmd=IDLE, resources=None):
    cfg = ctr_config(image, name=name, cmd=cmd)
    if resources is not None:
        cfg.linux.resources.CopyFrom(resources)
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    return cid


def stats(b, cid):
    return b.runtime.ContainerStats(api_pb2.ContainerStatsRequest(container_id=cid)).stats


def pod_stats(b, pod_id):
    return b.runtime.PodSandboxStats(
        api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats


def descriptors(b):
    r = b.runtime.ListMetricDescriptors(api_pb2.ListMetricDescriptorsRequest())
    return {d.name: d for d in r.descriptors}


def samples(b):
    """Every sample as (owner id, name, labels dict, value); owner is the
    pod id for pod-level samples, the container id for the others."""
    descs = descriptors(b)
    out = []
    r = b.runtime.ListPodSandboxMetrics(api_pb2.ListPodSandboxMetricsRequest())
    for pm in r.pod_metrics:
        groups = [(pm.pod_sandbox_id, pm.metrics)]
        groups += [(cm.container_id, cm.metrics) for cm in pm.container_metrics]
        for owner, metrics in groups:
            for m in metrics:
                keys = descs[m.name].label_keys
                assert len(keys) == len(m.label_values), m.name
                out.append((owner, m.name, dict(zip(keys, m.label_values)), m.value.value))
    return out


def value(b, owner, name, **labels):
    """The sample of name for owner whose labels include labels, or None."""
    for o, n, lbl, v in samples(b):
        if o == owner and n == name and all(lbl.get(k) == x for k, x in labels.items()):
            return v
    return None


def block_device(path):
    """The disk holding path's filesystem: (its node as cAdvisor names it,
    "/dev/vda"; "maj:min"), a partition's disk as the kernel counts I/O
    per disk; None when the filesystem has no block device (tmpfs)."""
    st = os.stat(path)
    sysdir = f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    if not os.path.exists(sysdir):
        return None
    sysdir = os.path.realpath(sysdir)
    if os.path.exists(os.path.join(sysdir, "partition")):
        sysdir = os.path.dirname(sysdir)
    with open(os.path.join(sysdir, "dev")) as f:
        devno = f.read().strip()
    with open(os.path.join(sysdir, "uevent")) as f:
        for line in f:
            if line.startswith("DEVNAME="):
                return "/dev/" + line.strip().split("=", 1)[1], devno
    return None


BLKIO_V1 = "/sys/fs/cgroup/blkio"


def count_block_io(devno):
    """On cgroup v1, kernels from 6.10 keep blkio's counters only for a
    disk on which blk-throttle is active, which takes a throttle rule on
    it in some cgroup: give a cgroup of the test's own a rule of 1 TiB/s
    on the disk, then remove the cgroup (the disk stays counted). Nothing
    to do on v2, where io.stat counts always."""
    if not os.path.isdir(BLKIO_V1):
        return
    d = os.path.join(BLKIO_V1, f"berth-it-blkio-{os.getpid()}")
    os.makedirs(d, exist_ok=True)
    try:
        with open(os.path.join(d, "blkio.throttle.write_bps_device"), "w") as f:
            f.write(f"{devno} {1 << 40}")
    finally:
        os.rmdir(d)


def test_cpu_rate_busy_and_idle(pod, image_ref):
    b, pod_id, pcfg = pod
    busy = run(b, pod_id, pcfg, image_ref, "busy", BUSY)
    idle = run(b, pod_id, pcfg, image_ref, "idle")
    first = {c: stats(b, c).cpu for c in (busy, idle)}
    # The first sample of a container has nothing to measure a rate against.
    assert not first[busy].HasField("usage_nano_cores")
    assert not first[idle].HasField("usage_nano_cores")
    time.sleep(2)
    second = {c: stats(b, c).cpu for c in (busy, idle)}
    # One core is 1e9; the 2-core test machine is shared with other jobs
    # that keep both cores busy, so a spinning loop gets a third to a whole
    # core (its cgroup's CPU pressure shows the wait).
    assert second[busy].usage_nano_cores.value > BUSY_MIN, second[busy]
    assert second[idle].usage_nano_cores.value < 0.05e9, second[idle]
    # Cumulative usage agrees with the rate over the interval.
    dt = (second[busy].timestamp - first[busy].timestamp) / 1e9
    used = second[busy].usage_core_nano_seconds.value - \
        first[busy].usage_core_nano_seconds.value
    assert abs(used / dt - second[busy].usage_nano_cores.value) < 0.05e9
    # An immediate second caller sees the same figure, not a rate over
    # a few microseconds.
    again = stats(b, busy).cpu
    assert again.usage_nano_cores.value == pytest.approx(
        second[busy].usage_nano_cores.value, rel=0.25)
    # The pod's rate covers its containers.
    pod_stats(b, pod_id)
    time.sleep(1)
    assert pod_stats(b, pod_id).linux.cpu.usage_nano_cores.value > BUSY_MIN


def test_memory_grows_and_limits(pod, image_ref):
    b, pod_id, pcfg = pod
    limit = 256 * MIB
    cid = run(b, pod_id, pcfg, image_ref, "grow", GROW,
              api_pb2.LinuxContainerResources(memory_limit_in_bytes=limit))
    before = stats(b, cid).memory
    assert before.timestamp > 0
    m = wait_for(lambda: (s := stats(b, cid).memory).working_set_bytes.value >
                 before.working_set_bytes.value + 30_000_000 and
                 s.rss_bytes.value > 25_000_000 and s,
                 timeout=20, what="working set and RSS growth")
    assert m.usage_bytes.value >= m.working_set_bytes.value
    assert m.page_faults.value > 0 and m.HasField("major_page_faults")
    assert m.available_bytes.value == limit - m.working_set_bytes.value
    st = stats(b, cid)
    # The host has swap accounting (memsw) but no swap.
    assert st.swap.timestamp > 0 and st.swap.swap_usage_bytes.value == 0
    ws = value(b, cid, "container_memory_working_set_bytes", container="grow")
    assert ws is not None and ws > 30_000_000
    assert value(b, cid, "container_spec_memory_limit_bytes") == limit
    # A container without a limit has no available figure, not a zero.
    idle = run(b, pod_id, pcfg, image_ref, "nolimit")
    assert not stats(b, idle).memory.HasField("available_bytes")


def test_oom_kill_counted(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = run(b, pod_id, pcfg, image_ref, "oom", OOM,
              api_pb2.LinuxContainerResources(memory_limit_in_bytes=32 * MIB,
                                              memory_swap_limit_in_bytes=32 * MIB))
    got = wait_for(lambda: (v := value(b, cid, "container_oom_events_total")) and v,
                   timeout=30, what="an OOM kill in the CRI metrics")
    assert got >= 1
    # A container whose first process is the one killed exits OOMKilled,
    # and still counts once its cgroup may be gone.
    dead = run(b, pod_id, pcfg, image_ref, "oomexit", OOM_EXIT,
               api_pb2.LinuxContainerResources(memory_limit_in_bytes=32 * MIB,
                                               memory_swap_limit_in_bytes=32 * MIB))
    st = wait_exited(b, dead, timeout=30)
    assert st.reason == "OOMKilled", st
    assert value(b, dead, "container_oom_events_total") >= 1
    d = descriptors(b)["container_oom_events_total"]
    assert list(d.label_keys) == ["container", "id", "image", "name", "namespace", "pod"]


def test_pod_network_bytes_grow(pod, image_ref):
    b, pod_id, pcfg = pod
    other = run_pod(b, pod_config(name="peer"))
    before = pod_stats(b, pod_id).linux.network
    assert before.timestamp > 0 and before.default_interface.name == "eth0"
    assert "lo" not in [i.name for i in before.interfaces]
    rx_metric = value(b, pod_id, "container_network_receive_bytes_total", interface="eth0")
    assert rx_metric is not None
    st = status(b, pod_id, verbose=True)
    ip_peer = status(b, other).status.network.ip
    out = in_netns(st, BUSYBOX, "ping", "-c", "3", "-i", "0.2", "-s", "1000", "-W", "5",
                   ip_peer)
    assert out.returncode == 0, out.stdout + out.stderr
    after = pod_stats(b, pod_id).linux.network.default_interface
    assert after.tx_bytes.value >= before.default_interface.tx_bytes.value + 3000
    assert after.rx_bytes.value >= before.default_interface.rx_bytes.value + 3000
    assert value(b, pod_id, "container_network_receive_bytes_total",
                 interface="eth0") >= rx_metric + 3000
    peer_tx = value(b, other, "container_network_transmit_bytes_total", interface="eth0")
    assert peer_tx >= 3000


def test_every_descriptor_has_a_sample(pod, image_ref):
    b, pod_id, pcfg = pod
    res = api_pb2.LinuxContainerResources(memory_limit_in_bytes=128 * MIB,
                                          cpu_quota=50000, cpu_period=100000,
                                          cpu_shares=512)
    # The I/O figures need a block device under berth's root.
    disk = block_device(b.root)
    if disk:
        count_block_io(disk[1])
    cid = run(b, pod_id, pcfg, image_ref, "every",
              ("sh", "-c", DIRECT_WRITE + "; " + BUSY[2]), res)
    descs = descriptors(b)
    expect = set(descs) if disk else set(descs) - IO_METRICS
    assert "container_cpu_usage_seconds_total" in descs
    for d in descs.values():
        assert d.help and list(d.label_keys[:6]) == [
            "container", "id", "image", "name", "namespace", "pod"]

    def missing():
        got = {n for _, n, _, _ in samples(b)}
        return expect - got
    wait_for(lambda: not missing(), timeout=20, what="a sample of every descriptor")
    all_samples = samples(b)
    mine = {n: (lbl, v) for o, n, lbl, v in all_samples if o == cid}
    lbl, _ = mine["container_cpu_usage_seconds_total"]
    assert lbl["container"] == "every" and lbl["name"] == cid
    assert lbl["pod"] == "ctrpod" and lbl["namespace"] == "default"
    assert lbl["image"] == image_ref and lbl["id"]
    assert mine["container_spec_cpu_quota"][1] == 50000
    assert mine["container_spec_cpu_period"][1] == 100000
    assert mine["container_spec_cpu_shares"][1] == 512
    assert mine["container_processes"][1] >= 1
    # A spinning loop under half a core's quota gets throttled.
    wait_for(lambda: value(b, cid, "container_cpu_cfs_throttled_periods_total") > 0,
             timeout=10, what="CFS throttling")
    assert value(b, cid, "container_cpu_cfs_periods_total") > 0
    fs_lbl, fs_used = mine["container_fs_usage_bytes"]
    assert fs_lbl["device"].endswith(f"/{cid}/upper")
    assert mine["container_fs_limit_bytes"][1] > fs_used
    assert mine["container_fs_inodes_total"][1] >= mine["container_fs_inodes_free"][1] > 0
    assert mine["container_start_time_seconds"][1] <= time.time()
    # The stream carries the same pods, each once.
    pages = list(b.runtime.StreamPodSandboxMetrics(api_pb2.StreamPodSandboxMetricsRequest()))
    ids = [pm.pod_sandbox_id for p in pages for pm in p.pod_sandbox_metrics]
    assert ids == [pod_id] and all(p.pod_sandbox_metrics for p in pages)


def test_block_io_per_device(pod, image_ref):
    """4 MiB written with O_DIRECT show in the container's and the pod's
    per-device counters, under the device that holds berth's root."""
    b, pod_id, pcfg = pod
    disk = block_device(b.root)
    if disk is None:
        pytest.skip(f"{b.root} is on no block device (the I/O counters are per disk)")
    dev = disk[0]
    count_block_io(disk[1])
    cid = run(b, pod_id, pcfg, image_ref, "io", ("sh", "-c", DIRECT_WRITE + " && sleep 1000"))

    def written(owner):
        return value(b, owner, "container_fs_writes_bytes_total", device=dev) or 0
    wait_for(lambda: written(cid) >= DIRECT_WRITE_BYTES, timeout=20,
             what=f"{DIRECT_WRITE_BYTES} bytes written to {dev}")
    assert value(b, cid, "container_fs_writes_total", device=dev) >= 64
    assert value(b, cid, "container_fs_reads_bytes_total", device=dev) is not None
    assert value(b, cid, "container_fs_reads_total", device=dev) is not None
    # The pod's cgroup holds the container's.
    assert written(pod_id) >= written(cid)
    d = descriptors(b)["container_fs_writes_bytes_total"]
    assert list(d.label_keys)[6:] == ["device"]


def test_bad_input(pod, image_ref):
    b, pod_id, pcfg = pod
    for call, req in ((b.runtime.ContainerStats,
                       api_pb2.ContainerStatsRequest(container_id="nope")),
                      (b.runtime.PodSandboxStats,
                       api_pb2.PodSandboxStatsRequest(pod_sandbox_id="nope"))):
        with pytest.raises(grpc.RpcError) as e:
            call(req)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    r = b.runtime.ListPodSandboxStats(api_pb2.ListPodSandboxStatsRequest(
        filter=api_pb2.PodSandboxStatsFilter(id="ffff0000")))
    assert list(r.stats) == []
    # A removed pod leaves the metrics.
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    r = b.runtime.ListPodSandboxMetrics(api_pb2.ListPodSandboxMetricsRequest())
    assert [pm.pod_sandbox_id for pm in r.pod_metrics] == []


def test_stats_collection_period(make_berthd, image_ref):  # noqa: F811
    """With stats_collection_period set, the stats RPCs answer from what a
    thread collected: calls within a period get the same figures, later
    ones newer figures (CPU rate included), pod network too."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0],
                                "--stats-collection-period", "1"]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    pcfg = pod_config(name="collected")
    pod_id = run_pod(b, pcfg)
    busy = run(b, pod_id, pcfg, image_ref, "busy", cmd=BUSY)
    # Back-to-back calls share a collection (a round may fall between two
    # of them, not between all three).
    first, *more = [stats(b, busy).cpu for _ in range(3)]
    seen = [c.usage_core_nano_seconds.value for c in [first] + more]
    assert seen[0] == seen[1] or seen[1] == seen[2], seen
    later = wait_for(lambda: (c := stats(b, busy).cpu).usage_core_nano_seconds.value
                     > first.usage_core_nano_seconds.value and c,
                     timeout=10, step=0.2, what="a newer collection")
    # The rate comes from two collections a period apart.
    rated = wait_for(lambda: (c := stats(b, busy).cpu).HasField("usage_nano_cores") and c,
                     timeout=10, step=0.2, what="a CPU rate")
    assert rated.usage_nano_cores.value > BUSY_MIN
    assert later.timestamp >= first.timestamp
    # The list and the pod's figures come from the same collections.
    listed = b.runtime.ListContainerStats(api_pb2.ListContainerStatsRequest()).stats
    assert [s.attributes.id for s in listed] == [busy]
    ps = pod_stats(b, pod_id)
    assert ps.linux.network.default_interface.name == "eth0"
