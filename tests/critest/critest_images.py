"""Look-alikes of the images critest v1.26.1 pulls, built offline.

critest's images live on registry.k8s.io and gcr.io; this machine has no
internet. Each image here is built from Debian's busybox-static with the
deterministic layer writer of tests/fixtures/images.py and carries only
what the specs check (pkg/validate/*.go of cri-tools v1.26.1):

  e2e-test-images/busybox:1.29-2   every busybox applet (hard links, as
                                   upstream: a mask on /bin/ls must not
                                   hide busybox itself), busybox-like
                                   /etc/passwd (www-data is uid 33), an
                                   `ipcs -m` and a `pgrep` (busybox has none)
  e2e-test-images/nginx:1.14-2     busybox httpd on :80; its process is named
                                   nginx, writes /var/run/nginx.pid and has
                                   "master process" in its command line
  e2e-test-images/httpd:2.4.39-4   busybox httpd on :80; logs Apache's
                                   "Command line: 'httpd -D FOREGROUND'"
  e2e-test-images/nonewprivs:1.3   a setuid-root program that prints
                                   "Effective uid: N" (busybox drops setuid,
                                   so this one is compiled with cc -static)
  k8s-staging-cri-tools/...        hostnet-nginx-amd64 (httpd on :12003),
                                   test-image-user-* (USER 1002, www-data,
                                   1003:1004, www-data:1004),
                                   test-image-predefined-group (uid 1000 in
                                   gid 50000), test-image-{latest,1,2,3},
                                   test-image-tags:{1,2,3} (one image),
                                   test-image-tag:{test,all} (two images)

test-image-digest is pinned by a digest of the real image; no local build
can match it, so its spec is skipped (see README.md).

Usage: /usr/bin/python3 tests/critest/critest_images.py OUTDIR
       (builds every layout; prints {"repo:tag": layout dir})
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))

import images as fx  # noqa: E402

K8S = "registry.k8s.io/e2e-test-images/"
CRI = "gcr.io/k8s-staging-cri-tools/"

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65534:
"""

# busybox has no ipcs: list System V shared memory the way critest reads
# it (it looks for the segment id in the output).
IPCS = """\
#!/bin/sh
# ipcs look-alike for critest: shared memory segments of this IPC namespace
echo "------ Shared Memory Segments --------"
echo "key shmid owner perms bytes nattch"
tail -n +2 /proc/sysvipc/shm | while read key id perms size rest; do
    echo "$key $id $perms $size"
done
"""

PGREP = """\
#!/bin/sh
# pgrep look-alike: pids of processes with this name
exec pidof "$1"
"""

# The process is exec'd through a file named nginx (comm "nginx", what
# pidof matches), argv[0] starts with "busybox" (so busybox runs argv[1] as
# the applet) and holds "master process", as real nginx's title does.
NGINX = """\
#!/bin/sh
# nginx look-alike for critest: busybox httpd under nginx's name
mkdir -p /var/run
echo $$ > /var/run/nginx.pid
exec -a "busybox nginx: master process nginx -g daemon off;" \\
    /usr/lib/nginx/nginx httpd -f -p "${NGINX_PORT:-80}" -h /usr/share/nginx/html
"""

HTTPD = """\
#!/bin/sh
# httpd look-alike for critest: Apache's start line, then busybox httpd
echo "[core:notice] AH00094: Command line: 'httpd -D FOREGROUND'"
exec httpd -f -p 80 -h /usr/local/apache2/htdocs
"""

NNP_C = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }
"""

INDEX = "<html><body><h1>It works!</h1></body></html>\n"


def applets():
    out = subprocess.run([fx.BUSYBOX, "--list"], check=True,
                         capture_output=True, text=True).stdout.split()
    return sorted(set(out) - {"busybox", "ipcs", "pgrep"})


def busybox_layer():
    with open(fx.BUSYBOX, "rb") as fp:
        busybox = fp.read()
    e = [fx.d(p) for p in ("bin", "dev", "etc", "home", "proc", "sys", "usr",
                           "usr/bin", "usr/sbin", "usr/local",
                           "usr/local/bin", "var", "var/run", "var/www")]
    e += [fx.d("root", 0o700), fx.d("tmp", 0o1777),
          fx.d("var/tmp", 0o1777),
          fx.f("bin/busybox", busybox, 0o755),
          fx.f("bin/ipcs", IPCS, 0o755), fx.f("bin/pgrep", PGREP, 0o755),
          fx.f("etc/passwd", PASSWD), fx.f("etc/group", GROUP)]
    # Hard links, as in the busybox image: critest masks /bin/ls, and a
    # mask over a symlink would hide busybox itself.
    e += [fx.hard(f"bin/{a}", "bin/busybox") for a in applets()]
    return fx.make_layer("critest-busybox", e)


def file_layer(name, path, data, mode=0o644, dirs=()):
    return fx.make_layer(name, [fx.d(p) for p in dirs] +
                         [fx.f(path, data, mode)])


def nginx_layer():
    return fx.make_layer("nginx", [
        fx.d("usr"), fx.d("usr/sbin"), fx.d("usr/lib"), fx.d("usr/lib/nginx"),
        fx.d("usr/share"), fx.d("usr/share/nginx"),
        fx.d("usr/share/nginx/html"),
        fx.f("usr/sbin/nginx", NGINX, 0o755),
        fx.sym("usr/lib/nginx/nginx", "/bin/busybox"),
        fx.f("usr/share/nginx/html/index.html", INDEX),
    ])


def httpd_layer():
    return fx.make_layer("httpd", [
        fx.d("usr"), fx.d("usr/local"), fx.d("usr/local/bin"),
        fx.d("usr/local/apache2"), fx.d("usr/local/apache2/htdocs"),
        fx.f("usr/local/bin/httpd-foreground", HTTPD, 0o755),
        fx.f("usr/local/apache2/htdocs/index.html", INDEX),
    ])


def nnp_layer():
    """A setuid-root static program: busybox drops setuid privileges for
    every applet but su and a few others, so it cannot stand in."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("nonewprivs image needs a C compiler (cc)")
    with tempfile.TemporaryDirectory(prefix="berth-nnp-") as tmp:
        src, out = Path(tmp) / "nnp.c", Path(tmp) / "nnp"
        src.write_text(NNP_C)
        subprocess.run([cc, "-static", "-Os", "-s", "-o", str(out), str(src)],
                       check=True)
        data = out.read_bytes()
    return fx.make_layer("nonewprivs", [
        fx.d("usr"), fx.d("usr/local"), fx.d("usr/local/bin"),
        fx.f("usr/local/bin/nnp", data, 0o4755)])


def predefined_group_layer():
    return fx.make_layer("predefined-group", [
        fx.d("etc"), fx.d("home"), fx.d("home/default-user", 0o755, 1000, 1000),
        fx.f("etc/passwd", PASSWD +
             "default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n"),
        fx.f("etc/group", GROUP + "default-user:x:1000:\n"
             "group-defined-in-image:x:50000:default-user\n"),
    ])


def cfg(**kw):
    """Image config: busybox's PATH and Cmd plus the given keys."""
    extra = {"Env": [fx.PATH_ENV], "Cmd": ["sh"]}
    extra.update(kw)
    return extra


def images():
    """{repo:tag: (layers, config extra)}: what critest pulls."""
    bb = busybox_layer()
    web = nginx_layer()
    out = {
        K8S + "busybox:1.29-2": ([bb], cfg()),
        K8S + "nginx:1.14-2": ([bb, web], cfg(
            Cmd=["nginx", "-g", "daemon off;"], StopSignal="SIGQUIT",
            ExposedPorts={"80/tcp": {}})),
        K8S + "httpd:2.4.39-4": ([bb, httpd_layer()], cfg(
            Cmd=["httpd-foreground"], StopSignal="SIGWINCH",
            ExposedPorts={"80/tcp": {}})),
        K8S + "nonewprivs:1.3": ([bb, nnp_layer()], cfg(
            Cmd=["/usr/local/bin/nnp"])),
        CRI + "hostnet-nginx-amd64:latest": ([bb, web], cfg(
            Env=[fx.PATH_ENV, "NGINX_PORT=12003"],
            Cmd=["nginx", "-g", "daemon off;"])),
        CRI + "test-image-user-uid:latest": ([bb], cfg(User="1002")),
        CRI + "test-image-user-username:latest": ([bb], cfg(User="www-data")),
        CRI + "test-image-user-uid-group:latest": ([bb], cfg(User="1003:1004")),
        CRI + "test-image-user-username-group:latest": (
            [bb], cfg(User="www-data:1004")),
        CRI + "test-image-predefined-group:latest": (
            [bb, predefined_group_layer()], cfg(User="1000")),
    }
    # test-image-X adds a file named X (the real Dockerfile's ADD ${TEST}).
    for name in ("test-image-latest", "test-image-1", "test-image-2",
                 "test-image-3"):
        out[CRI + name + ":latest"] = ([bb, file_layer(name, name, "")], cfg())
    same = ([bb, file_layer("same-image", "same-image", "")], cfg())
    for tag in ("1", "2", "3"):
        out[CRI + f"test-image-tags:{tag}"] = same
    for tag in ("test", "all"):
        out[CRI + f"test-image-tag:{tag}"] = ([bb, file_layer(tag, tag, "")],
                                              cfg())
    return out


def build(outdir):
    """One OCI layout per image under outdir; {repo:tag: layout dir}."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    built = {}
    for ref, (layers, extra) in images().items():
        name = ref.replace("/", "_").replace(":", "_")
        img = fx.single_image(outdir, name, layers, extra=extra)
        built[ref] = str(img.layout)
    return built


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(build(argv[1]), sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
