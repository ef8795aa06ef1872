"""The HTTP and WebSocket API (FastAPI) and the web UI.

REST (every route but ``/health`` and the UI needs ``Authorization: Bearer TOKEN``; a
conversation of another user answers 404, exactly like one that does not exist):

======  ========================================  ==========================================
GET     /health                                   ``{"status": "ok"}``
POST    /api/chat                                 create; body ``{preset?, enable_teams?,
                                                  enable_tracing?, enable_approval?}``
GET     /api/conversations                        the caller's conversations
GET     /api/conversations/{id}                   history + token usage
DELETE  /api/conversations/{id}                   delete it and its workspace
GET     /api/tools | /api/presets | /api/skills   what a conversation can use
GET     /api/conversations/{id}/files             workspace files
GET     /api/conversations/{id}/file/{path}       read (language, size cap)
POST    /api/conversations/{id}/upload?subdir=    multipart ``files``; per-file limit
GET     /api/events/schema                        JSON Schema of the server events
======  ========================================  ==========================================

``/api/workspace/files``, ``/api/workspace/file/{path}`` and ``/api/workspace/upload``
(the names of 002) take ``?conversation_id=``.

WebSocket ``/api/chat/{id}/ws[?last_seq=N]``: see :mod:`teragent_service.ws`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict

from teragent.errors import UserError

from teragent_service.events import event_schema
from teragent_service.files import FileRefused
from teragent_service.presets import PRESETS
from teragent_service.service import AgentService
from teragent_service.settings import ServiceSettings
from teragent_service.store import ConversationMeta

__all__ = ["create_app", "CreateConversation"]

STATIC = Path(__file__).parent / "static"


class CreateConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: str = "default"
    enable_teams: bool = False
    enable_tracing: bool = False
    enable_approval: bool = False
    title: str = ""
    tool_profile: str = "full"
    allowed_tools: list[str] | None = None
    denied_tools: list[str] = []
    max_tool_calls_per_turn: int | None = None


def bearer(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service as an ASGI app (``uvicorn.run(create_app(settings))``)."""
    holder: dict[str, AgentService] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder["service"] = AgentService(settings)
        app.state.service = holder["service"]
        try:
            yield
        finally:
            await holder["service"].aclose()

    app = FastAPI(title="TerAgent service", lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)

    def service() -> AgentService:
        return holder["service"]

    def user(request: Request) -> str:
        name = settings.user_for(bearer(request.headers))
        if name is None:
            raise HTTPException(401, "missing or unknown API token: send "
                                "'Authorization: Bearer TOKEN'",
                                headers={"WWW-Authenticate": "Bearer"})
        return name

    def owned(cid: str, who: str = Depends(user)) -> ConversationMeta:
        meta = service().get(who, cid)
        if meta is None:
            raise HTTPException(404, f"no conversation {cid!r}")
        return meta

    @app.exception_handler(FileRefused)
    async def _refused(_: Request, exc: FileRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(UserError)
    async def _user_error(_: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # --- REST -------------------------------------------------------------------------

    @app.get("/health")
    async def health() -> dict[str, Any]:
        svc = holder.get("service")
        return {"status": "ok", "conversations_active": len(svc.runtimes) if svc else 0}

    @app.post("/api/chat")
    async def create(body: CreateConversation | None = None,
                     who: str = Depends(user)) -> dict[str, Any]:
        body = body or CreateConversation()
        meta = service().create(who, preset=body.preset, enable_teams=body.enable_teams,
                                enable_tracing=body.enable_tracing,
                                enable_approval=body.enable_approval, title=body.title,
                                tool_policy={"profile": body.tool_profile,
                                             "allowed_tools": body.allowed_tools,
                                             "denied_tools": body.denied_tools,
                                             "max_tool_calls_per_turn":
                                                 body.max_tool_calls_per_turn})
        return {"conversation_id": meta.id, **meta.public()}

    @app.get("/api/conversations")
    async def conversations(who: str = Depends(user)) -> list[dict[str, Any]]:
        return [m.public() for m in service().store.list(who)]

    @app.get("/api/conversations/{cid}")
    async def conversation(meta: ConversationMeta = Depends(owned)) -> dict[str, Any]:
        svc = service()
        rt = svc.runtimes.get(meta.id)
        return {**meta.public(), "messages": svc.transcript(meta),
                "running": bool(rt and rt.running), "last_seq": rt.log.seq if rt else 0}

    @app.delete("/api/conversations/{cid}")
    async def delete(meta: ConversationMeta = Depends(owned)) -> dict[str, Any]:
        await service().delete(meta.owner, meta.id)
        return {"deleted": meta.id}

    @app.get("/api/tools")
    async def tools(who: str = Depends(user)) -> list[dict[str, Any]]:
        return service().tool_info()

    @app.get("/api/skills")
    async def skills(who: str = Depends(user)) -> list[dict[str, Any]]:
        lib = service().skill_library(who)
        return [s.summary() for s in lib.skills().values()]

    @app.post("/api/skills")
    async def add_skill(request: Request, who: str = Depends(user)) -> dict[str, Any]:
        """A SKILL.md as JSON ``{"content": "..."}`` or as a multipart ``file``."""
        svc = service()
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await request.form()
            up = form.get("file")
            if up is None or isinstance(up, str):
                raise HTTPException(400, "send the SKILL.md as the multipart field 'file'")
            text = (await up.read(300 * 1024)).decode("utf-8", errors="replace")
        else:
            try:
                body = await request.json()
            except ValueError:
                raise HTTPException(400, "send {\"content\": \"<SKILL.md text>\"} or a "
                                    "multipart 'file'") from None
            text = str((body or {}).get("content") or "")
        skill = svc.skill_library(who).add(svc.user_skills_dir(who), text)
        return {"name": skill.name, "description": skill.description, "source": "user"}

    @app.get("/api/presets")
    async def presets(who: str = Depends(user)) -> list[dict[str, Any]]:
        return [{"name": k, "description": v["description"]} for k, v in PRESETS.items()]

    @app.get("/api/events/schema")
    async def schema() -> dict[str, Any]:
        return event_schema()

    # --- workspace files ------------------------------------------------------------------

    async def _files(meta: ConversationMeta) -> Any:
        return (await service().runtime(meta)).files

    @app.get("/api/conversations/{cid}/files")
    async def list_files(meta: ConversationMeta = Depends(owned)) -> dict[str, Any]:
        return {"files": (await _files(meta)).list()}

    @app.get("/api/conversations/{cid}/file/{path:path}")
    async def read_file(path: str, meta: ConversationMeta = Depends(owned)) -> dict[str, Any]:
        return (await _files(meta)).read(path)

    @app.post("/api/conversations/{cid}/upload")
    async def upload(files: list[UploadFile] = File(...), subdir: str = Query(""),
                     meta: ConversationMeta = Depends(owned)) -> dict[str, Any]:
        return {"uploaded": await _save_uploads(await _files(meta), files, subdir)}

    def _owned_query(conversation_id: str = Query(...), who: str = Depends(user)) \
            -> ConversationMeta:
        return owned(conversation_id, who)

    @app.get("/api/workspace/files")
    async def ws_list(meta: ConversationMeta = Depends(_owned_query)) -> dict[str, Any]:
        return {"files": (await _files(meta)).list()}

    @app.get("/api/workspace/file/{path:path}")
    async def ws_read(path: str, meta: ConversationMeta = Depends(_owned_query)) \
            -> dict[str, Any]:
        return (await _files(meta)).read(path)

    @app.post("/api/workspace/upload")
    async def ws_upload(files: list[UploadFile] = File(...), subdir: str = Query(""),
                        meta: ConversationMeta = Depends(_owned_query)) -> dict[str, Any]:
        return {"uploaded": await _save_uploads(await _files(meta), files, subdir)}

    # --- WebSocket and UI -----------------------------------------------------------------

    from teragent_service.ws import register_websocket

    register_websocket(app, settings, service)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _save_uploads(files: Any, uploads: list[UploadFile], subdir: str) -> list[str]:
    """Check every file first (names and sizes), then write them; nothing is written
    when one is refused."""
    limit = files.max_upload_bytes
    staged: list[tuple[Path, bytes]] = []
    for up in uploads:
        target = files.target(subdir, up.filename or "")
        data = await up.read(limit + 1)
        if len(data) > limit:
            raise FileRefused(f"{up.filename!r} is larger than the per-file limit of "
                              f"{limit} bytes; split it or raise --max-upload-mb", 413)
        staged.append((target, data))
    out = []
    for target, data in staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.upload")
        tmp.write_bytes(data)
        tmp.replace(target)
        out.append(target.relative_to(files.root).as_posix())
    return out
