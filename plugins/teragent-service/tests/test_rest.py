"""REST against a real server on loopback."""

from __future__ import annotations

from typing import Any as Svc


def test_health_and_create_list_get_delete(svc: Svc) -> None:
    assert svc.a.get("/health").json()["status"] == "ok"
    assert svc.a.post("/api/chat", json={"preset": "nope"}).status_code == 400
    cid = svc.create(preset="coding", enable_tracing=True, enable_approval=True)
    listed = svc.a.get("/api/conversations").json()
    assert [c["id"] for c in listed] == [cid]
    assert listed[0]["preset"] == "coding" and listed[0]["enable_approval"] is True
    got = svc.a.get(f"/api/conversations/{cid}").json()
    assert got["messages"] == [] and got["usage"]["total_tokens"] == 0
    names = {t["name"] for t in svc.a.get("/api/tools").json()}
    assert {"read_file", "write_file", "think"} <= names
    assert {"default", "coding"} <= {p["name"] for p in svc.a.get("/api/presets").json()}
    assert (svc.root / "alice" / cid).is_dir()
    assert svc.a.delete(f"/api/conversations/{cid}").status_code == 200
    assert svc.a.get(f"/api/conversations/{cid}").status_code == 404
    assert not (svc.root / "alice" / cid).exists()


def test_no_token_is_401(svc: Svc) -> None:
    import httpx

    assert httpx.get(svc.base + "/api/conversations").status_code == 401
    r = httpx.get(svc.base + "/api/conversations", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "nope" not in r.text
