"""fastconv.optim: optimizers and learning-rate schedules, with PyTorch's update formulas.

    opt = fastconv.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = fastconv.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=1000)
    for xb, yb in loader:
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step(); sched.step()

Optimizers update `p.data` IN PLACE from `p.grad` for any parameter object carrying `.data`
and `.grad` ndarrays (parameters whose .grad is None are skipped).  The arithmetic is plain
NumPy on purpose, not a C kernel: these updates are elementwise and memory-bound, and every
NumPy in-place ufunc (`out=`, `+=`) is already a single streaming pass over the array, so a
fused kernel would save only a few passes of the whole step.  The updates stay in place:
buffers are updated with `out=`/`+=`, intermediate products go into one or two scratch arrays
per parameter per step, and the user's gradient is never written.
"""
from fastconv.optim.optimizer import Optimizer
from fastconv.optim.sgd import SGD
from fastconv.optim.adam import Adam, AdamW
from fastconv.optim.rmsprop import RMSprop
from fastconv.optim import lr_scheduler
from fastconv.optim.lr_scheduler import (LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR,
                                         OneCycleLR)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler", "LRScheduler",
           "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR"]
