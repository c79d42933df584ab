"""BatonTTS: text front-end, acoustic model, vocoder, training, ONNX export and the onnxruntime run-time.

The sub-packages show the torch line (``tests/test_torch_line.py`` holds it):

- ``text/``      normalisation, letter-to-sound, phoneme front-end (pure Python)        - no torch
- ``runtime/``   voice config, synthesizer, vocoder session, the mel stages (numpy + onnxruntime) - no torch
- ``acoustic/``  the acoustic model and its discriminator (torch)
- ``vocoder/``   the HiFi-GAN generator: training, distillation, ONNX export (torch)
- ``train/``     training loop, data, checkpoints, voice export and import, tiny test voices (torch)

Torch-side packages may import ``text`` and ``runtime``; ``text`` and ``runtime`` never import the torch side.
Importing this package imports nothing.
"""
