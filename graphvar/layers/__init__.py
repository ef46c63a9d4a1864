"""``tf.layers``: TF1's functional and class layers (names and variables as TF1 creates them)."""

from graphvar.layers.base import Layer
from graphvar.layers.convolutional import (
    AveragePooling2D,
    AveragePool2D,
    Conv1D,
    Conv2D,
    Convolution1D,
    MaxPool2D,
    MaxPooling2D,
    average_pooling2d,
    conv1d,
    conv2d,
    max_pooling2d,
)
from graphvar.layers.core import Dense, Dropout, Flatten, dense, dropout, flatten
from graphvar.layers.normalization import BatchNormalization, batch_normalization

__all__ = [
    "AveragePool2D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D", "Convolution1D", "Dense", "Dropout", "Flatten", "Layer",
    "MaxPool2D", "MaxPooling2D", "average_pooling2d", "batch_normalization", "conv1d", "conv2d", "dense", "dropout", "flatten",
    "max_pooling2d",
]  # fmt: skip
