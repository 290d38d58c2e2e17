"""Inside the test VM: a local registry holding the busybox test image.

Builds tests/fixtures' busybox image (from the guest's busybox-static),
starts a docker-registry on 127.0.0.1 with the fixture's Registry, pushes
the image, writes its reference ("127.0.0.1:PORT/busybox:latest") to the
file given, and serves until SIGTERM; then it stops the registry it
started.

Usage: python3 tests/vm/guest_registry.py REF_FILE
"""
import os
import signal
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))

import images  # noqa: E402
import registry  # noqa: E402


def main(ref_file):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="berth-vm-images-") as tmp:
        built = images.build_all(tmp)
        with registry.Registry() as reg:
            registry.push(built["busybox"].layout, images.TAG, reg, "busybox")
            ref = f"{reg.host}/busybox:{images.TAG}"
            with open(ref_file + ".tmp", "w") as f:
                f.write(ref + "\n")
            os.rename(ref_file + ".tmp", ref_file)
            print(f"guest registry: {ref}", flush=True)
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
