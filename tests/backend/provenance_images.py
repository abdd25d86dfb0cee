"""Images with provenance metadata, built by the tests: PNG text chunks (AUTOMATIC1111, ComfyUI,
NovelAI), JPEG/WebP EXIF, XMP with IPTC DigitalSourceType, and a C2PA-signed JPEG made with
``c2pa-python`` and a throwaway certificate chain (an ES256 test root and signer, made here)."""

from __future__ import annotations

import datetime
import io

from PIL import ExifTags, Image, PngImagePlugin

A1111 = ("1girl, silver hair, masterpiece\nNegative prompt: lowres\nSteps: 28, Sampler: DPM++ 2M Karras, "
         "CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: abcdef1234, Model: animagine")
COMFY_PROMPT = '{"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}'
COMFY_WORKFLOW = '{"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}]}'
NOVELAI_COMMENT = '{"prompt": "1girl", "steps": 28, "sampler": "k_euler_ancestral", "scale": 5}'
IPTC_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _base(size=(64, 48)) -> Image.Image:
    return Image.new("RGB", size, (200, 120, 60))


def png_with_text(chunks: dict[str, str], compressed: bool = False) -> bytes:
    """A PNG with tEXt (or zTXt when ``compressed``) chunks ``key -> value``."""
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value, zip=compressed)
    buf = io.BytesIO()
    _base().save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def png_with_xmp(packet: bytes) -> bytes:
    """A PNG with an XMP packet in its ``XML:com.adobe.xmp`` iTXt chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"))
    buf = io.BytesIO()
    _base().save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def exif_bytes(software: str | None = None, user_comment: bytes | None = None,
               make: str | None = None, model: str | None = None) -> bytes:
    exif = Image.Exif()
    if software:
        exif[ExifTags.Base.Software] = software
    if make:
        exif[ExifTags.Base.Make] = make
    if model:
        exif[ExifTags.Base.Model] = model
    if user_comment is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = user_comment
    return exif.tobytes()


def unicode_comment(text: str, byteorder: str = "be") -> bytes:
    """EXIF UserComment with the UNICODE prefix, as A1111 writes (UTF-16)."""
    return b"UNICODE\x00" + text.encode("utf-16-be" if byteorder == "be" else "utf-16-le")


def encoded(fmt: str, **save_args) -> bytes:
    buf = io.BytesIO()
    _base().save(buf, fmt, **save_args)
    return buf.getvalue()


def xmp_packet(source_type: str = IPTC_AI, tool: str | None = None, as_attribute: bool = False) -> bytes:
    """An XMP packet declaring an IPTC DigitalSourceType (element or attribute form)."""
    attr = f' Iptc4xmpExt:DigitalSourceType="{source_type}"' if as_attribute else ""
    tool_attr = f' xmp:CreatorTool="{tool}"' if tool else ""
    element = "" if as_attribute else f"<Iptc4xmpExt:DigitalSourceType>{source_type}</Iptc4xmpExt:DigitalSourceType>"
    return (f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
            f' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
            f'{attr}{tool_attr}>{element}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def test_certificate_chain() -> tuple[bytes, bytes]:
    """A throwaway ES256 chain (signer + test root, PEM) and the signer's PKCS#8 private key (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shinsaku Test CA")])

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test Root")).issuer_name(name("Test Root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("Test Signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, private


def c2pa_signed_jpeg(generator: str = "Adobe Firefly", source_type: str = IPTC_AI,
                     size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG carrying a C2PA manifest signed with ``test_certificate_chain``: claim generator
    ``generator``, one ``c2pa.created`` action with ``digitalSourceType`` ``source_type``."""
    import c2pa

    chain, private = test_certificate_chain()
    source = io.BytesIO()
    _base(size).save(source, "JPEG")
    source.seek(0)
    manifest = {"claim_generator_info": [{"name": generator, "version": "1.0"}], "title": "test.jpg",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": source_type}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", source, out)
    return out.getvalue()
