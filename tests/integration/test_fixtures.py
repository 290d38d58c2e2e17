"""The test fixtures themselves: images build reproducibly into valid OCI
layouts, a local registry starts (with and without auth), takes them via
skopeo, and serves the manifests and blobs that were built."""

import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join([images.OCI_INDEX, DOCKER_LIST, images.OCI_MANIFEST,
                    images.DOCKER_MANIFEST])
SINGLE = ["busybox", "layers", "app"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return images.build_all(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def reg(built):
    r = registry.Registry()
    r.start()
    try:
        for name in SINGLE:
            registry.push(built[name].layout, "latest", r, f"berth/{name}")
        registry.push(built["multiarch"].layout, "latest", r,
                      "berth/multiarch", all_images=True)
        registry.push(built["busybox-docker"].layout, "latest", r,
                      "berth/busybox-docker", docker=True)
        yield r
    finally:
        proc = r.proc
        r.stop()
        assert proc.poll() is not None


def get_manifest(reg, name, ref, accept=ACCEPT):
    status, headers, body = reg.get(f"/v2/{name}/manifests/{ref}",
                                    {"Accept": accept})
    assert status == 200, body
    return headers, body, json.loads(body)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(layout, digest):
    return Path(layout) / "blobs" / "sha256" / digest.split(":", 1)[1]


# --- the images -----------------------------------------------------------

def test_build_is_deterministic(built, tmp_path):
    again = images.build_all(tmp_path)
    for name, img in built.items():
        assert again[name].digest == img.digest, name
        assert again[name].layers == img.layers, name


def test_layouts_are_valid(built):
    for name, img in built.items():
        layout = Path(img.layout)
        assert json.loads((layout / "oci-layout").read_text()) == {
            "imageLayoutVersion": "1.0.0"}
        desc = registry.layout_descriptor(layout, "latest")
        assert desc["digest"] == img.digest
        assert desc["mediaType"] == img.media_type
        for blob in (layout / "blobs" / "sha256").iterdir():
            assert sha256(blob.read_bytes()) == "sha256:" + blob.name


def test_image_configs(built):
    for name in SINGLE + ["busybox-docker"]:
        img = built[name]
        manifest = json.loads(blob_path(img.layout, img.digest).read_bytes())
        config = json.loads(
            blob_path(img.layout, img.config_digest).read_bytes())
        assert config["rootfs"]["diff_ids"] == img.diff_ids
        assert len(manifest["layers"]) == len(img.diff_ids)
        assert config["architecture"] == "amd64"
        assert len(config["history"]) == len(img.diff_ids)
    app = json.loads(blob_path(built["app"].layout,
                               built["app"].config_digest).read_bytes())
    assert app["config"]["User"] == "app"
    assert app["config"]["ExposedPorts"] == {"8080/tcp": {}, "5353/udp": {}}


def layer_members(img, i):
    digest = img.layers[i][1]
    with tarfile.open(blob_path(img.layout, digest)) as t:
        members = {m.name: m for m in t.getmembers()}
        files = {m.name: t.extractfile(m).read()
                 for m in members.values() if m.isfile()}
    assert sha256(blob_path(img.layout, digest).read_bytes()) == digest
    return members, files


def test_base_layer(built):
    members, files = layer_members(built["busybox"], 0)
    assert members["bin/busybox"].mode == 0o755
    assert files["bin/busybox"] == Path(images.BUSYBOX).read_bytes()
    for applet in ("sh", "ls", "cat", "echo", "sleep", "true", "false",
                   "id", "env", "stat"):
        assert members[f"bin/{applet}"].issym()
        assert members[f"bin/{applet}"].linkname == "busybox"
    assert b"app:x:1000:1000:" in files["etc/passwd"]
    assert b"nobody:x:65534:" in files["etc/passwd"]
    assert b"app:x:1000:\n" in files["etc/group"]
    assert b"extra:x:2000:app\n" in files["etc/group"]
    assert members["tmp"].mode == 0o1777
    assert all(m.mtime == images.MTIME for m in members.values())
    names = [m for m in members]
    assert names == sorted(names)


def test_change_layers(built):
    img = built["layers"]
    assert len(img.layers) == 5
    wh, _ = layer_members(img, 2)
    assert "data/.wh.remove-me.txt" in wh
    assert "data/opaque/.wh..wh..opq" in wh
    assert wh["data/meta"].mode == 0o750 and wh["data/meta"].uid == 1000
    swap, _ = layer_members(img, 3)
    assert swap["data/dir-to-file"].isfile()
    assert swap["data/file-to-dir"].isdir()
    assert "data" not in swap
    special, files = layer_members(img, 4)
    assert special["data/setuid"].mode == 0o4755
    assert special["data/xattr.txt"].pax_headers == {
        "SCHILY.xattr.user.berth": "hello"}
    assert special["data/hardlink.txt"].islnk()
    assert special["data/hardlink.txt"].linkname == "data/hardlink-target.txt"
    assert special["data/symlink"].linkname == "keep.txt"
    assert (special["data/owned.txt"].uid,
            special["data/owned.txt"].gid) == (1000, 2000)


# --- the registry ---------------------------------------------------------

def check_manifest(reg, name, img, media_type, layer_type):
    headers, body, manifest = get_manifest(reg, f"berth/{name}", "latest")
    assert headers["Content-Type"] == media_type
    assert headers["Docker-Content-Digest"] == img.digest == sha256(body)
    assert manifest["mediaType"] == media_type
    assert manifest["config"]["digest"] == img.config_digest
    assert [(lay["mediaType"], lay["digest"], lay["size"])
            for lay in manifest["layers"]] == img.layers
    assert all(lay["mediaType"] == layer_type for lay in manifest["layers"])
    status, _, config = reg.get(f"/v2/berth/{name}/blobs/{img.config_digest}")
    assert status == 200
    assert json.loads(config)["rootfs"]["diff_ids"] == img.diff_ids


def test_oci_manifests(reg, built):
    for name in SINGLE:
        check_manifest(reg, name, built[name], images.OCI_MANIFEST,
                       images.OCI_LAYER_GZIP)


def test_docker_manifest(reg, built):
    check_manifest(reg, "busybox-docker", built["busybox-docker"],
                   images.DOCKER_MANIFEST, images.DOCKER_LAYER_GZIP)


def test_multiarch_index(reg, built):
    img = built["multiarch"]
    headers, body, index = get_manifest(reg, "berth/multiarch", "latest")
    assert headers["Content-Type"] == images.OCI_INDEX
    assert headers["Docker-Content-Digest"] == img.digest == sha256(body)
    plats = {}
    for entry in index["manifests"]:
        p = entry["platform"]
        key = "/".join(filter(None, [p["os"], p["architecture"],
                                     p.get("variant")]))
        plats[key] = entry["digest"]
    assert plats == {k: v.digest for k, v in img.platforms.items()}
    for sub in img.platforms.values():
        _, body, manifest = get_manifest(reg, "berth/multiarch", sub.digest)
        assert sha256(body) == sub.digest
        assert [lay["digest"] for lay in manifest["layers"]] == [
            d for _, d, _ in sub.layers]


def test_blobs_match(reg, built):
    img = built["layers"]
    for _, digest, size in img.layers:
        status, headers, body = reg.get(f"/v2/berth/layers/blobs/{digest}")
        assert status == 200
        assert len(body) == size
        assert sha256(body) == digest
        assert body == blob_path(img.layout, digest).read_bytes()


def test_unknown_manifest_is_404(reg):
    status, _, body = reg.get("/v2/berth/busybox/manifests/nope",
                              {"Accept": ACCEPT})
    assert status == 404
    assert b"MANIFEST_UNKNOWN" in body


def test_auth_registry(built):
    with registry.Registry(auth=("berth", "s3cret pass")) as r:
        proc, tmpdir = r.proc, r.tmpdir
        status, headers, _ = r.get("/v2/", auth=False)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic ")
        assert r.get("/v2/")[0] == 200
        img = built["busybox"]
        registry.push(img.layout, "latest", r, "berth/busybox")
        headers, body, _ = get_manifest(r, "berth/busybox", "latest")
        assert headers["Docker-Content-Digest"] == img.digest
        status, _, _ = r.get("/v2/berth/busybox/manifests/latest",
                             {"Accept": ACCEPT}, auth=False)
        assert status == 401
    assert proc.poll() is not None
    assert not os.path.exists(tmpdir)
    assert r.proc is None
