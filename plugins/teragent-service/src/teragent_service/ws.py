"""The conversation WebSocket, ``/api/chat/{id}/ws[?last_seq=N]``.

Authentication: an ``Authorization: Bearer TOKEN`` header on the handshake (a wrong
token or another user's conversation is answered with HTTP 404 before the upgrade), or,
for browsers, which cannot set headers, a first message ``{"type": "auth", "token":
...}`` within 10 s (then a refusal closes the socket with code 4404 or 4401). Tokens
never appear in URLs, events or logs.

Client → server::

    {"type": "message", "content": "...", "mode": "queue" | "interrupt"}
    {"type": "interrupt", "content": "..."}     # cancel the turn, continue with this
    {"type": "cancel"}                           # cancel the turn
    {"type": "tool_approval_response", "decision": "approve" | "deny" | "auto_approve",
     "request_id": "..."}                        # request_id optional: all pending
    {"type": "ping"}

Server → client: the events of :data:`teragent_service.events.EVENT_FIELDS`, each with
``seq``. On connect the service first replays every kept event with ``seq > last_seq``,
then sends ``ready`` (its ``seq`` is the newest one sent), then live events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Callable

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from teragent_service.settings import ServiceSettings

__all__ = ["register_websocket"]

logger = logging.getLogger("teragent.service")

AUTH_TIMEOUT = 10.0


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, default=str)


def register_websocket(app: FastAPI, settings: ServiceSettings,
                       service: Callable[[], Any]) -> None:
    from teragent_service.app import bearer

    async def refuse(websocket: WebSocket, code: int, status: int, detail: str) -> None:
        try:
            await websocket.send_denial_response(
                JSONResponse({"detail": detail}, status_code=status))
        except RuntimeError:  # the server cannot send an HTTP answer: close instead
            await websocket.close(code=code, reason=detail)

    @app.websocket("/api/chat/{cid}/ws")
    async def chat(websocket: WebSocket, cid: str, last_seq: int = 0) -> None:
        svc = service()
        token = bearer(websocket.headers)
        if token is not None or settings.open_access:
            who = settings.user_for(token)
            meta = svc.get(who, cid) if who else None
            if meta is None:
                # Same answer for a bad token and another user's conversation.
                await refuse(websocket, 4404, 404, f"no conversation {cid!r}")
                return
            await websocket.accept()
        else:
            await websocket.accept()
            try:
                first = json.loads(await asyncio.wait_for(websocket.receive_text(),
                                                          AUTH_TIMEOUT))
            except (asyncio.TimeoutError, ValueError, WebSocketDisconnect):
                await _close(websocket, 4401, "send {\"type\": \"auth\", \"token\": ...} first")
                return
            who = settings.user_for(str(first.get("token") or "")) \
                if isinstance(first, dict) and first.get("type") == "auth" else None
            if who is None:
                await _close(websocket, 4401, "unknown API token")
                return
            meta = svc.get(who, cid)
            if meta is None:
                await _close(websocket, 4404, f"no conversation {cid!r}")
                return
            if isinstance(first.get("last_seq"), int):
                last_seq = first["last_seq"]
        rt = await svc.runtime(meta)
        queue, _ = rt.log.subscribe(max(0, last_seq))
        sent = {"seq": max(0, last_seq)}

        async def pump() -> None:
            while True:
                event = await queue.get()
                if event is None:  # the conversation was deleted or the service stops
                    await _close(websocket, 1001, "the conversation is closed")
                    return
                await websocket.send_text(_dumps(event))
                sent["seq"] = event["seq"]

        # Replay what is queued already, then say so, then go live.
        while not queue.empty():
            event = queue.get_nowait()
            if event is None:
                return
            await websocket.send_text(_dumps(event))
            sent["seq"] = event["seq"]
        await websocket.send_text(_dumps({
            "type": "ready", "seq": sent["seq"], "conversation_id": meta.id,
            "ts": 0.0, "turn_id": rt.log.turn_id, "last_seq": rt.log.seq,
            "running": rt.running, "queued": rt.queued,
            "missed_before": rt.log.oldest() if last_seq + 1 < rt.log.oldest() else None}))
        sender = asyncio.create_task(pump())
        try:
            while True:
                try:
                    raw = await websocket.receive_text()
                except WebSocketDisconnect:
                    return
                reply = await _handle(rt, raw)
                if reply is not None:
                    await websocket.send_text(_dumps(reply))
        finally:
            rt.log.unsubscribe(queue)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender  # cancelled, or failed on a closed socket: either is over


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason)
    except RuntimeError:
        pass


def _problem(message: str) -> dict[str, Any]:
    """An answer to one client message only (not part of the numbered stream)."""
    return {"type": "error", "seq": 0, "conversation_id": None, "ts": 0.0, "turn_id": None,
            "message": message}


async def _handle(rt: Any, raw: str) -> dict[str, Any] | None:
    try:
        msg = json.loads(raw)
    except ValueError:
        return _problem("messages are JSON objects, e.g. {\"type\": \"message\", "
                        "\"content\": \"hello\"}")
    if not isinstance(msg, dict):
        return _problem("messages are JSON objects with a \"type\"")
    kind = msg.get("type")
    if kind in ("message", "interrupt"):
        content = msg.get("content")
        if not isinstance(content, str) or not content.strip():
            return _problem(f"{kind}: \"content\" must be a non-empty string")
        mode = "interrupt" if kind == "interrupt" else str(msg.get("mode") or "queue")
        if mode not in ("queue", "interrupt"):
            return _problem("message: \"mode\" is \"queue\" (default) or \"interrupt\"")
        try:
            await rt.submit(content, mode=mode)
        except Exception as exc:  # noqa: BLE001 - e.g. the agent cannot be built
            logger.warning("conversation %s: could not start a turn: %s: %s", rt.meta.id,
                           type(exc).__name__, exc)
            return _problem(f"could not start the turn: {exc}")
        return None
    if kind == "cancel":
        await rt.cancel_current()
        return None
    if kind == "tool_approval_response":
        if rt.approver is None:
            return _problem("this conversation was created without enable_approval; "
                            "there is nothing to approve")
        try:
            rid = msg.get("request_id")
            settled = rt.approver.answer(str(msg.get("decision")),
                                         str(rid) if rid else None)
        except ValueError as exc:
            return _problem(f"tool_approval_response: {exc}")
        if not settled and msg.get("decision") != "auto_approve":
            return _problem("no approval request is waiting"
                            + (f" with id {rid!r}" if rid else ""))
        return None
    if kind == "ping":
        return {"type": "pong", "seq": 0, "conversation_id": rt.meta.id, "ts": 0.0,
                "turn_id": None}
    if kind == "auth":
        return None
    return _problem(f"unknown message type {kind!r}; use message, interrupt, cancel, "
                    "tool_approval_response or ping")
