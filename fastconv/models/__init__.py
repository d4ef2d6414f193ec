"""fastconv.models: the classic CNNs, with torchvision's parameter names where torchvision has
the model, so `model.load_state_dict(np.load("resnet18.npz"))` takes its exported weights.

    from fastconv import models
    net = models.get_model("resnet18", num_classes=10, cifar_stem=True)
    models.list_models()   # ['alexnet', 'lenet5', 'resnet18', ..., 'vgg16_bn']

Every constructor takes `num_classes` and `in_channels`.
"""
from fastconv.models._registry import get_model, list_models, register_model
from fastconv.models.alexnet import AlexNet, alexnet
from fastconv.models.lenet import LeNet5, lenet5
from fastconv.models.resnet import (
           BasicBlock,
           Bottleneck,
           ResNet,
           resnet18,
           resnet34,
           resnet50,
)
from fastconv.models.simple import SimpleCNN, SimpleMLP, simple_cnn, simple_mlp
from fastconv.models.vgg import VGG, vgg11, vgg11_bn, vgg16, vgg16_bn

__all__ = [
           "VGG",
           "AlexNet",
           "BasicBlock",
           "Bottleneck",
           "LeNet5",
           "ResNet",
           "SimpleCNN",
           "SimpleMLP",
           "alexnet",
           "get_model",
           "lenet5",
           "list_models",
           "register_model",
           "resnet18",
           "resnet34",
           "resnet50",
           "simple_cnn",
           "simple_mlp",
           "vgg11",
           "vgg11_bn",
           "vgg16",
           "vgg16_bn",
]
