"""Tools from a Swagger 2.0 document kept as test data (``data/library-swagger2.yaml``),
served by a small Starlette implementation on loopback and called by an agent run built
from ``agent.toml``: ``in: body`` / ``formData`` / ``header`` / csv arrays, shared path
parameters and ``#/parameters`` refs, ``securityDefinitions`` (an API key in the query,
basic auth as the satisfiable alternative of an operation), a multipart operation left
out with its reason; the API key travels in the URL yet never reaches a log line, the
audit log or an event."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from teragent.compose import build_agent
from teragent.core.types import ToolSafety
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_openapi import OpenAPIToolset

SPEC = Path(__file__).parent / "data" / "library-swagger2.yaml"
LIB_KEY = "lib-key-8c7b6a5d4e3f2a1b0c9d"
STAFF_PASSWORD = "desk-pw-Zq81!x"


class Library:
    def __init__(self) -> None:
        self.books: dict[str, dict[str, Any]] = {
            "FI-0042": {"id": "FI-0042", "title": "The Quiet River", "available": True,
                        "authors": [{"name": "Ada Lind"}], "category": {"name": "fiction"}},
        }
        self.seen: list[dict[str, Any]] = []
        self.url = ""

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def note(request: Request) -> dict[str, Any]:
            body = (await request.body()).decode()
            rec = {"method": request.method, "path": request.url.path,
                   "query": dict(request.query_params), "body": body,
                   "headers": dict(request.headers)}
            self.seen.append(rec)
            return rec

        def key_ok(rec: dict[str, Any]) -> bool:
            return rec["query"].get("api_key") == LIB_KEY

        async def books(request: Request) -> Response:
            rec = await note(request)
            if request.method == "GET":
                if not key_ok(rec):
                    return JSONResponse({"error": "api_key"}, status_code=401)
                return JSONResponse(list(self.books.values()))
            want = "Basic " + base64.b64encode(f"desk:{STAFF_PASSWORD}".encode()).decode()
            if rec["headers"].get("authorization") != want:
                return JSONResponse({"error": "staff only"}, status_code=401)
            book = {"id": "HI-0001", "available": True, **json.loads(rec["body"])}
            self.books[book["id"]] = book
            return JSONResponse(book, status_code=201)

        async def book(request: Request) -> Response:
            rec = await note(request)
            if not key_ok(rec):
                return JSONResponse({"error": "api_key"}, status_code=401)
            bid = request.path_params["bookId"]
            if request.method == "DELETE":
                self.books.pop(bid, None)
                return Response(status_code=204)
            if bid not in self.books:
                return JSONResponse({"error": f"no book {bid}"}, status_code=404)
            return JSONResponse(self.books[bid])

        async def loans(request: Request) -> Response:
            rec = await note(request)
            if not key_ok(rec):
                return JSONResponse({"error": "api_key"}, status_code=401)
            form = dict(await request.form())
            return JSONResponse({"bookId": request.path_params["bookId"],
                                 "memberId": int(form["memberId"]),
                                 "due": f"in {form.get('days', '21')} days"}, status_code=201)

        async def categories(request: Request) -> Response:
            await note(request)
            return JSONResponse([{"name": "fiction", "subcategories": [
                {"name": "crime", "subcategories": [{"name": "nordic noir"}]}]}])

        return Starlette(routes=[
            Route("/api/v2/books", books, methods=["GET", "POST"]),
            Route("/api/v2/books/{bookId}", book, methods=["GET", "DELETE"]),
            Route("/api/v2/books/{bookId}/loans", loans, methods=["POST"]),
            Route("/api/v2/categories", categories),
        ])


@pytest.fixture
def library() -> Iterator[Library]:
    from teragent_testing.fake_openai import serve_in_thread

    lib = Library()
    with serve_in_thread(lib.app(), path="") as url:
        lib.url = url
        yield lib


def test_the_documents_tools():
    ts = OpenAPIToolset(str(SPEC), name="lib")
    doc = ts.document
    assert doc.version == "2.0" and ts.base_url == "https://library.example.org/api/v2"
    assert doc.skipped == [("uploadPortrait", "file upload parameter 'photo' (multipart) "
                                              "is not supported")]
    tools = {t.name: t for t in ts.get_tools()}
    assert {n: t.safety for n, t in tools.items()} == {
        "lib_searchBooks": ToolSafety.READ_ONLY, "lib_addBook": ToolSafety.SAFE_WRITE,
        "lib_getBook": ToolSafety.READ_ONLY, "lib_withdrawBook": ToolSafety.DESTRUCTIVE,
        "lib_lendBook": ToolSafety.SAFE_WRITE, "lib_listCategories": ToolSafety.READ_ONLY}
    search = tools["lib_searchBooks"].parameters_schema["properties"]
    assert search["genres"]["items"]["enum"] == ["fiction", "history", "science", "poetry"]
    assert search["pageSize"]["default"] == 20 and search["pageSize"]["maximum"] == 100
    assert "header parameter" in search["X-Branch"]["description"]
    get = tools["lib_getBook"].parameters_schema
    assert get["required"] == ["bookId"]
    assert get["properties"]["bookId"]["pattern"] == "^[A-Z]{2}-[0-9]{4}$"
    body = tools["lib_addBook"].parameters_schema["properties"]["body"]
    assert body["required"] == ["title", "authors", "category"]
    author = body["properties"]["authors"]["items"]
    assert author["properties"]["address"]["properties"]["country"]["maxLength"] == 2
    sub = body["properties"]["category"]["properties"]["subcategories"]["items"]
    assert sub["properties"]["subcategories"]["items"]["type"] == "object"  # cut, not looped
    lend = tools["lib_lendBook"].parameters_schema
    assert lend["properties"]["body"]["required"] == ["memberId"]
    assert lend["required"] == ["bookId", "body"]


def test_agent_run_against_the_library(tmp_path, library, host, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LIBRARY_API_KEY", LIB_KEY)
    monkeypatch.setenv("LIBRARY_STAFF_PASSWORD", STAFF_PASSWORD)
    ws = tmp_path / "library"
    ws.mkdir()
    shutil.copy(SPEC, ws / "library.yaml")
    (ws / "agent.toml").write_text(f"""
[agent]
allow_writes = true

[openapi.lib]
spec = "library.yaml"
base_url = "{library.url}/api/v2"
security = {{ libraryKey = "LIBRARY_API_KEY", staffLogin = {{ username = "desk", password_env = "LIBRARY_STAFF_PASSWORD" }} }}
""")
    new_book = {"title": "Salt Roads", "year": 2019, "category": {"name": "history"},
                "authors": [{"name": "R. Okafor", "address": {"city": "Lagos",
                                                              "country": "NG"}}]}
    model = ScriptedModel([
        call_tool("lib_searchBooks", {"q": "river", "genres": ["fiction", "poetry"],
                                      "pageSize": 5, "X-Branch": "north"}),
        call_tool("lib_getBook", {"bookId": "FI-0042"}),
        call_tool("lib_addBook", {"body": new_book}),
        call_tool("lib_lendBook", {"bookId": "FI-0042", "body": {"memberId": 7, "days": 14}}),
        call_tool("lib_listCategories", {}),
        call_tool("lib_getBook", {"bookId": "ZZ-9999"}),
        call_tool("lib_withdrawBook", {"bookId": "FI-0042"}),
        reply("catalogue updated"),
    ])
    events: list[str] = []

    async def main():
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model,
                            offer_all_tools=True)
        agent.bus.on("*", lambda name, *a, **kw: events.append(f"{name} {a!r} {kw!r}"))
        try:
            return await agent.run("tidy the catalogue")
        finally:
            await agent.aclose()

    result = asyncio.run(main())
    model.assert_consumed()
    assert result.final_text == "catalogue updated"
    res = [o.result for o in result.tool_outcomes]
    search, got, added, lent, cats, missing, withdraw = res
    assert search.success and got.data["body"]["title"] == "The Quiet River"
    assert added.data["status"] == 201 and library.books["HI-0001"]["authors"][0][
        "address"]["country"] == "NG"
    assert lent.data["body"] == {"bookId": "FI-0042", "memberId": 7, "due": "in 14 days"}
    assert cats.data["body"][0]["subcategories"][0]["subcategories"][0]["name"] == \
        "nordic noir"
    assert not missing.success and missing.error.startswith("HTTP 404 from GET /books/")
    assert not withdraw.success and "destructive" in withdraw.error
    assert "FI-0042" in library.books
    first = library.seen[0]
    assert first["query"] == {"q": "river", "genres": "fiction,poetry", "pageSize": "5",
                              "api_key": LIB_KEY}
    assert first["headers"]["x-branch"] == "north"
    post = next(s for s in library.seen if s["method"] == "POST" and
                s["path"].endswith("/books"))
    assert "api_key" not in post["query"]  # its own security replaces the global one
    assert post["headers"]["authorization"].startswith("Basic ")
    loan = next(s for s in library.seen if s["path"].endswith("/loans"))
    assert loan["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert dict(x.split("=") for x in loan["body"].split("&")) == {"memberId": "7",
                                                                  "days": "14"}
    audit = (ws / ".teragent" / "audit.jsonl").read_text()
    shown = [audit, "\n".join(events), caplog.text,
             *(o.result.to_text() for o in result.tool_outcomes),
             *(json.dumps(o.result.metadata) for o in result.tool_outcomes)]
    assert any("HTTP Request: GET" in r.getMessage() for r in caplog.records)
    for text in shown:
        assert LIB_KEY not in text and STAFF_PASSWORD not in text
    encoded = base64.b64encode(f"desk:{STAFF_PASSWORD}".encode()).decode()
    assert all(encoded not in text for text in shown)
