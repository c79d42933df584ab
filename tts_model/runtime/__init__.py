"""The run-time: numpy and onnxruntime only, never torch.

``synthesizer`` (voices, plan segments -> audio), ``config`` (voice.json, typed and frozen), ``controls``
(plan numbers <-> model inputs), ``vocoder`` (the ONNX vocoder session), ``audio`` (mel analysis), and the
stages applied to the acoustic model's mel and to the audio: ``harmonics``, ``tilt``, ``exemplars``,
``pitch_range``, ``voice_quality``, ``limiter``.
"""
