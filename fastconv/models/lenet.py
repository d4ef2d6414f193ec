"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), the layout of the paper's Figure 2:

    input 32x32 -> C1 conv 6@5x5 -> 6@28x28 -> S2 pool 2 -> 6@14x14
                -> C3 conv 16@5x5 -> 16@10x10 -> S4 pool 2 -> 16@5x5
                -> C5 conv 120@5x5 -> 120@1x1 -> F6 linear 84 -> output linear num_classes

With 28x28 input (MNIST as stored) the first convolution pads by 2, which is exactly the
paper's own treatment: it centred the 28x28 digits in a 32x32 field.

Two simplifications every modern LeNet-5 makes: C3 connects to all 6 maps of S2 (the paper
wired each C3 map to a hand-picked subset), and the output layer is a linear layer trained
with cross-entropy instead of Euclidean RBF units. The default activation and pooling are
the modern ReLU and max-pooling; `activation='tanh', pooling='avg'` gives the classic
squashing function and averaging subsampling (without the paper's trainable pooling
coefficients and its scaled tanh 1.7159 tanh(2x/3)).
"""
from fastconv import nn
from fastconv.models._fused import run_fused
from fastconv.models._registry import register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5: `features` (C1, S2, C3, S4, C5 as a Sequential) then `classifier` (F6, output).

    Parameter names: features.0 (C1), features.3 (C3), features.6 (C5), classifier.0 (F6),
    classifier.2 (output). 61,706 parameters for 10 classes and one input channel.
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=32, activation="relu",
                 pooling="max"):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"input_size must be 32 (the paper's) or 28 (padded to 32), "
                             f"got {input_size!r}")
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
        pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
        if activation not in acts:
            raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}")
        if pooling not in pools:
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        act, pool = acts[activation], pools[pooling]
        self.input_size, self.activation, self.pooling = input_size, activation, pooling
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2), act(), pool(2),   # C1, S2
            nn.Conv2d(6, 16, 5), act(), pool(2),                                         # C3, S4
            nn.Conv2d(16, 120, 5), act(),                                                # C5
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Linear(120, 84), act(), nn.Linear(84, num_classes))

    def forward(self, x):
        return run_fused(self.classifier, self.flatten(run_fused(self.features, x)))


@register_model
def lenet5(num_classes=10, in_channels=1, input_size=32, activation="relu", pooling="max"):
    """LeNet-5 for `input_size` 32 or 28 (28: the first convolution pads by 2).
    activation 'relu' (default) or 'tanh'; pooling 'max' (default) or 'avg' (classic: 'tanh' + 'avg')."""
    return LeNet5(num_classes, in_channels, input_size, activation, pooling)
