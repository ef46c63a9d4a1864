"""``tf.layers.Conv2D`` / ``conv2d``, ``MaxPooling2D`` / ``max_pooling2d``, ``AveragePooling2D`` /
``average_pooling2d`` (TF1 signatures: lower-case padding, channels_last / channels_first)."""

from __future__ import annotations

from typing import Any

from graphvar.layers.base import Layer
from graphvar.layers.core import ZEROS, _float_dtype, apply_bias_activation
from graphvar.ops import nn_conv


def _pair(value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    vals = tuple(int(v) for v in value)
    if len(vals) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return vals  # type: ignore[return-value]


def _data_format(data_format: str) -> str:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return "NHWC" if data_format == "channels_last" else "NCHW"


def _padding(padding: str) -> str:
    if str(padding).lower() not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    return str(padding).upper()


class Conv2D(Layer):
    """2-D convolution layer: kernel [kh, kw, in_channels, filters], bias [filters].

    Example:
      >>> h = tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu)  # conv2d/kernel, conv2d/bias
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = None,
                 bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters, self.kernel_size = int(filters), _pair(kernel_size, "kernel_size")
        self.strides, self.dilation_rate = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
        self.padding, self.data_format = _padding(padding), _data_format(data_format)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape: Any) -> None:
        if input_shape.ndims != 4:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected ndim=4, "
                             f"found ndim={input_shape.ndims}. Full shape received: {input_shape}")  # fmt: skip
        channels = input_shape[1 if self.data_format == "NCHW" else 3].value
        if channels is None:
            raise ValueError(
                f"The channel dimension of the inputs should be defined. Found `None` (layer {self.name!r})"
            )
        shape = [*self.kernel_size, channels, self.filters]
        self.kernel = self.add_weight("kernel", shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)  # fmt: skip
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)  # fmt: skip

    def call(self, inputs: Any) -> Any:
        out = nn_conv.conv2d(inputs, self.kernel, strides=list(self.strides), padding=self.padding,
                             data_format=self.data_format, dilations=list(self.dilation_rate), name="Conv2D")  # fmt: skip
        out = apply_bias_activation(out, self.bias, self.activation, self.data_format)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out))
        return out


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = ZEROS,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
           reuse: Any = None) -> Any:  # fmt: skip
    """Functional form of `Conv2D`."""
    layer = Conv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                   kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                   kernel_constraint, bias_constraint, trainable, name, _reuse=reuse, dtype=_float_dtype(inputs))  # fmt: skip
    return layer(inputs)


class _Pooling2D(Layer):
    _op: Any = None
    _op_name = ""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(name=name, **kwargs)
        self.pool_size, self.strides = _pair(pool_size, "pool_size"), _pair(strides, "strides")
        self.padding, self.data_format = _padding(padding), _data_format(data_format)

    def call(self, inputs: Any) -> Any:
        fn = type(self)._op
        return fn(inputs, ksize=list(self.pool_size), strides=list(self.strides), padding=self.padding,
                  data_format=self.data_format, name=self._op_name)  # fmt: skip


class MaxPooling2D(_Pooling2D):
    """Max pooling over [pool_h, pool_w] windows (TF1 requires `strides`)."""

    _op = staticmethod(nn_conv.max_pool)
    _op_name = "MaxPool"


class AveragePooling2D(_Pooling2D):
    """Average pooling; SAME windows average only the real inputs, as TF does."""

    _op = staticmethod(nn_conv.avg_pool)
    _op_name = "AvgPool"


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Any:  # fmt: skip
    return MaxPooling2D(pool_size, strides, padding, data_format, name)(inputs)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Any:  # fmt: skip
    return AveragePooling2D(pool_size, strides, padding, data_format, name)(inputs)


MaxPool2D = MaxPooling2D
AveragePool2D = AveragePooling2D


class Conv1D(Conv2D):
    """1-D convolution layer over [batch, width, channels]: kernel [k, in_channels, filters], bias [filters].

    Example:
      >>> h = tf.layers.conv1d(x, 16, 3, padding="same")  # conv1d/kernel, conv1d/bias
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(filters, (1, _single(kernel_size, "kernel_size")), (1, _single(strides, "strides")), padding,
                         data_format, (1, _single(dilation_rate, "dilation_rate")), **kwargs)  # fmt: skip
        self.kernel_size = (self.kernel_size[1],)
        self.strides, self.dilation_rate = (self.strides[1],), (self.dilation_rate[1],)

    def build(self, input_shape: Any) -> None:
        if input_shape.ndims != 3:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected ndim=3, "
                             f"found ndim={input_shape.ndims}. Full shape received: {input_shape}")  # fmt: skip
        channels = input_shape[1 if self.data_format == "NCHW" else 2].value
        if channels is None:
            raise ValueError(
                f"The channel dimension of the inputs should be defined. Found `None` (layer {self.name!r})"
            )
        self.kernel = self.add_weight("kernel", [self.kernel_size[0], channels, self.filters],
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)  # fmt: skip
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)  # fmt: skip

    def call(self, inputs: Any) -> Any:
        from graphvar.ops import nn_extra

        fmt = "NCW" if self.data_format == "NCHW" else "NWC"
        out = nn_extra.conv1d(inputs, self.kernel, self.strides[0], self.padding, data_format=fmt,
                              dilations=self.dilation_rate[0], name="conv1d")  # fmt: skip
        out = apply_bias_activation(out, self.bias, self.activation, self.data_format)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out))
        return out


def _single(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    vals = tuple(int(v) for v in value)
    if len(vals) != 1:
        raise ValueError(f"{what} must be an int or a tuple of one int, got {value!r}")
    return vals[0]


def conv1d(inputs: Any, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = 1, activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = ZEROS,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
           reuse: Any = None) -> Any:  # fmt: skip
    """Functional form of `Conv1D` (TF1's tf.layers.conv1d)."""
    layer = Conv1D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                   use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse,
                   dtype=_float_dtype(inputs))  # fmt: skip
    return layer(inputs)


Convolution1D = Conv1D
