"""Unit tests of the ``{{ cookiecutter.__ident }}`` compiler."""

from __future__ import annotations

import pytest
from teragent.core.tap import TAPRequest
from teragent.errors import IncompatiblePromptError

from {{ cookiecutter.module }}.compiler import {{ cookiecutter.__class_prefix }}Compiler


def test_compile_keeps_instruction_constraints_and_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    request = TAPRequest(instruction="Write a haiku", constraints=["5-7-5"],
                         output_format_hint="plain text", tools=tools)
    compiled = {{ cookiecutter.__class_prefix }}Compiler().compile(request)
    messages = compiled.as_messages()
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Write a haiku" in messages[1]["content"]
    assert "5-7-5" in messages[1]["content"]
    assert "plain text" in messages[1]["content"]
    assert compiled.tools == tools


def test_compile_refuses_images() -> None:
    request = TAPRequest.model_validate(
        {"instruction": "Describe",
         "multimodal_context": [{"type": "image_url", "url": "https://example.com/a.png"}]})
    with pytest.raises(IncompatiblePromptError):
        {{ cookiecutter.__class_prefix }}Compiler().compile(request)
