"""Unit tests of the plugin's tools."""

from __future__ import annotations

import asyncio

from teragent.tools import BaseTool

from {{ cookiecutter.module }}.tools import {{ cookiecutter.__ident }}_greet


def test_greet_is_a_tool_with_a_schema() -> None:
    greet = {{ cookiecutter.__ident }}_greet
    assert isinstance(greet, BaseTool)
    assert greet.name == "{{ cookiecutter.__ident }}_greet"
    assert greet.description == "Greet someone by name."
    params = greet.schema()["function"]["parameters"]
    assert params["required"] == ["name"]
    assert params["properties"]["name"]["description"] == "Who to greet."


def test_greet_runs() -> None:
    result = asyncio.run({{ cookiecutter.__ident }}_greet.execute({"name": "Ada", "excited": True}))
    assert result.success
    assert result.to_text() == "Hello, Ada!"


def test_greet_rejects_bad_arguments() -> None:
    greet = {{ cookiecutter.__ident }}_greet
    assert "missing required argument 'name'" in (greet.validate({}) or "")
    assert "unexpected argument" in (greet.validate({"name": "Ada", "loud": 1}) or "")
