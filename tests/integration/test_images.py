"""ImageService against a real berthd: PullImage from real docker-registry
processes and a misbehaving fake registry, then ListImages, StreamImages,
ImageStatus, RemoveImage and ImageFsInfo, and crictl on top. One berthd
serves the module (its registries.conf names the local registry as the
search registry and a prefix behind a dead mirror); the crash test gets
its own."""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from conftest import Berthd, api_pb2, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import fake_registry  # noqa: E402
import images  # noqa: E402
import registry  # noqa: E402

CRICTL = os.environ.get("CRICTL", "/opt/cri-tools/bin/crictl")
SC = grpc.StatusCode
MIRRORED = "mirrored.example"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_size(img):
    return (img.layout / "blobs" / "sha256" /
            img.config_digest.split(":", 1)[1]).stat().st_size


# --- fixtures -------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return images.build_all(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def reg(built):
    with registry.Registry() as r:
        for name in ("busybox", "layers", "app"):
            registry.push(built[name].layout, "latest", r, f"berth/{name}")
        registry.push(built["busybox"].layout, "latest", r, "busybox")
        registry.push(built["multiarch"].layout, "latest", r,
                      "berth/multiarch", all_images=True)
        registry.push(built["busybox-docker"].layout, "latest", r,
                      "berth/busybox-docker", docker=True)
        yield r


@pytest.fixture(scope="module")
def auth_reg(built):
    with registry.Registry(auth=("alice", "s3cret")) as r:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        yield r


@pytest.fixture(scope="module")
def bd(reg, tmp_path_factory):
    base = tmp_path_factory.mktemp("berthd")
    conf = base / "registries.conf"
    conf.write_text(
        f'unqualified-search-registries = ["{reg.host}"]\n\n'
        f'[[registry]]\nprefix = "{MIRRORED}"\nlocation = "{reg.host}"\n\n'
        f'[[registry.mirror]]\nlocation = "127.0.0.1:{free_port()}"\n')
    b = Berthd(str(base / "b"), extra_args=["--registries-conf", str(conf)])
    b.start()
    yield b
    rc = b.stop()
    assert rc == 0, b.logs()
    b.check_sanitizers()
    assert "-CRITICAL **" not in b.logs() and "-WARNING **" not in b.logs()
    b.cleanup_host()
    if not os.environ.get("KEEP"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean(request):
    """Every test starts and ends with an empty store."""
    yield
    if "bd" in request.fixturenames:
        b = request.getfixturevalue("bd")
        for img in b.image.ListImages(api_pb2.ListImagesRequest()).images:
            remove(b, img.id)
        assert list_ids(b) == []


@pytest.fixture
def fresh(make_berthd):
    """A berthd of its own for a test whose failed pulls leave verified
    layers behind (claimed for a retry), which would change what later
    tests download."""
    return make_berthd().start()


@pytest.fixture
def fake(built):
    repos = {f"berth/{n}": built[n].layout
             for n in ("busybox", "layers", "app")}
    made = []

    def make(**kw):
        f = fake_registry.FakeRegistry(repos, **kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


# --- helpers -------------------------------------------------------------------

def spec(name):
    return api_pb2.ImageSpec(image=name)


def pull(b, name, auth=None, timeout=60):
    req = api_pb2.PullImageRequest(image=spec(name), auth=auth)
    return b.image.PullImage(req, timeout=timeout).image_ref


def pull_error(b, name, **kw):
    with pytest.raises(grpc.RpcError) as e:
        pull(b, name, **kw)
    return e.value


def status(b, name, verbose=False):
    return b.image.ImageStatus(api_pb2.ImageStatusRequest(
        image=spec(name), verbose=verbose))


def remove(b, name):
    b.image.RemoveImage(api_pb2.RemoveImageRequest(image=spec(name)))


def listed(b, name=""):
    f = api_pb2.ImageFilter(image=spec(name)) if name else None
    return list(b.image.ListImages(api_pb2.ListImagesRequest(filter=f)).images)


def list_ids(b):
    return [i.id for i in listed(b)]


def fs_used(b):
    fs = b.image.ImageFsInfo(api_pb2.ImageFsInfoRequest()).image_filesystems
    return fs[0].used_bytes.value


def layer_ref(b, diff_id):
    return Path(b.root, "storage", "repo", "refs", "heads", "berth", "layer",
                diff_id.split(":", 1)[1])


def log_has(b, *words):
    return any(all(w in line for w in words) for line in b.logs().splitlines())


def blob_gets(f, digest):
    return f.count(f"/blobs/{digest}$", method="GET")


# --- reference forms and manifest kinds ---------------------------------------------

def test_pull_by_tag(bd, reg, built):
    img = built["busybox"]
    image_ref = pull(bd, f"{reg.host}/berth/busybox:latest")
    assert image_ref == img.config_digest
    [got] = listed(bd)
    assert got.id == image_ref
    assert list(got.repo_tags) == [f"{reg.host}/berth/busybox:latest"]
    assert list(got.repo_digests) == [f"{reg.host}/berth/busybox@{img.digest}"]
    assert got.size == config_size(img) + sum(s for _, _, s in img.layers)
    assert got.HasField("uid") and got.uid.value == 0 and got.username == ""
    assert got.spec.image == image_ref
    assert not got.pinned


def test_every_lookup_form(bd, reg, built):
    img = built["layers"]
    image_ref = pull(bd, f"{reg.host}/berth/layers")
    hexd = image_ref.split(":", 1)[1]
    for name in (image_ref, hexd, hexd[:12], "sha256:" + hexd[:12],
                 f"{reg.host}/berth/layers:latest", f"{reg.host}/berth/layers",
                 f"{reg.host}/berth/layers@{img.digest}",
                 f"{reg.host}/berth/layers:whatever@{img.digest}",
                 "berth/layers"):
        r = status(bd, name)
        assert r.image.id == image_ref, name
        assert [i.id for i in listed(bd, name)] == [image_ref], name
    # Pulling by the id of a stored image answers at once.
    assert pull(bd, image_ref) == image_ref


def test_pull_by_digest(bd, reg, built):
    img = built["layers"]
    image_ref = pull(bd, f"{reg.host}/berth/layers@{img.digest}")
    assert image_ref == img.config_digest
    [got] = listed(bd)
    assert list(got.repo_tags) == []
    assert list(got.repo_digests) == [f"{reg.host}/berth/layers@{img.digest}"]


def test_pull_by_tag_and_digest(bd, reg, built):
    """name:tag@digest pulls the digest; the tag is not recorded (the
    registry's tag may name another image by now)."""
    img = built["app"]
    image_ref = pull(bd, f"{reg.host}/berth/app:latest@{img.digest}")
    assert image_ref == img.config_digest
    got = status(bd, image_ref).image
    assert list(got.repo_tags) == []
    assert list(got.repo_digests) == [f"{reg.host}/berth/app@{img.digest}"]
    # config.User "app" is a name, not a uid.
    assert got.username == "app" and not got.HasField("uid")


def test_short_names_use_the_search_registry(bd, reg, built):
    assert pull(bd, "berth/busybox") == built["busybox"].config_digest
    assert pull(bd, "busybox") == built["busybox"].config_digest
    [got] = listed(bd)
    assert sorted(got.repo_tags) == [f"{reg.host}/berth/busybox:latest",
                                     f"{reg.host}/busybox:latest"]
    assert status(bd, "busybox").image.id == got.id
    assert status(bd, "busybox:latest").image.id == got.id
    e = pull_error(bd, "berth/nothing-here")
    assert e.code() == SC.NOT_FOUND
    assert f"{reg.host}/berth/nothing-here" in e.details()


def test_pull_oci_index_selects_this_platform(bd, reg, built):
    index = built["multiarch"]
    amd64 = index.platforms["linux/amd64"]
    image_ref = pull(bd, f"{reg.host}/berth/multiarch")
    assert image_ref == amd64.config_digest
    got = status(bd, image_ref, verbose=True)
    # The repo digest is the index's: pulling it again gives this image.
    assert list(got.image.repo_digests) == [
        f"{reg.host}/berth/multiarch@{index.digest}"]
    info = json.loads(got.info["info"])
    assert info["manifestDigest"] == amd64.digest
    assert info["imageSpec"]["architecture"] == "amd64"


def test_pull_docker_schema2(bd, reg, built):
    img = built["busybox-docker"]
    image_ref = pull(bd, f"{reg.host}/berth/busybox-docker")
    assert image_ref == img.config_digest
    assert list(status(bd, image_ref).image.repo_digests) == [
        f"{reg.host}/berth/busybox-docker@{img.digest}"]


@pytest.mark.parametrize("name,problem", [
    ("Upper/Case", "invalid reference"),
    ("busybox@sha256:abc", "invalid reference"),
    ("a b", "whitespace"),
    ("sha256:" + "0" * 64, "image ID"),
])
def test_bad_reference(bd, name, problem):
    e = pull_error(bd, name)
    assert e.code() == SC.INVALID_ARGUMENT
    assert problem in e.details() and name in e.details()


def test_empty_image_and_unknown_handler(bd, reg):
    e = pull_error(bd, "")
    assert e.code() == SC.INVALID_ARGUMENT and "image" in e.details()
    req = api_pb2.PullImageRequest(image=api_pb2.ImageSpec(
        image=f"{reg.host}/berth/busybox", runtime_handler="nope"))
    with pytest.raises(grpc.RpcError) as e:
        bd.image.PullImage(req)
    assert e.value.code() == SC.INVALID_ARGUMENT
    assert '"nope"' in e.value.details()


# --- auth and mirrors ------------------------------------------------------------

def test_auth_username_password_and_auth(bd, auth_reg, built):
    name = f"{auth_reg.host}/berth/busybox"
    got = pull(bd, name, auth=api_pb2.AuthConfig(username="alice",
                                                 password="s3cret"))
    assert got == built["busybox"].config_digest
    remove(bd, got)
    b64 = base64.b64encode(b"alice:s3cret").decode()
    got = pull(bd, name, auth=api_pb2.AuthConfig(auth=b64,
                                                 server_address=auth_reg.host))
    assert got == built["busybox"].config_digest


def test_auth_failures(bd, auth_reg):
    name = f"{auth_reg.host}/berth/busybox"
    e = pull_error(bd, name, auth=api_pb2.AuthConfig(username="alice",
                                                     password="Wrong-pw"))
    assert e.code() == SC.UNAUTHENTICATED
    assert auth_reg.host in e.details() and "rejected" in e.details()
    assert "Wrong-pw" not in e.details() and "Wrong-pw" not in bd.logs()
    e = pull_error(bd, name)
    assert e.code() == SC.UNAUTHENTICATED
    assert "none were given" in e.details()
    e = pull_error(bd, name, auth=api_pb2.AuthConfig(auth="%%%"))
    assert e.code() == SC.INVALID_ARGUMENT and "auth" in e.details()
    assert list_ids(bd) == []


def test_mirror_fallback(bd, reg, built):
    """registries.conf puts a dead mirror before the real registry."""
    image_ref = pull(bd, f"{MIRRORED}/berth/busybox")
    assert image_ref == built["busybox"].config_digest
    assert list(status(bd, image_ref).image.repo_tags) == [
        f"{MIRRORED}/berth/busybox:latest"]
    assert "(mirror)" in bd.logs()


# --- what a bad registry leaves behind: nothing ---------------------------------------

@pytest.mark.parametrize("how", [{"corrupt": True}, {"truncate": 100}])
def test_bad_blob_stores_nothing(fresh, fake, built, how):
    f = fake()
    img = built["layers"]
    bad = 3
    f.add_rule(img.layers[bad][1], **how)
    e = pull_error(fresh, f"{f.host}/berth/layers")
    assert e.code() == grpc.StatusCode.DATA_LOSS
    assert img.layers[bad][1] in e.details()
    assert listed(fresh) == []
    assert not layer_ref(fresh, img.diff_ids[bad]).exists()
    assert status(fresh, img.config_digest).HasField("image") is False
    # A retry fetches only what the failed pull did not store.
    f.rules.clear()
    assert pull(fresh, f"{f.host}/berth/layers") == img.config_digest
    assert blob_gets(f, img.layers[0][1]) == 1


def test_deadline_and_cancel(fresh, fake, built):
    f = fake()
    f.add_rule("/blobs/", delay=3)
    t0 = time.monotonic()
    e = pull_error(fresh, f"{f.host}/berth/busybox", timeout=1)
    assert e.code() == SC.DEADLINE_EXCEEDED
    assert time.monotonic() - t0 < 2
    # Nobody waits any more: the download stops and stores nothing.
    wait_for(lambda: log_has(fresh, f"pull {f.host}/berth/busybox: ",
                             "cancel"), timeout=5, what="the pull to stop")
    assert listed(fresh) == []


# --- sharing ----------------------------------------------------------------------

def test_concurrent_pulls_download_once(bd, fake, built):
    f = fake()
    img = built["layers"]
    f.add_rule("/manifests/", delay=0.5, times=1)
    results, errors = [], []

    def one():
        try:
            results.append(pull(bd, f"{f.host}/berth/layers"))
        except grpc.RpcError as e:
            errors.append(e)
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results == [img.config_digest] * 4
    assert f.count("/manifests/latest", method="GET") == 1
    for _, digest, _ in img.layers + [(0, img.config_digest, 0)]:
        assert blob_gets(f, digest) == 1, digest


def test_concurrent_pulls_share_the_error(fresh, fake, built):
    f = fake()
    img = built["busybox"]
    f.add_rule("/manifests/", delay=0.5, times=1)
    f.add_rule(img.layers[0][1], corrupt=True)
    codes = []

    def one():
        try:
            pull(fresh, f"{f.host}/berth/busybox")
        except grpc.RpcError as e:
            codes.append(e.code())
    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [SC.DATA_LOSS] * 3
    assert blob_gets(f, img.layers[0][1]) == 1


def test_shared_base_layer_downloads_once(bd, fake, built):
    f = fake()
    small, big = built["busybox"], built["layers"]
    assert small.layers[0][1] == big.layers[0][1]
    pull(bd, f"{f.host}/berth/busybox")
    used = fs_used(bd)
    pull(bd, f"{f.host}/berth/layers")
    assert blob_gets(f, big.layers[0][1]) == 1
    for _, digest, _ in big.layers[1:]:
        assert blob_gets(f, digest) == 1
    # The second image costs its own small layers, not the base again.
    assert fs_used(bd) - used < big.layers[0][2]


def test_tag_moves_to_the_new_image(bd, reg, built):
    old, new = built["busybox"], built["app"]
    registry.push(old.layout, "latest", reg, "berth/moving", dest_tag="v1")
    moving = f"{reg.host}/berth/moving:v1"
    old_id = pull(bd, moving)
    pull(bd, f"{reg.host}/berth/busybox:latest")
    registry.push(new.layout, "latest", reg, "berth/moving", dest_tag="v1")
    new_id = pull(bd, moving)
    assert new_id == new.config_digest != old_id
    o, n = status(bd, old_id).image, status(bd, new_id).image
    assert list(o.repo_tags) == [f"{reg.host}/berth/busybox:latest"]
    assert f"{reg.host}/berth/moving@{old.digest}" in o.repo_digests
    assert list(n.repo_tags) == [moving]
    assert status(bd, moving).image.id == new_id


# --- remove, status, fs info --------------------------------------------------------

def test_remove_by_one_tag_removes_all(bd, reg, built):
    before = fs_used(bd)
    image_ref = pull(bd, f"{reg.host}/berth/busybox")
    pull(bd, f"{reg.host}/busybox")
    assert len(status(bd, image_ref).image.repo_tags) == 2
    assert fs_used(bd) > before + built["busybox"].layers[0][2]
    remove(bd, f"{reg.host}/busybox:latest")
    assert listed(bd) == []
    for name in (image_ref, f"{reg.host}/berth/busybox",
                 f"{reg.host}/busybox"):
        assert not status(bd, name).HasField("image")
    assert fs_used(bd) < before + 64 * 1024
    # Idempotent, by every kind of name.
    for name in (image_ref, f"{reg.host}/busybox:latest", "busybox",
                 f"{reg.host}/berth/busybox@{built['busybox'].digest}"):
        remove(bd, name)


def test_remove_by_digest_and_by_prefix(bd, reg, built):
    img = built["layers"]
    pull(bd, f"{reg.host}/berth/layers")
    remove(bd, f"{reg.host}/berth/layers@{img.digest}")
    assert listed(bd) == []
    image_ref = pull(bd, f"{reg.host}/berth/layers")
    remove(bd, image_ref.split(":", 1)[1][:10])
    assert listed(bd) == []


def test_status_of_absent_image(bd, reg):
    for name in (f"{reg.host}/berth/busybox", "sha256:" + "a" * 64, "abcdef",
                 "nothing"):
        r = status(bd, name, verbose=True)
        assert not r.HasField("image") and dict(r.info) == {}, name
    assert listed(bd, "nothing") == []
    e = pytest.raises(grpc.RpcError, status, bd, "Bad Name")
    assert e.value.code() == SC.INVALID_ARGUMENT


def test_verbose_info(bd, reg, built):
    img = built["app"]
    image_ref = pull(bd, f"{reg.host}/berth/app")
    r = status(bd, f"{reg.host}/berth/app", verbose=True)
    info = json.loads(r.info["info"])
    assert info["id"] == image_ref
    assert info["imageSpec"]["config"]["User"] == "app"
    assert info["imageSpec"]["config"]["Labels"]["org.berth.fixture"] == "app"
    assert info["diffIDs"] == img.diff_ids
    assert info["store"]["ref"] == "berth/image/" + image_ref.split(":")[1]
    assert not status(bd, image_ref).info


def test_list_filter_and_stream(bd, reg, built):
    a = pull(bd, f"{reg.host}/berth/busybox")
    b = pull(bd, f"{reg.host}/berth/layers")
    assert sorted(list_ids(bd)) == sorted([a, b])
    assert [i.id for i in listed(bd, f"{reg.host}/berth/layers")] == [b]
    assert [i.id for i in listed(bd, a[7:20])] == [a]
    stream = bd.image.StreamImages(api_pb2.StreamImagesRequest())
    got = [i.id for page in stream for i in page.images]
    assert sorted(got) == sorted([a, b])
    stream = bd.image.StreamImages(api_pb2.StreamImagesRequest(
        filter=api_pb2.ImageFilter(image=spec(b))))
    assert [i.id for page in stream for i in page.images] == [b]


# --- crash ------------------------------------------------------------------------

def test_kill9_during_pull_then_restart(make_berthd, fake, built):
    """berthd dies mid-pull: after a restart no half image is listed, and
    the same pull then succeeds."""
    f = fake()
    img = built["layers"]
    slow = img.layers[4][1]
    f.add_rule(slow, delay=10)
    b = make_berthd().start()
    name = f"{f.host}/berth/layers"
    done = []
    t = threading.Thread(target=lambda: done.append(
        pytest.raises(grpc.RpcError, pull, b, name)))
    t.start()
    wait_for(lambda: blob_gets(f, slow) == 1 and all(
        layer_ref(b, d).exists() for d in img.diff_ids[:4]), timeout=20,
        what="four layers stored and the fifth requested")
    b.proc.kill()
    b.proc.wait()
    t.join(20)
    b.start()
    assert listed(b) == []
    f.rules.clear()
    assert pull(b, name) == img.config_digest
    [got] = listed(b)
    assert list(got.repo_tags) == [f"{name}:latest"]
    # A clean restart keeps it as it was.
    assert b.stop() == 0
    b.start()
    assert listed(b) == [got]


def test_sigterm_during_pull(fresh, fake, built):
    """A pull in flight does not hold up shutdown: its caller is
    cancelled, the download stops, berthd exits 0 within the grace."""
    f = fake()
    f.add_rule("/blobs/", delay=10)
    errors = []
    t = threading.Thread(target=lambda: errors.append(
        pytest.raises(grpc.RpcError, pull, fresh, f"{f.host}/berth/busybox")))
    t.start()
    wait_for(lambda: f.count("/blobs/") >= 1, what="a blob request")
    t0 = time.monotonic()
    assert fresh.stop() == 0, fresh.logs()
    assert time.monotonic() - t0 < 5
    t.join(10)
    assert len(errors) == 1


# --- crictl -------------------------------------------------------------------------

def crictl(b, *args, check=True):
    ep = "unix://" + b.sock
    r = subprocess.run([CRICTL, "--runtime-endpoint", ep, "--image-endpoint",
                        ep, "--timeout", "30s", *args], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.mark.skipif(not os.access(CRICTL, os.X_OK),
                    reason=f"crictl not found at {CRICTL}")
def test_crictl_pull_images_inspecti_rmi(bd, reg, auth_reg, built):
    img = built["busybox"]
    out = crictl(bd, "pull", "berth/busybox").stdout
    assert img.config_digest in out
    rows = crictl(bd, "images").stdout.splitlines()
    assert rows[0].split()[:2] == ["IMAGE", "TAG"]
    assert any(r.split()[:2] == [f"{reg.host}/berth/busybox", "latest"]
               for r in rows[1:]), rows
    assert len(crictl(bd, "images", "berth/busybox").stdout.splitlines()) == 2
    assert len(crictl(bd, "images", "berth/app").stdout.splitlines()) == 1
    js = json.loads(crictl(bd, "images", "-o", "json").stdout)
    assert [i["id"] for i in js["images"]] == [img.config_digest]
    ins = json.loads(crictl(bd, "inspecti", "berth/busybox").stdout)
    assert ins["status"]["id"] == img.config_digest
    assert ins["info"]["imageSpec"]["os"] == "linux"
    fs = json.loads(crictl(bd, "imagefsinfo").stdout)["status"]
    assert int(fs["usedBytes"]["value"]) > img.layers[0][2]
    out = crictl(bd, "rmi", f"{reg.host}/berth/busybox:latest").stdout
    assert "Deleted" in out
    assert crictl(bd, "images", "-q").stdout.strip() == ""
    r = crictl(bd, "inspecti", "berth/busybox", check=False)
    assert r.returncode != 0
    private = f"{auth_reg.host}/berth/busybox"
    r = crictl(bd, "pull", private, check=False)
    assert r.returncode != 0 and "none were given" in r.stderr
    out = crictl(bd, "pull", "--creds", "alice:s3cret", private).stdout
    assert img.config_digest in out


def test_pinned_images_from_config(reg, make_berthd):
    """pinned_images (exact names and prefix* globs) marks images pinned in
    ListImages and ImageStatus, so kubelet's GC leaves them; RemoveImage
    still removes them."""
    b = make_berthd(extra_args=[
        "--insecure-registry", reg.host,
        "--pinned-image", f"{reg.host}/berth/busybox:latest",
        "--pinned-image", f"{reg.host}/berth/ap*"]).start()
    for n in ("berth/busybox", "berth/app", "berth/layers"):
        pull(b, f"{reg.host}/{n}:latest")
    pinned = {t: i.pinned for i in listed(b) for t in i.repo_tags}
    assert pinned == {f"{reg.host}/berth/busybox:latest": True,
                      f"{reg.host}/berth/app:latest": True,
                      f"{reg.host}/berth/layers:latest": False}
    assert status(b, f"{reg.host}/berth/app:latest").image.pinned
    assert not status(b, f"{reg.host}/berth/layers:latest").image.pinned
    info = json.loads(status(b, f"{reg.host}/berth/busybox:latest", verbose=True).info["info"])
    assert info["pinned"] is True
    remove(b, f"{reg.host}/berth/app:latest")
    assert not status(b, f"{reg.host}/berth/app:latest").HasField("image")
