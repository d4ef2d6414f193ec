"""Dropout layer: active in training mode, the identity in eval mode."""
from fastconv.nn import functional as F
from fastconv.nn.module import Module


class Dropout(Module):
    """Zero elements with probability p during training (scaling the rest by 1 / (1 - p));
    masks come from fastconv's shared generator (fastconv.manual_seed)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
