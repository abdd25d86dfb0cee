"""End-to-end: a badge's detail card in Chromium against the real backend and model
(``live_backend``): it opens with the keyboard and the mouse, shows the provenance evidence of a
PNG carrying AUTOMATIC1111 parameters, draws the heat map over the model's crop, and records a
correction that the options page lists and exports; the review page shows the evidence and its
"evidence disagrees with the model" filter works. Expected labels are the backend's own answers
for the same bytes, asked at test time (the bundled model may change)."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import io
import threading
from pathlib import Path

import pytest
import requests
from ext_helpers import (
    DATA_DIR,
    WAIT_MS,
    open_loaded_page,
    open_review_page,
    screenshot,
    set_settings,
    shown_probability,
    sw_eval,
)
from PIL import Image, PngImagePlugin
from review_site import DataHandler, pick_dataset_images

pytestmark = pytest.mark.e2e

A1111 = ("1girl, solo, masterpiece\nNegative prompt: lowres\nSteps: 28, Sampler: Euler a, CFG scale: 7, "
         "Seed: 42, Size: 512x512, Model: animagine")
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Card test</title>
<style>body {{ margin: 0; }} img {{ display: block; margin: 40px 16px; width: {width}px; }}</style></head>
<body><img id="meta" src="/meta.png" alt="with metadata"><img id="plain" src="/plain.jpg" alt="plain"></body></html>"""
WIDTH = 360
OVERLAY = "shinsaku-overlay"


def _classify(backend: str, data: bytes) -> dict:
    resp = requests.post(f"{backend}/v1/classify", data=data, headers={"Content-Type": "application/octet-stream"},
                         timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _small(path: Path) -> Image.Image:
    img = Image.open(path).convert("RGB")
    img.thumbnail((480, 480))
    return img


@pytest.fixture(scope="module")
def card_site(tmp_path_factory, live_backend):
    """``meta.png``: a human data-set image the model calls human, with an A1111 ``parameters``
    chunk (evidence says AI: they disagree); ``plain.jpg``: a data-set image without metadata."""
    if not (DATA_DIR / "manifest.tsv").exists():
        pytest.skip(f"no images at {DATA_DIR.resolve()}")
    root = tmp_path_factory.mktemp("card-site")
    names = pick_dataset_images(24)
    answers = {}
    for name in names[0::2]:  # human images, until the model calls one human
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", A1111)
        buf = io.BytesIO()
        _small(DATA_DIR / name).save(buf, "PNG", pnginfo=info)
        answer = _classify(live_backend, buf.getvalue())
        if answer["label"] == "human":
            (root / "meta.png").write_bytes(buf.getvalue())
            answers["meta"] = answer
            break
    assert "meta" in answers, "the model called none of 12 human images human"
    buf = io.BytesIO()
    _small(DATA_DIR / names[1]).save(buf, "JPEG", quality=92)
    (root / "plain.jpg").write_bytes(buf.getvalue())
    answers["plain"] = _classify(live_backend, buf.getvalue())
    (root / "card.html").write_text(PAGE.format(width=WIDTH))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(DataHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"base": base, "root": root, "answers": answers, "page": f"{base}/card.html"}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def scanned(browser, card_site, live_backend):
    """The card page in a tab with every image badged (a page scan, as from the popup)."""
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[], showHuman=True)
    page = open_loaded_page(context, card_site["page"])
    tid = sw_eval(context, "async (u) => (await chrome.tabs.query({url: u}))[0].id", card_site["page"])
    sw_eval(context, "(t) => shinsaku.scanTab(t)", tid)
    page.wait_for_function(f"""() => {{
      const r = document.querySelector('{OVERLAY}')?.shadowRoot;
      return r && [...r.querySelectorAll('.badge')].filter((b) => b.dataset.state !== 'checking').length === 2; }}""",
                           timeout=WAIT_MS)
    yield context, ext_id, page
    page.close()


def badge(page, name: str, base: str):
    return page.locator(f"{OVERLAY} .badge[data-url='{base}/{name}']")


def test_card_opens_with_the_keyboard_and_shows_evidence(scanned, card_site):
    _, _, page = scanned
    base, meta = card_site["base"], card_site["answers"]["meta"]
    meta_badge = badge(page, "meta.png", base)
    assert meta_badge.get_attribute("data-state") == "human"
    assert meta_badge.get_attribute("data-disagrees") == "true", "metadata says AI, the model human: both shown"
    assert "metadata: AI" in meta_badge.inner_text()
    page.evaluate("() => document.activeElement?.blur()")
    for _ in range(4):  # the badges are buttons: Tab reaches them
        page.keyboard.press("Tab")
        focused = page.evaluate(f"() => document.querySelector('{OVERLAY}').shadowRoot.activeElement?.dataset.url")
        if focused == f"{base}/meta.png":
            break
    assert focused == f"{base}/meta.png"
    page.keyboard.press("Enter")
    card = page.locator(f"{OVERLAY} .card")
    card.wait_for(timeout=5000)
    assert card.get_attribute("role") == "dialog" and card.get_attribute("data-url") == f"{base}/meta.png"
    assert meta_badge.get_attribute("aria-expanded") == "true"
    text = card.inner_text()
    assert "Likely drawn by a person" in text
    assert shown_probability(meta["probability_ai"]) in text
    assert "uncertain" in card.locator(".band").inner_text()
    assert card.locator(".evidence li").all_inner_texts() == ["PNG parameters: Stable Diffusion (AUTOMATIC1111 / Forge)"]
    assert card.locator(".disagree").count() == 1
    page.keyboard.press("Escape")
    card.wait_for(state="detached", timeout=5000)
    assert page.evaluate(f"() => document.querySelector('{OVERLAY}').shadowRoot.activeElement?.dataset.url") == \
        f"{base}/meta.png", "focus goes back to the badge"


def test_card_opens_with_the_mouse_and_draws_the_heat_map(scanned, card_site):
    _, _, page = scanned
    base = card_site["base"]
    badge(page, "plain.jpg", base).click()
    card = page.locator(f"{OVERLAY} .card")
    card.wait_for(timeout=5000)
    assert card.locator(".evidence li").all_inner_texts() == ["No provenance data found"]
    toggle = card.locator(".heat-toggle")
    toggle.click()
    heat = page.locator(f"{OVERLAY} .heat img")
    heat.wait_for(timeout=WAIT_MS * 2)
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.locator(f"{OVERLAY} .heat").get_attribute("data-grid") == "7"
    page.wait_for_function(f"() => document.querySelector('{OVERLAY}').shadowRoot.querySelector('.heat img').complete")
    img_box = page.locator("#plain").bounding_box()
    heat_box = heat.bounding_box()
    side = min(img_box["width"], img_box["height"])  # the centre crop the model saw
    assert heat_box["width"] == pytest.approx(side, abs=2) and heat_box["height"] == pytest.approx(side, abs=2)
    assert heat_box["x"] + heat_box["width"] / 2 == pytest.approx(img_box["x"] + img_box["width"] / 2, abs=2)
    assert heat_box["y"] + heat_box["height"] / 2 == pytest.approx(img_box["y"] + img_box["height"] / 2, abs=2)
    screenshot(page, "card-heatmap.png")
    toggle.click()
    assert page.locator(f"{OVERLAY} .heat").count() == 0
    card.locator(".close").click()


def test_this_label_is_wrong_records_and_exports_a_correction(scanned, card_site):
    context, ext_id, page = scanned
    base, answer = card_site["base"], card_site["answers"]["plain"]
    plain_badge = badge(page, "plain.jpg", base)
    plain_badge.click()
    card = page.locator(f"{OVERLAY} .card")
    card.locator(".wrong").click()
    wanted = "human" if answer["label"] != "human" else "ai"
    card.locator(f".choice[data-label='{wanted}']").click()
    card.locator(f".saved[data-saved='{wanted}']").wait_for(timeout=5000)
    sha = hashlib.sha256((card_site["root"] / "plain.jpg").read_bytes()).hexdigest()
    stored = sw_eval(context, "async (k) => (await chrome.storage.local.get(k))[k]", f"decisions:{card_site['page']}")
    record = stored[f"{base}/plain.jpg"]
    assert (record["imageSha256"], record["userLabel"], record["modelLabel"], record["pageUrl"]) == \
        (sha, wanted, answer["label"], card_site["page"])
    assert record["probabilityAi"] == pytest.approx(answer["probability_ai"], abs=1e-6) and record["at"]
    options = context.new_page()
    try:
        options.goto(f"chrome-extension://{ext_id}/ui/options/options.html")
        options.locator(f"#corrections tbody tr[data-sha256='{sha}']").wait_for(timeout=10000)
        with options.expect_download() as dl:
            options.click("#export-corrections-csv")
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
        row = next(r for r in rows if r["image_sha256"] == sha)
        assert (row["user_label"], row["model_label"], row["page_url"]) == (wanted, answer["label"], card_site["page"])
        with options.expect_download() as dl:
            options.click("#export-corrections-json")
        assert sha in Path(dl.value.path()).read_text()
    finally:
        options.close()


def test_review_page_shows_evidence_and_filters_disagreements(scanned, card_site):
    context, ext_id, _ = scanned
    base = card_site["base"]
    review = open_review_page(context, ext_id, card_site["page"])
    try:
        assert review.is_visible("#disagree-wrap")
        meta_cell = review.locator(f"#grid .cell[data-url='{base}/meta.png'] .evidence")
        assert "png_text (png:parameters): ai" in meta_cell.inner_text()
        assert meta_cell.get_attribute("data-disagrees") == "true"
        review.check("#disagree")
        review.wait_for_function("() => document.body.dataset.shown === '1'", timeout=5000)
        urls = review.evaluate("() => [...document.querySelectorAll('#grid .cell')].map((c) => c.dataset.url)")
        assert urls == [f"{base}/meta.png"]
    finally:
        review.close()
