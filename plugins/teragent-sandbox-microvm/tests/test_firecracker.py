"""The Firecracker backend against a fake ``firecracker`` that speaks the real API.

No Firecracker binary exists on this project's machines, so the fake
(``fake_firecracker.py``) is put first on ``PATH``: the backend's whole control flow
(spawn, socket wait, configuration calls, start, console parsing, workspace copy-back,
timeout kill, 400 faults) runs for real, except the virtual machine.
"""

from __future__ import annotations

import asyncio
import json
import lzma
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from teragent.errors import RunError, SandboxUnavailableError
from teragent.security import execute_in_sandbox
from teragent.security.sandbox import list_sandboxes, select_sandbox
from teragent.testing.hosts import isolated_host

import teragent_sandbox_microvm
from teragent_sandbox_microvm import firecracker
from teragent_sandbox_microvm.firecracker import (
    FirecrackerAPIError,
    FirecrackerSandbox,
    extract_vmlinux,
    kvm_problem,
    merge_back,
    parse_console,
)

HERE = Path(__file__).parent
needs_tools = pytest.mark.skipif(
    firecracker._tool("mkfs.ext4") is None or firecracker._tool("debugfs") is None
    or firecracker.find_busybox() is None,
    reason="needs e2fsprogs (mkfs.ext4, debugfs) and busybox-static")

EDITS = ["write {made} made.txt", "mkdir newdir", "rm gone.txt"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install the fake as ``firecracker`` on PATH; returns a configure function."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "firecracker"
    script.write_text(f"#!{sys.executable}\n" + (HERE / "fake_firecracker.py").read_text())
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    # /dev/kvm here opens but is PVM-backed; the fake needs none, so the probe is skipped.
    monkeypatch.setattr(firecracker, "kvm_problem", lambda device="/dev/kvm": None)
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\x7fELF" + b"\0" * 60)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "keep.txt").write_text("kept\n")
    (ws / "gone.txt").write_text("to be deleted in the guest\n")

    class Fake:
        dir = bindir
        workspace = ws

        def configure(self, **config: Any) -> FirecrackerSandbox:
            (bindir / "fake_firecracker.json").write_text(json.dumps(config))
            return FirecrackerSandbox(kernel=str(kernel), api_timeout=5.0)

        def requests(self) -> list[dict[str, Any]]:
            path = bindir / "requests.jsonl"
            if not path.exists():
                return []
            return [json.loads(line) for line in path.read_text().splitlines()]

        def pid_alive(self) -> bool:
            pid = int((bindir / "pid").read_text())
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            # A zombie would still answer kill(0); the backend reaps its child.
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split()[2] != "Z"

    return Fake()


@needs_tools
def test_full_run_sends_the_spec_requests_and_reads_the_console(fake: Any) -> None:
    backend = fake.configure(mode="ok", rc=3, debugfs=EDITS,
                             output="ran: {cmd}\nenv: {env}")
    result = asyncio.run(backend.run("echo hi && exit 3", str(fake.workspace), 10,
                                     {"GREETING": "hello world"}))
    assert result.exit_code == 3 and not result.timed_out
    assert result.output.startswith("ran: echo hi && exit 3\n")
    assert "GREETING='hello world'" in result.output
    assert result.backend == "firecracker" and result.enforced["network"] == "none"
    reqs = fake.requests()
    assert [(r["method"], r["path"]) for r in reqs] == [
        ("PUT", "/logger"), ("PUT", "/metrics"), ("PUT", "/machine-config"),
        ("PUT", "/boot-source"), ("PUT", "/drives/rootfs"), ("PUT", "/drives/control"),
        ("PUT", "/drives/workspace"), ("PUT", "/actions")]
    assert all(r["content_type"] == "application/json" for r in reqs)
    bodies = {r["path"]: r["body"] for r in reqs}
    assert bodies["/machine-config"] == {"vcpu_count": 1, "mem_size_mib": 256}
    assert bodies["/boot-source"]["boot_args"].startswith("console=ttyS0 reboot=k")
    assert "init=/init" in bodies["/boot-source"]["boot_args"]
    assert bodies["/drives/rootfs"]["is_root_device"] is True
    assert bodies["/drives/rootfs"]["is_read_only"] is True
    assert bodies["/drives/workspace"] == {**bodies["/drives/workspace"],
                                           "is_root_device": False, "is_read_only": False}
    assert bodies["/actions"] == {"action_type": "InstanceStart"}
    # The guest's edits reached the host workspace; untouched files stayed.
    ws = fake.workspace
    assert (ws / "made.txt").read_text() == "written in the guest\n"
    assert (ws / "newdir").is_dir()
    assert not (ws / "gone.txt").exists()
    assert (ws / "keep.txt").read_text() == "kept\n"
    assert not (ws / "lost+found").exists()
    assert not fake.pid_alive()


@needs_tools
def test_timeout_kills_firecracker_and_leaves_the_workspace_alone(fake: Any) -> None:
    backend = fake.configure(mode="hang")
    result = asyncio.run(backend.run("sleep 100", str(fake.workspace), 1.5, {}))
    assert result.timed_out and result.exit_code == -1
    assert "timed out" in result.output and "Linux version 6.1.0 (fake)" in result.output
    assert (fake.workspace / "gone.txt").exists()
    assert sorted(p.name for p in fake.workspace.iterdir()) == ["gone.txt", "keep.txt"]
    assert not fake.pid_alive()


@needs_tools
def test_a_400_fault_becomes_a_clear_error(fake: Any) -> None:
    backend = fake.configure(mode="ok", fault="/drives/workspace",
                             fault_message="Unable to create the block device: "
                                           "Permission denied (os error 13)")
    with pytest.raises(FirecrackerAPIError) as info:
        asyncio.run(backend.run("true", str(fake.workspace), 10, {}))
    err = info.value
    assert isinstance(err, RunError)
    assert (err.method, err.path, err.status) == ("PUT", "/drives/workspace", 400)
    assert err.fault_message.endswith("Permission denied (os error 13)")
    assert "Firecracker refused PUT /drives/workspace (HTTP 400)" in str(err)
    assert not fake.pid_alive()
    assert (fake.workspace / "gone.txt").exists()


@needs_tools
def test_the_fake_rejects_bodies_the_spec_rejects(fake: Any, tmp_path: Path) -> None:
    # Guards the fake itself: the happy-path test only means something if it refuses
    # what the real API refuses.
    fake.configure(mode="hang")

    async def probe() -> list[tuple[str, int, str]]:
        sock = str(tmp_path / "api.sock")
        proc = await asyncio.create_subprocess_exec(
            "firecracker", "--api-sock", sock, stdout=asyncio.subprocess.DEVNULL)
        client = firecracker.FirecrackerClient(sock)
        out = []
        try:
            await FirecrackerSandbox()._wait_socket(
                sock, asyncio.ensure_future(proc.wait()),
                asyncio.ensure_future(asyncio.sleep(0)), 5.0, [])
            for path, body in (("/machine-config", {"vcpu_count": 1}),
                               ("/machine-config", {"vcpu_count": 1, "mem_size_mib": "x"}),
                               ("/boot-source", {"kernel_image_path": "/nope"}),
                               ("/drives/a", {"drive_id": "b", "is_root_device": True}),
                               ("/actions", {"action_type": "Start"}),
                               ("/actions", {"action_type": "InstanceStart"}),
                               ("/nope", {})):
                try:
                    await client.put(path, body)
                    out.append((path, 204, ""))
                except FirecrackerAPIError as exc:
                    out.append((path, exc.status, exc.fault_message))
        finally:
            await client.aclose()
            proc.kill()
            await proc.wait()
        return out

    got = asyncio.run(probe())
    assert all(status == 400 for _p, status, _m in got), got
    assert "missing field `mem_size_mib`" in got[0][2]
    assert "invalid type for `mem_size_mib`" in got[1][2]
    assert "Invalid kernel path" in got[2][2]
    assert "does not match" in got[3][2]
    assert "unknown variant `Start`" in got[4][2]
    assert "without kernel configuration" in got[5][2]
    assert "Invalid request method and/or path: PUT /nope." == got[6][2]


@needs_tools
def test_firecracker_dying_before_its_socket_is_reported(fake: Any) -> None:
    backend = fake.configure(mode="early_exit")
    with pytest.raises(FirecrackerAPIError, match=r"exited \(status 1\) before its API "
                                                  r"socket appeared: Error: Kvm"):
        asyncio.run(backend.run("true", str(fake.workspace), 10, {}))


@needs_tools
def test_registered_at_level_2_and_preferred_over_qemu(fake: Any) -> None:
    fake.configure(mode="ok", rc=0, debugfs=[], output="hi\n")
    with isolated_host(teragent_sandbox_microvm):
        infos = [i for i in list_sandboxes() if i.level == 2]
        assert [(i.name, i.priority) for i in infos][:2] == [("firecracker", 60),
                                                             ("microvm", 50)]
        # The fake is on PATH, but no kernel=... is configured: say what is missing.
        firecracker_info = infos[0]
        if not firecracker_info.available:
            with pytest.raises(SandboxUnavailableError):
                asyncio.run(execute_in_sandbox("true", str(fake.workspace), level=2,
                                               backend="firecracker"))
        else:  # a host with a Firecracker-ready vmlinux would pick it
            assert select_sandbox(level=2).name == "firecracker"


@pytest.mark.skipif(shutil.which("firecracker") is not None,
                    reason="a firecracker binary is installed here")
def test_the_real_backend_is_unavailable_here_and_says_why() -> None:
    ok, reason = FirecrackerSandbox().available()
    assert not ok
    assert "no `firecracker` binary on PATH" in reason


def test_unavailable_reasons_name_each_missing_piece(tmp_path: Path) -> None:
    ok, reason = FirecrackerSandbox(binary="no-such-firecracker",
                                    kernel=str(tmp_path / "missing-vmlinux"),
                                    kvm_device=str(tmp_path / "kvm")).available()
    assert not ok
    assert "no `no-such-firecracker` binary on PATH" in reason
    assert f"no usable {tmp_path / 'kvm'}: No such file or directory" in reason
    assert "missing-vmlinux is not readable" in reason
    assert kvm_problem(str(tmp_path / "kvm")) is not None


def test_extract_vmlinux_from_an_xz_bzimage() -> None:
    elf = b"\x7fELF" + bytes(range(256)) * 64
    image = b"MZ setup code \x1f\x8b\x08 not gzip " + lzma.compress(elf) + b"\0trailer"
    assert extract_vmlinux(image) == elf
    with pytest.raises(ValueError, match="no gzip, xz or zstd"):
        extract_vmlinux(b"MZ nothing here")


@pytest.mark.skipif(not any(Path("/boot").glob("vmlinuz-*")), reason="no /boot/vmlinuz-*")
def test_extract_vmlinux_from_the_host_kernel_and_the_module_check() -> None:
    bz = sorted(Path("/boot").glob("vmlinuz-*"))[-1]
    assert extract_vmlinux(bz.read_bytes())[:4] == b"\x7fELF"
    missing = firecracker._missing_builtins(str(bz))
    config = Path(f"/boot/config-{bz.name.removeprefix('vmlinuz-')}")
    if config.exists() and "\nCONFIG_VIRTIO_BLK=m" in config.read_text():
        assert "CONFIG_VIRTIO_BLK" in missing


@pytest.mark.skipif(firecracker.find_busybox() is None, reason="needs busybox")
def test_the_guest_init_is_valid_busybox_shell(tmp_path: Path) -> None:
    # The init never runs here (no guest boots); at least its syntax is checked.
    import subprocess

    script = tmp_path / "init"
    script.write_text(firecracker.GUEST_INIT)
    proc = subprocess.run([firecracker.find_busybox() or "busybox", "sh", "-n", str(script)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "reboot -f" in firecracker.GUEST_INIT and "umount /workspace" in firecracker.GUEST_INIT


def test_console_parsing_ignores_noise_and_other_nonces() -> None:
    import base64

    body = base64.encodebytes(b"line one\nline two\n").decode()
    console = ("boot noise\r\nTERAGENT-FC fake BEGIN 3\r\nZm9v\r\nTERAGENT-FC fake RC 0\r\n"
               "TERAGENT-FC fake END\r\n"
               f"TERAGENT-FC n1 BEGIN 18\r\n{body}[ 1.0] kernel: hi\r\n"
               "TERAGENT-FC n1 RC 7\r\nTERAGENT-FC n1 END\r\n")
    assert parse_console(console, "n1") == (7, "line one\nline two\n", 18)
    assert parse_console("TERAGENT-FC n1 BEGIN 0\r\n", "n1") is None


def test_merge_back_never_follows_symlinks(tmp_path: Path) -> None:
    dump, ws, outside = tmp_path / "dump", tmp_path / "ws", tmp_path / "outside"
    for d in (dump, ws, outside):
        d.mkdir()
    (ws / "d").mkdir()
    (ws / "d" / "f").write_text("old")
    (dump / "d").symlink_to(outside)  # the guest replaced a directory by a symlink
    (dump / "x").write_text("new")
    merge_back(str(dump), str(ws), {"d", os.path.join("d", "f")})
    assert (ws / "d").is_symlink() and os.readlink(ws / "d") == str(outside)
    assert list(outside.iterdir()) == []
    assert (ws / "x").read_text() == "new"
