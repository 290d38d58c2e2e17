"""Config files, drop-ins, flags and `berthd config`, through the binary."""
import os

import pytest

from conftest import run_berthd


@pytest.fixture
def confs(tmp_path):
    main = tmp_path / "berth.conf"
    main.write_text("")
    d = tmp_path / "berth.conf.d"
    d.mkdir()
    return main, d


def berthd_config(main, d, *flags):
    return run_berthd("--config", str(main), "--config-dir", str(d), *flags, "config")


def value(text, key):
    for line in text.splitlines():
        if line.startswith(key + " = "):
            return line.split(" = ", 1)[1]
    raise KeyError(key)


def test_defaults_without_any_file(tmp_path):
    r = run_berthd("--config-dir", str(tmp_path / "none"), "config")
    assert r.returncode == 0, r.stderr
    assert value(r.stdout, "root") == '"/var/lib/berth"'
    assert value(r.stdout, "runroot") == '"/run/berth"'
    assert value(r.stdout, "listen") == '"/run/berth/berth.sock"'
    assert value(r.stdout, "cni_conf_dir") == '"/etc/cni/net.d"'
    assert value(r.stdout, "cni_plugin_dirs") == '["/usr/lib/cni", "/opt/cni/bin"]'
    assert value(r.stdout, "grpc_max_recv_msg_size") == str(16 * 1024 * 1024)
    assert "[berth.runtime.runtimes.crun]" in r.stdout
    assert "[berth.runtime.runtimes.runc]" in r.stdout


def test_printed_config_is_accepted_back_unchanged(confs, tmp_path):
    main, d = confs
    main.write_text('[berth]\nlog_level = "debug"\n[berth.runtime.runtimes.special]\n'
                    'runtime_path = "/usr/bin/runc"\nruntime_root = "/run/special"\n'
                    '[berth.image]\ninsecure_registries = ["127.0.0.1:5000", "quote\\"d"]\n')
    first = berthd_config(main, d)
    assert first.returncode == 0, first.stderr
    again = tmp_path / "again.conf"
    again.write_text(first.stdout)
    second = berthd_config(again, d)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "[berth.runtime.runtimes.special]" in first.stdout


def test_dropins_in_lexical_order_then_flags(confs):
    main, d = confs
    main.write_text('[berth]\nlog_level = "error"\nroot = "/srv/berth"\n')
    (d / "20-b.conf").write_text('[berth]\nlog_level = "warn"\n')
    (d / "10-a.conf").write_text('[berth]\nlog_level = "debug"\nrunroot = "/run/b2"\n')
    (d / "30-ignored.txt").write_text('this is not toml')
    r = berthd_config(main, d)
    assert r.returncode == 0, r.stderr
    assert value(r.stdout, "log_level") == '"warn"'
    assert value(r.stdout, "root") == '"/srv/berth"'
    assert value(r.stdout, "runroot") == '"/run/b2"'
    r = berthd_config(main, d, "--log-level", "trace", "--listen", "unix:///tmp/x.sock",
                      "--cni-plugin-dir", "/a,/b", "--cni-plugin-dir", "/c")
    assert r.returncode == 0, r.stderr
    assert value(r.stdout, "log_level") == '"trace"'
    assert value(r.stdout, "listen") == '"/tmp/x.sock"'
    assert value(r.stdout, "cni_plugin_dirs") == '["/a", "/b", "/c"]'


@pytest.mark.parametrize("text,where,what", [
    ('[berth]\nroot = "/x"\n  bogus = 1\n', ":3:3:", 'unknown key "bogus" in [berth]'),
    ('[berth]\nroot = \n', ":2:8:", ""),
    ('[berth.runtime]\npids_limit = "many"\n', ":2:14:", "pids_limit must be an integer"),
    ('[berth]\nlog_level = "loud"\n', ":2:13:", "log_level must be one of"),
    ('[berth]\nroot = "relative/path"\n', ":2:8:", "absolute path"),
    ('[nope]\nx = 1\n', ":1:2:", 'unknown key "nope"'),
    ('[berth.runtime.runtimes.x]\nruntime_path = "/bin/true"\nflavour = "oci"\n', ":3:1:",
     'unknown key "flavour" in [berth.runtime.runtimes.x]'),
])
def test_bad_config_file(confs, text, where, what):
    main, d = confs
    main.write_text(text)
    r = berthd_config(main, d)
    assert r.returncode == 2
    assert f"{main}{where}" in r.stderr, r.stderr
    assert what in r.stderr


def test_bad_dropin_names_its_file(confs):
    main, d = confs
    (d / "50-bad.conf").write_text('[berth.network]\ncni_conf_dirr = "/x"\n')
    r = berthd_config(main, d)
    assert r.returncode == 2
    assert f"{d}/50-bad.conf:2:1:" in r.stderr
    assert "cni_conf_dirr" in r.stderr


def test_missing_explicit_config_is_an_error(tmp_path):
    r = run_berthd("--config", str(tmp_path / "missing.conf"), "config")
    assert r.returncode == 2
    assert "missing.conf" in r.stderr


def test_bad_flag_values(confs):
    main, d = confs
    r = berthd_config(main, d, "--pids-limit", "lots")
    assert r.returncode == 2 and "--pids-limit" in r.stderr
    r = berthd_config(main, d, "--cgroup-manager", "magic")
    assert r.returncode == 2 and "cgroup_manager must be one of" in r.stderr
    r = berthd_config(main, d, "--default-runtime", "nosuch")
    assert r.returncode == 2 and 'default_runtime "nosuch"' in r.stderr
    r = berthd_config(main, d, "--no-such-flag")
    assert r.returncode == 2


def test_bad_config_stops_daemon_start(confs):
    main, d = confs
    main.write_text("[berth]\nlisten = 42\n")
    r = run_berthd("--config", str(main), "--config-dir", str(d))
    assert r.returncode == 2
    assert f"{main}:2:10: berth.listen must be a string, not an integer" in r.stderr


def test_shipped_berth_conf_shows_every_key(tmp_path):
    """contrib/berth.conf (the package's conffile) is accepted as it is and
    names every key berthd knows, commented out with its default."""
    shipped = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "berth.conf")
    r = run_berthd("--config", shipped, "--config-dir", str(tmp_path), "config")
    assert r.returncode == 0, r.stderr
    with open(shipped) as f:
        text = f.read()
    keys = [line.split("=")[0].strip() for line in r.stdout.splitlines()
            if "=" in line and not line.startswith(("#", "["))]
    assert keys
    missing = [k for k in keys if f"# {k} = " not in text]
    assert missing == []


def test_pinned_images(confs):
    main, d = confs
    r = berthd_config(main, d)
    assert value(r.stdout, "pinned_images") == "[]"
    main.write_text('[berth.image]\npinned_images = ["registry.k8s.io/pause:3.10", "quay.io/ns/*"]\n')
    r = berthd_config(main, d, "--pinned-image", "docker.io/library/busybox:latest")
    assert r.returncode == 0, r.stderr
    # A flag replaces the file's list, as for every list key.
    assert value(r.stdout, "pinned_images") == '["docker.io/library/busybox:latest"]'
    r = berthd_config(main, d)
    assert value(r.stdout, "pinned_images") == '["registry.k8s.io/pause:3.10", "quay.io/ns/*"]'
    for bad in ("*", "quay.io/*/app", "*pause"):
        r = berthd_config(main, d, "--pinned-image", bad)
        assert r.returncode == 2, bad
        assert "pinned_images entry" in r.stderr and bad in r.stderr
