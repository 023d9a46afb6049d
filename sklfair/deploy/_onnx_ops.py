"""ONNX graph pieces of sklfair's networks, written from their weights.

The ops that :mod:`sklfair.deploy._onnx`'s skl2onnx converters emit: the
layers of the default MLP in float (MatMul, Add, activation; batch
normalisation folded in) and in int8 (per-row ``QuantizeLinear``, then
onnxruntime's ``MatMulIntegerToFloat`` with the weight scales, then the
input scale), the class outputs of a classifier (label and probabilities),
and the cast of the graph's input to float.
"""

from __future__ import annotations

import numpy as np


class OnnxExportError(ValueError):
    """A model, or one of its steps, has no ONNX form."""


def _name(scope, hint):
    return scope.get_unique_variable_name(hint)


def _node(scope, container, op, inputs, hint, **attrs):
    output = _name(scope, hint)
    container.add_node(
        op, inputs, output, name=scope.get_unique_operator_name(op), **attrs
    )
    return output


def _const(scope, container, hint, array, proto):
    """An initializer stored as raw bytes (int8 weights take one byte each)."""
    from onnx import helper, numpy_helper

    name = _name(scope, hint)
    dtype = helper.tensor_dtype_to_np_dtype(proto)
    tensor = numpy_helper.from_array(np.asarray(array, dtype=dtype), name)
    container.add_initializer(name, proto, list(tensor.dims), tensor)
    return name


def _contrib(scope, container, op, inputs, hint):
    """A node of onnxruntime's ``com.microsoft`` operator set."""
    output = _name(scope, hint)
    container.add_node(
        op,
        inputs,
        output,
        op_domain="com.microsoft",
        op_version=1,
        name=scope.get_unique_operator_name(op),
    )
    return output


def _activation(scope, container, x, spec):
    """ONNX ops of an activation of the default MLP."""
    from onnx import TensorProto

    name, params = spec
    if name == "relu":
        return _node(scope, container, "Relu", [x], "relu")
    if name == "leaky_relu":
        return _node(
            scope,
            container,
            "LeakyRelu",
            [x],
            "leaky_relu",
            alpha=float(params["negative_slope"]),
        )
    if name == "elu":
        return _node(scope, container, "Elu", [x], "elu", alpha=float(params["alpha"]))
    if name == "tanh":
        return _node(scope, container, "Tanh", [x], "tanh")
    if name == "sigmoid":
        return _node(scope, container, "Sigmoid", [x], "sigmoid")
    if name == "silu":
        sig = _node(scope, container, "Sigmoid", [x], "silu_gate")
        return _node(scope, container, "Mul", [x, sig], "silu")
    if name == "gelu":
        if params.get("approximate", "none") != "none":
            raise OnnxExportError(
                "GELU(approximate='tanh') has no exact ONNX form here; use the "
                "default GELU."
            )
        # 0.5 * x * (1 + erf(x / sqrt(2))), as torch's exact GELU
        f32 = TensorProto.FLOAT
        scaled = _node(
            scope,
            container,
            "Mul",
            [x, _const(scope, container, "inv_sqrt2", [2**-0.5], f32)],
            "gelu_in",
        )
        erf = _node(scope, container, "Erf", [scaled], "gelu_erf")
        one = _node(
            scope,
            container,
            "Add",
            [erf, _const(scope, container, "one", [1.0], f32)],
            "gelu_1p",
        )
        half = _node(
            scope,
            container,
            "Mul",
            [x, _const(scope, container, "half", [0.5], f32)],
            "gelu_half",
        )
        return _node(scope, container, "Mul", [half, one], "gelu")
    raise OnnxExportError(f"No ONNX form for the activation {name!r}.")


def _float_layers(scope, container, x, layers):
    from onnx import TensorProto

    f32 = TensorProto.FLOAT
    for layer in layers:
        weight = _const(
            scope, container, "weight", layer["weight"].T.astype(np.float32), f32
        )
        bias = _const(scope, container, "bias", layer["bias"].astype(np.float32), f32)
        x = _node(scope, container, "MatMul", [x, weight], "matmul")
        x = _node(scope, container, "Add", [x, bias], "linear")
        if layer["activation"] is not None:
            x = _activation(scope, container, x, layer["activation"])
    return x


def _int8_layers(scope, container, x, layers):
    """Each layer as torchao's int8 kernels compute it, in onnxruntime's fast
    integer kernels.

    The input is quantized to int8 with the row's scale ``max |x| / 127.5``
    (or the static calibrated scale) by ``QuantizeLinear`` -- stored shifted
    by 128 as uint8, the operand onnxruntime's integer matrix product is
    fast for (the shift is its zero point, so the integers are the same) --
    multiplied by the int8 weights with int32 accumulation and rescaled by
    the weight scales in one ``MatMulIntegerToFloat`` kernel, then by the
    row scale.
    ``QuantizeLinear`` divides by the scale where torchao multiplies by its
    inverse: the two round differently when the quotient falls within an ulp
    of a half-integer (a row's largest negative input, for one), so a few
    int8 inputs differ by one step; decisions agree (see the user guide).
    """
    from onnx import TensorProto

    f32, u8, i64 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT64
    opset = container.target_opset
    if opset < 13:
        raise OnnxExportError(
            f"The int8 network needs opset 13 or later (per-row QuantizeLinear); "
            f"got target_opset={opset}."
        )
    shift = _const(scope, container, "zero_point", np.array(128, dtype=np.uint8), u8)
    non_negative = False  # the input of the first layer can be anything
    for layer in layers:
        if "input_scale" in layer:
            scale = _const(
                scope, container, "input_scale", np.float32(layer["input_scale"]), f32
            )
            q = _node(scope, container, "QuantizeLinear", [x, scale, shift], "x_u8")
            row_scale = scale
        else:
            absx = x if non_negative else _node(scope, container, "Abs", [x], "abs")
            if opset >= 18:
                axes = _const(scope, container, "axes", np.array([1]), i64)
                amax = _node(
                    scope, container, "ReduceMax", [absx, axes], "amax", keepdims=0
                )
            else:
                amax = _node(
                    scope, container, "ReduceMax", [absx], "amax", axes=[1], keepdims=0
                )
            raw = _node(
                scope,
                container,
                "Div",
                [amax, _const(scope, container, "half_range", [127.5], f32)],
                "raw_scale",
            )
            eps = float(np.finfo(np.float32).eps)
            scale = _node(
                scope,
                container,
                "Max",
                [raw, _const(scope, container, "eps", [eps], f32)],
                "row_scale",
            )
            shape = _node(scope, container, "Shape", [scale], "n_rows")
            shifts = _node(scope, container, "Expand", [shift, shape], "zero_points")
            q = _node(
                scope,
                container,
                "QuantizeLinear",
                [x, scale, shifts],
                "x_u8",
                axis=0,
            )
            row_scale = _node(
                scope,
                container,
                "Unsqueeze",
                [scale, _const(scope, container, "axes", np.array([1]), i64)],
                "row_scale_column",
            )
        weight = _const(
            scope,
            container,
            "weight_int8",
            layer["weight"].T.astype(np.int8),
            TensorProto.INT8,
        )
        w_scale = _const(
            scope,
            container,
            "weight_scale",
            layer["weight_scale"].astype(np.float32),
            f32,
        )
        bias = _const(scope, container, "bias", layer["bias"].astype(np.float32), f32)
        # onnxruntime's MatMulIntegerToFloat: the integer product, cast and
        # scaled per weight column in one kernel (in place of MatMulInteger,
        # Cast and Mul). Its input scale is one number: a static scale and
        # the bias go in; a per-row scale multiplies after, then the bias.
        if "input_scale" in layer:
            # (skl2onnx's graph sort needs every input named: a zero point 0)
            w_zero = _const(
                scope, container, "weight_zero", np.array(0, np.int8), TensorProto.INT8
            )
            x = _contrib(
                scope,
                container,
                "MatMulIntegerToFloat",
                [q, weight, row_scale, w_scale, shift, w_zero, bias],
                "linear",
            )
        else:
            one = _const(scope, container, "unit_scale", np.float32(1.0), f32)
            y = _contrib(
                scope,
                container,
                "MatMulIntegerToFloat",
                [q, weight, one, w_scale, shift],
                "rescaled",
            )
            y = _node(scope, container, "Mul", [y, row_scale], "rescaled_input")
            x = _node(scope, container, "Add", [y, bias], "linear")
        if layer["activation"] is not None:
            x = _activation(scope, container, x, layer["activation"])
        # after these the row's largest |x| is its largest x: no Abs needed
        non_negative = (layer["activation"] or ("",))[0] in ("relu", "sigmoid")
    return x


def _class_outputs(scope, container, operator, proba, classes, decide=None):
    """``label`` and ``probabilities`` outputs from float probabilities; the
    label is the class of the largest ``decide`` (default: ``proba``)."""
    from onnx import TensorProto

    container.add_node(
        "Identity",
        [proba],
        operator.outputs[1].full_name,
        name=scope.get_unique_operator_name("Identity"),
    )
    classes = np.asarray(classes)
    if np.issubdtype(classes.dtype, np.integer) or classes.dtype == np.bool_:
        values, proto = classes.astype(np.int64), TensorProto.INT64
    elif np.issubdtype(classes.dtype, np.floating):
        raise OnnxExportError(
            "Float class labels have no ONNX label output; encode them as "
            "integers or strings."
        )
    else:
        values = np.array([str(c).encode("utf-8") for c in classes])
        proto = TensorProto.STRING
    table = _name(scope, "classes")
    container.add_initializer(table, proto, [len(values)], values.tolist())
    argmax = _node(
        scope, container, "ArgMax", [decide or proba], "argmax", axis=1, keepdims=0
    )
    container.add_node(
        "Gather",
        [table, argmax],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("Gather"),
        axis=0,
    )


def _input_float(scope, container, operator):
    from onnx import TensorProto

    return _node(
        scope,
        container,
        "Cast",
        [operator.inputs[0].full_name],
        "features",
        to=TensorProto.FLOAT,
    )
