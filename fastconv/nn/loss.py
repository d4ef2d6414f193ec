"""Loss modules: call them as loss_fn(output, target) -> a scalar Tensor (or per-sample
Tensor with reduction='none')."""
from fastconv.nn import functional as F
from fastconv.nn.module import Module


class CrossEntropyLoss(Module):
    """Cross-entropy of (N, C) logits against (N,) integer class indices."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.reduction, self.label_smoothing)


class MSELoss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
