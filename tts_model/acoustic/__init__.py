"""The acoustic model (torch): ``model`` (FastSpeech-style encoder, variance adaptor, decoder), ``layers``,
``discriminator`` (the mel discriminator used in training). Training and export only; the run-time runs its ONNX.
"""
