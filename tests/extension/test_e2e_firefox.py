"""End-to-end: the Firefox add-on in Debian's Firefox ESR (Marionette, headless) against the real
backend with the bundled model, on the same local gallery as the Chromium suite.

The backend runs with its default configuration: no ``moz-extension://`` origin is configured
anywhere, so these tests also show that Firefox works out of the box (the add-on's random origin is
accepted, see the README's security section). The add-on is installed as a temporary add-on; its
host permissions (``http://127.0.0.1/*``, where the gallery lives too) are granted at install, so
switching auto-labelling on goes through the extension's own enabling path (``sites`` ->
``syncAutoLabel`` -> ``scripting.registerContentScripts``) without a prompt.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading

import pytest
import requests
from ext_helpers import EXT_DIR, WAIT_MS, backend_label, free_port
from firefox_session import FIREFOX, start_firefox, stop_firefox

# The Chromium suite's page probes and assertions, shared so both browsers are held to the same rules.
from test_e2e_extension import COLLECT_JS, assert_badge_matches_backend, assert_badge_on_image, image_srcs

pytestmark = pytest.mark.e2e

#: The Referer pixiv's image host demands (src/sites/pixiv.js).
PIXIV_REFERER = "https://www.pixiv.net/"
VISIBLE = ["plain1", "plain2", "srcset", "picimg", "shadowimg", "dataimg", "cdnimg", "lazy1"]
LAZY_LOADED = "(w) => { const i = w.document.getElementById('lazy1'); return Boolean(i && i.currentSrc && i.complete); }"
SETTLED = """(w, urls) => {
  const host = w.document.querySelector('shinsaku-overlay');
  if (!host) return false;
  const done = new Set([...host.shadowRoot.querySelectorAll('.badge')]
    .filter((b) => b.dataset.state !== 'checking').map((b) => b.dataset.url));
  return urls.every((u) => done.has(u));
}"""


@pytest.fixture(scope="module")
def firefox(extension_build_firefox, tmp_path_factory):
    """Firefox ESR with the add-on installed temporarily; yields a ``FirefoxSession``."""
    if not FIREFOX.exists():
        pytest.skip(f"{FIREFOX} is missing (apt-get install firefox-esr)")
    pytest.importorskip("marionette_driver", reason="pip install -e '.[test]' (marionette-driver, mozrunner)")
    session = start_firefox(extension_build_firefox, tmp_path_factory.mktemp("firefox"))
    try:
        yield session
    finally:
        stop_firefox(session.client)


@pytest.fixture(scope="module")
def extension_build_firefox():
    """``extension/build/firefox``, freshly built."""
    if shutil.which("node") is None or not (EXT_DIR / "node_modules" / "esbuild").exists():
        pytest.fail("node and extension/node_modules are required: run `cd extension && npm ci` first")
    subprocess.run(["node", "scripts/build.mjs"], cwd=EXT_DIR, check=True, capture_output=True)
    return EXT_DIR / "build" / "firefox"


def settle(firefox, tab: str, urls: list[str]) -> dict:
    """Wait until each URL has a badge in a final state; return the page's images and badges."""
    try:
        firefox.wait_page(tab, SETTLED, urls, timeout_s=WAIT_MS / 1000)
    except TimeoutError:
        state = firefox.page(tab, COLLECT_JS)
        pytest.fail(f"badges did not settle; have {[(b['url'][:70], b['state']) for b in state['badges']]}")
    return firefox.page(tab, COLLECT_JS)


def open_gallery(firefox, gallery) -> tuple[str, dict[str, str]]:
    """Open the gallery in a new tab, wait for its lazily added image; ``(tab, {id: src})``."""
    tab = firefox.open_tab(gallery.url("gallery.html"))
    firefox.wait_page(tab, LAZY_LOADED)
    return tab, image_srcs(firefox.page(tab, COLLECT_JS))


def test_addon_origin_is_accepted_without_configuration(firefox, live_backend):
    assert "moz-extension" not in os.environ.get("SHINSAKU_LIVE_ALLOWED_ORIGINS", ""), \
        "this test proves the default configuration: unset SHINSAKU_LIVE_ALLOWED_ORIGINS"
    firefox.set_settings(backendUrl=live_backend, sites=[])
    status = firefox.ext("return await browser.runtime.sendMessage({type: bg.MSG.STATUS});")
    assert status["ok"] is True, status
    # Firefox really sends the add-on's origin with the extension's POSTs, and the backend accepts it.
    reply = firefox.ext("""
      const r = await fetch(args[0] + '/v1/classify', {method: 'POST', body: new Uint8Array([1, 2, 3]),
                                                       headers: {'Content-Type': 'image/png'}});
      return {status: r.status, body: await r.json(), acao: r.headers.get('Access-Control-Allow-Origin')};""",
                        live_backend)
    assert reply["status"] != 403 and reply["body"]["error"] != "forbidden_origin", reply
    # A web page's request (any page origin) is still refused before any work.
    page = requests.post(f"{live_backend}/v1/classify", data=b"x", timeout=10,
                         headers={"Origin": "http://127.0.0.1:1234", "Content-Type": "image/png"})
    assert page.status_code == 403 and page.json()["error"] == "forbidden_origin"


def test_auto_labelling_matches_backend_including_lazy_images(firefox, gallery, live_backend):
    firefox.set_settings(backendUrl=live_backend, sites=["127.0.0.1"])
    tab, srcs = open_gallery(firefox, gallery)
    try:
        assert srcs["srcset"] == gallery.url(gallery.files["srcset_big"])
        state = settle(firefox, tab, [srcs[n] for n in VISIBLE])
        for name in VISIBLE:
            assert_badge_matches_backend(state, srcs[name], gallery, live_backend)
            assert_badge_on_image(state, name)
        unreadable = settle(firefox, tab, [srcs["nocors"]])
        badge = next(b for b in unreadable["badges"] if b["url"] == srcs["nocors"])
        assert badge["state"] == "error" and "could not check" in badge["alt"], badge
        shown = {b["url"] for b in state["badges"]}
        for name in ("tiny", "hidden1", "hidden2", "strip", "band"):
            assert gallery.url(gallery.files[name]) not in shown, f"{name} must not get a badge"
        # loading=lazy far below the fold: badged once scrolled to.
        below = gallery.url(gallery.files["belowfold"])
        assert below not in shown, "far below the fold: not checked yet"
        firefox.page(tab, "(w) => w.document.getElementById('belowfold').scrollIntoView({block: 'center'})")
        state = settle(firefox, tab, [below])
        assert_badge_matches_backend(state, below, gallery, live_backend)
        assert_badge_on_image(state, "belowfold")
    finally:
        firefox.close_tab(tab)


def test_check_this_image_with_auto_labelling_off(firefox, gallery, live_backend):
    firefox.set_settings(backendUrl=live_backend, sites=[])
    tab, srcs = open_gallery(firefox, gallery)
    try:
        before = firefox.page(tab, COLLECT_JS)
        assert before["badges"] == []
        src = srcs["plain2"]
        # The context menu's onClicked handler path (a native menu can't be clicked from a test).
        reply = firefox.ext("""
          return await bg.handleMenuClick({menuItemId: bg.MENU_ID, srcUrl: args[1], frameId: 0}, {id: args[0]});""",
                            firefox.tab_id(gallery.url("gallery.html")), src)
        assert reply["url"] == src
        state = settle(firefox, tab, [src])
        assert [b["url"] for b in state["badges"]] == [src], "only the clicked image gets a badge"
        assert_badge_matches_backend(state, src, gallery, live_backend)
        assert_badge_on_image(state, "plain2")
        assert [i["rect"] for i in state["images"]] == [i["rect"] for i in before["images"]]
    finally:
        firefox.close_tab(tab)


def test_popup_switch_turns_on_only_when_granted_and_asks_only_for_http_on_loopback(firefox, gallery, live_backend):
    """A real click on the popup's switch for the gallery (http://127.0.0.1): the request is made in
    the click's gesture (Firefox refuses it after an await), asks for ``http://127.0.0.1/*`` only,
    which the add-on holds (an ``https`` request would open a prompt no test can answer), and the
    switch shows "on" once granted, with the site stored."""
    firefox.set_settings(backendUrl=live_backend, sites=[])
    tab, _ = open_gallery(firefox, gallery)
    popup = firefox.open_tab(f"moz-extension://{firefox.uuid}/ui/popup/popup.html?tabId="
                             f"{firefox.tab_id(gallery.url('gallery.html'))}")
    try:
        firefox.wait_page(popup, "(w) => w.document.getElementById('site-host').textContent === '127.0.0.1'")
        assert firefox.page(popup, "(w) => w.document.getElementById('auto-toggle').checked") is False
        firefox.client.find_element("id", "auto-toggle").click()
        state = firefox.wait_page(popup, "(w) => { const t = w.document.getElementById('auto-toggle');"
                                         " return ['on', 'denied'].includes(t.dataset.state) && [t.dataset.state, t.checked]; }")
        assert state == ["on", True]
        assert firefox.ext("return (await browser.storage.local.get('sites')).sites;") == ["127.0.0.1"]
        assert firefox.ext("return await browser.permissions.contains({origins: ['https://127.0.0.1/*']});") is False
        # Switched on: the open gallery gets its badges without a reload.
        firefox.ext("await bg.syncAutoLabel();")
        settle(firefox, tab, [gallery.url(gallery.files["plain1"])])
    finally:
        firefox.close_tab(popup)
        firefox.close_tab(tab)
        firefox.set_settings(backendUrl=live_backend, sites=[])


class RefererHandler(http.server.BaseHTTPRequestHandler):
    """An image host with pixiv's rule: 403 unless ``Referer`` is pixiv's. Records each request's
    Referer in ``server.referers``."""

    def do_GET(self):
        referer = self.headers.get("Referer")
        self.server.referers.append(referer)
        if referer != PIXIV_REFERER:
            self.send_error(403)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.server.image)))
        self.end_headers()
        self.wfile.write(self.server.image)

    def log_message(self, *args):
        pass


@pytest.fixture
def referer_host(gallery):
    """A local image host enforcing pixiv's Referer rule, reached as ``http://localhost:<port>``
    (a host the add-on always holds, as the pixiv adapter's host is held once its site is on)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefererHandler)
    server.referers, server.image = [], gallery.bytes_for(gallery.url(gallery.files["plain1"]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_referer_rule_reaches_only_the_extensions_own_downloads(firefox, gallery, live_backend, referer_host):
    server, base = referer_host
    firefox.set_settings(backendUrl=live_backend, sites=[])
    rules = firefox.ext("return await browser.declarativeNetRequest.getSessionRules();")
    pixiv = [r for r in rules if r["condition"].get("requestDomains") == ["i.pximg.net"]]
    assert len(pixiv) == 1 and pixiv[0]["condition"]["tabIds"] == [-1], rules
    assert pixiv[0]["action"]["requestHeaders"] == [{"header": "referer", "operation": "set", "value": PIXIV_REFERER}]
    # The same rule for the local host (the real one names i.pximg.net, which a test can't serve).
    firefox.ext("""const rule = {...args[0], id: 4242, condition: {...args[0].condition, requestDomains: ['localhost']}};
                   await browser.declarativeNetRequest.updateSessionRules({addRules: [rule]});""", pixiv[0])
    try:
        url = f"{base}/art.png"
        result = firefox.ext("return await bg.classifier.classify(args[0]);", url)
        expected = backend_label(live_backend, server.image)
        assert result["state"] == expected["label"], result
        assert server.referers[-1] == PIXIV_REFERER
        # A page showing the same image is not touched by the rule: the host refuses it.
        tab = firefox.open_tab(gallery.url("gallery.html"))
        try:
            firefox.page(tab, "(w, u) => { const i = w.document.createElement('img'); i.id = 'ref'; i.src = u;"
                              " w.document.body.prepend(i); }", url + "?page")
            status = firefox.wait_page(tab, "(w) => { const i = w.document.getElementById('ref');"
                                            " return i.complete && (i.naturalWidth ? 'loaded' : 'refused'); }")
            assert status == "refused"
            assert server.referers[-1] != PIXIV_REFERER
        finally:
            firefox.close_tab(tab)
    finally:
        firefox.ext("await browser.declarativeNetRequest.updateSessionRules({removeRuleIds: [4242]});")


def test_backend_down_shows_error_never_human(firefox, gallery, live_backend):
    firefox.set_settings(backendUrl=f"http://127.0.0.1:{free_port()}", sites=["127.0.0.1"])
    tab, srcs = open_gallery(firefox, gallery)
    try:
        state = settle(firefox, tab, [srcs[n] for n in VISIBLE])
        for name in VISIBLE:
            badge = next(b for b in state["badges"] if b["url"] == srcs[name])
            assert badge["state"] == "error" and "could not check" in badge["alt"], badge
        assert all(b["state"] != "human" for b in state["badges"])
    finally:
        firefox.close_tab(tab)
        firefox.set_settings(backendUrl=live_backend, sites=[])


def test_backend_answer_for_a_gallery_image_is_what_firefox_shows(firefox, gallery, live_backend):
    """The same bytes sent by the test and by Firefox get the same answer (the cache key is the bytes)."""
    firefox.set_settings(backendUrl=live_backend, sites=[])
    url = gallery.url(gallery.files["plain1"])
    result = firefox.ext("return await bg.classifier.classify(args[0]);", url)
    expected = backend_label(live_backend, gallery.bytes_for(url))
    assert result["state"] == expected["label"]
    assert result["probabilityAi"] == pytest.approx(expected["probability_ai"], abs=1e-4)
