"""The preprocessing contract (backend.preprocessing): decoding rules and training/backend parity."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import preprocessing as P


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    out = P.decode_image(encode(img, "JPEG", exif=exif.tobytes()))
    assert out.size == (20, 40)


def test_animation_takes_frame_zero():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    out = np.asarray(P.decode_image(data))
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 50


def test_alpha_is_composited_onto_white():
    img = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    out = np.asarray(P.decode_image(encode(img, "PNG")))
    assert (out == 255).all()


def test_palette_transparency_is_composited():
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    out = np.asarray(P.decode_image(encode(img, "PNG", transparency=0)))
    assert (out == 255).all()


def test_16_bit_greyscale_is_scaled_not_clipped():
    arr = np.full((4, 4), 32768, dtype=np.uint16)
    data = encode(Image.fromarray(arr), "PNG")
    out = np.asarray(P.decode_image(data))
    assert out.shape == (4, 4, 3) and abs(int(out[0, 0, 0]) - 128) <= 1


@pytest.mark.parametrize("fmt", ["TIFF", "ICO", "EPS"])
def test_formats_outside_allow_list_are_refused(fmt):
    data = encode(Image.new("RGB", (32, 32)), fmt)
    with pytest.raises(P.UnsupportedFormat):
        P.decode_image(data)


def test_svg_and_text_are_refused():
    with pytest.raises(P.UnsupportedFormat):
        P.decode_image(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')


def test_empty_truncated_and_bomb():
    with pytest.raises(P.EmptyImage):
        P.decode_image(b"")
    data = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG")
    with pytest.raises(P.CorruptImage):
        P.decode_image(data[: len(data) // 3])
    with pytest.raises(P.ImageTooLarge):
        P.decode_image(encode(Image.new("RGB", (300, 300)), "PNG"), limits=P.DecodeLimits(max_pixels=10_000))


@pytest.mark.parametrize("mode", P.RESIZE_MODES)
def test_model_input_shape_range_and_modes(mode):
    img = Image.new("RGB", (300, 100), (255, 255, 255))
    x = P.to_model_input(img, 224, mode)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    corner = x[:, 0, 0]
    # letterbox pads a wide image top and bottom with grey; centre crop fills the square with the image
    assert np.allclose(corner, 128 / 255) if mode == "letterbox" else np.allclose(corner, 1.0)


@pytest.mark.parametrize("jpeg_draft", [False, True])
def test_training_and_backend_inputs_are_identical(tmp_path, jpeg_draft):
    """The feature bank's evaluation views (``training.features._Draws``, what training, selection
    and the parity check see) and the backend's ``preprocess`` give the same tensor, with and
    without DCT scaling of a JPEG large enough for it; the detail view keeps the full-size decode."""
    from training.data import Sample
    from training.features import EVAL_VIEWS, FeatureConfig, _Draws, detail_view

    rgba = Image.fromarray(np.random.default_rng(0).integers(0, 255, (150, 210, 4), dtype=np.uint8), "RGBA")
    files = {"a.png": encode(rgba, "PNG"), "b.webp": encode(rgba.convert("RGB"), "WEBP", quality=80),
             "c.jpg": encode(rgba.convert("RGB"), "JPEG", quality=70),
             "d.jpg": encode(rgba.convert("RGB").resize((1900, 1000)), "JPEG", quality=90)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    config = FeatureConfig(draws=1, detail_draws=1, jpeg_draft=jpeg_draft)
    draws = _Draws([Sample(name, 0, "s", str(tmp_path)) for name in files], config)
    for i, data in enumerate(files.values()):
        _, stack, ok = draws[i]
        views = stack.numpy()[config.draws + config.detail_draws:]
        expected = P.preprocess(data, jpeg_draft=jpeg_draft)
        assert ok
        np.testing.assert_array_equal(views[EVAL_VIEWS.index("original")], expected)
        np.testing.assert_array_equal(views[EVAL_VIEWS.index("hflip")], expected[:, :, ::-1])
        np.testing.assert_array_equal(views[EVAL_VIEWS.index("detail")], P.to_array(detail_view(P.decode_image(data))))


def test_large_jpegs_are_decoded_shrunk_by_dct_scaling():
    """``draft_for_input`` picks the largest DCT scale keeping both sides >= 2 x 224 px, only for
    JPEG; the model input stays within a fraction of a level of the full decode's."""
    pixels = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    art = Image.fromarray(pixels).resize((2000, 1000), Image.Resampling.BICUBIC)
    for (w, h), factor in (((2000, 1000), 2), ((4000, 3600), 8), ((1000, 1000), 2), ((800, 3000), 1)):
        img = P.open_image(encode(art.resize((w, h)), "JPEG", quality=90))
        full_bytes = P.decoded_bytes(img)
        assert P.draft_for_input(img) == factor
        assert img.size == (-(-w // factor), -(-h // factor))
        assert P.decoded_bytes(img) <= full_bytes / factor**2 * 1.01
        assert P.decode_opened(img).size == img.size
    png = P.open_image(encode(art, "PNG"))
    assert P.draft_for_input(png) == 1 and png.size == (2000, 1000)
    data = encode(art, "JPEG", quality=90)
    drafted, full = P.preprocess(data, jpeg_draft=True), P.preprocess(data)
    assert not np.array_equal(drafted, full)
    assert np.abs(drafted - full).mean() * 255 < 1.0


def test_oriented_size_is_the_full_size_after_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap
    data = encode(Image.new("RGB", (2000, 1000)), "JPEG", exif=exif.tobytes())
    img = P.open_image(data)
    assert P.oriented_size(img) == (1000, 2000)
    assert P.draft_for_input(img) == 2  # 1000 // 448 = 2
    assert P.decode_opened(img).size == (500, 1000)


def test_parity_on_a_real_data_file():
    root = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    files = sorted((root / "ai").rglob("*.webp"))[:1] + sorted((root / "human").rglob("*.jpg"))[:1]
    if not files:
        pytest.skip("../shared/data is not present")
    from training.features import eval_view

    for f in files:
        data = f.read_bytes()
        np.testing.assert_array_equal(eval_view(P.decode_image(data), "original"), P.preprocess(data))
