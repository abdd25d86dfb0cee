"""End-to-end: the moderator's review page in Chromium, on a local gallery of ``REVIEW_IMAGES``
real images served from ``../shared/data`` plus one corrupt file, against the real backend and
model (``live_backend``). Every expected label and hash is the backend's own answer for the same
bytes, asked at test time (the bundled model may change)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
import requests
from ext_helpers import (
    ARTIFACTS,
    WAIT_MS,
    open_loaded_page,
    open_review_page,
    set_settings,
    shown_probability,
    sw_eval,
    tab_id,
)
from playwright.sync_api import expect
from review_site import REVIEW_IMAGES

from backend.scan import FIELDS as SCAN_FIELDS

pytestmark = pytest.mark.e2e

# In the review page: the cards in the DOM (the grid is virtualised), in index order.
CARDS_JS = """() => [...document.querySelectorAll('#grid .cell')]
  .map((c) => ({index: +c.dataset.index, url: c.dataset.url, state: c.dataset.state,
    probability: c.dataset.probability === undefined ? null : +c.dataset.probability,
    decision: c.dataset.decision || null, chip: c.querySelector('.chip').textContent,
    label: c.getAttribute('aria-label')}))
  .sort((a, b) => a.index - b.index)"""
# In the gallery page: badges with their decision marks, and the "Locate" flashes.
OVERLAY_JS = """() => {
  const root = document.querySelector('shinsaku-overlay')?.shadowRoot;
  if (!root) return {badges: [], flashes: []};
  return {
    badges: [...root.querySelectorAll('.badge')].map((b) => ({url: b.dataset.url, state: b.dataset.state,
      decision: b.dataset.decision || null, text: b.textContent})),
    flashes: [...root.querySelectorAll('.flash')].map((f) => f.dataset.url),
  };
}"""


@pytest.fixture(scope="module")
def expected(review_site, live_backend):
    """The backend's answer for every image of the review gallery, by URL (errors as such)."""
    answers = {}
    for src in _gallery_srcs(review_site):
        data = review_site.bytes_for(src)
        resp = requests.post(f"{live_backend}/v1/classify", data=data,
                             headers={"Content-Type": "application/octet-stream"}, timeout=120)
        answer = resp.json() if resp.status_code == 200 else {"label": "error", "error": resp.json()["error"]}
        answers[src] = {**answer, "image_sha256": hashlib.sha256(data).hexdigest(),
                        "backend_image_sha256": answer.get("image_sha256")}
    assert sum(a["label"] == "error" for a in answers.values()) == 1, "only the corrupt file is refused"
    return answers


def _gallery_srcs(site) -> list[str]:
    html = (site.root / "review-gallery.html").read_text()
    return [f"{site.base_url}{part.split(chr(34))[0]}" for part in html.split('src="')[1:]]


@pytest.fixture(scope="module")
def review(browser, review_site, live_backend, expected):
    """The gallery tab and the review page opened for it from the popup's "Review this page"."""
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    gallery = open_loaded_page(context, review_site.url("review-gallery.html"))
    tid = tab_id(context, review_site.url("review-gallery.html"))
    popup = context.new_page()
    popup.goto(f"chrome-extension://{ext_id}/ui/popup/popup.html?tabId={tid}")
    with context.expect_page() as opened:
        popup.click("#review")
    page = opened.value
    assert page.url == f"chrome-extension://{ext_id}/ui/review/review.html?tabId={tid}"
    page.wait_for_selector("body[data-ready='true']", timeout=WAIT_MS * 3)
    popup.close()
    yield gallery, page
    page.close()
    gallery.close()


def test_review_lists_every_image_with_the_backends_answers(review, expected):
    _, page = review
    counts = {s: 0 for s in ("ai", "uncertain", "human", "error")}
    for a in expected.values():
        counts[a["label"]] += 1
    assert len(expected) == REVIEW_IMAGES + 1 >= 201
    assert page.get_attribute("body", "data-shown") == str(len(expected))
    for state, n in counts.items():
        assert page.inner_text(f"#count-{state}") == f"({n})"
    cards = page.evaluate(CARDS_JS)
    assert 0 < len(cards) < len(expected) / 2, "virtualised: only the rows in view are in the DOM"
    for card in cards:
        answer = expected[card["url"]]
        assert card["state"] == answer["label"]
        if answer["label"] != "error":
            assert card["probability"] == pytest.approx(answer["probability_ai"], abs=1e-6)
            assert shown_probability(answer["probability_ai"]) in card["chip"]
            assert "100%" not in card["chip"]
    assert page.evaluate("document.querySelectorAll('#grid .cell img.thumb').length") == len(cards), \
        "thumbnails from the bytes already downloaded"
    assert page.is_visible("#disagree-wrap"), "the backend sends evidence: the evidence filter is offered"


def test_sort_and_filter(review, expected):
    _, page = review
    probs = [c["probability"] for c in page.evaluate(CARDS_JS)]
    assert probs == sorted(probs, reverse=True), "most likely AI first"
    page.select_option("#sort", "human-first")
    probs = [c["probability"] for c in page.evaluate(CARDS_JS)]
    assert probs == sorted(probs)
    page.select_option("#sort", "ai-first")
    for only in ("error", "uncertain", "human"):
        for state in ("ai", "uncertain", "human", "error"):
            page.set_checked(f"#filter-{state}", state == only)
        want = sum(a["label"] == only for a in expected.values())
        assert page.get_attribute("body", "data-shown") == str(want)
        assert {c["state"] for c in page.evaluate(CARDS_JS)} <= {only}
    for state in ("ai", "uncertain", "human", "error"):
        page.check(f"#filter-{state}")
    assert page.get_attribute("body", "data-shown") == str(len(expected))


def test_keyboard_detail_and_locate(review, expected):
    gallery, page = review
    page.select_option("#sort", "page")
    grid = page.locator("#grid")
    grid.focus()
    columns = int(grid.get_attribute("aria-colcount"))
    assert columns > 1
    page.keyboard.press("ArrowRight")
    expect(grid).to_have_attribute("aria-activedescendant", "cell-0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    expect(grid).to_have_attribute("aria-activedescendant", f"cell-{1 + columns}")
    page.keyboard.press("End")
    last = len(expected) - 1
    expect(grid).to_have_attribute("aria-activedescendant", f"cell-{last}")
    expect(page.locator(f"#cell-{last}")).to_be_in_viewport()  # the grid scrolled to the selection
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    url = dialog.get_attribute("data-url")
    assert url == list(expected)[-1], "the last image of the page (answers are in page order)"
    facts = page.inner_text("#detail .facts")
    assert expected[url]["image_sha256"] in facts
    page.click("#detail [data-action='locate']")
    page.wait_for_function("(u) => document.body.dataset.located === u", arg=url)
    state = gallery.evaluate(OVERLAY_JS)
    assert url in state["flashes"], "the image's outline flashes"
    rect = gallery.evaluate("""(u) => { const i = [...document.images].find((i) => i.currentSrc === u);
      const r = i.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, h: innerHeight, y: scrollY}; }""", url)
    assert rect["y"] > 0 and 0 <= rect["top"] and rect["bottom"] <= rect["h"], rect
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_decisions_persist_show_on_badges_and_export(browser, review, review_site, expected, live_backend):
    context, _ = browser
    gallery, page = review
    page.select_option("#sort", "ai-first")
    page.locator("#grid").focus()
    page.keyboard.press("Home")
    expect(page.locator("#cell-0")).to_be_in_viewport()
    cards = page.evaluate(CARDS_JS)
    assert [c["index"] for c in cards[:3]] == [0, 1, 2]
    marked = {cards[0]["url"]: "confirmed_ai", cards[1]["url"]: "confirmed_human", cards[2]["url"]: "follow_up"}
    page.keyboard.press("a")  # on the grid
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # in the dialog
    page.click("#detail button[data-decision='confirmed_human']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("f")
    page.wait_for_function("() => document.querySelector('#detail .decided').textContent.includes('follow-up')")
    page.keyboard.press("Escape")

    page_url = review_site.url("review-gallery.html")
    stored = sw_eval(context, "async (k) => (await chrome.storage.local.get(k))[k]", f"decisions:{page_url}")
    assert {u: r["decision"] for u, r in stored.items()} == marked
    for u, r in stored.items():
        assert r["imageSha256"] == expected[u]["image_sha256"] and r["modelLabel"] == expected[u]["label"]
        assert r["pageUrl"] == page_url and r["userLabel"] in ("ai", "human", None)
    gallery.wait_for_function("(n) => [...document.querySelector('shinsaku-overlay').shadowRoot"
                              ".querySelectorAll('.badge[data-decision]')].length === n", arg=len(marked))
    badges = {b["url"]: b for b in gallery.evaluate(OVERLAY_JS)["badges"] if b["decision"]}
    assert {u: b["decision"] for u, b in badges.items()} == marked
    assert "✓ AI" in badges[cards[0]["url"]]["text"]

    page.reload()
    page.wait_for_selector("body[data-ready='true']", timeout=WAIT_MS)
    kept = {c["url"]: c["decision"] for c in page.evaluate(CARDS_JS)[:3]}
    assert kept == marked, "decisions persist per page"
    page.select_option("#decision-filter", "confirmed_ai")
    assert page.get_attribute("body", "data-shown") == "1"
    page.select_option("#decision-filter", "any")

    model = requests.get(f"{live_backend}/v1/model", timeout=10).json()
    model_sha = model.get("model_sha256") or model["sha256"]
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    header = list(rows[0])
    assert {"label", "probability_ai", "error", "message"} <= set(SCAN_FIELDS) & set(header), \
        "same column names as shinsaku scan where they overlap"
    assert len(rows) == len(expected)
    for row in rows:
        _check_exported(row, expected[row["image_url"]], page_url, model, model_sha, marked)
    with page.expect_download() as dl:
        page.click("#export-json")
    doc = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert doc["page"]["url"] == page_url and doc["model"]["sha256"] == model_sha
    assert len(doc["results"]) == len(expected)
    for row in doc["results"]:
        _check_exported({k: "" if v is None else str(v) for k, v in row.items()},
                        expected[row["image_url"]], page_url, model, model_sha, marked)


def _check_exported(row: dict, answer: dict, page_url: str, model: dict, model_sha: str, marked: dict) -> None:
    """One exported row against the backend's answer for the same bytes."""
    assert row["page_url"] == page_url
    assert row["image_sha256"] == answer["image_sha256"]
    if answer["backend_image_sha256"]:
        assert row["image_sha256"] == answer["backend_image_sha256"]
    assert row["decision"] == marked.get(row["image_url"], "")
    assert bool(row["decided_at"]) == (row["image_url"] in marked)
    if answer["label"] == "error":
        assert row["label"] == "" and row["error"]
        return
    assert row["label"] == answer["label"]
    assert float(row["probability_ai"]) == pytest.approx(answer["probability_ai"], abs=1e-6)
    assert row["model_version"] == str(model["version"]) == str(answer["model_version"])
    assert row["model_sha256"] == model_sha == (answer.get("model_sha256") or answer["sha256"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_review_page_screenshots(browser, review_site, live_backend, scheme):
    """The README's screenshots (drawn images, not the data set), light and dark; both readable."""
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    gallery = open_loaded_page(context, review_site.url("drawings.html"))
    page = open_review_page(context, ext_id, review_site.url("drawings.html"))
    try:
        page.set_viewport_size({"width": 1000, "height": 720})
        page.emulate_media(color_scheme=scheme)
        page.locator("#grid").focus()
        for key in ("ArrowRight", "a", "ArrowRight", "ArrowRight", "f", "ArrowLeft"):
            page.keyboard.press(key)
        if scheme == "dark":
            page.keyboard.press("Enter")
            page.wait_for_selector("#detail[open]")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (bg == "rgb(18, 18, 20)") == (scheme == "dark"), bg
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"review-{scheme}.png"))
    finally:
        page.close()
        gallery.close()
