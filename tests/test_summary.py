"""model.summary(input_shape): the per-layer table and its totals."""
import pytest

from fastconv import nn


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84),
        nn.Tanh(), nn.Linear(84, 10))


def test_lenet_table_shapes_counts_and_multiply_adds():
    printed = []
    text = lenet().summary((1, 32, 32), print_fn=printed.append)
    assert printed == [text]
    rows = {line.split()[0]: line for line in text.splitlines()}
    assert "(None, 6, 28, 28)" in rows["0"] and "156" in rows["0"]
    assert rows["0"].endswith("117,600")            # 28*28*6 outputs * 25 weights each
    assert rows["3"].endswith("240,000")            # 10*10*16 * 6*25
    assert "(None, 400)" in rows["6"]
    assert rows["7"].endswith("48,000") and "48,120" in rows["7"]
    assert "Total params: 61,706" in text
    assert "Trainable params: 61,706" in text and "Non-trainable params: 0" in text
    assert "Multiply-adds per sample: 416,520" in text   # 117600+240000+48000+10080+840


def test_frozen_parameters_buffers_nested_names_and_modes_restored():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4),
                                          nn.ReLU(), nn.Dropout(0.5))
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.features(x).mean(axis=(2, 3)))

    net = Net()
    net.features[0].weight.requires_grad = False
    text = net.summary((3, 5, 5), print_fn=None)
    assert "features.0 (Conv2d)" in text and "features.1 (BatchNorm2d)" in text
    assert "head (Linear)" in text and "(None, 2)" in text
    assert "Trainable params: 18" in text            # bn 8 + head 10
    assert "Non-trainable params: 108" in text       # the frozen conv
    assert "Total params: 126" in text
    assert "Buffer values (running statistics): 8" in text
    assert all(m.training for m in net.modules())
    assert net.features[1].num_batches_tracked.item() == 0   # ran in eval mode


def test_float64_model_and_bad_shapes():
    model = nn.Sequential(nn.Linear(3, 2)).double()
    assert "(None, 2)" in nn.summary(model, (3,), print_fn=None)
    with pytest.raises(ValueError, match="input_shape"):
        model.summary((0, 3), print_fn=None)
