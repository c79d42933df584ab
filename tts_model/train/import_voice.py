"""A voice directory's acoustic model back as torch weights, so a shipped voice can be fine-tuned.

Training checkpoints are not shipped (they hold optimizer state and live in git-ignored run folders); the
voice's ``acoustic.onnx`` is. Every weight of the model is in it as an initializer:

- named ones (``model.<parameter>``, or ``model.<parameter>_fp16`` when :mod:`tts_model.train.onnx_weights` stored
  them as float16) map to the parameter of that name;
- ``nn.Linear`` weights become anonymous ``onnx::MatMul_<n>`` initializers, transposed; the MatMul node that
  consumes one is named after the module's scope (``/model/encoder.0/attn/qkv/MatMul``), which gives the
  parameter (``encoder.0.attn.qkv.weight``);
- parameters equal to another one (LayerNorms still at their initial ones and zeros) are stored once and
  aliased through ``Identity`` nodes named after the parameter.

:func:`model_from_voice` rebuilds an :class:`~tts_model.acoustic.model.AcousticModel`, loads it strictly (every
parameter found exactly once) and then checks it against onnxruntime with the exporter's own parity check
(:func:`tts_model.train.export.parity_check`), so a mapping error can never pass silently.

Command line (writes a training checkpoint at the voice's training step, for ``python -m tts_model.train.loop``)::

    python -m tts_model.train.import_voice tts_model/voices/ljspeech --out runs/finetune/checkpoint
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper

from plan_contract import UserError
from tts_model.train.checkpoint import save_checkpoint
from tts_model.runtime.config import ConfigError, VoiceConfig
from tts_model.acoustic.model import AcousticModel

_PREFIX = "model."


class VoiceImportError(UserError, RuntimeError):
    """The voice's ONNX graph cannot be mapped back onto the acoustic model; the message says why."""


def _stored_arrays(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Initializers as float32 arrays under the name the graph computes with (``x_fp16`` + Cast -> ``x``)."""
    arrays = {}
    for init in graph.initializer:
        values = numpy_helper.to_array(init)
        name = init.name
        if init.data_type == TensorProto.FLOAT16 and name.endswith("_fp16"):
            name = name.removesuffix("_fp16")
        elif init.data_type == TensorProto.INT8:
            raise VoiceImportError(f"initializer {init.name} is int8-quantised; only fp32 and fp16 acoustic models "
                                   "can be imported (tts_model.train.export writes those)")
        arrays[name] = values.astype(np.float32) if np.issubdtype(values.dtype, np.floating) else values
    for node in graph.node:  # the exporter keeps one of several equal initializers and aliases the others
        if node.op_type == "Identity" and node.input[0] in arrays:
            arrays[node.output[0]] = arrays[node.input[0]]
    return arrays


def _module_of(node_name: str) -> str:
    """``/model/segment_predictor/segment_predictor.0/MatMul`` -> ``segment_predictor.0``.

    The exporter names a node by the scopes it was called in; a child called through its container shows up
    as the container's scope followed by the child's qualified name, which replaces it."""
    scopes = node_name.strip("/").split("/")[:-1]
    if not scopes or scopes[0] != _PREFIX.rstrip("."):
        raise VoiceImportError(f"node {node_name!r} is not inside the exported model's scope")
    path: list[str] = []
    for scope in scopes[1:]:
        if path and scope.startswith(path[-1] + "."):
            path[-1] = scope
        else:
            path.append(scope)
    return ".".join(path)


def _linear_weights(graph: onnx.GraphProto, arrays: dict[str, np.ndarray], linear: set[str]
                    ) -> dict[str, np.ndarray]:
    """``<module>.weight`` -> the (transposed) anonymous initializer that the module's MatMul reads."""
    found: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in arrays:
            continue
        module = _module_of(node.name)
        if module not in linear:
            raise VoiceImportError(f"initializer {node.input[1]} feeds {node.name}, which is not one nn.Linear of the "
                                   "acoustic model; the voice was exported by another version of tts_model")
        values = arrays[node.input[1]].T
        key = module + ".weight"
        if key in found and not np.array_equal(found[key], values):
            raise VoiceImportError(f"{key}: two MatMul nodes of {module} read different weights")
        found[key] = values
    return found


def state_dict_from_onnx(path: Path, model: AcousticModel) -> dict[str, torch.Tensor]:
    """The state dict of ``model``'s architecture, read from the ONNX file at ``path``."""
    graph = onnx.load(str(path)).graph
    arrays = _stored_arrays(graph)
    wanted = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for name, values in arrays.items():
        if name.startswith(_PREFIX) and name[len(_PREFIX):] in wanted:
            state[name[len(_PREFIX):]] = torch.from_numpy(np.ascontiguousarray(values))
    linear = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    for key, values in _linear_weights(graph, arrays, linear).items():
        state.setdefault(key, torch.from_numpy(np.ascontiguousarray(values)))
    missing = sorted(set(wanted) - set(state))
    if missing:
        raise VoiceImportError(f"{path} lacks the weights {missing[:5]}{' ...' if len(missing) > 5 else ''}; the "
                               "voice was exported by another version of tts_model")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(wanted[key].shape):
            raise VoiceImportError(f"{key} has shape {tuple(tensor.shape)} in {path}, the model config says "
                                   f"{tuple(wanted[key].shape)}")
    return state


def model_from_voice(voice_dir: Path) -> tuple[AcousticModel, VoiceConfig]:
    """The voice's acoustic model as torch weights (eval mode), checked against onnxruntime; and its config.

    Raises VoiceImportError (mapping), ConfigError (voice.json) or FileNotFoundError."""
    from tts_model.train.export import ExportParityError, parity_check

    voice_dir = Path(voice_dir)
    voice_json = voice_dir / "voice.json"
    if not voice_json.is_file():
        raise FileNotFoundError(f"no voice.json in {voice_dir}; pass a voice directory (e.g. tts_model/voices/ljspeech)")
    voice = VoiceConfig.load(voice_json)
    onnx_path = voice_dir / voice.acoustic_file
    if not onnx_path.is_file():
        raise FileNotFoundError(f"{onnx_path} is missing; the voice directory is incomplete")
    model = AcousticModel(voice.model).eval()
    model.load_state_dict(state_dict_from_onnx(onnx_path, model), strict=True)
    try:
        parity_check(model, onnx_path)
    except ExportParityError as err:
        raise VoiceImportError(f"the imported weights do not reproduce {onnx_path}: {err}") from None
    return model, voice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Turn a voice directory's acoustic model into a training checkpoint, to fine-tune a shipped "
                    "voice with python -m tts_model.train.loop (the checkpoint has no optimizer state; the run starts "
                    "a fresh one at the voice's training step).")
    parser.add_argument("voice_dir", type=Path, help="voice directory (voice.json + acoustic.onnx)")
    parser.add_argument("--out", type=Path, required=True,
                        help="checkpoint directory to write, e.g. runs/finetune/checkpoint (must not exist)")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} exists; pass a new checkpoint directory (a run resumes from <out>/checkpoint)",
              file=sys.stderr)
        return 2
    try:
        model, voice = model_from_voice(args.voice_dir)
    except (VoiceImportError, ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_checkpoint(args.out, voice.model, {"model": model.state_dict()}, voice.training_step,
                    extra={"baseline": dict(voice.baseline), "imported_from": str(args.voice_dir),
                           "provenance": voice.provenance})
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {n / 1e6:.2f} M parameters from {args.voice_dir / voice.acoustic_file} "
          f"(parity with onnxruntime checked), step {voice.training_step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["model_from_voice", "state_dict_from_onnx", "VoiceImportError"]
