"""End-to-end: the Chromium extension against the real backend (``live_backend``: real server,
real model), on a local gallery site built at test time from ``../shared/data``.

Site access: the gallery is served from ``http://127.0.0.1:<port>``, a host the extension always
holds (``host_permissions``: it is where the backend lives). So switching auto-labelling on for the
site goes through the extension's own enabling path (the ``sites`` setting -> ``syncAutoLabel`` ->
``scripting.registerContentScripts``) without a permission prompt, which a test can't click.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from ext_helpers import (
    EXTENSION_ID,
    WAIT_MS,
    Gallery,
    backend_label,
    free_port,
    screenshot,
    set_settings,
    shown_probability,
    sw_eval,
    tab_id,
)

pytestmark = pytest.mark.e2e

# The page's lazy loader has set the src of #lazy1 and the image has loaded.
LAZY_LOADED_JS = "(() => { const i = document.getElementById('lazy1'); return i && i.currentSrc && i.complete; })()"

# Runs in the page: every image (including inside open shadow roots) and every badge, with rects.
COLLECT_JS = """() => {
  const imgs = [...document.querySelectorAll('img')];
  for (const el of document.querySelectorAll('*')) if (el.shadowRoot) imgs.push(...el.shadowRoot.querySelectorAll('img'));
  const rect = (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const host = document.querySelector('shinsaku-overlay');
  const badges = host ? [...host.shadowRoot.querySelectorAll('.badge')] : [];
  return {
    images: imgs.map((i) => ({id: i.id, src: i.currentSrc, rect: rect(i)})),
    badges: badges.map((b) => ({url: b.dataset.url, state: b.dataset.state, probability: b.dataset.probability,
      alt: b.getAttribute('aria-label'), text: b.textContent, hidden: b.hidden, rect: rect(b)})),
  };
}"""


def collect(page) -> dict:
    return page.evaluate(COLLECT_JS)


def wait_badges_settled(page, urls: list[str]) -> dict:
    """Wait until each URL has a badge in a final state (not "checking"); return the page state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        _wait_settled(page, urls)
    except PlaywrightTimeout:
        state = collect(page)
        pytest.fail(f"badges did not settle; wanted {[u[:70] for u in urls]}; "
                    f"have {[(b['url'][:70], b['state']) for b in state['badges']]}")
    return collect(page)


def _wait_settled(page, urls: list[str]) -> None:
    page.wait_for_function(
        """(urls) => {
          const host = document.querySelector('shinsaku-overlay');
          if (!host) return false;
          const done = new Set([...host.shadowRoot.querySelectorAll('.badge')]
            .filter((b) => b.dataset.state !== 'checking').map((b) => b.dataset.url));
          return urls.every((u) => done.has(u));
        }""",
        arg=urls, timeout=WAIT_MS,
    )


def image_srcs(state: dict) -> dict[str, str]:
    return {i["id"]: i["src"] for i in state["images"] if i["id"]}


def open_auto_labelled_gallery(context, gallery: Gallery, backend: str):
    """Switch auto-labelling on for 127.0.0.1 with ``backend`` as the backend URL, open the gallery
    and wait for its lazily added images. Returns ``(page, {image id: src the badge refers to})``."""
    set_settings(context, backendUrl=backend, sites=["127.0.0.1"])
    page = context.new_page()
    page.goto(gallery.url("gallery.html"))
    page.wait_for_function(LAZY_LOADED_JS)
    return page, image_srcs(collect(page))


def assert_badge_matches_backend(state: dict, url: str, gallery: Gallery, backend: str) -> None:
    badges = [b for b in state["badges"] if b["url"] == url]
    assert len(badges) == 1, f"expected one badge for {url[:80]}, got {len(badges)}"
    badge = badges[0]
    expected = backend_label(backend, gallery.bytes_for(url))
    assert badge["state"] == expected["label"], (url[:80], badge, expected)
    assert float(badge["probability"]) == pytest.approx(expected["probability_ai"], abs=1e-4)
    assert badge["alt"].startswith("Shinsaku:") and shown_probability(expected["probability_ai"]) in badge["alt"]


def assert_badge_on_image(state: dict, image_id: str) -> None:
    """The badge sits inside its image's box (top-left corner by default)."""
    img = next(i for i in state["images"] if i["id"] == image_id)
    badge = next(b for b in state["badges"] if b["url"] == img["src"])
    assert not badge["hidden"]
    r, b = img["rect"], badge["rect"]
    assert r["x"] <= b["x"] <= r["x"] + r["w"] and r["y"] <= b["y"] <= r["y"] + r["h"], (img, badge)


def test_extension_id_is_fixed_by_key(browser):
    _, ext_id = browser
    assert ext_id == EXTENSION_ID


def test_check_this_image_on_site_with_auto_labelling_off(browser, gallery, live_backend):
    context, _ = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    page = context.new_page()
    try:
        page.goto(gallery.url("gallery.html"))
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)  # lazy image added; auto-labelling is off, so no badges
        before = collect(page)
        assert before["badges"] == []
        src = image_srcs(before)["plain2"]
        tid = tab_id(context, gallery.url("gallery.html"))
        # The same function the context menu's onClicked listener calls (a native menu can't be
        # clicked from a test). In real use activeTab grants the injection; here the host permission.
        reply = sw_eval(context, """async ([tabId, srcUrl]) => shinsaku.handleMenuClick(
            {menuItemId: shinsaku.MENU_ID, srcUrl, frameId: 0}, {id: tabId})""", [tid, src])
        assert reply["url"] == src
        state = wait_badges_settled(page, [src])
        assert len(state["badges"]) == 1, "only the clicked image gets a badge"
        assert_badge_matches_backend(state, src, gallery, live_backend)
        assert_badge_on_image(state, "plain2")
        # Badges don't move anything on the page.
        assert [i["rect"] for i in state["images"]] == [i["rect"] for i in before["images"]]
    finally:
        page.close()


def test_popup_scan_reports_counts(browser, gallery, live_backend):
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    page = context.new_page()
    popup = context.new_page()
    try:
        page.goto(gallery.url("gallery.html"))
        page.wait_for_function(LAZY_LOADED_JS)
        state = collect(page)
        srcs = image_srcs(state)
        qualifying = ["plain1", "plain2", "srcset", "picimg", "shadowimg", "dataimg", "cdnimg", "lazy1"]
        # loading=lazy below the fold: rendered 200x200 already, so a full-page scan includes it.
        qualifying.append("belowfold")
        expected = {"human": 0, "ai": 0, "uncertain": 0, "error": 0}
        answers = {}
        for name in qualifying:
            url = srcs[name] or gallery.url(gallery.files[name])
            answers[url] = backend_label(live_backend, gallery.bytes_for(url))
            expected[answers[url]["label"]] += 1
        # An image on a host the extension may not read (no permission, no CORS): an error.
        answers[srcs["nocors"]] = {"label": "error", "probability_ai": -1.0}
        expected["error"] += 1
        tid = tab_id(context, gallery.url("gallery.html"))
        popup.goto(f"chrome-extension://{ext_id}/ui/popup/popup.html?tabId={tid}")
        popup.wait_for_function("() => document.getElementById('backend').dataset.ok === 'true'", timeout=WAIT_MS)
        model = requests.get(f"{live_backend}/v1/model", timeout=10).json()
        assert str(model["version"]) in popup.inner_text("#backend")
        popup.click("#scan")
        popup.wait_for_selector("body[data-scanned='true']", timeout=WAIT_MS)
        counts = {k: int(popup.inner_text(f"[data-count='{k}']")) for k in expected}
        assert counts == expected
        rows = popup.eval_on_selector_all("#results li", "els => els.map(e => ({url: e.dataset.url, state: e.dataset.state}))")
        assert sorted(r["url"] for r in rows) == sorted(answers)
        assert all(r["state"] == answers[r["url"]]["label"] for r in rows), rows
        probs = [answers[r["url"]]["probability_ai"] for r in rows]
        assert probs == sorted(probs, reverse=True), "most likely AI first"
        # The scanned page shows the same labels as badges; tiny and hidden images got none.
        page_state = collect(page)
        badge_urls = {b["url"] for b in page_state["badges"]}
        assert badge_urls == set(answers)
        with popup.expect_download() as dl:
            popup.click("#export")
        csv_text = Path(dl.value.path()).read_text(encoding="utf-8")
        header = csv_text.splitlines()[0].split(",")
        assert header[:4] == ["page_url", "image_url", "image_sha256", "label"] and "probability_ai" in header
        assert len(csv_text.strip().splitlines()) == len(answers) + 1
    finally:
        popup.close()
        page.close()


def test_auto_labelling_badges_every_qualifying_image(browser, gallery, live_backend):
    context, _ = browser
    page, srcs = open_auto_labelled_gallery(context, gallery, live_backend)
    try:
        # srcset and <picture>: the badge is for the bytes actually shown.
        assert srcs["srcset"] == gallery.url(gallery.files["srcset_big"])
        assert srcs["picimg"].endswith(".webp")
        visible = ["plain1", "plain2", "srcset", "picimg", "shadowimg", "dataimg", "cdnimg", "lazy1"]
        state = wait_badges_settled(page, [srcs[n] for n in visible])
        for name in visible:
            assert_badge_matches_backend(state, srcs[name], gallery, live_backend)
            assert_badge_on_image(state, name)
        # An image the extension can't read is an error, never a guess.
        unreadable = wait_badges_settled(page, [srcs["nocors"]])
        badge = next(b for b in unreadable["badges"] if b["url"] == srcs["nocors"])
        assert badge["state"] == "error" and "could not check" in badge["alt"], badge
        shown = {b["url"] for b in state["badges"]}
        for name in ("tiny", "hidden1", "hidden2", "strip", "band"):
            assert gallery.url(gallery.files[name]) not in shown, f"{name} must not get a badge"
        assert gallery.url(gallery.files["belowfold"]) not in shown, "far below the fold: not checked yet"
        screenshot(page, "extension-e2e-gallery.png")

        # Resize: the grid reflows and the badges follow their images.
        page.set_viewport_size({"width": 640, "height": 1000})
        page.wait_for_timeout(800)
        resized = collect(page)
        moved = next(i for i in resized["images"] if i["id"] == "picimg")["rect"]
        assert moved != next(i for i in state["images"] if i["id"] == "picimg")["rect"], "layout did reflow"
        for name in ("plain1", "plain2", "srcset", "picimg", "shadowimg"):
            assert_badge_on_image(resized, name)
        page.set_viewport_size({"width": 1400, "height": 1000})

        # Scroll down: the loading=lazy image and the infinite-scroll feed get badges.
        for _ in range(3):
            page.mouse.wheel(0, 1500)
            page.wait_for_timeout(600)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function("document.querySelectorAll('#feed img').length >= 2 && "
                               "[...document.querySelectorAll('#feed img')].every(i => i.complete)")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        later = {"belowfold": gallery.url(gallery.files["belowfold"]),
                 "feed1": gallery.url(gallery.files["feed1"]), "feed2": gallery.url(gallery.files["feed2"])}
        state = wait_badges_settled(page, list(later.values()))
        for name, url in later.items():
            assert_badge_matches_backend(state, url, gallery, live_backend)
            assert_badge_on_image(state, name)
        # After scrolling, badges of images now off-screen are hidden, not left floating.
        plain1 = next(b for b in state["badges"] if b["url"] == srcs["plain1"])
        assert plain1["hidden"] or plain1["rect"]["y"] < 0
        screenshot(page, "extension-e2e-scrolled.png")
    finally:
        page.close()


def test_backend_down_shows_error_never_human(browser, gallery, live_backend):
    context, _ = browser
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the backend is "stopped"
    page, srcs = open_auto_labelled_gallery(context, gallery, dead)
    try:
        visible = ["plain1", "plain2", "srcset", "picimg", "shadowimg", "dataimg", "cdnimg", "nocors", "lazy1"]
        state = wait_badges_settled(page, [srcs[n] for n in visible])
        for name in visible:
            badge = next(b for b in state["badges"] if b["url"] == srcs[name])
            assert badge["state"] == "error", badge
            assert "Human" not in badge["text"] and "could not check" in badge["alt"]
        assert all(b["state"] != "human" for b in state["badges"])
        screenshot(page, "extension-e2e-backend-down.png")
    finally:
        page.close()
        set_settings(context, backendUrl=live_backend, sites=[])


def test_options_page_saves_settings_and_refuses_remote_backends(browser, live_backend):
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    page = context.new_page()
    try:
        page.goto(f"chrome-extension://{ext_id}/ui/options/options.html")
        assert page.input_value("#backendUrl") == live_backend
        page.fill("#backendUrl", "https://cloud.example.com")
        page.click("button[type=submit]")
        page.wait_for_selector("#saved:has-text('127.0.0.1')")
        stored = sw_eval(context, "async () => chrome.storage.local.get(null)")
        assert stored["backendUrl"] == live_backend, "a non-local backend is never saved"
        page.fill("#backendUrl", live_backend)
        page.select_option("#badgePosition", "bottom-right")
        page.fill("#minSize", "150")
        page.uncheck("#showHuman")
        page.click("button[type=submit]")
        page.wait_for_selector("#saved:has-text('Saved')")
        stored = sw_eval(context, "async () => chrome.storage.local.get(null)")
        assert (stored["badgePosition"], stored["minSize"], stored["showHuman"]) == ("bottom-right", 150, False)
    finally:
        page.close()
        set_settings(context, backendUrl=live_backend, sites=[], badgePosition="top-left", minSize=96, showHuman=True)
