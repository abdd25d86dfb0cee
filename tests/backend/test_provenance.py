"""Provenance evidence (backend.provenance) on images the tests build, and on hostile metadata."""

from __future__ import annotations

import struct
import zlib

import provenance_images as pi
import pytest

from backend import provenance
from backend.provenance import MAX_FINDINGS, decode_user_comment, disagrees, extract, tool_says


def by_source(data: bytes) -> dict[str, provenance.Finding]:
    return {f.source: f for f in extract(data)}


def test_a1111_parameters_png_says_ai():
    f = by_source(pi.png_with_text({"parameters": pi.A1111}))["png:parameters"]
    assert (f.kind, f.says) == ("png_text", "ai")
    assert "AUTOMATIC1111" in f.tool and f.excerpt.startswith("1girl") and len(f.excerpt) <= provenance.EXCERPT_CHARS


@pytest.mark.parametrize("compressed", [False, True])
def test_comfyui_prompt_and_workflow_png(compressed):
    found = by_source(pi.png_with_text({"prompt": pi.COMFY_PROMPT, "workflow": pi.COMFY_WORKFLOW}, compressed))
    assert found["png:prompt"].says == found["png:workflow"].says == "ai"
    assert found["png:prompt"].tool == "ComfyUI"


@pytest.mark.parametrize("key", ["prompt", "parameters"])
def test_a_generic_key_without_the_generators_format_is_not_taken_for_ai(key):
    assert by_source(pi.png_with_text({key: "a note about the drawing"}))[f"png:{key}"].says == "unknown"


def test_novelai_software_and_comment():
    found = by_source(pi.png_with_text({"Software": "NovelAI", "Comment": pi.NOVELAI_COMMENT}))
    assert found["png:Software"].says == found["png:Comment"].says == "ai"
    assert found["png:Software"].tool == "NovelAI"


@pytest.mark.parametrize("fmt,order", [("JPEG", "be"), ("WEBP", "le"), ("JPEG", "le")])
def test_exif_user_comment_with_a1111_parameters(fmt, order):
    data = pi.encoded(fmt, exif=pi.exif_bytes(user_comment=pi.unicode_comment(pi.A1111, order)))
    f = by_source(data)["exif:UserComment"]
    assert f.says == "ai" and "Steps: 28" in f.excerpt


def test_exif_software_editor_and_camera():
    data = pi.encoded("JPEG", exif=pi.exif_bytes(software="CLIP STUDIO PAINT 3.0", make="Canon", model="EOS R5"))
    found = by_source(data)
    assert found["exif:Software"].says == "human_edit" and found["exif:Software"].tool == "Clip Studio Paint"
    assert found["exif:Make/Model"].says == "camera" and "EOS R5" in found["exif:Make/Model"].excerpt


def test_unknown_software_is_reported_as_unknown():
    assert by_source(pi.encoded("JPEG", exif=pi.exif_bytes(software="SomeTool 1.2")))["exif:Software"].says == "unknown"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
@pytest.mark.parametrize("as_attribute", [False, True])
def test_xmp_digital_source_type(fmt, as_attribute):
    packet = pi.xmp_packet(as_attribute=as_attribute, tool="Adobe Photoshop 25.0")
    data = pi.png_with_xmp(packet) if fmt == "PNG" else pi.encoded(fmt, xmp=packet)
    found = by_source(data)
    assert found["xmp:DigitalSourceType"].says == "ai"
    assert found["xmp:CreatorTool"].says == "human_edit"


@pytest.mark.parametrize("code,says", [("digitalCapture", "camera"), ("minorHumanEdits", "human_edit"),
                                       ("compositeWithTrainedAlgorithmicMedia", "ai"), ("madeUpCode", "unknown")])
def test_iptc_codes(code, says):
    (f,) = provenance.xmp_findings(pi.xmp_packet(f"http://cv.iptc.org/newscodes/digitalsourcetype/{code}"))
    assert f.says == says


def test_c2pa_signed_image_is_read_and_validated():
    data = pi.c2pa_signed_jpeg("Adobe Firefly")
    f = by_source(data)["c2pa:manifest"]
    assert (f.kind, f.says, f.valid, f.issuer, f.tool) == ("c2pa", "ai", True, "Shinsaku Test CA", "Adobe Firefly")
    assert "trainedalgorithmicmedia" in f.excerpt
    assert {"valid", "issuer"} <= set(f.to_dict())


def test_c2pa_camera_capture_says_camera():
    data = pi.c2pa_signed_jpeg("Test Camera", "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")
    assert by_source(data)["c2pa:manifest"].says == "camera"


def test_tampered_c2pa_image_is_not_valid():
    data = bytearray(pi.c2pa_signed_jpeg())
    data[-20] ^= 0xFF  # a byte of the entropy-coded pixels, covered by the manifest's hash
    f = by_source(bytes(data)).get("c2pa:manifest")
    assert f is not None and f.valid is not True


def test_garbage_c2pa_segment_gives_an_error_finding_or_nothing():
    jpeg = pi.encoded("JPEG")
    payload = b"JP\x00\x01\x00\x00\x00\x01" + b"\x00\x00\x00\x40jumb" + b"c2pa" + bytes(range(256)) * 4
    segment = b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    found = extract(jpeg[:2] + segment + jpeg[2:])
    assert all(f.says == "unknown" and f.error for f in found if f.kind == "c2pa")


def test_no_metadata_no_findings():
    assert extract(pi.encoded("PNG")) == [] and extract(pi.encoded("GIF")) == []


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_not_an_image_gives_no_findings(data):
    assert extract(data) == []


def test_huge_text_chunk_is_cut():
    data = pi.png_with_text({"parameters": pi.A1111 + "x" * 8_000_000})
    (f,) = extract(data)
    assert f.says == "ai" and len(f.excerpt) <= provenance.EXCERPT_CHARS
    (f,) = extract(pi.png_with_text({"parameters": "x" * 8_000_000 + pi.A1111}))
    assert f.says == "unknown"  # only the first MAX_TEXT_CHARS are read


def _png_with_raw_chunk(kind: bytes, body: bytes) -> bytes:
    png = pi.encoded("PNG")
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return png[:33] + chunk + png[33:]  # after IHDR


def test_ztxt_decompression_bomb_is_bounded():
    bomb = b"parameters\x00\x00" + zlib.compress(b"a" * 200_000_000, 9)
    found = extract(_png_with_raw_chunk(b"zTXt", bomb))
    assert all(len(f.excerpt) <= provenance.EXCERPT_CHARS for f in found)


def test_hostile_xmp_entity_expansion_and_deep_nesting():
    laughs = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9)) + b"]>")
    deep = b"<a>" * 200_000 + b"DigitalSourceType>trainedAlgorithmicMedia<" + b"</a>" * 200_000
    data = pi.encoded("JPEG", xmp=laughs + deep[:60_000])
    found = extract(data)
    assert all(f.kind != "xmp" or f.says in provenance.SAYS for f in found)
    assert len(provenance.xmp_findings(laughs + deep)) <= 5  # bounded, no expansion


def test_deeply_nested_comfyui_json_is_not_parsed():
    nested = '{"class_type": "KSampler", "x": ' + "[" * 500_000 + "]" * 500_000 + "}"
    (f,) = extract(pi.png_with_text({"prompt": nested}, compressed=True))
    assert f.says == "ai"


def test_corrupt_exif_is_reported_not_raised():
    data = pi.encoded("JPEG", exif=b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x01" * 64)
    for f in extract(data):
        assert f.says in provenance.SAYS


def test_findings_are_capped():
    chunks = {f"Software{i}" if i else "Software": "NovelAI" for i in range(1)}
    chunks.update({"parameters": pi.A1111, "prompt": pi.COMFY_PROMPT, "workflow": pi.COMFY_WORKFLOW})
    data = pi.png_with_text(chunks)
    assert len(extract(data)) <= MAX_FINDINGS


def test_user_comment_decoding():
    assert decode_user_comment(b"ASCII\x00\x00\x00hello") == "hello"
    assert decode_user_comment(pi.unicode_comment("Steps: 20", "le")) == "Steps: 20"
    assert decode_user_comment(pi.unicode_comment("Steps: 20", "be")) == "Steps: 20"


@pytest.mark.parametrize("text,says", [("NovelAI", "ai"), ("Adobe Firefly 3", "ai"), ("Krita 5.2", "human_edit"),
                                       ("Steps: 20, Sampler: Euler a, CFG scale: 7", "ai"), ("", "unknown")])
def test_tool_says(text, says):
    assert tool_says(text)[0] == says


def test_disagreement_rule():
    ai = [{"kind": "png_text", "says": "ai"}]
    camera = [{"kind": "exif", "says": "camera"}]
    assert disagrees(ai, "human") and not disagrees(ai, "ai") and not disagrees(ai, "uncertain")
    assert disagrees(camera, "ai") and not disagrees(camera, "human")
    assert not disagrees([{"says": "ai", "error": "x"}], "human") and not disagrees([], "human")


def test_metadata_never_changes_the_model_input():
    from backend.preprocessing import preprocess

    tagged = pi.png_with_text({"parameters": pi.A1111})
    assert extract(tagged) and (preprocess(tagged) == preprocess(pi.png_with_text({}))).all()
