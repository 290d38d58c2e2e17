"""Regression tests for what critest v1.26.1 found in berth (see
tests/critest/README.md). Each test names the critest spec it stands for."""
import socket

from conftest import api_pb2
from test_pod_lifecycle import in_netns, pod_config, run_pod, status


def test_pod_without_hostname_gets_the_node_hostname(berthd):
    """critest's pods have no hostname and names longer than 64 characters
    (every spec's RunPodSandbox failed): the pod gets the node's hostname,
    as in CRI-O and containerd, not its name."""
    name = "create-PodSandbox-for-container-" + "0123456789abcdef" * 3
    cfg = pod_config(name=name, hostname="")
    pod_id = run_pod(berthd, cfg)
    st = status(berthd, pod_id, verbose=True)
    assert in_netns(st, "hostname").stdout.strip() == socket.gethostname()
