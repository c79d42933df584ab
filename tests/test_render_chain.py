"""The render chain (tts_model.runtime.chain): voice.json lists the stages, they run in that order, each can be
skipped by name, and an older voice.json with flat keys loads as the same chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tts_model.runtime import chain
from tts_model.runtime.chain import (STAGES, CentroidTilt, Exemplars, Harmonics, PitchCalibration, chain_from_flat,
                                     stage_to_dict)
from tts_model.runtime.config import ConfigError, VoiceConfig
from tts_model.runtime.synthesizer import SynthesisError, Synthesizer

VOICES = Path(__file__).resolve().parent.parent / "tts_model" / "voices"
SEGMENTS = [{"word": "Shall we go?", "pitch_mean": 150.0, "spectral_centroid": 3000.0},
            {"word": "Yes, now.", "pitch_mean": 260.0, "energy_rms": 0.05}]
TUNED = [{"stage": "pitch_calibration", "gain_down": 1.3, "gain_up": 1.1},
         {"stage": "harmonics", "strength": 0.5, "phonemes": "voiced"},
         {"stage": "centroid_tilt", "calibration": [1.0, 0.0], "max_tilt": 2.0, "scope": "utterance"},
         {"stage": "pitch_range"}, {"stage": "voice_quality"}, {"stage": "segment_gain"}]


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    """The tiny test voice with a tuned chain (calibration, harmonics, tilt, the audio stages)."""
    from tts_model.train.testing import make_test_voice

    path = make_test_voice(tmp_path_factory.mktemp("chain") / "v")
    data = json.loads((path / "voice.json").read_text())
    (path / "voice.json").write_text(json.dumps({**data, "render_chain": TUNED}))
    return path


def _data(voice: Path) -> dict:
    return json.loads((voice / "voice.json").read_text())


def test_the_chain_round_trips_and_an_older_flat_voice_json_loads_as_the_same_chain(voice):
    data = _data(voice)
    config = VoiceConfig.from_dict(data)
    assert [s.name for s in config.render_chain] == [e["stage"] for e in TUNED]
    assert [stage_to_dict(s) for s in config.render_chain] == TUNED
    assert VoiceConfig.from_dict(config.to_dict()) == config
    flat = {k: v for k, v in data.items() if k != "render_chain"}
    flat.update(pitch_control_gain_down=1.3, pitch_control_gain_up=1.1, harmonic_strength=0.5,
                harmonic_phonemes="voiced", centroid_calibration=[1.0, 0.0], centroid_max_tilt=2.0,
                centroid_scope="utterance", exemplar_k=5, exemplar_pitch_weight=0.0)  # no exemplar_file: off
    assert VoiceConfig.from_dict(flat) == config
    # the old defaults: nothing tuned means the plan-driven audio stages only
    bare = {k: v for k, v in data.items() if k != "render_chain"}
    assert [s.name for s in VoiceConfig.from_dict(bare).render_chain] == ["pitch_range", "voice_quality",
                                                                          "segment_gain"]
    with pytest.raises(ConfigError, match="exemplar_pitch_weight .* no longer supported"):
        VoiceConfig.from_dict({**bare, "exemplar_pitch_weight": 0.5})
    with pytest.raises(ConfigError, match=r"\['harmonic_strength'\] belong inside 'render_chain'"):
        VoiceConfig.from_dict({**data, "harmonic_strength": 0.5})


@pytest.mark.parametrize("shipped", ["ljspeech", "ljspeech-v1"])
def test_shipped_voices_list_their_chain_as_their_flat_keys_meant_it(shipped):
    """Both shipped voice.json are in chain form, equal to what their former flat keys converted to."""
    path = VOICES / shipped / "voice.json"
    if not path.is_file():
        pytest.skip(f"{shipped} is not in this checkout")
    config = VoiceConfig.load(path)
    assert [s.name for s in config.render_chain] == list(STAGES)  # every stage, in the canonical order
    flat = {"pitch_control_gain_down": 1.3, "pitch_control_gain_up": 1.0, "harmonic_strength": 0.5,
            "harmonic_phonemes": "voiced", "exemplar_file": config.stage("exemplars").file, "exemplar_k": 21,
            "exemplar_position_weight": 2.0, "exemplar_strength": 1.0, "exemplar_envelope_bins": 40,
            "exemplar_context_weight": 1.0, "centroid_calibration": list(config.stage("centroid_tilt").calibration),
            "centroid_max_tilt": 0.8, "centroid_scope": "utterance"}
    assert chain_from_flat(flat) == [stage_to_dict(s) for s in config.render_chain]


def test_stage_settings_are_checked_and_unknown_names_are_one_line_errors_listing_the_valid_ones(voice):
    data = _data(voice)
    bad = [([{"stage": "harmonics", "strenght": 0.5}], r"unknown setting\(s\) \['strenght'\]; valid: strength, "
                                                        r"phonemes"),
           ([{"stage": "reverb"}], "unknown stage 'reverb'; stages: pitch_calibration, exemplars, harmonics"),
           ([{"strength": 0.5}], "'stage' name"),
           ([{"stage": "harmonics", "strength": 3.0}], "strength must be a number in 0..2"),
           ([{"stage": "exemplars", "k": 0}], "k must be a whole number"),
           ([{"stage": "centroid_tilt", "calibration": [0.1, 0.0]}], "slope in 0.2..5"),
           ([{"stage": "pitch_calibration", "gain_down": 0.4}], "gain_down must be a number in 0.5..2"),
           ([{"stage": "harmonics"}, {"stage": "harmonics"}], "more than once"),
           ([{"stage": "segment_gain"}, {"stage": "harmonics"}], "list the controls, then mel, then audio"),
           ([{"stage": "harmonics"}, {"stage": "pitch_calibration"}], "'pitch_calibration' .*controls stage.* "
                                                                       "after 'harmonics'"),
           ({"stage": "harmonics"}, "must be a list")]
    for entries, message in bad:
        with pytest.raises(ConfigError, match=message) as err:
            VoiceConfig.from_dict({**data, "render_chain": entries})
        assert "\n" not in str(err.value)


def test_skipping_a_stage_changes_the_render_and_the_stage_is_not_called(voice, monkeypatch):
    calls: list[str] = []
    for cls in STAGES.values():
        original = cls.apply

        def spy(self, state, _original=original):
            calls.append(self.name)
            return _original(self, state)

        monkeypatch.setattr(cls, "apply", spy)
    full = Synthesizer.load(voice, threads=1)
    audio = full.synthesize_all(SEGMENTS)
    # mel stages once per call, audio stages once per segment, in the listed order
    assert calls == ["pitch_calibration", "harmonics", "centroid_tilt"] + ["pitch_range", "voice_quality",
                                                                           "segment_gain"] * 2
    for name in ("pitch_calibration", "harmonics", "centroid_tilt", "segment_gain"):
        calls.clear()
        skipped = Synthesizer.load(voice, threads=1, skip_stages=(name,))
        assert name not in [s.name for s in skipped.config.render_chain]
        other = skipped.synthesize_all(SEGMENTS)
        assert calls and name not in calls
        assert other.shape != audio.shape or not np.array_equal(other, audio), name
    calls.clear()
    assert np.array_equal(Synthesizer.load(voice, threads=1, skip_stages=("exemplars",)).synthesize_all(SEGMENTS),
                          audio)  # this voice has no exemplar stage: skipping it is allowed and changes nothing


def test_skipping_an_unknown_stage_is_a_clear_error(voice):
    with pytest.raises(SynthesisError, match=r"cannot skip unknown stage\(s\) \['harmonic'\]; stages: "
                                             r"pitch_calibration, exemplars, harmonics, centroid_tilt"):
        Synthesizer.load(voice, threads=1, skip_stages=("harmonic",))
    with pytest.raises(ConfigError, match="unknown stage"):
        VoiceConfig.load(voice / "voice.json").without_stages("tilt")


def test_stages_run_in_the_listed_order(voice, tmp_path, monkeypatch):
    """Swapping two mel stages in voice.json swaps their calls, and the render follows: centroid tilt before
    harmonics estimates the centroid on the unsharpened mel."""
    calls: list[str] = []
    for cls in (Harmonics, CentroidTilt):
        original = cls.apply

        def spy(self, state, _original=original):
            calls.append(self.name)
            return _original(self, state)

        monkeypatch.setattr(cls, "apply", spy)
    data = _data(voice)
    swapped = [TUNED[0], TUNED[2], TUNED[1], *TUNED[3:]]
    other = tmp_path / "swapped"
    other.mkdir()
    for f in voice.iterdir():
        if f.name != "voice.json":
            (other / f.name).symlink_to(f)
    (other / "voice.json").write_text(json.dumps({**data, "render_chain": swapped}))
    listed = Synthesizer.load(voice, threads=1).render_mel(SEGMENTS)[0]
    assert calls == ["harmonics", "centroid_tilt"]
    calls.clear()
    reordered = Synthesizer.load(other, threads=1).render_mel(SEGMENTS)[0]
    assert calls == ["centroid_tilt", "harmonics"]
    assert not np.array_equal(listed, reordered)


def test_with_stage_replaces_in_place_or_inserts_in_canonical_order(voice):
    config = VoiceConfig.load(voice / "voice.json")
    sharper = config.with_stage(Harmonics(strength=1.0))
    assert [s.name for s in sharper.render_chain] == [s.name for s in config.render_chain]
    assert sharper.stage("harmonics").strength == 1.0
    with_bank = config.with_stage(Exemplars(file="x.npz"))
    assert [s.name for s in with_bank.render_chain][:3] == ["pitch_calibration", "exemplars", "harmonics"]
    bare = config.without_stages("pitch_calibration", "harmonics")
    assert [s.name for s in bare.with_stage(PitchCalibration(gain_down=1.2)).render_chain][:2] == \
        ["pitch_calibration", "centroid_tilt"]
    assert chain.check_skip("harmonics") == ("harmonics",)
