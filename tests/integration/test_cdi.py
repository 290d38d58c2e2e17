"""CDI devices in CreateContainer: spec files (JSON and YAML) in the dir
berthd's config names; a container asking for devices, by CDI_devices or
by a cdi.k8s.io/ annotation, gets their env, device node, mount and hook;
an unknown device fails the create, naming it, before anything is made."""
import json

import grpc
import pytest

from conftest import api_pb2, wait_for
from test_container_lifecycle import create, cstatus, ctr_config, image_ref, log_lines  # noqa: F401
from test_pod_lifecycle import pod_config, run_pod

HOOK = """#!/bin/sh
# A CDI prestart hook: runs on the host; leaves a marker with the state.
cat > "$1"
"""


@pytest.fixture
def cdi(make_berthd, image_ref, tmp_path):  # noqa: F811
    specs = tmp_path / "cdi"
    specs.mkdir()
    share = tmp_path / "share"
    share.mkdir()
    (share / "hello.txt").write_text("from the host\n")
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    marker = tmp_path / "hook-ran"
    (specs / "dev.json").write_text(json.dumps({
        "cdiVersion": "0.6.0",
        "kind": "berth.test/dev",
        "containerEdits": {"env": ["CDI_SPEC_WIDE=yes"]},
        "devices": [{
            "name": "null",
            "containerEdits": {
                "env": ["CDI_ENV=json"],
                "deviceNodes": [{"path": "/dev/berth-null", "hostPath": "/dev/null"}],
                "mounts": [{"hostPath": str(share), "containerPath": "/cdi-share",
                            "options": ["rbind", "ro"]}],
                "hooks": [{"hookName": "prestart", "path": str(hook),
                           "args": ["hook.sh", str(marker)]}],
            },
        }],
    }))
    (specs / "other.yaml").write_text(f"""\
cdiVersion: 0.6.0
kind: berth.test/yaml
devices:
  - name: one
    containerEdits:
      env: [CDI_YAML=one]
      mounts:
        - hostPath: {share}
          containerPath: /yaml-share
          options: [rbind, ro]
""")
    conf = f'[berth.runtime]\ncdi_spec_dirs = ["{specs}"]\n'
    b = make_berthd(conf_text=conf,
                    extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="cdipod")
    cfg.log_directory = str(tmp_path / "logs")
    return b, run_pod(b, cfg), cfg, marker


SCRIPT = ("echo env=$CDI_ENV,$CDI_SPEC_WIDE,$CDI_YAML; "
          "test -c /dev/berth-null && echo written > /dev/berth-null && echo dev=ok; "
          "cat /cdi-share/hello.txt /yaml-share/hello.txt 2>/dev/null; "
          "touch /cdi-share/x 2>/dev/null || echo share=ro; exec sleep 1000")


def output(b, cid):
    path = cstatus(b, cid).status.log_path
    def done():
        lines = [m.decode() for _, _, _, m in log_lines(path)]
        return lines if any(line.startswith("share=") for line in lines) else None
    return wait_for(done, what="the container's output")


def start(b, cid):
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))


def test_devices_by_cri_field(cdi, image_ref):  # noqa: F811
    b, pod_id, pcfg, marker = cdi
    cfg = ctr_config(image_ref, cmd=("sh", "-c", SCRIPT),
                     CDI_devices=[api_pb2.CDIDevice(name="berth.test/dev=null")])
    cid = create(b, pod_id, pcfg, cfg)
    start(b, cid)
    out = output(b, cid)
    assert "env=json,yes," in out
    assert "dev=ok" in out
    assert out.count("from the host") == 1  # no YAML device asked for
    assert "share=ro" in out
    state = json.loads(marker.read_text())
    assert state["id"] == cid


def test_devices_by_annotation_and_yaml(cdi, image_ref):  # noqa: F811
    b, pod_id, pcfg, marker = cdi
    cfg = ctr_config(image_ref, cmd=("sh", "-c", SCRIPT), annotations={
        "cdi.k8s.io/test": "berth.test/yaml=one,berth.test/dev=null"})
    cid = create(b, pod_id, pcfg, cfg)
    start(b, cid)
    out = output(b, cid)
    assert "env=json,yes,one" in out
    assert "dev=ok" in out and out.count("from the host") == 2
    assert marker.exists()


@pytest.mark.parametrize("how", ["field", "annotation"])
def test_unknown_device_fails_naming_it(cdi, image_ref, how):  # noqa: F811
    b, pod_id, pcfg, _ = cdi
    name = "berth.test/dev=nope"
    kw = ({"CDI_devices": [api_pb2.CDIDevice(name=name)]} if how == "field"
          else {"annotations": {"cdi.k8s.io/x": name}})
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("true",), **kw))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert name in e.value.details() and "dev.json" in e.value.details()
    assert not b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers


def test_malformed_name_is_invalid(cdi, image_ref):  # noqa: F811
    b, pod_id, pcfg, _ = cdi
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(
            image_ref, cmd=("true",), CDI_devices=[api_pb2.CDIDevice(name="gpu0")]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert '"gpu0"' in e.value.details()
