"""BatonTTS: text front-end, acoustic model, vocoder, training, ONNX export and the onnxruntime runtime.

Importing the package imports nothing heavy; torch is needed only by the training/export modules
(model, layers, train, export, checkpoint, testing, vocoder_model, vocoder_export). The runtime
(:mod:`tts_model.runtime`) needs onnxruntime and numpy only.
"""
