"""Integration: llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``)
run as a subprocess on loopback with SmolLM2, driven through the ``openai_compatible``
adapter of the ``teragent-openai`` plugin."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator

import httpx
import pytest
from llamacpp_testdata import READ_FILE, run

import teragent
from teragent.core.types import TextDelta
from teragent.tools.base import validate_arguments

pytestmark = pytest.mark.model

pytest.importorskip("fastapi", reason="pip install 'teragent-llamacpp[server]'")
pytest.importorskip("teragent_openai", reason="pip install -e plugins/teragent-openai")

MODEL = "smollm2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(smollm2_path: str) -> Iterator[str]:
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_path,
         "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", str(os.cpu_count() or 1)],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n"
                            + log.read().decode(errors="replace")[-3000:])
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 60 s")
            time.sleep(0.2)  # polling a subprocess: there is no event to wait on
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _provider(base_url: str) -> Any:
    return teragent.create_provider(adapter="openai_compatible", base_url=base_url,
                                    model=MODEL)


def test_tool_call_round_trip(server: str) -> None:
    params = READ_FILE["function"]["parameters"]
    tools = [{"type": "function", "function": {
        **READ_FILE["function"],
        "parameters": {**params, "properties": {"path": {"type": "string",
                                                         "maxLength": 40}}}}}]
    forced = {"type": "function", "function": {"name": "read_file"}}

    async def scenario() -> tuple[Any, Any]:
        async with _provider(server) as provider:
            messages: list[dict[str, Any]] = [
                {"role": "user", "content": "Show me the contents of README.md"}]
            first = await provider.complete(messages, tools=tools, tool_choice=forced,
                                            max_tokens=48, temperature=0)
            assert first.tool_calls, first
            call = first.tool_calls[0]
            messages += [first.to_message(), {
                "role": "tool", "tool_call_id": call.id,
                "content": "# TerAgent\nA framework for LLM agents, written in Python."}]
            final = await provider.complete(messages, max_tokens=48, temperature=0)
            return first, final

    first, final = run(scenario())
    [call] = first.tool_calls
    assert first.finish_reason == "tool_calls" and call.name == "read_file"
    assert call.parse_error is None
    assert validate_arguments(READ_FILE["function"]["parameters"], call.arguments) is None
    assert final.tool_calls == [] and final.raw_text.strip()
    assert final.usage["prompt_tokens"] > 0


def test_streaming_through_the_server(server: str) -> None:
    async def scenario() -> list[Any]:
        async with _provider(server) as provider:
            return [e async for e in provider.stream_chat(
                [{"role": "user", "content": "Say hello in one sentence."}],
                max_tokens=24, temperature=0)]

    events = run(scenario())
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    assert events[-1].response.raw_text
