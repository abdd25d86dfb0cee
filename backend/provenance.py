"""Provenance evidence: what an image's own metadata says about how it was made.

Separate from the model, which sees pixels only (``backend.preprocessing``): nothing here ever
reaches the model's input. When present, a maker's own statement (a signed C2PA manifest, an IPTC
``DigitalSourceType``, a generator's PNG text chunk) is stronger than any classifier; when absent it
proves nothing, since platforms strip metadata.

Sources read, with kept libraries only:

- **C2PA** content credentials, read and validated by the official bindings (``c2pa-python``):
  claim generator, ``c2pa.actions`` with their ``digitalSourceType``, signature validity, issuer.
- **XMP** packets (JPEG APP1, PNG iTXt, WebP chunk, as Pillow exposes them): IPTC
  ``Iptc4xmpExt:DigitalSourceType`` and ``xmp:CreatorTool``.
- **PNG text chunks** (Pillow): AUTOMATIC1111 / Forge ``parameters``, ComfyUI ``prompt`` and
  ``workflow``, NovelAI ``Software`` / ``Comment``, InvokeAI ``invokeai_metadata`` / ``sd-metadata``.
- **EXIF** (JPEG, WebP, PNG ``eXIf``; Pillow): ``Software``, ``UserComment`` (where A1111 writes its
  parameters in JPEG/WebP), ``ImageDescription``, ``Make`` / ``Model`` (a camera).

Bounded work on hostile metadata: the file is at most the backend's 20 MiB; only the header is
parsed (Pillow reads chunks up to the first image data, and caps compressed text at
``PngImagePlugin.MAX_TEXT_CHUNK``); each text is cut to ``MAX_TEXT_CHARS`` before any matching, XMP
to ``MAX_XMP_BYTES`` and matched with bounded regular expressions rather than an XML parser (no
entity expansion, no recursion on deep nesting); JSON (ComfyUI) is never parsed, only searched;
C2PA is read only when the bytes hold a JUMBF ``c2pa`` label; at most ``MAX_FINDINGS`` findings.
``extract`` never raises: a source that fails yields one finding with ``error`` set.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from PIL import ExifTags, Image

#: Longest text excerpt returned, in characters.
EXCERPT_CHARS = 160
#: Longest text examined per field, in characters (the rest is ignored).
MAX_TEXT_CHARS = 65_536
#: Longest XMP packet examined, in bytes.
MAX_XMP_BYTES = 1 << 20
#: Most findings returned per image.
MAX_FINDINGS = 16
#: Longest C2PA manifest-store JSON examined, in characters.
MAX_C2PA_JSON = 1 << 20

SAYS = ("ai", "human_edit", "camera", "unknown")

#: IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/) -> ``says``.
IPTC_SOURCE_TYPES = {
    "trainedalgorithmicmedia": "ai",
    "compositewithtrainedalgorithmicmedia": "ai",
    "algorithmicallyenhanced": "ai",
    "compositesynthetic": "ai",
    "algorithmicmedia": "ai",
    "digitalcapture": "camera",
    "negativefilm": "camera",
    "positivefilm": "camera",
    "print": "camera",
    "minorhumanedits": "human_edit",
    "humanedits": "human_edit",
    "compositecapture": "human_edit",
    "composite": "human_edit",
    "digitalart": "human_edit",
    "digitalcreation": "human_edit",
    "screencapture": "unknown",
    "datadrivenmedia": "unknown",
    "virtualrecording": "unknown",
}

#: Generators whose name in a software / generator field means the image was made by AI:
#: (regular expression, plain name).
AI_TOOLS = (
    (r"stable[\s_-]?diffusion|\bsdxl\b|\bsd[\s_-]?(?:1\.5|2\.1|3)\b", "Stable Diffusion"),
    (r"automatic1111|stable-diffusion-webui", "Stable Diffusion (AUTOMATIC1111)"),
    (r"\bforge\b", "Stable Diffusion (Forge)"),
    (r"comfyui", "ComfyUI"),
    (r"novel\s?ai", "NovelAI"),
    (r"invoke\s?ai", "InvokeAI"),
    (r"fooocus", "Fooocus"),
    (r"midjourney|niji\s?journey", "Midjourney"),
    (r"dall[\s·-]?e|openai|chatgpt|gpt-4o", "OpenAI (DALL-E / ChatGPT)"),
    (r"firefly", "Adobe Firefly"),
    (r"imagen|gemini|google ai", "Google (Imagen / Gemini)"),
    (r"\bflux\b", "FLUX"),
    (r"leonardo\.?ai", "Leonardo.Ai"),
    (r"\bnijijourney\b", "Nijijourney"),
)
#: Editors and painting programs: a person worked on the image (it may still have been generated).
HUMAN_TOOLS = (
    (r"clip\s?studio|celsys", "Clip Studio Paint"),
    (r"photoshop", "Adobe Photoshop"),
    (r"\bkrita\b", "Krita"),
    (r"procreate", "Procreate"),
    (r"paint\s?tool\s?sai|\bsai\s?ver", "PaintTool SAI"),
    (r"medibang", "MediBang Paint"),
    (r"ibis\s?paint", "ibisPaint"),
    (r"firealpaca", "FireAlpaca"),
    (r"\bgimp\b", "GIMP"),
    (r"paint\.net", "Paint.NET"),
    (r"affinity", "Affinity"),
    (r"illustrator", "Adobe Illustrator"),
    (r"lightroom", "Adobe Lightroom"),
)
_AI_RE = [(re.compile(p, re.IGNORECASE), n) for p, n in AI_TOOLS]
_HUMAN_RE = [(re.compile(p, re.IGNORECASE), n) for p, n in HUMAN_TOOLS]
#: AUTOMATIC1111 / Forge generation parameters ("Steps: 20, Sampler: Euler a, CFG scale: 7, ...").
_A1111_RE = re.compile(r"\bSteps: ?\d+.{0,200}?\b(?:Sampler|CFG scale|Seed): ", re.DOTALL)
_COMFY_RE = re.compile(r'"class_type"\s*:|"nodes"\s*:\s*\[')
#: XMP ``DigitalSourceType`` as an element, an attribute or an ``rdf:resource``; bounded quantifiers.
_XMP_SOURCE_RE = re.compile(
    r"DigitalSourceType(?:\s*=\s*[\"']|[^<>]{0,200}?rdf:resource\s*=\s*[\"']|\s*>\s*)([^\"'<>]{1,300})")
_XMP_TOOL_RE = re.compile(r"CreatorTool(?:\s*=\s*[\"']|\s*>\s*)([^\"'<>]{1,300})")
_C2PA_HINT = (b"c2pa", b"jumb")

#: PNG text keys written by generators: key -> (tool name). Values are checked too.
PNG_AI_KEYS = {
    "parameters": "Stable Diffusion (AUTOMATIC1111 / Forge)",
    "prompt": "ComfyUI",
    "workflow": "ComfyUI",
    "invokeai_metadata": "InvokeAI",
    "invokeai_graph": "InvokeAI",
    "sd-metadata": "InvokeAI",
    "dream": "InvokeAI",
    "generation_data": "Stable Diffusion",
}
#: PNG text keys read as software names or free comments.
PNG_SOFTWARE_KEYS = ("Software", "software", "Source", "Comment", "Description", "Title", "Author")

EXIF_FIELDS = {  # tag -> source name; UserComment lives in the Exif sub-IFD
    ExifTags.Base.Software: "Software",
    ExifTags.Base.ImageDescription: "ImageDescription",
    ExifTags.Base.Artist: "Artist",
}


@dataclass(frozen=True)
class Finding:
    """One piece of provenance evidence.

    Attributes:
        kind: ``c2pa`` | ``xmp`` | ``png_text`` | ``exif`` | ``metadata`` (the file's metadata as a whole).
        says: ``ai`` (made by a generator), ``human_edit`` (an editor or painting program touched it),
            ``camera`` (a capture device), ``unknown`` (present but not telling, or unreadable).
        source: the field read, e.g. ``png:parameters``, ``exif:Software``, ``xmp:DigitalSourceType``,
            ``c2pa:actions``.
        excerpt: at most ``EXCERPT_CHARS`` characters of what the field holds.
        tool: the generator or program named, in plain words, or None.
        valid: C2PA only: whether the manifest's signature and hashes validate (None elsewhere).
        issuer: C2PA only: the signing certificate's issuer (None elsewhere).
        error: why this source could not be read, or None.
    """

    kind: str
    says: str
    source: str
    excerpt: str
    tool: str | None = None
    valid: bool | None = None
    issuer: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``valid``, ``issuer``, ``tool`` and ``error`` only when set."""
        return {k: v for k, v in asdict(self).items()
                if v is not None or k in ("kind", "says", "source", "excerpt")}


def _clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text[:limit * 4].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_says(text: str) -> tuple[str, str | None]:
    """Classify a software / generator name or free text: ``(says, tool)``; ``unknown`` with no tool
    when nothing known is named. Only the first ``MAX_TEXT_CHARS`` characters are examined."""
    text = text[:MAX_TEXT_CHARS]
    if _A1111_RE.search(text):
        return "ai", "Stable Diffusion (AUTOMATIC1111 / Forge)"
    for pattern, name in _AI_RE:
        if pattern.search(text):
            return "ai", name
    for pattern, name in _HUMAN_RE:
        if pattern.search(text):
            return "human_edit", name
    return "unknown", None


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value[:MAX_TEXT_CHARS].decode("utf-8", "replace")
    return str(value)[:MAX_TEXT_CHARS]


def decode_user_comment(raw: Any) -> str:
    """EXIF ``UserComment`` (8-byte character-code prefix + data) -> text. ``UNICODE`` data is
    UTF-16 in either byte order (writers disagree): the decoding with more printable ASCII wins."""
    if isinstance(raw, str):
        return raw[:MAX_TEXT_CHARS]
    if not isinstance(raw, (bytes, bytearray)):
        return _as_text(raw)
    raw = bytes(raw[: 8 + 2 * MAX_TEXT_CHARS])
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        candidates = [body.decode(enc, "replace") for enc in ("utf-16-be", "utf-16-le")]
        return max(candidates, key=lambda t: sum(32 <= ord(c) < 127 for c in t))
    if prefix.startswith((b"ASCII", b"\x00" * 8, b"JIS")):
        return body.decode("utf-8", "replace").strip("\x00")
    return raw.decode("utf-8", "replace").strip("\x00")


def _png_findings(img: Image.Image) -> list[Finding]:
    found = []
    for key, value in list(img.info.items())[:64]:
        if not isinstance(value, (str, bytes)) or key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile"):
            continue
        text = _as_text(value)
        if key in PNG_AI_KEYS:
            says, tool = "ai", PNG_AI_KEYS[key]
            if (key in ("prompt", "workflow") and not _COMFY_RE.search(text)) or (
                    key == "parameters" and not _A1111_RE.search(text)):
                says, tool = tool_says(text)  # a generic key without the generator's own format
            found.append(Finding("png_text", says, f"png:{key}", _clip(text), tool))
        elif key in PNG_SOFTWARE_KEYS:
            says, tool = tool_says(text)
            if key == "Comment" and says == "unknown" and '"sampler"' in text and '"steps"' in text:
                says, tool = "ai", "NovelAI"
            if says != "unknown" or key.lower() == "software":
                found.append(Finding("png_text", says, f"png:{key}", _clip(text), tool))
    return found


def _exif_findings(img: Image.Image) -> list[Finding]:
    exif = img.getexif()
    found = []
    for tag, name in EXIF_FIELDS.items():
        if tag in exif:
            text = _as_text(exif[tag])
            says, tool = tool_says(text)
            if says != "unknown" or name == "Software":
                found.append(Finding("exif", says, f"exif:{name}", _clip(text), tool))
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # noqa: BLE001 - a broken sub-IFD: the main IFD still counts
        sub = {}
    if ExifTags.Base.UserComment in sub:
        text = decode_user_comment(sub[ExifTags.Base.UserComment])
        says, tool = tool_says(text)
        if text.strip():
            found.append(Finding("exif", says, "exif:UserComment", _clip(text), tool))
    make, model = exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model)
    if make or model:
        text = " ".join(_as_text(v).strip("\x00 ") for v in (make, model) if v)
        found.append(Finding("exif", "camera", "exif:Make/Model", _clip(text), _clip(text, 60)))
    return found


def _xmp_packet(img: Image.Image) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = img.info.get(key)
        if isinstance(value, str):
            return value[:MAX_XMP_BYTES].encode("utf-8", "replace")
        if isinstance(value, bytes):
            return value[:MAX_XMP_BYTES]
    return None


def xmp_findings(packet: bytes) -> list[Finding]:
    """Findings of one XMP packet (first ``MAX_XMP_BYTES`` bytes): IPTC ``DigitalSourceType`` (its
    last path segment looked up in ``IPTC_SOURCE_TYPES``) and ``xmp:CreatorTool``."""
    text = packet[:MAX_XMP_BYTES].decode("utf-8", "replace")
    found = []
    for match in list(_XMP_SOURCE_RE.finditer(text))[:4]:
        value = match.group(1).strip()
        code = value.rstrip("/").rsplit("/", 1)[-1].lower()
        found.append(Finding("xmp", IPTC_SOURCE_TYPES.get(code, "unknown"), "xmp:DigitalSourceType",
                             _clip(value)))
    match = _XMP_TOOL_RE.search(text)
    if match:
        says, tool = tool_says(match.group(1))
        found.append(Finding("xmp", says, "xmp:CreatorTool", _clip(match.group(1)), tool))
    return found


def _manifest_findings(manifest: dict, valid: bool, issuer: str | None) -> list[Finding]:
    generator_info = manifest.get("claim_generator_info") or []
    names = [str(g.get("name", "")) for g in generator_info if isinstance(g, dict)][:4]
    generator = ", ".join(n for n in names if n) or str(manifest.get("claim_generator", ""))[:200]
    source_types = []
    for assertion in (manifest.get("assertions") or [])[:64]:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        actions = (assertion.get("data") or {}).get("actions") or []
        for action in actions[:64]:
            if isinstance(action, dict) and action.get("digitalSourceType"):
                source_types.append(str(action["digitalSourceType"])[:300])
    codes = [t.rstrip("/").rsplit("/", 1)[-1].lower() for t in source_types]
    verdicts = [IPTC_SOURCE_TYPES.get(c, "unknown") for c in codes]
    gen_says, gen_tool = tool_says(generator)
    says = "ai" if "ai" in verdicts else next((v for v in verdicts if v != "unknown"), gen_says)
    excerpt = f"generator: {generator or 'unnamed'}"
    if source_types:
        excerpt += f"; digitalSourceType: {', '.join(sorted(set(codes)))}"
    tool = gen_tool or (generator or None)
    return [Finding("c2pa", says, "c2pa:manifest", _clip(excerpt), tool and _clip(tool, 60), valid, issuer)]


def c2pa_findings(data: bytes, mime: str) -> list[Finding]:
    """Read and validate the C2PA manifest store of ``data`` (a ``mime`` image) with ``c2pa-python``.
    One finding for the active manifest: ``valid`` is True when the validation state is ``Valid``
    or ``Trusted`` (signature and hashes check out; a self-signed certificate is valid but not
    trusted), ``issuer`` the signing certificate's issuer. No manifest: no finding. Any library
    error: one ``unknown`` finding with ``error``."""
    try:
        import c2pa
    except ImportError:  # pragma: no cover - c2pa-python is a dependency
        return [Finding("c2pa", "unknown", "c2pa:manifest", "", error="c2pa-python is not installed")]
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            raw = reader.json()
            state = reader.get_validation_state()
    except Exception as exc:  # noqa: BLE001 - the library raises many error types
        message = str(exc)[:200]
        if "ManifestNotFound" in type(exc).__name__ or "not found" in message.lower():
            return []
        return [Finding("c2pa", "unknown", "c2pa:manifest", "", error=f"unreadable C2PA manifest: {message}")]
    if len(raw) > MAX_C2PA_JSON:
        return [Finding("c2pa", "unknown", "c2pa:manifest", "", error="C2PA manifest store too large")]
    store = json.loads(raw)
    active = (store.get("manifests") or {}).get(store.get("active_manifest") or "")
    if not isinstance(active, dict):
        return [Finding("c2pa", "unknown", "c2pa:manifest", "", valid=False, error="no active manifest")]
    signature = active.get("signature_info") or {}
    issuer = signature.get("issuer") or signature.get("common_name")
    return _manifest_findings(active, state in ("Valid", "Trusted"), issuer and str(issuer)[:200])


_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
         "BMP": "image/bmp"}


def extract(data: bytes) -> list[Finding]:
    """All provenance findings of image bytes, best effort, in the order C2PA, XMP, PNG text, EXIF.

    Args:
        data: the image file's bytes (JPEG, PNG, WebP, GIF or BMP; others give no finding).

    Returns:
        At most ``MAX_FINDINGS`` ``Finding`` objects; empty when the file carries no provenance
        metadata (which proves nothing either way). Never raises: a source that cannot be read
        gives one ``Finding`` with ``says="unknown"`` and ``error`` set.
    """
    found: list[Finding] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data), formats=tuple(_MIME))
    except Exception:  # noqa: BLE001 - not an image: the classifier reports that, not evidence
        return []
    mime = _MIME.get(img.format or "", "")
    if mime in ("image/jpeg", "image/png", "image/webp") and any(h in data for h in _C2PA_HINT):
        found += c2pa_findings(data, mime)
    for name, step in (("xmp", lambda: xmp_findings(_xmp_packet(img) or b"")),
                       ("png_text", lambda: _png_findings(img) if img.format == "PNG" else []),
                       ("exif", lambda: _exif_findings(img))):
        try:
            found += step()
        except Exception as exc:  # noqa: BLE001 - hostile metadata: report, never fail
            found.append(Finding(name, "unknown", name, "", error=f"unreadable {name}: {str(exc)[:200]}"))
    return found[:MAX_FINDINGS]


def extract_dicts(data: bytes) -> list[dict[str, Any]]:
    """``extract`` as JSON-ready dicts (the API's ``evidence`` list)."""
    try:
        return [f.to_dict() for f in extract(data)]
    except Exception as exc:  # noqa: BLE001 - evidence never fails a classification
        return [Finding("metadata", "unknown", "metadata", "", error=f"evidence failed: {str(exc)[:200]}").to_dict()]


def disagrees(evidence: list[dict[str, Any]], label: str) -> bool:
    """Whether the evidence contradicts a model ``label``: it says ``ai`` (a generator's statement)
    and the model says ``human``, or it says ``camera`` and the model says ``ai``. ``human_edit``
    never contradicts (generated images are often edited); unreadable findings and invalid C2PA
    signatures do not count. The extension's ``evidenceDisagrees`` (extension/src/utils/evidence.js)
    applies the same rule."""
    says = {e.get("says") for e in evidence if not e.get("error") and e.get("valid") is not False}
    return (label == "human" and "ai" in says) or (label == "ai" and "camera" in says and "ai" not in says)


def summary(evidence: list[dict[str, Any]]) -> str:
    """One line for a CSV cell: ``kind (source): says`` joined by ``; `` (``[invalid]`` after an
    invalid C2PA signature, ``[error]`` after an unreadable source), or ``none``; the extension's
    exports write the same (``evidenceSummary``)."""
    if not evidence:
        return "none"
    return "; ".join(f"{e.get('kind', 'finding')} ({e.get('source', '')}): {e.get('says', 'unknown')}"
                     + (" [invalid]" if e.get("valid") is False else "") + (" [error]" if e.get("error") else "")
                     for e in evidence)
