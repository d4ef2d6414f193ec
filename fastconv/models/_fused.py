"""Running a Sequential with the fused paths of fastconv.nn where a layer is followed by ReLU."""
from fastconv.nn import BatchNorm2d, Conv2d, ReLU
from fastconv.nn import functional as F


def _hooked(module):
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)


def run_fused(sequential, x):
    """sequential(x), but Conv2d -> ReLU and BatchNorm2d -> ReLU pairs run as one fused node
    (conv2d_relu, batch_norm_relu: the pre-activation is not kept for backward). A pair is
    fused only when neither module has hooks, so hooks always see what they expect."""
    if _hooked(sequential):
        return sequential(x)
    layers = list(sequential)
    i = 0
    while i < len(layers):
        layer = layers[i]
        following = layers[i + 1] if i + 1 < len(layers) else None
        if (isinstance(layer, (Conv2d, BatchNorm2d)) and isinstance(following, ReLU)
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
