"""Smaller ONNX files: large float32 weights stored as fp16 or int8, expanded back to float32 in the graph.

Shared by the acoustic-model and vocoder exporters. Computation stays float32 at run time; only storage shrinks.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_REDUCED_ELEMENTS = 1024
"""Initializers smaller than this (biases, norms) stay float32: they cost little and are precision-sensitive."""


def reduce_weights(model_proto: onnx.ModelProto, precision: str) -> onnx.ModelProto:
    """Store large float32 initializers as fp16 (+Cast) or int8 (+DequantizeLinear), in place."""
    graph = model_proto.graph
    kept, new_nodes = [], []
    for init in graph.initializer:
        weights = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or weights.size < MIN_REDUCED_ELEMENTS:
            kept.append(init)
            continue
        stored = init.name + "_" + precision
        if precision == "fp16":
            kept.append(numpy_helper.from_array(weights.astype(np.float16), stored))
            new_nodes.append(helper.make_node("Cast", [stored], [init.name], to=TensorProto.FLOAT))
        else:
            rows = weights.reshape(weights.shape[0], -1)
            scale = np.maximum(np.abs(rows).max(axis=1), 1e-12) / 127.0
            quantised = np.clip(np.round(rows / scale[:, None]), -127, 127).astype(np.int8).reshape(weights.shape)
            kept += [numpy_helper.from_array(quantised, stored),
                     numpy_helper.from_array(scale.astype(np.float32), stored + "_scale"),
                     numpy_helper.from_array(np.zeros(scale.shape, np.int8), stored + "_zero")]
            new_nodes.append(helper.make_node(
                "DequantizeLinear", [stored, stored + "_scale", stored + "_zero"], [init.name], axis=0))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + nodes)
    return model_proto
