"""tts_model.train.import_voice: a voice's acoustic.onnx back into torch weights (for fine-tuning a shipped voice)."""

from __future__ import annotations


import onnx
import pytest
import torch

from tts_model.runtime.config import VoiceConfig
from tts_model.train.export import _fp16_rounded, export_acoustic
from tts_model.text.frontend import PHONEMES
from tts_model.train.import_voice import VoiceImportError, main, model_from_voice
from tts_model.train.testing import TEST_BASELINE, TEST_MODEL, tiny_acoustic_model


def _voice(directory, model, training_step=0, precision="fp16"):
    directory.mkdir(parents=True, exist_ok=True)
    export_acoustic(model, directory / "acoustic.onnx", precision=precision)
    VoiceConfig(voice_id="v", model=model.config, baseline=dict(TEST_BASELINE), phonemes=PHONEMES,
                training_step=training_step).save(directory / "voice.json")
    return directory


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_every_weight_comes_back_exactly(tmp_path, precision):
    model = tiny_acoustic_model(seed=3)
    with torch.no_grad():  # make every parameter distinct from its initial value, biases and norms included
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    imported, voice = model_from_voice(_voice(tmp_path / "voice", model, 42, precision))
    expected = (_fp16_rounded(model) if precision == "fp16" else model).state_dict()
    got = imported.state_dict()
    assert voice.training_step == 42 and set(got) == set(expected)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_refuses_graphs_it_cannot_map(tmp_path):
    voice = _voice(tmp_path / "renamed", tiny_acoustic_model(seed=1))
    proto = onnx.load(str(voice / "acoustic.onnx"))
    renamed = [n for n in proto.graph.node if n.name == "/model/mel_out/MatMul"]
    assert len(renamed) == 1
    renamed[0].name = "/model/somewhere_else/MatMul"
    onnx.save(proto, str(voice / "acoustic.onnx"))
    with pytest.raises(VoiceImportError, match="somewhere_else"):
        model_from_voice(voice)


def test_a_wrong_weight_fails_the_parity_check(tmp_path, monkeypatch):
    """A mapping that loads but puts a weight in the wrong place is caught by comparing with onnxruntime."""
    import tts_model.train.import_voice as import_voice

    voice = _voice(tmp_path / "voice", tiny_acoustic_model(seed=1))
    original = import_voice.state_dict_from_onnx

    def swapped(path, model):
        state = original(path, model)
        state["mel_out.weight"] = state["mel_out.weight"].flip(0)
        return state

    monkeypatch.setattr(import_voice, "state_dict_from_onnx", swapped)
    with pytest.raises(VoiceImportError, match="do not reproduce"):
        model_from_voice(voice)


def test_command_line_errors(tmp_path, capsys):
    assert main([str(tmp_path / "nothing"), "--out", str(tmp_path / "ckpt")]) == 2
    assert "no voice.json" in capsys.readouterr().err
    voice = _voice(tmp_path / "voice", tiny_acoustic_model(seed=1))
    (voice / "acoustic.onnx").unlink()
    assert main([str(voice), "--out", str(tmp_path / "ckpt")]) == 2
    assert "acoustic.onnx is missing" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert main([str(voice), "--out", str(tmp_path / "taken")]) == 2
    assert "exists" in capsys.readouterr().err
    assert not (tmp_path / "ckpt").exists()


def test_parameters_the_exporter_stored_once_come_back(tmp_path):
    """An untrained model's LayerNorms all hold ones and zeros: the exporter keeps one initializer and aliases
    the rest through Identity nodes; each parameter still comes back."""
    model = tiny_acoustic_model(seed=1)
    proto_dir = _voice(tmp_path / "voice", model, precision="fp32")
    graph = onnx.load(str(proto_dir / "acoustic.onnx")).graph
    assert any(n.op_type == "Identity" and n.output[0].endswith("norm1.weight") for n in graph.node)
    imported, _ = model_from_voice(proto_dir)
    for key, value in model.state_dict().items():
        assert torch.equal(imported.state_dict()[key], value), key


@pytest.mark.parametrize("bad", [-1, 1.5, True, "7"])
def test_voice_json_checks_the_training_step(bad):
    from tts_model.runtime.config import ConfigError

    with pytest.raises(ConfigError, match="training_step"):
        VoiceConfig(voice_id="v", model=TEST_MODEL, baseline=dict(TEST_BASELINE), training_step=bad)
