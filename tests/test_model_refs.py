"""`-m PROVIDER:MODEL` through the installed family plugins: each prefix resolves to its
adapter, compiler, base URL and key variable; a first run needs only an environment
variable and `-m`, against the vendors' fake servers on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from teragent.model_refs import model_families, resolve_model_ref

pytest.importorskip("teragent_testing")

TERAGENT = [sys.executable, "-m", "teragent.cli"]

FAMILIES = [
    # ref, plugin module, adapter, compiler, key variable, default base URL
    ("openai:gpt-4o-mini", "teragent_openai", "openai_compatible", "default",
     "OPENAI_API_KEY", "https://api.openai.com/v1"),
    ("anthropic:claude-sonnet-4-20250514", "teragent_anthropic", "anthropic_native",
     "anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1"),
    ("deepseek:deepseek-v4-flash", "teragent_deepseek", "openai_compatible", "deepseek_v4",
     "DEEPSEEK_API_KEY", "https://api.deepseek.com"),
    ("glm:glm-5", "teragent_glm", "glm_native", "glm_5", "GLM_API_KEY",
     "https://open.bigmodel.cn/api/paas/v4"),
    ("minimax:MiniMax-M3", "teragent_minimax", "minimax_native", "minimax_m3",
     "MINIMAX_API_KEY", "https://api.minimaxi.com/v1"),
    ("ollama:llama3.2", "teragent_openai", "openai_compatible", "default", None,
     "http://localhost:11434/v1"),
    ("llamacpp:smollm2-135m-instruct", "teragent_llamacpp", "llamacpp", "default", None,
     None),
]

VENDOR_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
               "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "GLM_API_KEY", "ZHIPUAI_API_KEY",
               "GLM_BASE_URL", "MINIMAX_API_KEY", "MINIMAX_BASE_URL", "OLLAMA_HOST",
               "TERAGENT_CONFIG")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for var in VENDOR_VARS:
        monkeypatch.delenv(var, raising=False)
    (tmp_path / ".git").mkdir()
    return tmp_path


@pytest.mark.parametrize("ref, module, adapter, compiler, key_env, base_url", FAMILIES)
def test_each_family_prefix_resolves(clean_env, ref, module, adapter, compiler, key_env,
                                     base_url):
    pytest.importorskip(module)
    kwargs = resolve_model_ref(ref)
    assert kwargs is not None
    assert (kwargs["adapter"], kwargs["compiler"], kwargs.get("api_key_env"),
            kwargs["base_url"]) == (adapter, compiler, key_env, base_url)
    assert kwargs["model"] == ref.partition(":")[2] and kwargs["name"] == ref


def test_glm_accepts_zhipu_sdk_variable(clean_env, monkeypatch):
    pytest.importorskip("teragent_glm")
    monkeypatch.setenv("ZHIPUAI_API_KEY", "zp-test-123456")
    assert resolve_model_ref("glm:glm-5.2") == {
        "adapter": "glm_native", "compiler": "glm_52", "model": "glm-5.2",
        "base_url": "https://open.bigmodel.cn/api/paas/v4", "name": "glm:glm-5.2",
        "api_key_env": "ZHIPUAI_API_KEY"}


def test_models_lists_every_installed_family(clean_env):
    families = model_families()
    for _ref, module, *_ in FAMILIES:
        pytest.importorskip(module)
    assert {"openai", "anthropic", "deepseek", "glm", "minimax", "ollama",
            "llamacpp"} <= set(families)


def _run(tmp_path: Path, env_extra: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in VENDOR_VARS}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"), **env_extra)
    return subprocess.run([*TERAGENT, *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_first_run_with_only_an_environment_variable_and_m(clean_env):
    pytest.importorskip("teragent_openai")
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    server = FakeOpenAIServer(strict=True).script(ScriptedReply(text="Hello from fake."))
    with serve_in_thread(server) as url:
        out = _run(clean_env, {"OPENAI_API_KEY": "sk-test-000111222", "OPENAI_BASE_URL": url},
                   "run", "say hello", "-m", "openai:gpt-4o-mini", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["final_text"] == "Hello from fake." and result["model"] == "openai:gpt-4o-mini"
    request = server.requests[0]
    assert request.body["model"] == "gpt-4o-mini"
    assert request.headers.get("authorization") == "Bearer sk-test-000111222"
    assert "sk-test" not in out.stderr


def test_missing_key_is_one_line_naming_keys_set(clean_env):
    pytest.importorskip("teragent_deepseek")
    out = _run(clean_env, {}, "run", "hi", "-m", "deepseek:deepseek-v4-flash")
    assert out.returncode == 2
    assert "teragent keys set DEEPSEEK_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_stored_key_and_ollama_host(clean_env, monkeypatch):
    """OLLAMA_HOST as the ollama CLI takes it (host:port, no /v1); no key needed."""
    pytest.importorskip("teragent_openai")
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    server = FakeOpenAIServer(strict=True).script(ScriptedReply(text="llama says hi"))
    with serve_in_thread(server) as url:
        host = url.removeprefix("http://").removesuffix("/v1")
        out = _run(clean_env, {"OLLAMA_HOST": host}, "run", "hi", "-m", "ollama:llama3.2",
                   "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["final_text"] == "llama says hi"
    assert "authorization" not in server.requests[0].headers


def test_anthropic_base_url_without_version(clean_env):
    pytest.importorskip("teragent_anthropic")
    from teragent_testing.fake_anthropic import FakeAnthropicServer
    from teragent_testing.fake_openai import ScriptedReply, serve_in_thread

    server = FakeAnthropicServer().script(ScriptedReply(text="Claude here."))
    with serve_in_thread(server, path="/v1") as url:
        keys = clean_env / "key.txt"
        keys.write_text("sk-ant-test-123456\n")
        with keys.open() as stdin:
            stored = subprocess.run([*TERAGENT, "keys", "set", "ANTHROPIC_API_KEY"],
                                    stdin=stdin, cwd=clean_env, capture_output=True,
                                    text=True, timeout=60,
                                    env={**{k: v for k, v in os.environ.items()
                                            if k not in VENDOR_VARS},
                                         "HOME": str(clean_env),
                                         "XDG_CONFIG_HOME": str(clean_env / "xdg")})
        assert stored.returncode == 0, stored.stderr
        out = _run(clean_env, {"ANTHROPIC_BASE_URL": url.removesuffix("/v1")}, "run", "hi",
                   "-m", "anthropic:claude-sonnet-4-20250514", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["final_text"] == "Claude here."
    assert server.requests[0].path.endswith("/v1/messages")
    assert server.requests[0].headers.get("x-api-key") == "sk-ant-test-123456"
