"""Linear (fully connected) layer and Identity."""
import numpy as np

from fastconv.nn import functional as F
from fastconv.nn import init
from fastconv.nn.module import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features), PyTorch's default init."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input (a placeholder, e.g. for a removed classifier head)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
