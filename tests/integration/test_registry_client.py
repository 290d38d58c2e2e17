"""The registry client (image/registry*.c) against real docker-registry
processes and a misbehaving fake, driven through tests/tools/registry-fetch:
pulls of every fixture image kind, short names and registries.conf,
Basic and Bearer auth, redirects, retries, mirrors, deadlines, and every
way a blob can be wrong. Needs no root and no berthd."""

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
import fake_registry  # noqa: E402
import images  # noqa: E402
import registry  # noqa: E402

SAN = os.environ.get("BERTH_SAN") == "1"
TOOLS = Path(os.environ.get(
    "BERTH_TOOLS_DIR",
    REPO / "build" / ("asan" if SAN else "release") / "tests" / "tools"))
FETCH = TOOLS / "registry-fetch"

OK, CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 1, 3, 4, 5
PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION = 7, 8, 9
UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED = 14, 15, 16

pytestmark = pytest.mark.skipif(not FETCH.exists(),
                                reason=f"{FETCH} not built")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Fetch:
    """One run of registry-fetch: its JSON answer and the output dir."""

    def __init__(self, out, outdir, stderr, elapsed):
        self.out = out
        self.outdir = Path(outdir)
        self.stderr = stderr
        self.elapsed = elapsed

    @property
    def code(self):
        return self.out["error"]["code"] if "error" in self.out else OK

    @property
    def message(self):
        return self.out.get("error", {}).get("message", "")

    def blob(self, digest):
        return self.outdir / "blobs" / "sha256" / digest.split(":", 1)[1]

    def blobs(self):
        d = self.outdir / "blobs" / "sha256"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []


def fetch(image, tmp_path, *args, timeout=60):
    outdir = tmp_path / f"out-{time.monotonic_ns()}"
    env = dict(os.environ)
    env.pop("REGISTRY_AUTH_FILE", None)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    if SAN:
        env["ASAN_OPTIONS"] = "detect_leaks=1"
    start = time.monotonic()
    res = subprocess.run([str(FETCH), "--backoff-ms", "20", *args, image,
                          str(outdir)], capture_output=True, text=True,
                         env=env, timeout=timeout)
    elapsed = time.monotonic() - start
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in res.stderr, res.stderr
    assert res.returncode in (0, 1), res.stderr
    out = json.loads(res.stdout)
    assert (res.returncode == 0) == ("error" not in out), res.stdout
    return Fetch(out, outdir, res.stderr, elapsed)


def assert_image(f, img):
    """The fetch got img's manifest, config and layers, intact."""
    assert f.code == OK, f.message
    assert f.out["manifest"] == img.digest
    assert f.out["config"] == img.config_digest
    assert f.out["layers"] == [d for _, d, _ in img.layers]
    assert f.out["aborted"] == []
    for digest in [img.digest, img.config_digest] + f.out["layers"]:
        assert sha256(f.blob(digest).read_bytes()) == digest
    assert not [n for n in f.blobs() if n.endswith(".partial")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return images.build_all(tmp_path_factory.mktemp("images"))


def push_all(built, reg):
    for name in ("busybox", "layers", "app"):
        registry.push(built[name].layout, "latest", reg, f"berth/{name}")
    registry.push(built["multiarch"].layout, "latest", reg, "berth/multiarch",
                  all_images=True)
    registry.push(built["busybox-docker"].layout, "latest", reg,
                  "berth/busybox-docker", docker=True)


@pytest.fixture(scope="module")
def reg(built):
    with registry.Registry() as r:
        push_all(built, r)
        yield r


@pytest.fixture(scope="module")
def auth_reg(built):
    with registry.Registry(auth=("alice", "s3cret")) as r:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        yield r


@pytest.fixture
def fake(built):
    repos = {f"berth/{n}": built[n].layout for n in
             ("busybox", "layers", "multiarch")}
    made = []

    def make(**kw):
        f = fake_registry.FakeRegistry(repos, **kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def conf(tmp_path, text):
    p = tmp_path / f"registries-{time.monotonic_ns()}.conf"
    p.write_text(text)
    return str(p)


# --- a real docker-registry ------------------------------------------------

@pytest.mark.parametrize("name", ["busybox", "layers", "app"])
def test_pull_oci_image(reg, built, tmp_path, name):
    f = fetch(f"{reg.host}/berth/{name}:latest", tmp_path)
    assert_image(f, built[name])
    assert f.out["endpoint"] == f"{reg.host}/berth/{name}"
    assert f.out["media_type"] == images.OCI_MANIFEST
    assert f.out["mirror"] is False


def test_pull_docker_schema2(reg, built, tmp_path):
    f = fetch(f"{reg.host}/berth/busybox-docker", tmp_path)
    assert_image(f, built["busybox-docker"])
    assert f.out["media_type"] == images.DOCKER_MANIFEST


@pytest.mark.parametrize("platform", ["linux/amd64", "linux/arm64/v8",
                                      "linux/arm64"])
def test_pull_index_selects_platform(reg, built, tmp_path, platform):
    f = fetch(f"{reg.host}/berth/multiarch", tmp_path, "--platform", platform)
    key = platform if platform != "linux/arm64" else "linux/arm64/v8"
    assert_image(f, built["multiarch"].platforms[key])
    assert f.out["index"] == built["multiarch"].digest


def test_pull_index_without_the_platform(reg, tmp_path):
    f = fetch(f"{reg.host}/berth/multiarch", tmp_path, "--platform",
              "linux/s390x")
    assert f.code == NOT_FOUND
    assert "linux/amd64" in f.message


def test_pull_by_digest(reg, built, tmp_path):
    img = built["layers"]
    f = fetch(f"{reg.host}/berth/layers@{img.digest}", tmp_path)
    assert_image(f, img)


def test_not_found(reg, tmp_path):
    f = fetch(f"{reg.host}/berth/busybox:nope", tmp_path)
    assert f.code == NOT_FOUND
    assert reg.host in f.message and "berth/busybox" in f.message
    assert "MANIFEST_UNKNOWN" in f.message
    f = fetch(f"{reg.host}/berth/nothing-here", tmp_path)
    assert f.code == NOT_FOUND


def test_short_name_tries_search_registries_in_order(reg, fake, built,
                                                     tmp_path):
    empty = fake()  # knows no berth/app
    empty.repos = {}
    c = conf(tmp_path, f'unqualified-search-registries = ["{empty.host}", '
                       f'"{reg.host}"]\nshort-name-mode = "enforcing"\n')
    f = fetch("berth/app", tmp_path, "--registries-conf", c)
    assert_image(f, built["app"])
    assert f.out["reference"] == f"{reg.host}/berth/app:latest"
    assert empty.count("/v2/berth/app/manifests/latest") == 1


def test_short_name_alias(reg, built, tmp_path):
    c = conf(tmp_path, f'[aliases]\n"bb" = "{reg.host}/berth/busybox"\n')
    f = fetch("bb", tmp_path, "--registries-conf", c, "--manifest-only")
    assert f.code == OK, f.message
    assert f.out["manifest"] == built["busybox"].digest


def test_blocked_registry(reg, tmp_path):
    c = conf(tmp_path, f'[[registry]]\nlocation = "{reg.host}"\n'
                       f'blocked = true\n')
    f = fetch(f"{reg.host}/berth/busybox", tmp_path, "--registries-conf", c)
    assert f.code == PERMISSION_DENIED
    assert "blocked" in f.message and reg.host in f.message


def test_location_rewrite(reg, built, tmp_path):
    c = conf(tmp_path, '[[registry]]\nprefix = "example.com/team"\n'
                       f'location = "{reg.host}/berth"\n')
    f = fetch("example.com/team/busybox", tmp_path, "--registries-conf", c)
    assert_image(f, built["busybox"])
    assert f.out["endpoint"] == f"{reg.host}/berth/busybox"


def test_bad_registries_conf(tmp_path):
    c = conf(tmp_path, "[[registry]]\nlocation = 'a.io'\nbogus = 1\n")
    f = fetch("busybox", tmp_path, "--registries-conf", c)
    assert f.code == INVALID_ARGUMENT
    assert f"{c}:3:1: unknown key \"bogus\"" in f.message


# --- mirrors -----------------------------------------------------------------

def test_mirrors_fall_back_to_the_source(reg, fake, built, tmp_path):
    missing = fake()
    missing.repos = {}
    dead = free_port()
    c = conf(tmp_path, f'[[registry]]\nlocation = "{reg.host}"\n'
                       f'[[registry.mirror]]\nlocation = "127.0.0.1:{dead}"\n'
                       f'[[registry.mirror]]\nlocation = "{missing.host}"\n')
    f = fetch(f"{reg.host}/berth/layers", tmp_path, "--registries-conf", c)
    assert_image(f, built["layers"])
    assert f.out["mirror"] is False
    assert f.out["endpoint"] == f"{reg.host}/berth/layers"
    assert missing.count("/manifests/latest") == 1
    assert f"127.0.0.1:{dead} (mirror)" in f.stderr
    assert f"{missing.host} (mirror)" in f.stderr


def test_mirror_serves(reg, fake, built, tmp_path):
    mirror = fake()
    c = conf(tmp_path, f'[[registry]]\nprefix = "example.com"\n'
                       f'location = "{reg.host}"\n'
                       f'[[registry.mirror]]\nlocation = "{mirror.host}"\n')
    f = fetch("example.com/berth/layers", tmp_path, "--registries-conf", c)
    assert_image(f, built["layers"])
    assert f.out["mirror"] is True
    assert f.out["endpoint"] == f"{mirror.host}/berth/layers"
    assert f"served by {mirror.host}/berth/layers (mirror)" in f.stderr


def test_mirror_missing_a_blob(reg, fake, built, tmp_path):
    """The mirror has the manifest but loses a layer: that blob comes from
    the source, the rest from the mirror."""
    mirror = fake()
    img = built["layers"]
    mirror.add_rule(img.layers[2][1], status=404)
    c = conf(tmp_path, f'[[registry]]\nprefix = "example.com"\n'
                       f'location = "{reg.host}"\n'
                       f'[[registry.mirror]]\nlocation = "{mirror.host}"\n')
    f = fetch("example.com/berth/layers", tmp_path, "--registries-conf", c)
    assert_image(f, img)
    assert f.out["mirror"] is True


def test_corrupt_mirror_manifest_falls_back(reg, fake, built, tmp_path):
    mirror = fake()
    img = built["busybox"]
    mirror.add_rule("/manifests/", corrupt=True)
    c = conf(tmp_path, f'[[registry]]\nprefix = "example.com"\n'
                       f'location = "{reg.host}"\n'
                       f'[[registry.mirror]]\nlocation = "{mirror.host}"\n')
    f = fetch(f"example.com/berth/busybox@{img.digest}", tmp_path,
              "--registries-conf", c)
    assert_image(f, img)
    assert f.out["mirror"] is False


# --- Basic auth against the real registry -----------------------------------

def test_basic_auth(auth_reg, built, tmp_path):
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path, "--user",
              "alice:s3cret")
    assert_image(f, built["busybox"])


def test_basic_auth_base64(auth_reg, built, tmp_path):
    b64 = base64.b64encode(b"alice:s3cret").decode()
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path, "--auth", b64)
    assert_image(f, built["busybox"])


def test_basic_auth_rejected(auth_reg, tmp_path):
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path, "--user",
              "alice:Xyzzy-pw", "--debug")
    assert f.code == UNAUTHENTICATED
    assert auth_reg.host in f.message and "rejected" in f.message
    assert "alice" in f.message and "Xyzzy" not in f.message
    assert "Xyzzy" not in f.stderr


def test_basic_auth_missing(auth_reg, tmp_path):
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path)
    assert f.code == UNAUTHENTICATED
    assert "none were given" in f.message


def test_auth_file(auth_reg, built, tmp_path):
    b64 = base64.b64encode(b"alice:s3cret").decode()
    bad = base64.b64encode(b"alice:nope").decode()
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {
        f"{auth_reg.host}/berth/busybox": {"auth": b64},
        auth_reg.host: {"auth": bad}}}))
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path, "--auth-file",
              str(auth))
    assert_image(f, built["busybox"])
    # The request's credentials win over the file for the source.
    f = fetch(f"{auth_reg.host}/berth/busybox", tmp_path, "--auth-file",
              str(auth), "--user", "alice:nope")
    assert f.code == UNAUTHENTICATED


# --- Bearer tokens (fake registry) -------------------------------------------

def test_bearer_token_flow(fake, built, tmp_path):
    f_reg = fake(auth="bearer", users={"bob": "pw"})
    f = fetch(f"{f_reg.host}/berth/layers", tmp_path, "--user", "bob:pw")
    assert_image(f, built["layers"])
    tokens = f_reg.matching("^/token")
    assert len(tokens) == 1, "the token is fetched once and cached"
    assert "scope=repository%3Aberth%2Flayers%3Apull" in tokens[0]["path"]
    assert "service=fake-registry" in tokens[0]["path"]
    assert tokens[0]["headers"]["Authorization"].startswith("Basic ")
    for r in f_reg.matching("^/v2/berth/layers/blobs/"):
        if r["headers"].get("Authorization"):
            assert r["headers"]["Authorization"] == "Bearer tok-0-bob"


def test_bearer_wrong_password(fake, tmp_path):
    f_reg = fake(auth="bearer", users={"bob": "pw"})
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--user", "bob:nope")
    assert f.code == UNAUTHENTICATED
    assert "token service" in f.message and "rejected" in f.message
    assert "\"bob\"" in f.message and "nope" not in f.message


def test_bearer_anonymous(fake, built, tmp_path):
    f_reg = fake(auth="bearer", anonymous=True)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert_image(f, built["busybox"])
    assert "Authorization" not in f_reg.matching("^/token")[0]["headers"]


def test_bearer_anonymous_refused(fake, tmp_path):
    f_reg = fake(auth="bearer")
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == UNAUTHENTICATED
    assert "none were given" in f.message


def test_identity_token(fake, built, tmp_path):
    f_reg = fake(auth="bearer", identity_tokens={"refresh-1": "carol"})
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--identity-token",
              "refresh-1")
    assert_image(f, built["busybox"])
    assert f_reg.count("^/token", method="POST") == 1


def test_registry_token(fake, built, tmp_path):
    f_reg = fake(auth="bearer", registry_tokens=["given-token"])
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--registry-token",
              "given-token")
    assert_image(f, built["busybox"])
    assert f_reg.count("^/token") == 0
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--registry-token",
              "other")
    assert f.code == UNAUTHENTICATED
    assert "registry token" in f.message


def test_expired_token_is_renewed(fake, built, tmp_path):
    f_reg = fake(auth="bearer", users={"bob": "pw"})
    # The registry forgets every token after the manifest: the next request
    # gets a 401 and the client must fetch a new token once.
    orig = f_reg.handler.manifest

    def forgetful(handler, *a):
        orig(handler, *a)
        f_reg.tokens.clear()

    f_reg.server.RequestHandlerClass.manifest = forgetful
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--user", "bob:pw")
    assert_image(f, built["busybox"])
    assert f_reg.count("^/token") == 2


# --- redirects ------------------------------------------------------------------

def test_redirect_drops_credentials(fake, built, tmp_path):
    img = built["layers"]
    with fake_registry.Storage([img.layout]) as storage:
        f_reg = fake(auth="bearer", users={"bob": "pw"},
                     redirect_blobs_to=storage)
        f = fetch(f"{f_reg.host}/berth/layers", tmp_path, "--user", "bob:pw")
        assert_image(f, img)
        got = storage.matching("^/storage/")
        assert len(got) == 1 + len(img.layers)
        for r in got:
            assert "Authorization" not in r["headers"], r
        assert all("?sig=xyz" in r["path"] for r in got)


# --- retries and HTTP errors -------------------------------------------------------

def test_retry_5xx_then_success(fake, built, tmp_path):
    f_reg = fake()
    img = built["busybox"]
    f_reg.add_rule("/manifests/latest", status=503, times=2)
    f_reg.add_rule(img.layers[0][1], status=500, times=1)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert_image(f, img)
    assert f_reg.count("/manifests/latest") == 3
    assert f_reg.count(img.layers[0][1]) == 2


def test_retry_429_with_retry_after(fake, built, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/latest", status=429, times=1,
                   headers={"Retry-After": "1"})
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert_image(f, built["busybox"])
    assert f.elapsed >= 1.0


def test_retries_give_up(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/", status=503)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--tries", "4")
    assert f.code == UNAVAILABLE
    assert "after 4 tries" in f.message and "HTTP 503" in f.message
    assert f_reg.count("/manifests/") == 4


def test_connection_refused(tmp_path):
    port = free_port()
    f = fetch(f"127.0.0.1:{port}/berth/busybox", tmp_path)
    assert f.code == UNAVAILABLE
    assert f"127.0.0.1:{port}" in f.message


def test_4xx_fails_at_once_with_the_registry_message(fake, tmp_path):
    f_reg = fake()
    body = json.dumps({"errors": [{"code": "DENIED", "message":
                                   "quota exceeded for team"}]}).encode()
    f_reg.add_rule("/manifests/", status=400, body=body)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == INVALID_ARGUMENT
    assert "DENIED: quota exceeded for team" in f.message
    assert f_reg.count("/manifests/") == 1


def test_403_is_permission_denied(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/", status=403)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == PERMISSION_DENIED
    assert f_reg.host in f.message and "denied" in f.message


# --- broken bodies -------------------------------------------------------------------

def test_truncated_blob_is_data_loss(fake, built, tmp_path):
    f_reg = fake()
    img = built["layers"]
    bad = img.layers[1][1]
    f_reg.add_rule(bad, truncate=100)
    f = fetch(f"{f_reg.host}/berth/layers", tmp_path)
    assert f.code == DATA_LOSS, f.message
    assert bad in f.message and "truncated" in f.message
    assert bad in f.out["aborted"]
    assert bad.split(":")[1] not in f.blobs()
    assert not [n for n in f.blobs() if n.endswith(".partial")]


def test_truncated_once_resumes_with_range(fake, built, tmp_path):
    f_reg = fake(ranges=True)
    img = built["busybox"]
    layer = img.layers[0][1]
    f_reg.add_rule(layer, truncate=50000, times=1)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert_image(f, img)
    reqs = f_reg.matching(layer)
    assert len(reqs) == 2
    assert reqs[1]["headers"].get("Range", "").startswith("bytes=")


def test_truncated_once_without_range_support(fake, built, tmp_path):
    f_reg = fake(ranges=False)
    img = built["busybox"]
    f_reg.add_rule(img.layers[0][1], truncate=50000, times=1)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert_image(f, img)


def test_wrong_digest_blob(fake, built, tmp_path):
    f_reg = fake()
    img = built["layers"]
    bad = img.layers[3][1]
    f_reg.add_rule(bad, corrupt=True)
    f = fetch(f"{f_reg.host}/berth/layers", tmp_path)
    assert f.code == DATA_LOSS
    assert f"blob {bad}" in f.message and "digest mismatch" in f.message
    assert bad in f.out["aborted"]
    assert bad.split(":")[1] not in f.blobs()


def test_overlong_blob(fake, built, tmp_path):
    f_reg = fake()
    img = built["busybox"]
    f_reg.add_rule(img.layers[0][1], extend=10)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == DATA_LOSS
    assert img.layers[0][1] in f.message
    assert f.out["aborted"] == [img.layers[0][1]]


def test_wrong_config_blob(fake, built, tmp_path):
    f_reg = fake()
    img = built["busybox"]
    f_reg.add_rule(img.config_digest, corrupt=True)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == DATA_LOSS
    assert img.config_digest in f.message


def test_manifest_by_digest_mismatch(fake, built, tmp_path):
    f_reg = fake()
    img = built["busybox"]
    f_reg.add_rule("/manifests/sha256:", corrupt=True)
    f = fetch(f"{f_reg.host}/berth/busybox@{img.digest}", tmp_path)
    assert f.code == DATA_LOSS
    assert img.digest in f.message


def test_garbage_manifest(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/latest", body=b"\x00\xffnot json at all",
                   content_type="text/html")
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == INVALID_ARGUMENT
    assert "manifest latest" in f.message


def test_schema1_manifest(fake, tmp_path):
    f_reg = fake()
    body = json.dumps({"schemaVersion": 1, "name": "berth/busybox",
                       "tag": "latest", "fsLayers": []}).encode()
    f_reg.add_rule("/manifests/latest", body=body, content_type=(
        "application/vnd.docker.distribution.manifest.v1+prettyjws"))
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == FAILED_PRECONDITION
    assert "schema 1" in f.message.lower() or "schema1" in f.message.lower()


def test_docker_content_digest_mismatch(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/latest", times=None, headers={
        "Docker-Content-Digest": "sha256:" + "0" * 64})
    # The rule's headers replace the normal answer: serve a real body.
    f_reg.rules[-1].status = None
    orig = f_reg.server.RequestHandlerClass.payload

    def lying(handler, body, rule, media, headers, status=200):
        if "Docker-Content-Digest" in headers and "/manifests/" in \
                handler.path:
            headers = dict(headers, **{"Docker-Content-Digest":
                                       "sha256:" + "0" * 64})
        orig(handler, body, rule, media, headers, status)

    f_reg.server.RequestHandlerClass.payload = lying
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == DATA_LOSS
    assert "Docker-Content-Digest" in f.message


def test_manifest_too_big(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/latest", body=b" " * (4 * 1024 * 1024 + 1),
                   content_type=images.OCI_MANIFEST)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path)
    assert f.code == RESOURCE_EXHAUSTED
    assert "larger than" in f.message


# --- time and parallelism ---------------------------------------------------------------

def test_deadline(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/", delay=5)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--timeout", "1")
    assert f.code == DEADLINE_EXCEEDED, f.message
    assert f.elapsed < 3


def test_backoff_never_passes_the_deadline(fake, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/manifests/", status=503)
    f = fetch(f"{f_reg.host}/berth/busybox", tmp_path, "--timeout", "0.5",
              "--backoff-ms", "2000", "--tries", "5")
    assert f.code == UNAVAILABLE
    assert "no time left" in f.message
    assert f.elapsed < 1.5


def test_cancel(fake, built, tmp_path):
    f_reg = fake()
    f_reg.add_rule("/blobs/", delay=5)
    f = fetch(f"{f_reg.host}/berth/layers", tmp_path, "--cancel-after-ms",
              "500")
    assert f.code == CANCELLED
    assert f.elapsed < 3


def test_parallel_downloads(fake, built, tmp_path):
    img = built["layers"]
    for parallel in (1, 2, 4):
        f_reg = fake()
        for _, digest, _ in img.layers:
            f_reg.add_rule(digest, delay=0.3, times=1)
        f_reg.rules.append(fake_registry.Rule("/blobs/"))
        f = fetch(f"{f_reg.host}/berth/layers", tmp_path, "--parallel",
                  str(parallel))
        assert_image(f, img)
        assert f_reg.max_active["blob"] == parallel, parallel


def test_one_failure_stops_the_others(fake, built, tmp_path):
    f_reg = fake()
    img = built["layers"]
    f_reg.add_rule(img.layers[0][1], status=404)
    for _, digest, _ in img.layers[1:]:
        f_reg.add_rule(digest, delay=2)
    f = fetch(f"{f_reg.host}/berth/layers", tmp_path, "--parallel", "5")
    assert f.code == NOT_FOUND
    assert img.layers[0][1] in f.message
    assert sorted(f.out["aborted"]) == sorted(d for _, d, _ in img.layers)
    assert f.elapsed < 1.5
