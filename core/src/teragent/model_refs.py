"""``PROVIDER:MODEL`` references (``openai:gpt-4o-mini``, ``glm:glm-5``) → a driver.

Each family plugin registers its provider prefix with ``teragent_register_models``: the
adapter and compiler, a default ``base_url`` and the vendor's conventional environment
variables (``OPENAI_API_KEY``/``OPENAI_BASE_URL``, ...). :func:`resolve_model_ref` turns
a reference into :func:`teragent.create_provider` keyword arguments; an unknown provider
gets "did you mean", a first-party one whose plugin is missing gets
"pip install teragent-X". ``teragent models`` lists :func:`model_families`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from teragent.errors import MissingPluginError, UnknownComponentError, UserError

__all__ = ["ModelFamily", "model_families", "split_model_ref", "resolve_model_ref",
           "key_variable_status"]


@dataclass(frozen=True)
class ModelFamily:
    """One registered provider prefix (see ``teragent_register_models``)."""

    provider: str
    adapter: str
    compiler: str = "default"
    base_url: str | None = None
    base_url_env: tuple[str, ...] = ()
    base_url_path: str = ""
    key_env: tuple[str, ...] = ()
    models: dict[str, str | None] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""

    def compiler_for(self, model: str) -> str:
        return self.models.get(model) or self.compiler


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def model_families(host: Any = None) -> dict[str, ModelFamily]:
    """Every registered provider prefix, by name."""
    if host is None:
        from teragent.plugins import get_host

        host = get_host()
    registry = host.registry("models")
    out: dict[str, ModelFamily] = {}
    for name in registry.names():
        entry = registry.entry(name)
        opts = entry.options
        models = opts.get("models") or {}
        if not isinstance(models, dict):
            models = {str(m): None for m in models}
        out[name] = ModelFamily(
            provider=name, adapter=str(entry.target),
            compiler=str(opts.get("compiler") or "default"),
            base_url=opts.get("base_url"), base_url_env=_names(opts.get("base_url_env")),
            base_url_path=str(opts.get("base_url_path") or "").rstrip("/"),
            key_env=_names(opts.get("key_env")), models=dict(models),
            description=entry.description, plugin=entry.plugin)
    return out


def split_model_ref(model: str) -> tuple[str, str] | None:
    """``("openai", "gpt-4o-mini")`` for ``"openai:gpt-4o-mini"``; ``None`` for what is
    not a reference (no colon, a path, a Windows drive, a URL)."""
    if ":" not in model or "://" in model:
        return None
    provider, _, name = model.partition(":")
    if len(provider) < 2 or not all(c.isalnum() or c in "_-" for c in provider):
        return None  # C:\\models\\x.gguf, ./dir:x/model.gguf: a path
    return provider.lower(), name.strip()


def key_variable_status(family: ModelFamily) -> tuple[str | None, bool]:
    """The key variable to use and whether it is set (environment, ``.env`` or the key
    file): the first of ``key_env`` that is set, else the first. Never the value."""
    from teragent.config.secrets import resolve_api_key

    for var in family.key_env:
        if resolve_api_key(var, required=False):
            return var, True
    return (family.key_env[0] if family.key_env else None), False


def _base_url(family: ModelFamily) -> str | None:
    for var in family.base_url_env:
        value = os.environ.get(var, "").strip()
        if value:
            # the vendor's convention: a host (OLLAMA_HOST=127.0.0.1:11434) or a root
            # without the API version (ANTHROPIC_BASE_URL=https://proxy) is completed
            if "://" not in value:
                value = "http://" + value
            value = value.rstrip("/")
            path = family.base_url_path
            if path and not value.endswith(path):
                value += path
            return value
    return family.base_url


def _bare(model: str) -> bool:
    return bool(model) and not any(c in model for c in "/\\:") \
        and not model.lower().endswith(".gguf")


def resolve_model_ref(model: str, host: Any = None) -> dict[str, Any] | None:
    """:func:`teragent.create_provider` keyword arguments for ``PROVIDER:MODEL`` (or a
    bare model name exactly one installed family lists), or ``None`` when ``model`` is
    neither.

    Raises:
        MissingPluginError: the provider belongs to a first-party plugin not installed.
        UnknownComponentError: an unknown provider (with "did you mean").
        UserError: no model after the colon.
    """
    ref = split_model_ref(model)
    families = model_families(host) if ref is not None or _bare(model) else {}
    if ref is None:
        # a bare model name one installed family lists: `-m gpt-4o-mini` as llm takes it
        owners = [f for f in families.values() if model in f.models]
        if len(owners) != 1:
            return None
        ref = (owners[0].provider, model)
    provider, name = ref
    family = families.get(provider)
    if family is None:
        from teragent.registry import KNOWN_DISTRIBUTIONS

        dist = KNOWN_DISTRIBUTIONS.get("model", {}).get(provider)
        if dist:
            raise MissingPluginError(f"The model provider {provider!r}", dist)
        raise UnknownComponentError(
            "model provider", provider, families,
            hint="`teragent models` lists what the installed plugins offer.")
    if not name:
        known = ", ".join(sorted(family.models)) or "see the vendor's model list"
        raise UserError(f"{model!r} names no model; write {provider}:MODEL "
                        f"(known: {known}).")
    key_var, _ = key_variable_status(family)
    kwargs: dict[str, Any] = {
        "adapter": family.adapter, "compiler": family.compiler_for(name), "model": name,
        "base_url": _base_url(family), "name": f"{provider}:{name}",
    }
    if key_var:
        kwargs["api_key_env"] = key_var
    return kwargs
