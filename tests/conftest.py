"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def test_voice_dir(tmp_path_factory) -> Path:
    """One tiny random-weight voice per test session, built from the real classes (tts_model.testing)."""
    from tts_model.testing import make_test_voice

    directory = tmp_path_factory.getbasetemp() / "voices" / "test-voice"
    make_test_voice(directory)
    return directory
