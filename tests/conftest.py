"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(scope="session")
def test_voice_dir(tmp_path_factory) -> Path:
    """One tiny random-weight voice per test session, built from the real classes (tts_model.train.testing)."""
    from tts_model.train.testing import make_test_voice

    directory = tmp_path_factory.getbasetemp() / "voices" / "test-voice"
    make_test_voice(directory)
    return directory


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """SmolLM2's per-token work is tiny: on a small shared CPU two torch threads wait on each other
    (tests/test_llm_*.py took 161 s with torch's default 2 threads, 71 s with 1, on the 2 vCPU dev box
    under load). Restored afterwards."""
    try:
        import torch
    except ImportError:  # runtime-only install: the model tests skip, the others need no torch
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
