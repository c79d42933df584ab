"""Acoustic model: shapes, controls honoured, config strictness, checkpoints in pieces, torch vs onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_model.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tts_model.runtime.config import N_CONTROLS, ConfigError, ModelConfig, VoiceConfig
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


def _harmonic_model(gain: float = 0.0):
    from dataclasses import replace

    from tts_model.train.testing import TEST_MODEL

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
    from tts_model.runtime.harmonics import F0_GRID_HZ, comb_table

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
    from tts_model.runtime.harmonics import F0_GRID_HZ, comb_table

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


def test_frame_position_features_count_through_each_phoneme():
    from tts_model.acoustic.layers import frame_position_features

    durations = torch.tensor([[2, 0, 4, 1], [3, 1, 0, 0]])
    features = frame_position_features(durations).numpy()
    assert features.shape == (2, 7, 3)
    np.testing.assert_allclose(features[0, :, 0], [0.25, 0.75, 0.125, 0.375, 0.625, 0.875, 0.5], atol=1e-6)
    np.testing.assert_allclose(features[0, :, 0] + features[0, :, 1], 1.0, atol=1e-6)
    np.testing.assert_allclose(features[0, 2:6, 2], np.log1p(4.0) / 3.0, atol=1e-6)  # the 4-frame phoneme
    assert np.all(features[1, 4:] == 0)  # padding frames of the shorter item
    np.testing.assert_allclose(features[1, :4, 0], [1 / 6, 0.5, 5 / 6, 0.5], atol=1e-6)


def _model_with(**options):
    from dataclasses import replace

    from tts_model.train.testing import TEST_MODEL

    return tiny_acoustic_model(seed=5, config=replace(TEST_MODEL, **options))


def test_frame_position_reaches_the_mel():
    model = _model_with(frame_position=True)
    inputs = {k: torch.from_numpy(v) for k, v in parity_inputs(model.config).items()}
    with torch.no_grad():
        before = model(**inputs).mel
        model.position_proj.weight.mul_(3.0)
        after = model(**inputs).mel
    assert before.shape == after.shape and float(torch.abs(after - before).max()) > 1e-3


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


def test_postnet_refines_the_decoder_mel_and_both_are_trained():
    from tts_model.train.loop import compute_losses

    model = _model_with(postnet_layers=3).train()
    inputs = {k: torch.from_numpy(v) for k, v in parity_inputs(model.config).items()}
    with torch.no_grad():
        out = model.eval()(**inputs)
    assert out.coarse_mel is not None and out.coarse_mel.shape == out.mel.shape
    assert float(torch.abs(out.mel - out.coarse_mel).max()) > 1e-4
    assert _model_with().eval()(**inputs).coarse_mel is None  # no postnet, no second mel
    # the mel loss counts both mels: zero the postnet's output and the loss is twice the single-mel loss
    batch = _synthetic_batch(model.config)
    with torch.no_grad():
        model.postnet.convs[-1].weight.zero_()
        model.postnet.convs[-1].bias.zero_()
        with_postnet = compute_losses(model.eval(), batch, {"mel": 1.0})["mel"]
        plain = _model_with()
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("postnet.")})
        without = compute_losses(plain.eval(), batch, {"mel": 1.0})["mel"]
    assert abs(float(with_postnet) - 2.0 * float(without)) < 1e-5


@pytest.mark.parametrize("options", [{"frame_position": True}, {"postnet_layers": 5, "frame_position": True}])
def test_position_and_postnet_models_export_with_parity(tmp_path, options):
    report = export_acoustic(_model_with(**options), tmp_path / "p.onnx", precision="fp16")
    assert report.mel_max_diff <= 2e-3 and report.duration_max_diff == 0


def test_frame_position_and_postnet_options_are_checked():
    with pytest.raises(ConfigError, match="frame_position must be true or false"):
        ModelConfig(frame_position=1)
    for bad in (-1, 9, 2.5, True):
        with pytest.raises(ConfigError, match="postnet_layers must be an integer 0..8"):
            ModelConfig(postnet_layers=bad)
    config = ModelConfig(frame_position=True, postnet_layers=5)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_ensemble_averages_mels_rendered_on_the_leads_timing():
    from tts_model.acoustic.model import AcousticEnsemble

    lead, member = tiny_acoustic_model(seed=6), tiny_acoustic_model(seed=7)
    ensemble = AcousticEnsemble([lead, member]).eval()
    inputs = {k: torch.from_numpy(v) for k, v in parity_inputs(lead.config).items()}
    with torch.no_grad():
        out, led = ensemble(**inputs), lead(**inputs)
        alone = member(**inputs)
        follows = member(**inputs, target_durations=led.durations.long(), target_pitch_st=led.pitch_st,
                         target_energy_db=led.energy_db)
    assert torch.equal(out.durations, led.durations) and torch.equal(out.pitch_st, led.pitch_st)
    assert not torch.equal(alone.durations, led.durations)  # the member alone would time it differently
    torch.testing.assert_close(out.mel, (led.mel + follows.mel) / 2)


def test_ensemble_exports_with_parity_and_refuses_mismatched_members(tmp_path):
    from dataclasses import replace

    from tts_model.acoustic.model import AcousticEnsemble
    from tts_model.train.testing import TEST_MODEL

    ensemble = AcousticEnsemble([tiny_acoustic_model(seed=6), _model_with(postnet_layers=2, frame_position=True)])
    report = export_acoustic(ensemble, tmp_path / "e.onnx", precision="fp16")
    assert report.mel_max_diff <= 2e-3 and report.duration_max_diff == 0
    with pytest.raises(ValueError, match="at least 2"):
        AcousticEnsemble([tiny_acoustic_model()])
    with pytest.raises(ValueError, match="member 2 has n_mels 40"):
        AcousticEnsemble([tiny_acoustic_model(), tiny_acoustic_model(config=replace(TEST_MODEL, n_mels=40))])


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
