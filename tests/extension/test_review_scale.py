"""Bounded benchmark of the review page on 500 real images (opt-in: ``SHINSAKU_BENCH=1``).

Reports, for a page of 500 images from ``../shared/data`` (plus one corrupt file): the scan time,
the cards in the DOM, frame times while scrolling the whole grid, and the time a filter change
takes; written to ``artifacts/review-bench.json``. It asserts behaviour only (every image listed,
the DOM bounded by the viewport, the last card reachable), never timings.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from ext_helpers import ARTIFACTS, open_loaded_page, open_review_page, set_settings
from review_site import write_dataset_gallery

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(os.environ.get("SHINSAKU_BENCH") != "1",
                                                  reason="benchmark: set SHINSAKU_BENCH=1")]
IMAGES = 500

SCROLL_JS = """async () => {
  const grid = document.getElementById('grid');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
  const frames = [];
  let maxCells = 0;
  let t = await frame();
  while (grid.scrollTop + grid.clientHeight < grid.scrollHeight - 1) {
    grid.scrollTop += 300;
    const now = await frame();
    frames.push(now - t);
    t = now;
    maxCells = Math.max(maxCells, grid.querySelectorAll('.cell').length);
  }
  frames.sort((a, b) => a - b);
  const last = Math.max(...[...grid.querySelectorAll('.cell')].map((c) => +c.dataset.index));
  return {frames: frames.length, p50_ms: frames[frames.length >> 1], p95_ms: frames[Math.floor(frames.length * 0.95)],
    max_ms: frames[frames.length - 1], max_cells: maxCells, last_index: last};
}"""
FILTER_JS = """async () => {
  const t = performance.now();
  document.getElementById('filter-human').click();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t;
}"""


def test_review_page_with_500_images(browser, review_site, live_backend):
    context, ext_id = browser
    set_settings(context, backendUrl=live_backend, sites=[])
    write_dataset_gallery(review_site.root, "gallery-500.html", IMAGES)
    gallery = open_loaded_page(context, review_site.url("gallery-500.html"), timeout_ms=120_000)
    started = time.perf_counter()
    page = open_review_page(context, ext_id, review_site.url("gallery-500.html"), timeout_ms=600_000)
    scan_s = time.perf_counter() - started
    try:
        assert page.get_attribute("body", "data-shown") == str(IMAGES + 1)
        cells = page.evaluate("document.querySelectorAll('#grid .cell').length")
        scroll = page.evaluate(SCROLL_JS)
        filter_ms = page.evaluate(FILTER_JS)
        report = {"images": IMAGES + 1, "scan_and_render_s": round(scan_s, 1), "cards_in_dom": cells,
                  "scroll": scroll, "filter_change_ms": round(filter_ms, 1)}
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "review-bench.json").write_text(json.dumps(report, indent=1))
        print(json.dumps(report))
        assert scroll["last_index"] == IMAGES, "the last card is reachable"
        assert scroll["max_cells"] < 100, "only rows near the viewport are in the DOM"
    finally:
        page.close()
        gallery.close()
