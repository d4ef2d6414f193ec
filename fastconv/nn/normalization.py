"""Batch normalisation layers. Like PyTorch's, the module owns the parameters and running
buffers and passes them to the stateless functional.batch_norm."""
import numpy as np

from fastconv.autograd import Tensor
from fastconv.nn import functional as F
from fastconv.nn.module import Module, Parameter


class _BatchNorm(Module):
    _dims, _layout = None, None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def _arguments(self, x):
        ndim = x.ndim
        if ndim not in self._dims:
            raise ValueError(f"{type(self).__name__} expects {self._layout} input, "
                             f"got shape {tuple(x.shape)}")
        tracked = None
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            tracked = self.num_batches_tracked
        # Running buffers serve in eval and are updated in training; without them (or in
        # eval with track_running_stats=False) the batch statistics are used.
        use_buffers = not self.training or self.track_running_stats
        return dict(
            running_mean=self.running_mean if use_buffers else None,
            running_var=self.running_var if use_buffers else None,
            weight=self.weight, bias=self.bias,
            training=self.training or self.running_mean is None,
            momentum=self.momentum, eps=self.eps,
            num_batches_tracked=tracked if self.momentum is None else None)

    def forward(self, x):
        return F.batch_norm(x, **self._arguments(x))

    def forward_relu(self, x):
        """relu(self(x)) through the fused batch-norm + ReLU path (hooks are not run)."""
        return F.batch_norm_relu(x, **self._arguments(x))

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over every axis but C."""
    _dims, _layout = (2, 3), "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over N, H and W."""
    _dims, _layout = (4,), "4-D (N, C, H, W)"
