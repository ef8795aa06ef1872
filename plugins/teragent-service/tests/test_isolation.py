"""Users cannot reach each other's conversations, files or WebSockets; paths stay in
the workspace; uploads have a per-file limit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest


def _all_files(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root)
            for d, _, fs in os.walk(root) for f in fs}


def test_user_b_gets_404_everywhere(svc: Any) -> None:
    cid = svc.create([])
    svc.a.post(f"/api/conversations/{cid}/upload",
               files={"files": ("secret.txt", b"alice only")})
    b = svc.b
    assert b.get("/api/conversations").json() == []
    for method, path in [("GET", f"/api/conversations/{cid}"),
                         ("DELETE", f"/api/conversations/{cid}"),
                         ("GET", f"/api/conversations/{cid}/files"),
                         ("GET", f"/api/conversations/{cid}/file/secret.txt"),
                         ("GET", f"/api/workspace/files?conversation_id={cid}"),
                         ("GET", f"/api/workspace/file/secret.txt?conversation_id={cid}")]:
        r = b.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert "alice only" not in r.text
    r = b.post(f"/api/conversations/{cid}/upload", files={"files": ("x.txt", b"bob")})
    assert r.status_code == 404
    # Alice's conversation is untouched.
    assert svc.a.get(f"/api/conversations/{cid}").status_code == 200
    assert _all_files(svc.root / "alice" / cid) == {"secret.txt"}
    assert not (svc.root / "bob").exists() or not any((svc.root / "bob").rglob("x.txt"))


def test_user_b_websocket_is_refused_with_404(svc: Any) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    cid = svc.create([])
    with pytest.raises(InvalidStatus) as info:
        svc.connect(cid, token="bob-token-9876543210")
    assert info.value.response.status_code == 404
    # A browser-style client authenticating with a first message is closed with 4404.
    with connect(f"{svc.ws_base}/api/chat/{cid}/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": "bob-token-9876543210"}))
        with pytest.raises(Exception):
            ws.recv(timeout=10)
        assert ws.close_code == 4404
    # ... and alice, the same way, gets her events.
    with connect(f"{svc.ws_base}/api/chat/{cid}/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": "alice-token-0123456789"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"


@pytest.mark.parametrize("path", ["../../etc/passwd", "..%2f..%2fsecret", "/etc/passwd",
                                  ".env", "sub/../../x", "%2e%2e/x"])
def test_read_outside_or_protected_is_refused(svc: Any, path: str) -> None:
    cid = svc.create([])
    (svc.root / "alice" / cid / ".env").write_text("KEY=hunter2")
    r = svc.a.get(f"/api/conversations/{cid}/file/{path}")
    assert r.status_code in (400, 403, 404), r.text
    assert "hunter2" not in r.text and "root:" not in r.text


def test_symlink_out_of_the_workspace_is_refused(svc: Any, tmp_path: Path) -> None:
    cid = svc.create([])
    outside = tmp_path / "outside.txt"
    outside.write_text("outside secret")
    os.symlink(outside, svc.root / "alice" / cid / "link.txt")
    r = svc.a.get(f"/api/conversations/{cid}/file/link.txt")
    assert r.status_code == 400 and "outside secret" not in r.text
    assert "link.txt" not in json.dumps(svc.a.get(f"/api/conversations/{cid}/files").json())


@pytest.mark.parametrize("subdir,name", [("../..", "evil.txt"), ("", "../evil.txt"),
                                         ("/tmp", "evil.txt"), ("a/../../..", "e.txt"),
                                         ("", ".env"), (".teragent", "audit.jsonl")])
def test_upload_cannot_escape_or_touch_protected_paths(svc: Any, tmp_path: Path,
                                                        subdir: str, name: str) -> None:
    cid = svc.create([])
    before = _all_files(tmp_path)
    r = svc.a.post(f"/api/conversations/{cid}/upload", params={"subdir": subdir},
                   files={"files": (name, b"payload")})
    if r.status_code == 200:  # only a plain file name inside the workspace is accepted
        (uploaded,) = r.json()["uploaded"]
        assert (svc.root / "alice" / cid / uploaded).resolve().is_relative_to(
            (svc.root / "alice" / cid).resolve())
        assert not uploaded.startswith((".env", ".teragent"))
    else:
        assert r.status_code in (400, 403)
    new = _all_files(tmp_path) - before
    assert all(p.startswith(f"root/alice/{cid}/") or p.startswith("db/") for p in new), new


def test_upload_limits_subdir_and_read_back(svc: Any) -> None:
    cid = svc.create([])
    r = svc.a.post(f"/api/conversations/{cid}/upload", params={"subdir": "data/in"},
                   files=[("files", ("a.py", b"print('hi')\n")),
                          ("files", ("b.bin", b"\x00\x01\x02"))])
    assert r.json()["uploaded"] == ["data/in/a.py", "data/in/b.bin"]
    f = svc.a.get(f"/api/conversations/{cid}/file/data/in/a.py").json()
    assert f["language"] == "python" and f["content"] == "print('hi')\n"
    assert f["binary"] is False
    b = svc.a.get(f"/api/conversations/{cid}/file/data/in/b.bin").json()
    assert b["binary"] is True and b["content"] is None
    big = b"x" * (64 * 1024 + 1)
    r = svc.a.post(f"/api/conversations/{cid}/upload",
                   files=[("files", ("ok.txt", b"fine")), ("files", ("big.txt", big))])
    assert r.status_code == 413 and "per-file limit" in r.json()["detail"]
    names = {f["path"] for f in svc.a.get(f"/api/conversations/{cid}/files").json()["files"]}
    assert names == {"data/in/a.py", "data/in/b.bin"}  # nothing of the refused batch
    (svc.root / "alice" / cid / "long.md").write_text("y" * 5000)
    long = svc.a.get(f"/api/conversations/{cid}/file/long.md").json()
    assert long["truncated"] is True and len(long["content"]) == 1000
    assert long["language"] == "markdown" and long["size"] == 5000


def test_tokens_never_appear_in_events_or_answers(svc: Any, caplog: Any) -> None:
    from teragent.testing.scripted import reply

    cid = svc.create([reply("hello")], enable_tracing=True, enable_approval=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "hi"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
    blob = json.dumps(seen) + svc.a.get(f"/api/conversations/{cid}").text \
        + svc.a.get("/api/conversations").text
    for token in ("alice-token-0123456789", "bob-token-9876543210"):
        assert token not in blob
        assert token not in caplog.text
    r = httpx.get(svc.base + "/api/conversations",
                  headers={"Authorization": "Bearer alice-token-0123456789x"})
    assert r.status_code == 401 and "alice-token" not in r.text


def test_the_agent_cannot_write_outside_its_workspace(svc: Any, tmp_path: Path) -> None:
    from teragent.testing.scripted import call_tool, reply

    other = svc.create([])   # another conversation of the same user, next door
    cid = svc.create([
        call_tool("write_file", {"path": f"../{other}/planted.txt", "content": "x"}),
        call_tool("write_file", {"path": str(tmp_path / "escape.txt"), "content": "x"}),
        call_tool("edit_file", {"path": "../../bob/x.txt", "old_string": "a",
                                "new_string": "b"}),
        reply("could not"),
    ])
    before = _all_files(tmp_path)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "escape"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
    results = [e for e in seen if e["type"] == "tool_result"]
    assert len(results) == 3 and not any(r["success"] for r in results)
    new = _all_files(tmp_path) - before
    assert all(p.startswith(f"root/alice/{cid}/") or p.startswith("db/") for p in new), new
