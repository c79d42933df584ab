"""The vocoder's torch side: ``model`` (HiFi-GAN generator), ``train`` (fine-tuning), ``distill`` (smaller
students), ``export`` (to ONNX: ``python -m tts_model.vocoder.export``). The run-time session is
``tts_model.runtime.vocoder``.
"""
