"""Exemplar projection (tts_model.runtime.exemplars): the frame layout, the bank file, the projection and its use at run time."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tts_model.runtime.config import ConfigError, VoiceConfig
from tts_model.runtime.exemplars import BANK_FORMAT, ExemplarBank, ExemplarError, FrameLayout, frame_layout, project


def _bank(seed: int = 0, frames_per_phone: int = 40, n_mels: int = 80):
    """A bank of random frames for phonemes 10 and 11, and the frames themselves."""
    rng = np.random.default_rng(seed)
    mel = rng.uniform(-9.0, 1.0, size=(2 * frames_per_phone, n_mels)).astype(np.float32)
    phones = np.repeat([11, 10], frames_per_phone)
    places = np.tile((np.arange(frames_per_phone) + 0.5) / frames_per_phone, 2)
    return ExemplarBank.build(mel, phones, places), mel, phones, places


def _layout(phones, places, left=None, right=None) -> FrameLayout:
    """A FrameLayout for hand-made frames; neighbours default to <pad> (0)."""
    phones = np.asarray(phones)
    pad = np.zeros(phones.shape, np.int64)
    return FrameLayout(phones, np.asarray(places, np.float32), pad if left is None else np.asarray(left),
                       pad if right is None else np.asarray(right))


def test_frame_layout_gives_each_frame_its_phoneme_and_place():
    phones, places, _, _ = frame_layout(np.array([5, 6, 7]), np.array([2, 0, 3]))
    assert phones.tolist() == [5, 5, 7, 7, 7]
    assert places == pytest.approx([0.25, 0.75, 1 / 6, 0.5, 5 / 6])
    with pytest.raises(ValueError, match="differ in length"):
        frame_layout(np.array([5, 6]), np.array([1]))


def test_frame_layout_neighbours_are_the_sequence_neighbours_zero_frame_phonemes_included():
    layout = frame_layout(np.array([5, 6, 1, 7]), np.array([2, 1, 0, 3]))  # 1 = <sp>, no frames
    assert layout.left.tolist() == [0, 0, 5, 1, 1, 1]
    assert layout.right.tolist() == [6, 6, 1, 0, 0, 0]


def test_bank_groups_by_phoneme_keeps_frames_within_a_quantisation_step_and_round_trips(tmp_path):
    bank, mel, phones, places = _bank()
    assert bank.phone_ids.tolist() == [10, 11] and bank.n_frames == 80 and bank.codes.dtype == np.uint8
    decoded, got_places, norms, left, right = bank.frames(10)
    assert bank.frames(10).mel is decoded and bank.frames(10).right is right
    assert left.tolist() == right.tolist() == [0] * 40  # built without neighbours: <pad> on both sides
    assert np.abs(decoded - mel[phones == 10]).max() <= bank.scale.max() / 2 + 1e-5
    assert got_places == pytest.approx(places[phones == 10], abs=0.5 / 255 + 1e-6)
    assert norms == pytest.approx(np.sum(decoded ** 2, axis=1), rel=1e-5)
    assert bank.frames(12) is None
    bank.save(tmp_path / "b.npz")
    loaded = ExemplarBank.load(tmp_path / "b.npz", n_mels=80)
    assert np.array_equal(loaded.codes, bank.codes) and np.array_equal(loaded.offsets, bank.offsets)
    ExemplarBank.build(mel[:, :40], phones, places).save(tmp_path / "narrow.npz")
    with pytest.raises(ExemplarError, match="40 mel bins, the voice 80"):
        ExemplarBank.load(tmp_path / "narrow.npz", n_mels=80)
    with pytest.raises(ValueError, match="non-finite"):
        ExemplarBank.build(np.full((2, 80), np.nan), np.array([1, 1]), np.array([0.5, 0.5]))


def test_bank_load_names_a_missing_corrupt_or_inconsistent_file(tmp_path):
    with pytest.raises(ExemplarError, match="missing"):
        ExemplarBank.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ExemplarError, match="corrupt or not a bank"):
        ExemplarBank.load(tmp_path / "junk.npz")
    bank = _bank()[0]
    bad = dataclasses.replace(bank, offsets=np.array([0, 50, 70]))  # does not end at the last frame
    bad.save(tmp_path / "bad.npz")
    with pytest.raises(ExemplarError, match="inconsistent"):
        ExemplarBank.load(tmp_path / "bad.npz")
    dataclasses.replace(bank, left_ids=bank.left_ids[:5]).save(tmp_path / "short.npz")
    with pytest.raises(ExemplarError, match="inconsistent"):
        ExemplarBank.load(tmp_path / "short.npz")
    # a bank of an older format (run 14's had no neighbours): the message names both formats
    bank.save(tmp_path / "b.npz")
    arrays = {k: v for k, v in np.load(tmp_path / "b.npz").items() if k not in ("left_ids", "right_ids")}
    np.savez(tmp_path / "old.npz", **{**arrays, "format": np.int64(1)})
    with pytest.raises(ExemplarError, match=f"has format 1; this version reads format {BANK_FORMAT}"):
        ExemplarBank.load(tmp_path / "old.npz")
    with pytest.raises(ValueError, match="neighbour ids below 256"):
        ExemplarBank.build(np.zeros((1, 80)), np.array([1]), np.array([0.5]), neighbours=(np.array([300]),
                                                                                           np.array([0])))


def test_projection_finds_the_recorded_frame_and_keeps_what_the_bank_lacks():
    bank, mel, phones, places = _bank()
    decoded = bank.frames(11)[0]
    query = mel[phones == 11][[3, 17]] + np.float32(0.05)  # near two recorded frames of phoneme 11
    frames = np.vstack([query, np.zeros((2, 80), np.float32)])
    frame_phones = np.array([11, 11, 12, 12])  # phoneme 12 has no bank frames
    frame_places = np.array([places[3], places[17], 0.5, 0.5], np.float32)
    at = _layout(frame_phones, frame_places)
    out = project(frames, at, bank, k=1, position_weight=2.0)
    assert np.allclose(out[:2], decoded[[3, 17]]) and np.array_equal(out[2:], frames[2:])
    half = project(frames, at, bank, k=1, position_weight=2.0, strength=0.5)
    assert np.allclose(half[:2], (frames[:2] + decoded[[3, 17]]) / 2, atol=1e-5)
    mean_all = project(frames, at, bank, k=1000, position_weight=0.0)
    assert np.allclose(mean_all[0], decoded.mean(axis=0), atol=1e-4)  # k above the bank: the phoneme's mean
    # the place in the phoneme decides between two equally near frames
    twins = ExemplarBank.build(np.vstack([np.zeros((1, 80)), np.ones((1, 80))]), np.array([4, 4]),
                               np.array([0.1, 0.9]))
    probe = np.full((1, 80), 0.5, np.float32)
    assert project(probe, _layout([4], [0.9]), twins, 1, 2.0)[0, 0] == pytest.approx(1.0)
    assert project(probe, _layout([4], [0.1]), twins, 1, 2.0)[0, 0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="does not fit"):
        project(frames[:, :40], at, bank, 1, 2.0)
    with pytest.raises(ValueError, match="does not fit"):  # a layout of another length
        project(frames, _layout(frame_phones[:3], frame_places[:3]), bank, 1, 2.0)


def test_envelope_bins_keep_the_models_harmonic_ripple_under_the_exemplars_envelope():
    from tts_model.runtime.exemplars import ENVELOPE_WIDTH, _smooth_bins

    bank, mel, phones, places = _bank()
    recorded = bank.frames(10)[0][5]
    bins = np.arange(80)
    ripple = (0.8 * np.cos(2 * np.pi * bins / 3)).astype(np.float32)  # harmonics 3 bins apart
    query = (recorded + np.float32(0.02) + ripple)[None]
    out = project(query, _layout([10], [places[phones == 10][5]]), bank, 1, 2.0, envelope_bins=20)
    assert np.allclose(out[0, 20:], recorded[20:])  # above: the exemplar itself
    expected = _smooth_bins(recorded[None])[0] + query[0] - _smooth_bins(query)[0]
    assert np.allclose(out[0, :20], expected[:20], atol=1e-5)
    inner = slice(ENVELOPE_WIDTH, 20 - ENVELOPE_WIDTH)  # away from the edges, the ripple is the query's
    assert np.corrcoef(out[0, inner] - recorded[inner], ripple[inner])[0, 1] > 0.9


def test_the_context_term_prefers_frames_between_the_same_neighbours_by_place():
    # two equally near frames of phoneme 4: one recorded after 9 and before 20, one after 30 and before 40
    bank = ExemplarBank.build(np.vstack([np.zeros((1, 80)), np.ones((1, 80))]), np.array([4, 4]),
                              np.array([0.5, 0.5]), neighbours=(np.array([9, 30]), np.array([20, 40])))
    probe = np.full((1, 80), 0.5, np.float32)
    at = dict(bank=bank, k=1, position_weight=0.0, context_weight=1.0)
    # near its start a frame follows the left neighbour, near its end the right one
    assert project(probe, _layout([4], [0.1], [9], [40]), **at)[0, 0] == pytest.approx(0.0)
    assert project(probe, _layout([4], [0.9], [9], [40]), **at)[0, 0] == pytest.approx(1.0)
    assert project(probe, _layout([4], [0.9], [30], [20]), **at)[0, 0] == pytest.approx(0.0)
    # the spectrum still wins over a context mismatch of a small weight
    near_one = np.full((1, 80), 0.9, np.float32)
    assert project(near_one, _layout([4], [0.1], [9], [20]), **{**at, "context_weight": 0.1})[0, 0] \
        == pytest.approx(1.0)
    with pytest.raises(ValueError, match="does not fit"):  # neighbours of another length
        project(probe, _layout([4], [0.1], [9, 9], [20, 20]), **at)


def test_runtime_projects_only_with_a_bank_and_says_when_its_file_is_bad(tmp_path):
    from tts_model.runtime.synthesizer import SynthesisError, Synthesizer
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "v")
    data = json.loads((voice / "voice.json").read_text())
    legacy = {k: v for k, v in data.items() if k != "render_chain"}  # voice.json before the chain
    assert VoiceConfig.from_dict(data).stage("exemplars") is None  # off unless built
    for field, bad in (("exemplar_k", 0), ("exemplar_k", 2.5), ("exemplar_k", True), ("exemplar_position_weight", -1),
                       ("exemplar_strength", 0.0), ("exemplar_strength", 1.5), ("exemplar_file", ""),
                       ("exemplar_envelope_bins", 81), ("exemplar_envelope_bins", -1), ("exemplar_pitch_weight", -0.1),
                       ("exemplar_context_weight", -1), ("exemplar_context_weight", "1")):
        with pytest.raises(ConfigError, match=field):
            VoiceConfig.from_dict({**legacy, field: bad})

    base = Synthesizer.load(voice, threads=1)
    segments = [{"word": "Shall we go?"}, {"word": "Yes, now."}]
    plain, frames, predicted = base.render_mel(segments)
    rng = np.random.default_rng(1)
    bank_mel = rng.uniform(-8.0, 0.0, size=(600, 80)).astype(np.float32)
    ExemplarBank.build(bank_mel, rng.integers(0, 80, 600), rng.uniform(0, 1, 600)).save(voice / "exemplars.npz")
    (voice / "voice.json").write_text(json.dumps({**legacy, "exemplar_file": "exemplars.npz", "exemplar_k": 1}))
    projected = Synthesizer.load(voice, threads=1)
    mel, frames_p, predicted_p = projected.render_mel(segments)
    assert np.array_equal(frames, frames_p) and predicted == predicted_p  # timing and reported plan untouched
    assert not np.allclose(mel, plain)
    # with k = 1 every changed frame is one of the bank's frames (decoded)
    decoded = projected.exemplars.codes.astype(np.float32) * projected.exemplars.scale + projected.exemplars.low
    changed = ~np.all(np.isclose(mel, plain), axis=1)
    nearest = np.min(np.abs(mel[changed][:, None] - decoded[None]).max(axis=2), axis=1)
    assert changed.any() and nearest.max() < 1e-4
    assert np.isfinite(projected.synthesize_all(segments)).all()

    (voice / "exemplars.npz").write_bytes(b"\x00" * 64)
    with pytest.raises(SynthesisError, match=r"exemplar bank .* corrupt .*python -m recipes.build_exemplars"):
        Synthesizer.load(voice, threads=1)
    (voice / "exemplars.npz").unlink()
    with pytest.raises(SynthesisError, match="missing"):
        Synthesizer.load(voice, threads=1)
    # a bank shared with another voice folder (as ljspeech-v1 shares ljspeech's): keep the folders together
    (voice / "voice.json").write_text(json.dumps({**legacy, "exemplar_file": "../other/exemplars.npz"}))
    with pytest.raises(SynthesisError, match=r"missing; this voice shares it with the voice folder .*other"):
        Synthesizer.load(voice, threads=1)
    assert Synthesizer.load(voice, threads=1, use_exemplars=False).exemplars is None
