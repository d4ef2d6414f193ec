"""Running a Sequential with the fused paths of fastconv.nn where a layer is followed by ReLU
(and a convolution's ReLU by max-pooling)."""
from fastconv.nn import BatchNorm2d, Conv2d, MaxPool2d, ReLU
from fastconv.nn import functional as F


def _hooked(module):
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)


def _folds(conv, bn):
    """Whether bn(conv(x)) can run as one conv + batch-norm node: bn normalises with its
    running statistics (eval mode, track_running_stats) and neither module has hooks."""
    return (isinstance(conv, Conv2d) and isinstance(bn, BatchNorm2d) and not bn.training
            and bn.running_mean is not None and not _hooked(conv) and not _hooked(bn))


def run_fused(sequential, x):
    """sequential(x), but Conv2d -> ReLU (-> MaxPool2d) and BatchNorm2d -> ReLU run as one
    fused node (conv2d_relu, conv2d_relu_max_pool2d, batch_norm_relu: the pre-activation is
    not kept for backward), and Conv2d -> BatchNorm2d (-> ReLU) with batch-norm in eval mode
    as one conv2d_batch_norm node. Layers are fused only when none of them has hooks, so
    hooks always see what they expect."""
    if _hooked(sequential):
        return sequential(x)
    layers = list(sequential)
    i = 0
    while i < len(layers):
        layer = layers[i]
        following = layers[i + 1] if i + 1 < len(layers) else None
        third = layers[i + 2] if i + 2 < len(layers) else None
        if _folds(layer, following):
            relu = isinstance(third, ReLU) and not _hooked(third)
            x = layer.forward_batch_norm(x, following, relu)
            i += 3 if relu else 2
        elif (isinstance(layer, Conv2d) and isinstance(following, ReLU)
                and isinstance(third, MaxPool2d)
                and not (_hooked(layer) or _hooked(following) or _hooked(third))):
            x = layer.forward_relu_max_pool(x, third)
            i += 3
        elif (isinstance(layer, (Conv2d, BatchNorm2d)) and isinstance(following, ReLU)
                and not _hooked(layer) and not _hooked(following)):
            x = layer.forward_relu(x)
            i += 2
        else:
            x = layer(x)
            i += 1
    return x


def fused_relu(layer, x):
    """relu(layer(x)) for a Conv2d or BatchNorm2d, through its fused forward_relu unless the
    layer has hooks (then the plain call, so the hooks run)."""
    if _hooked(layer):
        return F.relu(layer(x))
    return layer.forward_relu(x)


def fused_relu_max_pool(conv, pool, x):
    """pool(relu(conv(x))) for a Conv2d and a MaxPool2d, through the fused
    forward_relu_max_pool unless either has hooks (then fused_relu, and the pool's call)."""
    if _hooked(conv) or _hooked(pool):
        return pool(fused_relu(conv, x))
    return conv.forward_relu_max_pool(x, pool)


def conv_batch_norm(conv, bn, x, relu=False):
    """bn(conv(x)), then ReLU if `relu`: one conv2d_batch_norm node where _folds says so,
    else the two modules' own calls (the ReLU through fused_relu)."""
    if _folds(conv, bn):
        return conv.forward_batch_norm(x, bn, relu)
    return fused_relu(bn, conv(x)) if relu else bn(conv(x))
