"""``WordLlamaEmbedder``: WordLlama's bundled weights, loaded from the installed wheel.

``WordLlama.load()`` looks for the bundled tokenizer under a folder name the wheel does
not use and then tries to download it; this loader opens the two files the wheel ships
(``weights/l2_supercat_256.safetensors`` and ``tokenizers/l2_supercat_tokenizer_config.json``)
directly, so nothing is ever fetched.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

__all__ = ["WordLlamaEmbedder"]

_LOCK = threading.Lock()
_MODEL: Any = None


def _load() -> Any:
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            import wordllama
            from safetensors import safe_open
            from tokenizers import Tokenizer
            from wordllama.inference import WordLlamaInference

            root = Path(wordllama.__file__).parent
            weights = root / "weights" / "l2_supercat_256.safetensors"
            tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
            for f in (weights, tokenizer):
                if not f.is_file():
                    from teragent.errors import UserError

                    raise UserError(f"the wordllama package lacks its bundled {f.name}; "
                                    "reinstall it: pip install --force-reinstall wordllama")
            with safe_open(str(weights), framework="np", device="cpu") as handle:
                embedding = handle.get_tensor("embedding.weight")
            _MODEL = WordLlamaInference(embedding, Tokenizer.from_file(str(tokenizer)))
        return _MODEL


class WordLlamaEmbedder:
    """256-dimension, unit-length sentence vectors."""

    name = "wordllama-l2_supercat-256"
    dim = 256

    def embed(self, texts: list[str]) -> Any:
        """One normalised vector per text (a ``float32`` array of shape (n, 256))."""
        return _load().embed(list(texts), norm=True)
