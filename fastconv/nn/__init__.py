"""Layers and models built on fastconv.autograd, with PyTorch's names and defaults.

    import fastconv.nn as nn
    import fastconv.nn.functional as F
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 10))
"""
from fastconv.nn import functional, init
from fastconv.nn.module import Module, Parameter
from fastconv.nn.container import ModuleList, Sequential
from fastconv.nn.conv import Conv1d, Conv2d
from fastconv.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from fastconv.nn.normalization import BatchNorm1d, BatchNorm2d
from fastconv.nn.linear import Identity, Linear
from fastconv.nn.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from fastconv.nn.dropout import Dropout
from fastconv.nn.flatten import Flatten
from fastconv.nn.loss import CrossEntropyLoss, MSELoss
from fastconv.nn.fusion import fuse_conv_bn_eval
from fastconv.nn.summary import summary

__all__ = [
    "functional", "init", "Module", "Parameter", "Sequential", "ModuleList", "Conv1d", "Conv2d",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "Linear",
    "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
    "Flatten", "CrossEntropyLoss", "MSELoss", "fuse_conv_bn_eval", "summary",
]
