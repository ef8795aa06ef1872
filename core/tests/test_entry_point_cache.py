"""The entry-point cache (``teragent._entry_points``): a warm start skips the scan (and the
import of importlib.metadata), and every change to what is installed is seen.

Each case runs a real interpreter with a temporary directory of distributions on
``PYTHONPATH`` and its own cache directory; whether the scan ran is read from
``sys.modules`` in that process (nothing else there imports importlib.metadata).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from teragent._entry_points import CachedEntryPoint

PROBE = (
    "import json, sys; from teragent._entry_points import entry_points; "
    "eps = entry_points('teragent_cache_probe'); "
    "print(json.dumps({'scanned': 'importlib.metadata' in sys.modules, "
    "'eps': sorted([e.name, e.value, e.dist.name, e.dist.version] for e in eps)}))"
)


def _dist(site: Path, name: str, version: str, value: str) -> Path:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[teragent_cache_probe]\n{name} = {value}\n")
    return info


def _touch_later(path: Path) -> None:
    """Move the mtime forward so a change within one clock tick is still a change."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.fixture()
def probe(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *sys.path[1:]]),
               TERAGENT_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("TERAGENT_PLUGIN_CACHE", None)
    cwd = tmp_path / "cwd"  # on sys.path too (``-c``); nothing changes in it
    cwd.mkdir()

    def run(**extra: str) -> dict:
        out = subprocess.run([sys.executable, "-c", PROBE], env={**env, **extra},
                             cwd=cwd, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    run.site = site  # type: ignore[attr-defined]
    run.cache = tmp_path / "cache"  # type: ignore[attr-defined]
    return run


def test_a_warm_start_uses_the_cache_and_sees_every_change(probe) -> None:
    site = probe.site
    first = _dist(site, "probe_a", "1.0", "probe_a_mod")
    cold = probe()
    assert cold == {"scanned": True, "eps": [["probe_a", "probe_a_mod", "probe_a", "1.0"]]}
    warm = probe()
    assert warm == {"scanned": False, "eps": cold["eps"]}

    # an edit in place of entry_points.txt (no directory changes)
    (first / "entry_points.txt").write_text("[teragent_cache_probe]\nprobe_a = other:obj\n")
    _touch_later(first / "entry_points.txt")
    edited = probe()
    assert edited == {"scanned": True, "eps": [["probe_a", "other:obj", "probe_a", "1.0"]]}
    assert probe()["scanned"] is False

    # an install
    _dist(site, "probe_b", "2.0", "probe_b_mod")
    _touch_later(site)
    installed = probe()
    assert installed["scanned"] is True
    assert [e[0] for e in installed["eps"]] == ["probe_a", "probe_b"]

    # an uninstall
    for f in first.iterdir():
        f.unlink()
    first.rmdir()
    _touch_later(site)
    removed = probe()
    assert removed == {"scanned": True, "eps": [["probe_b", "probe_b_mod", "probe_b", "2.0"]]}


def test_a_broken_or_unwritable_cache_falls_back_to_the_scan(probe, tmp_path: Path) -> None:
    _dist(probe.site, "probe_a", "1.0", "probe_a_mod")
    expected = [["probe_a", "probe_a_mod", "probe_a", "1.0"]]
    probe()
    [cache_file] = probe.cache.iterdir()
    cache_file.write_text("{not json")
    assert probe() == {"scanned": True, "eps": expected}
    assert probe()["scanned"] is False  # rewritten by the scan

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for _ in range(2):  # the cache directory cannot be created: scanned each time
        assert probe(TERAGENT_CACHE_DIR=str(blocked / "cache")) == {"scanned": True,
                                                                    "eps": expected}


def test_the_cache_can_be_turned_off(probe) -> None:
    _dist(probe.site, "probe_a", "1.0", "probe_a_mod")
    probe()
    assert probe(TERAGENT_PLUGIN_CACHE="0")["scanned"] is True


def test_a_cached_entry_point_loads_like_importlib_metadata_s() -> None:
    assert CachedEntryPoint("x", "os.path", "d", "1").load() is os.path
    assert CachedEntryPoint("x", "os:path.join", "d", "1").load() is os.path.join
    assert CachedEntryPoint("x", "os:path.join [extra]", "d", "1").load() is os.path.join
