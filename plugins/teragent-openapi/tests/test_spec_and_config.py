"""``$ref`` handling (loops, recursion, any reference graph terminates: hypothesis),
OpenAPI 3.0 ``nullable``, servers, and the ``[openapi.NAME]`` table's strict checks
through ``load_full_config``/``build_agent`` (file, line, key and the fix)."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from teragent.errors import ConfigError
from teragent_openapi import SpecError, parse_document, to_json_schema
from teragent_openapi.spec import MAX_SCHEMA_NODES


def _doc(schemas: dict, body_ref: str = "A", version: str = "3.0.3") -> dict:
    return {"openapi": version, "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://api.example.com/{v}",
                         "variables": {"v": {"default": "v1"}}}],
            "paths": {"/x": {"post": {"operationId": "make", "requestBody": {
                "required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{body_ref}"}}}},
                "responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": schemas}}


def _size(node) -> int:
    return len(json.dumps(node))


def test_a_loop_of_references_is_an_error_not_a_hang():
    doc = _doc({"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}})
    doc["paths"]["/x"]["post"]["parameters"] = [{"$ref": "#/components/parameters/P"}]
    doc["components"]["parameters"] = {"P": {"$ref": "#/components/parameters/Q"},
                                       "Q": {"$ref": "#/components/parameters/P"}}
    with pytest.raises(SpecError, match="loop"):
        parse_document(doc)


def test_mutual_recursion_is_cut_and_nullable_becomes_null():
    doc = _doc({
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"},
                                               "note": {"type": "string", "nullable": True}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
    })
    d = parse_document(doc)
    assert d.base_url == "https://api.example.com/v1"
    schema = d.operations[0].body.schema
    assert schema["properties"]["note"]["type"] == ["string", "null"]
    text = json.dumps(schema)
    assert text.count("recursive") >= 1 and _size(schema) < 5000


def test_references_outside_the_document_are_refused():
    with pytest.raises(SpecError, match="outside the document"):
        parse_document(_doc({"A": {"$ref": "other.yaml#/A"}}))
    with pytest.raises(SpecError, match="does not resolve"):
        parse_document(_doc({"A": {"$ref": "#/components/schemas/Nope"}}))


def test_not_an_openapi_document():
    with pytest.raises(SpecError, match="not an OpenAPI 3.x or Swagger 2.0"):
        parse_document({"paths": {}})
    with pytest.raises(SpecError, match="Swagger 1.2 is not supported"):
        parse_document({"swagger": "1.2"})


names = st.sampled_from(["A", "B", "C", "D", "E"])


def _schema():
    return st.recursive(
        st.one_of(st.builds(lambda n: {"$ref": f"#/components/schemas/{n}"}, names),
                  st.sampled_from([{"type": "string"}, {"type": "integer"}, {}])),
        lambda inner: st.one_of(
            st.builds(lambda p: {"type": "object", "properties": p},
                      st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3)),
            st.builds(lambda i: {"type": "array", "items": i}, inner),
            st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=3)),
        ), max_leaves=8)


@settings(max_examples=120, deadline=None)
@given(st.fixed_dictionaries({n: _schema() for n in "ABCDE"}), names)
def test_any_reference_graph_converts_to_finite_plain_json(schemas, start):
    """Whatever refers to whatever (self, mutual, chains through arrays and anyOf),
    the conversion ends, keeps no $ref, and stays bounded."""
    doc = _doc(schemas, start)
    out = to_json_schema({"$ref": f"#/components/schemas/{start}"}, doc)
    text = json.dumps(out)
    assert "$ref" not in text
    assert text.count("{") <= 4 * MAX_SCHEMA_NODES


# --- [openapi.NAME] in agent.toml -------------------------------------------------------------

SPEC = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9/api"}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "paths": {"/things": {"get": {"operationId": "listThings",
                                      "security": [{"token": []}],
                                      "responses": {"200": {"description": "ok"}}}}}}


def _build(tmp_path, host, table: str):
    from teragent.compose import build_agent
    from teragent.testing import ScriptedModel

    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    path = tmp_path / "agent.toml"
    path.write_text(textwrap.dedent(table))
    return build_agent(path, workspace=tmp_path, provider=ScriptedModel([]))


def _list_things(agent):
    """Call ``things_listThings`` once (no arguments), then close the agent."""
    import asyncio

    async def main():
        try:
            return await agent.tools.get("things_listThings").execute({})
        finally:
            await agent.aclose()

    return asyncio.run(main())


def test_a_configured_toolset_is_in_the_agent(tmp_path, host, monkeypatch):
    monkeypatch.setenv("THINGS_TOKEN", "tt-0123456789abcdef")
    agent = _build(tmp_path, host, """
        [openapi.things]
        spec = "spec.json"
        security = { token = "THINGS_TOKEN" }
        """)
    assert agent.tools.list_tool_names() == ["things_listThings"]
    ts = agent.tools.pack_of("things_listThings").toolsets[0]
    assert ts.base_url == "http://127.0.0.1:9/api"
    assert "tt-0123456789abcdef" not in repr(ts.security) + repr(ts.auth_manager)


@pytest.mark.parametrize("table, line, wanted", [
    ('[openapi.things]\nspec = "spec.json"\nretires = 3\n', 3,
     "[openapi] things.retires: unknown key; did you mean 'retries'?"),
    ('[openapi.things]\nspec = "spec.json"\ninclude = ["listThigns"]\n', 3,
     "[openapi] things.include: include 'listThigns' matches no operation; "
     "did you mean 'listThings'?"),
    ('[openapi.things]\nspec = "spec.json"\nsafety = { listThings = "harmless" }\n', 3,
     "things.safety.listThings: Input should be 'read_only', 'safe_write', 'destructive' "
     "or 'high_risk'"),
    ('[openapi.things]\nspec = "spec.json"\nsecurity = { tokn = "X" }\n', 3,
     "the document has no security scheme 'tokn'; did you mean 'token'?"),
    ('[openapi.things]\nspec = "missing.json"\n', 2, "does not exist; give a path"),
    ('[openapi.things]\nspec = "spec.json"\nauth = "nope"\n', 3,
     "no [auth.nope] credential"),
    ('[openapi.things]\nspec = "spec.json"\nheaders = { Authorization = "Bearer sk-live-abcdefghijklmnop" }\n',
     1, "carries a secret; declare it as a credential"),
])
def test_config_errors_name_file_line_key_and_fix(tmp_path, host, table, line, wanted):
    with pytest.raises(ConfigError) as info:
        _build(tmp_path, host, table)
    text = str(info.value)
    assert f"agent.toml:{line}: " in text and wanted in text, text
    assert "sk-live-abcdefghijklmnop" not in text


def test_an_unset_credential_variable_is_named_in_the_tool_error(tmp_path, isolated, host,
                                                                 monkeypatch):
    monkeypatch.delenv("THINGS_TOKEN_UNSET", raising=False)
    agent = _build(tmp_path, host, """
        [openapi.things]
        spec = "spec.json"
        security = { token = "THINGS_TOKEN_UNSET" }
        """)
    result = _list_things(agent)
    assert not result.success
    assert "GET /things: No API key found" in result.error
    assert "THINGS_TOKEN_UNSET" in result.error


def test_an_unreachable_api_is_a_clear_error(tmp_path, host):
    agent = _build(tmp_path, host, """
        [openapi.things]
        spec = "spec.json"
        """)
    result = _list_things(agent)
    assert not result.success and result.error.startswith("GET /things")
    assert "127.0.0.1:9" in result.error and "timed out after 30" not in result.error
