"""Training and shipping the acoustic model (torch): ``loop`` (``python -m tts_model.train.loop``), ``dataset``,
``batching``, ``checkpoint``, ``export`` (checkpoint -> voice directory), ``import_voice`` (voice -> checkpoint),
``onnx_weights`` and ``testing`` (tiny voices built on the fly for tests).
"""
