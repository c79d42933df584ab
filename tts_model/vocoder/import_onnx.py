"""A shipped vocoder.onnx back as a torch generator, so the shipped (distilled) vocoder can be trained further.

The exporter (:mod:`tts_model.vocoder.export`) names every initializer after the generator's parameter, stored
as float32 (small ones), float16 (``<name>_fp16`` + Cast) or int8 per output channel (``<name>_int8`` with
``_scale`` and ``_zero``, + DequantizeLinear). The graph computes in float32 from the dequantized weights, so
the generator rebuilt here from those same values computes what onnxruntime computes: that is checked on a
parity mel before the generator is returned (max |difference| at most :data:`PARITY_TOLERANCE`).

    from tts_model.vocoder.import_onnx import generator_from_onnx
    student = generator_from_onnx("tts_model/voices/ljspeech/vocoder.onnx", student_config)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from plan_contract import UserError
from tts_model.vocoder.model import HiFiGANConfig, HiFiGANGenerator

PARITY_TOLERANCE = 1e-3
"""Largest |torch - onnxruntime| sample difference accepted on the parity mel (both float32 from equal weights)."""


class VocoderImportError(UserError, RuntimeError):
    """The ONNX file does not hold the weights of a generator with the given configuration; the message says why."""


def stored_weights(path: Path | str) -> dict[str, np.ndarray]:
    """Every initializer of ``path`` as float32 under its parameter's name, int8 and fp16 ones expanded."""
    try:
        graph = onnx.load(str(path)).graph
    except FileNotFoundError:
        raise VocoderImportError(f"{path}: no such file") from None
    except Exception as err:  # protobuf's DecodeError and the like: not an ONNX model
        raise VocoderImportError(f"{path} is not an ONNX model ({type(err).__name__}: {err})") from None
    raw = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    weights = {}
    for name, values in raw.items():
        if name.endswith("_int8"):
            scale = raw[name + "_scale"].astype(np.float32)
            zero = raw[name + "_zero"].astype(np.float32)
            shape = (-1,) + (1,) * (values.ndim - 1)
            expanded = (values.astype(np.float32) - zero.reshape(shape)) * scale.reshape(shape)
            weights[name.removesuffix("_int8")] = expanded
        elif name.endswith("_fp16"):
            weights[name.removesuffix("_fp16")] = values.astype(np.float32)
        elif not (name.endswith("_int8_scale") or name.endswith("_int8_zero")):
            weights[name] = values.astype(np.float32) if np.issubdtype(values.dtype, np.floating) else values
    return weights


def generator_from_onnx(path: Path | str, config: HiFiGANConfig, check: bool = True) -> HiFiGANGenerator:
    """A generator of ``config`` holding the weights of ``path``, eval mode; parity-checked against onnxruntime."""
    model = HiFiGANGenerator(config)
    expected = model.state_dict()
    weights = stored_weights(path)
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise VocoderImportError(f"{path} lacks {len(missing)} of the generator's parameters (first: {missing[0]}); "
                                 "is it a vocoder with this stage layout?")
    state = {}
    for name, tensor in expected.items():
        if tuple(weights[name].shape) != tuple(tensor.shape):
            raise VocoderImportError(f"{path}: {name} has shape {tuple(weights[name].shape)}, the generator "
                                     f"expects {tuple(tensor.shape)}; another stage layout?")
        state[name] = torch.from_numpy(np.ascontiguousarray(weights[name]))
    model.load_state_dict(state, strict=True)
    model.eval()
    if check:
        from tts_model.vocoder.export import parity_mel, run_onnx

        mel = parity_mel(48, seed=3)
        with torch.no_grad():
            mine = model(torch.from_numpy(mel)).numpy()
        theirs = run_onnx(Path(path), mel)
        if mine.shape != theirs.shape or float(np.abs(mine - theirs).max()) > PARITY_TOLERANCE:
            raise VocoderImportError(f"{path}: the rebuilt generator disagrees with onnxruntime "
                                     f"(max |diff| {float(np.abs(mine - theirs).max()):.2e}); not imported")
    return model
