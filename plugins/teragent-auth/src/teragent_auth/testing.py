"""A loopback OAuth2 token endpoint and a protected API, for tests of code that uses
credentials (this plugin's, teragent-openapi's, an MCP client's): an ASGI app to run
under uvicorn (``teragent_testing.fake_openai.serve_in_thread(server.app(), path="")``).
Needs starlette.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

__all__ = ["AuthServer", "CLIENT_ID", "CLIENT_SECRET"]

CLIENT_ID = "teragent-test-client"
CLIENT_SECRET = "cs-0f9e8d7c6b5a4f3e2d1c"


class AuthServer:
    """``POST /oauth/token`` (client credentials, basic or post) and ``GET /api/whoami``
    (echoes how it was authenticated; 401 for a token it did not issue or revoked)."""

    def __init__(self, expires_in: int | None = 60) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        #: Bearer tokens the API accepts besides those it issued.
        self.accepted: set[str] = set()
        self.token_requests: list[dict[str, Any]] = []
        self.api_requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.url = ""

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def token(request: Request) -> JSONResponse:
            form = dict(await request.form())
            auth = request.headers.get("authorization", "")
            self.token_requests.append({"form": form, "authorization": auth})
            if auth.startswith("Basic "):
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            else:
                cid, secret = form.get("client_id", ""), form.get("client_secret", "")
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if (cid, secret) != (CLIENT_ID, CLIENT_SECRET):
                # a careless server that echoes what it got
                return JSONResponse({"error": "invalid_client",
                                     "error_description": f"bad secret {secret}"},
                                    status_code=401)
            tok = f"at-{next(self._ids)}-5b2c9e1f7a"
            self.issued.append(tok)
            body: dict[str, Any] = {"access_token": tok, "token_type": "Bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return JSONResponse(body)

        async def whoami(request: Request) -> JSONResponse:
            auth = request.headers.get("authorization", "")
            seen = {"authorization": auth, "x-api-key": request.headers.get("x-api-key"),
                    "query": dict(request.query_params)}
            self.api_requests.append(seen)
            if auth.startswith("Bearer "):
                tok = auth[7:]
                if tok not in (*self.issued, *self.accepted) or tok in self.revoked:
                    return JSONResponse({"error": "invalid_token"}, status_code=401)
            return JSONResponse({"ok": True, **seen})

        return Starlette(routes=[Route("/oauth/token", token, methods=["POST"]),
                                 Route("/api/whoami", whoami)])
