"""Servers on loopback for the OpenAPI tests: a FastAPI app serving its own
``/openapi.json`` (GET/POST/DELETE, body models with nested and recursive ``$ref`` s, an
API-key scheme, an OAuth2 client-credentials scheme whose token endpoint is
teragent-auth's test server), and the hosts these tests run under."""

# (no "from __future__ import annotations": FastAPI reads the endpoints' annotations)

from typing import Any, Iterator, Optional

import pytest
from pydantic import BaseModel, Field

from teragent_auth.testing import AuthServer

PETS_API_KEY = "pk-live-4f1e2d3c4b5a69788796"


class Category(BaseModel):
    name: str
    parent: Optional["Category"] = None  # recursive through a nullable reference


class NewPet(BaseModel):
    name: str
    category: Category
    tags: list[str] = Field(default_factory=list)


class Pet(NewPet):
    id: int


class TreeNode(BaseModel):
    label: str
    children: list["TreeNode"] = Field(default_factory=list)


class PetState:
    def __init__(self) -> None:
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Rex", "category": {"name": "dog"}, "tags": ["good"]},
            2: {"id": 2, "name": "Tom", "category": {"name": "cat"}, "tags": []},
        }
        self.requests: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.flaky_left = 0
        self.api_key = PETS_API_KEY
        self.auth = AuthServer()
        self.url = ""


def make_pets_app(state: PetState) -> Any:
    from fastapi import FastAPI, Header, HTTPException, Request, Response, Security
    from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
    from fastapi.security import APIKeyHeader, OAuth2

    api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
    oauth2 = OAuth2(flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
        tokenUrl="/auth/oauth/token", scopes={"stats:read": "Read statistics"})),
        auto_error=False)
    app = FastAPI(title="Pets", version="1.0.0")

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        if not request.url.path.startswith(("/openapi", "/auth")):
            state.requests.append((request.method, request.url.path))
            state.headers.append(dict(request.headers))
        return await call_next(request)

    def need_key(key: Optional[str]) -> None:
        if key != PETS_API_KEY:
            raise HTTPException(401, "missing or wrong X-API-Key")

    @app.get("/pets", operation_id="listPets", summary="List pets",
             response_model=list[Pet], tags=["pets"])
    def list_pets(limit: int = 10, tag: Optional[str] = None) -> Any:
        pets = [p for p in state.pets.values() if tag is None or tag in p["tags"]]
        return pets[:limit]

    @app.get("/pets/{pet_id}", operation_id="getPet", summary="Get one pet", tags=["pets"])
    def get_pet(pet_id: int, x_request_id: Optional[str] = Header(None)) -> Any:
        if pet_id not in state.pets:
            raise HTTPException(404, f"no pet {pet_id}")
        return {**state.pets[pet_id], "request_id": x_request_id}

    @app.post("/pets", operation_id="createPet", summary="Add a pet", status_code=201,
              response_model=Pet, tags=["pets"])
    def create_pet(pet: NewPet, key: Optional[str] = Security(api_key)) -> Any:
        need_key(key)
        new_id = max(state.pets) + 1
        state.pets[new_id] = {"id": new_id, **pet.model_dump()}
        return state.pets[new_id]

    @app.delete("/pets/{pet_id}", operation_id="deletePet", summary="Delete a pet",
                status_code=204, response_class=Response, tags=["pets"])
    def delete_pet(pet_id: int, key: Optional[str] = Security(api_key)) -> None:
        need_key(key)
        state.pets.pop(pet_id, None)

    @app.post("/trees/count", operation_id="countTree", summary="Count the nodes of a tree")
    def count_tree(tree: TreeNode) -> Any:
        def n(node: TreeNode) -> int:
            return 1 + sum(n(c) for c in node.children)

        return {"nodes": n(tree)}

    @app.get("/stats", operation_id="getStats", summary="Shop statistics")
    def stats(request: Request, token: Optional[str] = Security(oauth2, scopes=["stats:read"])
              ) -> Any:
        raw = (token or "").removeprefix("Bearer ")
        if raw not in state.auth.issued or raw in state.auth.revoked:
            raise HTTPException(401, "invalid token")
        return {"pets": len(state.pets)}

    @app.get("/flaky", operation_id="getFlaky", summary="Busy now and then")
    def flaky() -> Any:
        if state.flaky_left > 0:
            state.flaky_left -= 1
            return Response(status_code=503, headers={"Retry-After": "1"})
        return {"ok": True}

    @app.post("/flaky", operation_id="postFlaky", summary="Busy now and then (write)")
    def flaky_post() -> Any:
        return flaky()

    @app.get("/slow", operation_id="getSlow", summary="Answers after 3 s")
    async def slow() -> Any:
        import asyncio

        await asyncio.sleep(3)
        return {"late": True}

    app.mount("/auth", state.auth.app())
    return app


@pytest.fixture
def pets() -> Iterator[PetState]:
    pytest.importorskip("fastapi")
    from teragent_testing.fake_openai import serve_in_thread

    state = PetState()
    with serve_in_thread(make_pets_app(state), path="") as url:
        state.url = state.auth.url = url
        yield state


@pytest.fixture
def host() -> Iterator[Any]:
    """The kernel plus this plugin and what it uses: no other installed plugin (the
    SafetyGate decides, as in a bare install)."""
    import teragent_auth
    import teragent_cache
    import teragent_openapi
    from teragent.testing.hosts import isolated_host

    with isolated_host(teragent_openapi, teragent_auth, teragent_cache) as h:
        yield h
