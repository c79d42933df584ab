"""The run-time: numpy and onnxruntime only, never torch.

``synthesizer`` (voices, plan segments -> audio), ``config`` (voice.json, typed and frozen), ``controls``
(plan numbers <-> model inputs), ``vocoder`` (the ONNX vocoder session), ``audio`` (mel analysis), ``chain`` (the
render chain: the named stages voice.json lists, in order), and what those stages and the output step use:
``harmonics``, ``tilt``, ``exemplars``, ``pitch_range``, ``voice_quality``, ``limiter``.
"""
