"""model.summary(input_shape): a Keras-like table of the layers a forward pass runs."""
import math

import numpy as np

from fastconv.autograd import Tensor, no_grad
from fastconv.nn.conv import _ConvNd
from fastconv.nn.linear import Linear
from fastconv.nn.normalization import _BatchNorm


def _multiply_adds(module, output):
    """Multiply-adds of one call on one sample: conv and linear count one per weight use,
    batch-norm one per element (its inference affine map); other layers count 0."""
    per_sample = output.data.size // max(output.shape[0], 1) if output.ndim else output.data.size
    if isinstance(module, _ConvNd):
        return per_sample * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, Linear):
        return per_sample * module.in_features
    if isinstance(module, _BatchNorm):
        return per_sample
    return 0


def _shape_text(output):
    if isinstance(output, Tensor):
        return str((None,) + tuple(output.shape[1:])).replace("None,)", "None)")
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape_text(o) for o in output)
    return type(output).__name__


def _count(params, trainable):
    return sum(p.data.size for p in params if p.requires_grad == trainable)


def summary(model, input_shape, dtype=None, print_fn=print):
    """Run `model` once (eval mode, no gradients) on a zero batch of one sample shaped
    `input_shape` (WITHOUT the batch axis, e.g. (1, 28, 28)) and tabulate, per layer that
    holds parameters or has no children: its name and type, output shape (None for the
    batch axis), trainable and non-trainable (requires_grad=False) parameter counts, and
    multiply-adds per sample. Totals follow. Parameter counts exclude buffers (running
    statistics, listed separately), so they equal PyTorch's. Returns the table as a string
    and prints it with print_fn (None: do not print). Training modes are restored."""
    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or any(s < 1 for s in input_shape):
        raise ValueError(f"input_shape must be the shape of one sample (positive sizes, "
                         f"no batch axis), got {input_shape}")
    if dtype is None:
        first = next(iter(model.parameters()), None)
        dtype = first.dtype if first is not None else np.float32
    rows, handles = [], []

    def record(name):
        def hook(module, args, output):
            own = list(module.parameters(recurse=False))
            macs = _multiply_adds(module, output) if isinstance(output, Tensor) else 0
            rows.append((f"{name} ({type(module).__name__})", _shape_text(output),
                         _count(own, True), _count(own, False), macs))
        return hook

    for name, module in model.named_modules():
        if module is not model or not module._modules:
            if not module._modules or any(True for _ in module.parameters(recurse=False)):
                handles.append(module.register_forward_hook(record(name or "(model)")))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros((1,) + input_shape, dtype)))
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            object.__setattr__(module, "training", mode)

    params = list(model.parameters())
    buffers = sum(b.data.size for b in model.buffers() if b.data.dtype.kind == "f")
    header = ("Layer (type)", "Output Shape", "Trainable", "Non-trainable", "Mult-Adds")
    body = [(r[0], r[1], f"{r[2]:,}", f"{r[3]:,}", f"{r[4]:,}") for r in rows]
    widths = [max(len(str(row[i])) for row in [header] + body) for i in range(5)]

    def line(row):
        return "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "=" * len(line(header))
    lines = [f'Model: "{type(model).__name__}"', rule, line(header), rule]
    lines += [line(row) for row in body]
    trainable, frozen = _count(params, True), _count(params, False)
    lines += [rule,
              f"Total params: {trainable + frozen:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {frozen:,}",
              f"Buffer values (running statistics): {buffers:,}",
              f"Multiply-adds per sample: {sum(r[4] for r in rows):,}",
              f"Input shape: {(None,) + input_shape}",
              rule]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
