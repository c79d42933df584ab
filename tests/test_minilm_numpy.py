"""The NumPy all-MiniLM-L6-v2 equals the torch + transformers model, and free-form instructions load neither
torch nor a progress bar (issue 23, item 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SENTENCES = ["like someone who just heard terrible news", "a bit happier than normal", "hi",
             "tired but trying to sound cheerful, and the instruction goes on for quite a few more words",
             "Whisper it, as if the walls could hear you."]


@pytest.fixture(scope="module")
def numpy_embedder():
    from baton.conductors.minilm_numpy import NumpySentenceEmbedder

    return NumpySentenceEmbedder.load()


def test_numpy_embeddings_equal_the_torch_model(numpy_embedder):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from baton.conductors.embedded_embed import SentenceEmbedder

    reference = SentenceEmbedder.load().embed(SENTENCES)
    ours = numpy_embedder.embed(SENTENCES)  # one batch: padding must not change any sentence's embedding
    assert ours.shape == reference.shape == (len(SENTENCES), 384) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-5
    alone = numpy_embedder.embed([SENTENCES[2]])[0]
    assert np.abs(alone - reference[2]).max() < 1e-5


def test_gelu_uses_an_accurate_erf():
    import math

    from baton.conductors.minilm_numpy import _erf

    x = np.linspace(-5, 5, 2001)
    assert np.abs(_erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7


def test_free_form_instruction_without_torch_or_output():
    """In a fresh process: the classifier answers, torch and transformers stay unimported, nothing printed."""
    code = ("import sys\n"
            "from baton.conductors.embedded import EmbeddedConductor\n"
            "intent = EmbeddedConductor().understand('like someone who just heard terrible news')\n"
            "print(intent.source, intent.emotion, 'torch' in sys.modules, 'transformers' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["embedding", "sad", "False", "False"]
    assert result.stderr == ""


def test_quiet_speak_with_a_free_form_instruction_prints_nothing(tmp_path, test_voice_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BATON_VOICE_PATH": str(test_voice_dir.parent)}
    result = subprocess.run([sys.executable, "-m", "baton.cli", "speak", "It is over.", "-i",
                             "like someone who just heard terrible news", "-o", str(tmp_path / "x.wav"), "-q"],
                            capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""
    assert (tmp_path / "x.wav").stat().st_size > 44
