"""Acoustic model: shapes, controls honoured, config strictness, checkpoints in pieces, torch vs onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_model.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tts_model.runtime.config import N_CONTROLS, RETIRED_MODEL_OPTIONS, ConfigError, ModelConfig, VoiceConfig
from tts_model.runtime.controls import denormalize_controls, normalize_controls
from tts_model.train.export import ExportWrapper, export_acoustic, parity_inputs
from tts_model.text.frontend import PHONEME_TO_ID
from tts_model.acoustic.model import DURATION, ENERGY, PAUSE, PITCH, PITCH_SLOPE
from tts_model.train.testing import TEST_BASELINE, tiny_acoustic_model

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


def test_retired_model_options_load_when_off_and_fail_when_on():
    """Options tried and never shipped (RETIRED_MODEL_OPTIONS) are ignored at their off value, so an older
    voice.json or checkpoint still loads; set on, they are an error naming the key and the fix."""
    from pathlib import Path

    voice_json = Path(__file__).resolve().parents[1] / "tts_model" / "voices" / "ljspeech" / "voice.json"
    shipped = VoiceConfig.load(voice_json)
    older = shipped.to_dict()
    older["model"] = {**older["model"], **RETIRED_MODEL_OPTIONS}
    assert set(RETIRED_MODEL_OPTIONS) == {"harmonic_input", "harmonic_base_hz", "frame_position", "postnet_layers"}
    assert VoiceConfig.from_dict(older) == shipped
    assert ModelConfig.from_dict({"postnet_layers": 0, "harmonic_base_hz": 0}) == ModelConfig()
    for key, on in (("harmonic_input", True), ("harmonic_base_hz", 200.0), ("frame_position", True),
                    ("postnet_layers", 5), ("postnet_layers", False), ("frame_position", 0)):
        with pytest.raises(ConfigError, match=f"model: {key} = .* is a retired option.*set it to"):
            ModelConfig.from_dict({key: on})
    for key in RETIRED_MODEL_OPTIONS:  # never written back
        assert key not in ModelConfig().to_dict()


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
    reference = model if precision == "fp32" else __import__("tts_model.train.export", fromlist=["x"])._fp16_rounded(model)
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


def test_weight_average_moves_by_one_minus_decay():
    from tts_model.train.loop import WeightAverage

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


def _synthetic_batch(config):
    from tts_model.train.batching import collate, prepare_utterance
    from tts_model.runtime.config import CONTROL_NAMES
    from tts_model.train.dataset import Utterance

    rng = np.random.default_rng(3)
    names = ["<sp>", "HH", "AH0", "L", "OW1", "<sp>"]
    durations = np.array([3, 4, 6, 5, 9, 3])
    controls = np.full((1, len(CONTROL_NAMES)), np.nan)
    controls[0, CONTROL_NAMES.index("pitch_mean")] = 210.0
    utterance = Utterance(id="x", phoneme_ids=np.array([PHONEME_TO_ID[p] for p in names]),
                          segment_ids=np.zeros(6, dtype=np.int64), durations=durations,
                          pitch_hz=np.array([np.nan, np.nan, 200.0, 205.0, 220.0, np.nan]),
                          energy_db=np.array([np.nan, -30.0, -24.0, -25.0, -22.0, np.nan]),
                          emphasis=np.zeros(6), controls=controls,
                          mel=rng.normal(-5.0, 1.0, (int(durations.sum()), config.n_mels)).astype(np.float32))
    return collate([prepare_utterance(utterance, TEST_BASELINE, config.control_norm)], None, rng)


def test_adversarial_terms_train_the_model_and_the_discriminator_apart():
    """loss_weights["adversarial"] adds the model's GAN term to the total; the discriminator's own loss stays
    out of it and, the model mel being detached there, sends no gradient to the model."""
    from tts_model.acoustic.discriminator import MelDiscriminator
    from tts_model.train.loop import compute_losses

    torch.manual_seed(0)
    model, disc = tiny_acoustic_model(seed=4).train(), MelDiscriminator()
    batch = _synthetic_batch(model.config)
    weights = {"mel": 1.0, "duration": 0.5}
    plain = compute_losses(model.eval(), batch, weights)
    terms = compute_losses(model.eval(), batch, {**weights, "adversarial": 0.3}, disc)
    assert "adversarial" not in plain and "discriminator" not in plain
    assert float(terms["adversarial"].detach()) > 0 and float(terms["discriminator"].detach()) > 0
    torch.testing.assert_close(terms["total"], plain["total"] + 0.3 * terms["adversarial"])
    terms["discriminator"].backward()
    assert all(p.grad is None for p in model.parameters())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in disc.parameters())
    disc.zero_grad(set_to_none=True)
    terms["adversarial"].backward()
    decoder_grads = [p.grad for name, p in model.named_parameters() if name.startswith("decoder")]
    assert decoder_grads and all(g is not None for g in decoder_grads) and sum(float(g.abs().sum()) for g in decoder_grads) > 0


def test_discriminator_scores_each_frame_and_ignores_padding():
    from tts_model.acoustic.discriminator import MelDiscriminator, discriminator_loss, generator_loss

    torch.manual_seed(0)
    disc = MelDiscriminator()
    mel = torch.randn(2, 40, 80)
    assert disc(mel).shape == (2, 40, 10)  # one score per frame and band of 8 mel bins
    frames = torch.ones(2, 40)
    frames[1, 30:] = 0.0
    changed = mel.clone()
    changed[1, 30:] = 50.0  # padding: whatever is there must not count, even at the frames next to it
    assert torch.equal(generator_loss(disc, mel, frames), generator_loss(disc, changed, frames))
    assert torch.equal(discriminator_loss(disc, mel, mel, frames), discriminator_loss(disc, changed, changed, frames))
    # it learns to tell real mels from smeared ones: the loss falls well below its starting value
    real = torch.randn(8, 32, 80) * 1.5 - 5.0
    fake = torch.nn.functional.avg_pool1d(real.transpose(1, 2), 5, 1, 2).transpose(1, 2)
    mask = torch.ones(8, 32)
    optimizer = torch.optim.Adam(disc.parameters(), lr=1e-3)
    start = float(discriminator_loss(disc, real, fake, mask).detach())
    for _ in range(40):
        optimizer.zero_grad()
        loss = discriminator_loss(disc, real, fake, mask)
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.5 * start
