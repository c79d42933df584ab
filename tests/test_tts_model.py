"""Acoustic model: shapes, controls honoured, config strictness, checkpoints in pieces, torch vs onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tts_model.config import N_CONTROLS, ConfigError, ModelConfig, VoiceConfig
from tts_model.controls import denormalize_controls, normalize_controls
from tts_model.export import ExportWrapper, export_acoustic, parity_inputs
from tts_model.frontend import PHONEME_TO_ID
from tts_model.model import DURATION, ENERGY, PAUSE, PITCH, PITCH_SLOPE
from tts_model.testing import TEST_BASELINE, tiny_acoustic_model

torch.set_num_threads(1)


def _inputs(controls: dict[tuple[int, int], float] | None = None):
    """Two segments of 'hello there' phonemes, each closed by a pause token."""
    seg0 = ["HH", "AH0", "L", "OW1", ",", "<sp>"]
    seg1 = ["DH", "EH1", "R", "<sp>"]
    ids = torch.tensor([[PHONEME_TO_ID[p] for p in seg0 + seg1]])
    segs = torch.tensor([[0] * len(seg0) + [1] * len(seg1)])
    c = torch.zeros(1, 2, N_CONTROLS)
    m = torch.zeros(1, 2, N_CONTROLS)
    for (s, k), v in (controls or {}).items():
        c[0, s, k] = v
        m[0, s, k] = 1.0
    return ids, segs, torch.zeros(1, ids.shape[1]), c, m


@pytest.fixture(scope="module")
def model():
    return tiny_acoustic_model(seed=3)


def test_forward_shapes(model):
    ids, segs, emph, c, m = _inputs()
    with torch.no_grad():
        out = model(ids, segs, emph, c, m)
    n_frames = int(out.durations.sum())
    assert out.mel.shape == (1, n_frames, 80) and n_frames > 0
    assert out.controls.shape == (1, 2, N_CONTROLS)
    assert out.pitch_st.shape == out.energy_db.shape == ids.shape
    assert torch.isfinite(out.mel).all()


def test_given_duration_sets_segment_length(model):
    cfg = model.config
    frames = {}
    for value in (-1.0, 0.0, 1.0):
        with torch.no_grad():
            out = model(*_inputs({(0, DURATION): value, (1, DURATION): value}))
        frames[value] = int(out.durations[0, :5].sum())  # segment 0 without its pause token
        n_phones = 4
        expected = cfg.control_norm.phone_s * np.exp(value * cfg.control_norm.log_duration_scale) * n_phones / cfg.frame_s
        assert abs(frames[value] - expected) <= 3  # rounding of 5 tokens
    assert frames[-1.0] < frames[0.0] < frames[1.0]


def test_given_pause_sets_pause_token(model):
    with torch.no_grad():
        short = model(*_inputs({(0, PAUSE): -1.0})).durations[0, 5]
        long = model(*_inputs({(0, PAUSE): 1.0})).durations[0, 5]
    assert long > short + 10


def test_given_pitch_and_slope_are_honoured(model):
    norm = model.config.control_norm
    with torch.no_grad():
        out = model(*_inputs({(0, PITCH): 1.5, (0, PITCH_SLOPE): 0.5, (1, ENERGY): -1.0}))
    d = out.durations[0].numpy()
    is_phone = np.array([1, 1, 1, 1, 0, 0], dtype=float)
    w = d[:6] * is_phone
    pitch = out.pitch_st[0, :6].numpy()
    mean = (w * pitch).sum() / w.sum()
    assert mean == pytest.approx(1.5 * norm.pitch_st_scale, abs=1e-3)
    times = (np.cumsum(d) - d / 2)[:6] * model.config.frame_s
    keep = w > 0
    slope = np.polyfit(times[keep], pitch[keep], 1, w=np.sqrt(w[keep]))[0]
    assert slope == pytest.approx(0.5 * norm.slope_st_s_scale, rel=1e-3)
    energy = out.energy_db[0, 6:9].numpy()
    w1 = d[6:9]
    power_mean = 10 * np.log10((w1 * 10 ** (energy / 10)).sum() / w1.sum())
    assert power_mean == pytest.approx(-1.0 * norm.energy_db_scale, abs=1e-3)


def test_changing_pitch_changes_mel(model):
    with torch.no_grad():
        low = model(*_inputs({(0, PITCH): -2.0, (0, DURATION): 0.0, (1, DURATION): 0.0, (0, PAUSE): 0.0,
                              (1, PAUSE): 0.0})).mel
        high = model(*_inputs({(0, PITCH): 2.0, (0, DURATION): 0.0, (1, DURATION): 0.0, (0, PAUSE): 0.0,
                               (1, PAUSE): 0.0})).mel
    assert low.shape == high.shape and float((low - high).abs().mean()) > 1e-4


def test_controls_round_trip():
    norm = ModelConfig().control_norm
    seg = {"pitch_mean": 250.0, "pitch_slope": -40.0, "energy_rms": 0.02, "energy_slope": 12.0,
           "spectral_centroid": 2500.0, "duration": 1.2, "pause_after": 0.4}
    controls, mask = normalize_controls([seg, {"pitch_mean": None}], [10, 3], TEST_BASELINE, norm)
    assert mask[0].all() and not mask[1].any()
    back = denormalize_controls(controls[:1], [10], TEST_BASELINE, norm)[0]
    for key, value in seg.items():
        assert back[key] == pytest.approx(value, rel=1e-4)


def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown key"):
        ModelConfig.from_dict({"d_model": 64, "dmodel": 3})
    with pytest.raises(ConfigError, match="control_norm"):
        ModelConfig.from_dict({"control_norm": {"phone_seconds": 0.1}})
    with pytest.raises(ConfigError, match="voice.json"):
        VoiceConfig.from_dict({"voice_id": "x", "model": {}, "baseline": TEST_BASELINE, "colour": "red"})


def test_checkpoint_pieces_round_trip_and_damage(tmp_path, model):
    state = {"model": model.state_dict()}
    directory = save_checkpoint(tmp_path / "ckpt", model.config, state, step=7, piece_bytes=20_000)
    parts = sorted(directory.glob("part-*.bin"))
    assert len(parts) > 1 and all(p.stat().st_size <= 20_000 for p in parts)
    config, loaded, meta = load_checkpoint(directory)
    assert config == model.config and meta["step"] == 7
    assert all(torch.equal(loaded["model"][k], v) for k, v in state["model"].items())
    parts[0].write_bytes(b"junk" + parts[0].read_bytes()[4:])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(directory)
    with pytest.raises(CheckpointError, match="meta.json missing"):
        load_checkpoint(tmp_path / "nowhere")


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_onnx_matches_torch(tmp_path, model, precision):
    report = export_acoustic(model, tmp_path / "a.onnx", precision=precision)
    assert report.mel_max_diff <= 2e-3
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    # a different length than the export example: dynamic axes work
    inputs = parity_inputs(model.config, n_phonemes=31, seed=5)
    got = session.run(None, inputs)
    reference = model if precision == "fp32" else __import__("tts_model.export", fromlist=["x"])._fp16_rounded(model)
    with torch.no_grad():
        expected = ExportWrapper(reference)(*(torch.from_numpy(inputs[n]) for n in ExportWrapper.INPUT_NAMES))
    assert np.abs(got[1] - expected[1].numpy()).max() <= 1
    if np.array_equal(got[1], expected[1].numpy()):
        assert np.abs(got[0] - expected[0].numpy()).max() < 2e-3
    assert np.abs(got[2] - expected[2].numpy()).max() < 2e-3
    if precision == "fp16":  # every large weight is stored as float16, small ones stay float32
        import onnx
        from onnx import numpy_helper

        inits = onnx.load(str(tmp_path / "a.onnx")).graph.initializer
        halves = [i for i in inits if i.data_type == onnx.TensorProto.FLOAT16]
        big_floats = [i for i in inits if i.data_type == onnx.TensorProto.FLOAT and numpy_helper.to_array(i).size >= 1024]
        assert halves and not big_floats


def _harmonic_model(gain: float = 0.0):
    from dataclasses import replace

    from tts_model.testing import TEST_MODEL

    model = tiny_acoustic_model(seed=4, config=replace(TEST_MODEL, harmonic_input=True, harmonic_base_hz=200.0))
    with torch.no_grad():
        model.harmonic_gain.fill_(gain)
    return model


def _voiced_island():
    """S, three AA1, S, pause (6, 8, 8, 8, 6, 4 frames = 40): ids, frames, phone mask, each (1, 6)."""
    names = ["S", "AA1", "AA1", "AA1", "S", "<sp>"]
    return (torch.tensor([[PHONEME_TO_ID[p] for p in names]]), torch.tensor([[6, 8, 8, 8, 6, 4]]),
            torch.ones(1, len(names)))


def test_harmonic_template_follows_pitch_and_voicing():
    from tts_model.harmonics import F0_GRID_HZ, comb_table

    model = _harmonic_model()
    ids, frames, mask = _voiced_island()
    table = comb_table()
    for pitch_st, f0_hz in ((0.0, 200.0), (12.0, 400.0), (-7.0, 200.0 * 2 ** (-7 / 12))):
        template = model.harmonic_template(ids, torch.full(ids.shape, pitch_st), frames, mask)[0].numpy()
        assert template.shape == (40, 80)
        row = table[int(np.argmin(np.abs(np.log(F0_GRID_HZ / f0_hz))))]
        np.testing.assert_allclose(template[10:28], np.broadcast_to(row, (18, 80)), atol=1e-6)  # inside the vowels
        assert np.all(template[:6] == 0) and np.all(template[30:] == 0)  # S and the pause: unvoiced
        assert 0 < np.abs(template[6]).sum() < np.abs(template[10]).sum()  # faded in at the vowel's edge


def test_harmonic_template_uses_the_recordings_frame_f0_where_voiced():
    from tts_model.harmonics import F0_GRID_HZ, comb_table

    model = _harmonic_model()
    ids, frames, mask = _voiced_island()
    frame_st = torch.zeros(1, 40)
    frame_st[0, 14:20] = 12.0  # the recording is an octave up in part of the vowel...
    voiced = torch.zeros(1, 40)
    voiced[0, 6:30] = 1.0
    voiced[0, 22:26] = 0.0  # ...and Praat found no pitch in a few frames
    per_phoneme = torch.full(ids.shape, 5.0)
    template = model.harmonic_template(ids, per_phoneme, frames, mask, frame_st, voiced)[0].numpy()
    table = comb_table()

    def row(f0_hz):
        return table[int(np.argmin(np.abs(np.log(F0_GRID_HZ / f0_hz))))]

    np.testing.assert_allclose(template[14:20], np.broadcast_to(row(400.0), (6, 80)), atol=1e-6)
    np.testing.assert_allclose(template[10:14], np.broadcast_to(row(200.0), (4, 80)), atol=1e-6)
    np.testing.assert_allclose(template[23:25], np.broadcast_to(row(200.0 * 2 ** (5 / 12)), (2, 80)), atol=1e-6)
    assert np.all(template[:6] == 0) and np.all(template[30:] == 0)  # voicing still comes from the phonemes


def test_harmonic_gain_adds_the_template_to_the_mel():
    ids, segs, emph, c, m = _inputs({(0, PITCH): 0.5})
    with torch.no_grad():
        plain = _harmonic_model(0.0)(ids, segs, emph, c, m)
        gained = _harmonic_model(0.5)(ids, segs, emph, c, m)
        frames = plain.durations.round().long()
        template = _harmonic_model(0.0).harmonic_template(ids, plain.pitch_st, frames, torch.ones_like(emph))
    assert torch.allclose(gained.mel - plain.mel, 0.5 * template, atol=1e-5)
    assert template.abs().sum() > 0


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_harmonic_input_model_exports_with_parity(tmp_path, precision):
    report = export_acoustic(_harmonic_model(0.3), tmp_path / "h.onnx", precision=precision)
    assert report.mel_max_diff <= 2e-3 and report.duration_max_diff == 0


def test_harmonic_input_needs_a_base_pitch():
    with pytest.raises(ConfigError, match="harmonic_base_hz"):
        ModelConfig(harmonic_input=True)
    with pytest.raises(ConfigError, match="true or false"):
        ModelConfig(harmonic_input="yes", harmonic_base_hz=200.0)
    assert ModelConfig.from_dict(ModelConfig(harmonic_input=True, harmonic_base_hz=180.0).to_dict()).harmonic_input


def test_weight_average_moves_by_one_minus_decay():
    from tts_model.train import WeightAverage

    model = tiny_acoustic_model(seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    average.update(step=1000)  # past the ramp: decay 0.9
    params = dict(model.named_parameters())
    for name, value in average.model.state_dict().items():
        if name in params:
            assert torch.allclose(value, before[name] + 0.1, atol=1e-6), name
    average.update(step=1000)
    assert torch.allclose(average.model.embed.weight, before["embed.weight"] + 0.19, atol=1e-6)
