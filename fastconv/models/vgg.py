"""VGG (Simonyan and Zisserman, 2014) as torchvision builds it: configurations A (VGG-11) and
D (VGG-16), with or without batch normalisation, with torchvision's module indices and
initialisation, so its state dicts (features.0.weight, ..., classifier.6.bias) load unchanged.
Parameters for 1000 classes: vgg11 132,863,336; vgg11_bn 132,868,840; vgg16 138,357,544;
vgg16_bn 138,365,992."""
from fastconv import nn
from fastconv.models._fused import run_fused
from fastconv.models._registry import register_model

__all__ = ["VGG", "make_layers", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]

CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def make_layers(config, batch_norm=False, in_channels=3):
    """The `features` Sequential: 3x3 convolutions (padding 1) each followed by [BatchNorm2d]
    and ReLU, and 2x2 max-pools at the 'M' entries."""
    layers = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features -> avgpool (adaptive, 7x7) -> classifier (4096, dropout, 4096, dropout,
    num_classes). Five 2x2 max-pools: inputs need at least 32x32 (224x224 by design).

    `pool_size` and `classifier_width` (defaults 7 and 4096: torchvision's) shrink the head
    for small images: pool_size=1, classifier_width=512 is the usual CIFAR variant, whose
    classifier holds 0.5M parameters instead of 120M."""

    def __init__(self, features, num_classes=1000, dropout=0.5, init_weights=True,
                 pool_size=7, classifier_width=4096):
        super().__init__()
        width = classifier_width
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pool_size * pool_size, width), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(width, width), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(width, num_classes),
        )
        if init_weights:   # torchvision's choice (not PyTorch's layer defaults)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(run_fused(self.features, x))
        return self.classifier(x.flatten(1))


def _vgg(config, batch_norm, num_classes, in_channels, dropout, pool_size, classifier_width):
    return VGG(make_layers(CONFIGS[config], batch_norm, in_channels), num_classes, dropout,
               pool_size=pool_size, classifier_width=classifier_width)


@register_model
def vgg11(num_classes=1000, in_channels=3, dropout=0.5, pool_size=7, classifier_width=4096):
    """VGG-11 (configuration A)."""
    return _vgg("A", False, num_classes, in_channels, dropout, pool_size, classifier_width)


@register_model
def vgg11_bn(num_classes=1000, in_channels=3, dropout=0.5, pool_size=7, classifier_width=4096):
    """VGG-11 with batch normalisation after every convolution."""
    return _vgg("A", True, num_classes, in_channels, dropout, pool_size, classifier_width)


@register_model
def vgg16(num_classes=1000, in_channels=3, dropout=0.5, pool_size=7, classifier_width=4096):
    """VGG-16 (configuration D)."""
    return _vgg("D", False, num_classes, in_channels, dropout, pool_size, classifier_width)


@register_model
def vgg16_bn(num_classes=1000, in_channels=3, dropout=0.5, pool_size=7, classifier_width=4096):
    """VGG-16 with batch normalisation after every convolution."""
    return _vgg("D", True, num_classes, in_channels, dropout, pool_size, classifier_width)
