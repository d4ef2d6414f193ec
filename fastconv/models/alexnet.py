"""AlexNet as torchvision builds it (the one-GPU variant of Krizhevsky's 2014 "one weird
trick" paper, 61,100,840 parameters for 1000 classes): same module indices, so torchvision's
state dict (features.0.weight, ..., classifier.6.bias) loads unchanged."""
from fastconv import nn
from fastconv.models._fused import run_fused
from fastconv.models._registry import register_model

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """features (5 convolutions, 3 max-pools) -> avgpool (adaptive, 6x6) -> classifier
    (dropout, 4096, dropout, 4096, num_classes). Needs inputs of at least 63x63 (224x224 is
    the design size); smaller ones are refused by the pooling with an output-size error."""

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(run_fused(self.features, x))
        return self.classifier(x.flatten(1))


@register_model
def alexnet(num_classes=1000, in_channels=3, dropout=0.5):
    """AlexNet with torchvision's layout and parameter names (PyTorch's default init)."""
    return AlexNet(num_classes, in_channels, dropout)
