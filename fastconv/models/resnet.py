"""ResNet (He, Zhang, Ren and Sun, 2015) as torchvision builds it (v1.5: the stride of a
Bottleneck sits on its 3x3 convolution), with torchvision's parameter names (conv1.weight,
bn1.running_mean, layer1.0.conv1.weight, layer2.0.downsample.0.weight, fc.weight, ...) and
initialisation, so its state dicts load unchanged. Parameters for 1000 classes: resnet18
11,689,512; resnet34 21,797,672; resnet50 25,557,032.

Blocks run batch-norm + ReLU as one fused node (in eval mode, convolution + batch-norm
(+ ReLU): the same bits) and end with the fused residual add + ReLU (the modules `relu` stay
registered, as in torchvision, but are only called when a hook asks for the unfused path).

`cifar_stem=True` replaces the 7x7 stride-2 stem and its max-pool by a 3x3 stride-1
convolution and no pooling (conv1.weight becomes (64, in_channels, 3, 3)), the usual
adaptation for 32x32 images, which the ImageNet stem would shrink to 8x8 at once.
"""
from fastconv import nn
from fastconv.models._fused import conv_batch_norm, run_fused
from fastconv.models._registry import register_model
from fastconv.nn import functional as F

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _residual_relu(out, identity, block):
    """relu(out + identity): fused unless the block's relu module has hooks."""
    if block.relu._forward_hooks or block.relu._forward_pre_hooks or block.relu._backward_hooks:
        return block.relu(out + identity)
    return F.add_relu(out, identity)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch-norm; the shortcut is the identity, or `downsample`
    (a 1x1 projection + batch-norm) when the shape changes."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else run_fused(self.downsample, x)
        out = conv_batch_norm(self.conv1, self.bn1, x, relu=True)
        out = conv_batch_norm(self.conv2, self.bn2, out)
        return _residual_relu(out, identity, self)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand to planes * 4, each with batch-norm."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else run_fused(self.downsample, x)
        out = conv_batch_norm(self.conv1, self.bn1, x, relu=True)
        out = conv_batch_norm(self.conv2, self.bn2, out, relu=True)
        out = conv_batch_norm(self.conv3, self.bn3, out)
        return _residual_relu(out, identity, self)


class ResNet(nn.Module):
    """stem (conv1, bn1, relu, maxpool) -> layer1..layer4 -> avgpool -> fc."""

    def __init__(self, block, layers, num_classes=1000, in_channels=3, cifar_stem=False,
                 zero_init_residual=False):
        super().__init__()
        self.inplanes = 64
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar_stem else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():   # torchvision's initialisation (fc keeps Linear's default)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:     # each block starts as the identity (Goyal et al. 2017)
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers.extend(block(self.inplanes, planes) for _ in range(1, blocks))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(conv_batch_norm(self.conv1, self.bn1, x, relu=True))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


@register_model
def resnet18(num_classes=1000, in_channels=3, cifar_stem=False, zero_init_residual=False):
    """ResNet-18: BasicBlocks [2, 2, 2, 2]."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, cifar_stem, zero_init_residual)


@register_model
def resnet34(num_classes=1000, in_channels=3, cifar_stem=False, zero_init_residual=False):
    """ResNet-34: BasicBlocks [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, cifar_stem, zero_init_residual)


@register_model
def resnet50(num_classes=1000, in_channels=3, cifar_stem=False, zero_init_residual=False):
    """ResNet-50: Bottlenecks [3, 4, 6, 3] (v1.5, stride on the 3x3)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, cifar_stem, zero_init_residual)
