"""The two small baselines of the issue: a multilayer perceptron and a small CNN."""
from fastconv import nn
from fastconv.models._fused import fused_relu_max_pool
from fastconv.models._registry import register_model
from fastconv.nn import functional as F

__all__ = ["SimpleCNN", "SimpleMLP", "simple_cnn", "simple_mlp"]


class SimpleMLP(nn.Module):
    """Flatten -> fc1 (512) -> ReLU -> fc2 (512) -> ReLU -> fc3 (num_classes): 784-512-512-10
    for MNIST-shaped input, 669,706 parameters."""

    def __init__(self, num_classes=10, in_channels=1, input_size=28, hidden=(512, 512)):
        super().__init__()
        in_features = in_channels * input_size * input_size
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(in_features, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], num_classes)

    def forward(self, x):
        x = self.flatten(x)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class SimpleCNN(nn.Module):
    """conv1 32@3x3 + ReLU + max-pool 2, conv2 64@3x3 + ReLU + max-pool 2, fc1 120 + ReLU,
    fc2 84 + ReLU, fc3 num_classes. For 28x28 input the maps go 28 -> 26 -> 13 -> 11 -> 5,
    so fc1 takes 64 * 5 * 5 = 1600 features. Conv + ReLU + max-pool run as the fused path."""

    def __init__(self, num_classes=10, in_channels=1, input_size=28):
        super().__init__()
        side = ((input_size - 2) // 2 - 2) // 2
        if side < 1:
            raise ValueError(f"input_size must be >= 10, got {input_size}")
        self.conv1 = nn.Conv2d(in_channels, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = fused_relu_max_pool(self.conv1, self.pool, x)
        x = fused_relu_max_pool(self.conv2, self.pool, x)
        x = F.relu(self.fc1(self.flatten(x)))
        return self.fc3(F.relu(self.fc2(x)))


@register_model
def simple_mlp(num_classes=10, in_channels=1, input_size=28, hidden=(512, 512)):
    """784-512-512-10 multilayer perceptron with ReLU (sizes follow the arguments)."""
    return SimpleMLP(num_classes, in_channels, input_size, hidden)


@register_model
def simple_cnn(num_classes=10, in_channels=1, input_size=28):
    """Two 3x3 conv + ReLU + max-pool stages (32, 64 maps), then fc 120, 84, num_classes."""
    return SimpleCNN(num_classes, in_channels, input_size)
