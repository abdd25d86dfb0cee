"""Debian's Firefox ESR driven through Marionette (``marionette-driver`` + ``mozrunner`` from PyPI; no
geckodriver), with the built add-on installed as a temporary add-on.

``FirefoxSession`` keeps one *control* tab on an extension page (``ui/options/options.html``), where
scripts run with the WebExtension API (``browser``) and the background page's test hooks
(``globalThis.shinsaku``), and opens the pages under test in other tabs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: Debian's Firefox ESR (``apt-get install firefox-esr``); ``SHINSAKU_FIREFOX`` overrides.
FIREFOX = Path(os.environ.get("SHINSAKU_FIREFOX") or shutil.which("firefox-esr") or "/usr/bin/firefox-esr")
#: Longest Marionette script or wait, ms.
SCRIPT_TIMEOUT_MS = 60_000

# Runs in the control tab (an extension page) inside Marionette's sandbox: the page's own objects are
# reached through ``window.wrappedJSObject`` (the page's CSP forbids eval, so the body is part of the
# Marionette script). ``__BODY__`` is an async function body that sees ``browser``, ``bg`` (the
# background page's ``shinsaku`` hooks) and ``args`` (page objects); its result travels back as JSON.
_EXTENSION_CALL = """
const [rawArgs, resolve] = arguments;
const w = window.wrappedJSObject;
const toJson = (v) => { try { return w.JSON.stringify(v === undefined ? null : v); }
                        catch { return JSON.stringify(v === undefined ? null : v); } };
(async () => {
  const bgWindow = await w.browser.runtime.getBackgroundPage();
  const browser = w.browser;
  const bg = bgWindow.wrappedJSObject.shinsaku;
  const args = w.JSON.parse(rawArgs);
  __BODY__
})().then((v) => resolve(toJson(v)), (e) => resolve(JSON.stringify({__error: String(e && e.message || e)})));
"""


@dataclass
class FirefoxSession:
    """A running Firefox with the add-on: ``client`` (Marionette), ``addon_id``, ``uuid`` (its
    ``moz-extension://`` host) and ``control`` (the control tab's window handle)."""

    client: object
    addon_id: str
    uuid: str
    control: str

    @property
    def origin(self) -> str:
        """The add-on's origin, as Firefox sends it in ``Origin``."""
        return f"moz-extension://{self.uuid}"

    def ext(self, body: str, *args):
        """Run the async function ``body`` in the control tab (sees ``browser``, ``bg``, ``args``) and
        return its JSON result. Raises ``RuntimeError`` with the script's error."""
        self.client.switch_to_window(self.control)
        raw = self.client.execute_async_script(_EXTENSION_CALL.replace("__BODY__", body),
                                               script_args=[json.dumps(list(args))], script_timeout=SCRIPT_TIMEOUT_MS)
        value = json.loads(raw)
        if isinstance(value, dict) and "__error" in value:
            raise RuntimeError(f"extension script failed: {value['__error']}")
        return value

    def set_settings(self, **values) -> None:
        """Write settings as the options page does, then wait for the auto-label registration."""
        self.ext("await browser.storage.local.set(args[0]); await bg.syncAutoLabel();", values)

    def open_tab(self, url: str) -> str:
        """A new tab showing ``url``; returns its window handle (current afterwards)."""
        handle = self.client.open(type="tab", focus=True)["handle"]
        self.client.switch_to_window(handle)
        self.client.navigate(url)
        return handle

    def close_tab(self, handle: str) -> None:
        self.client.switch_to_window(handle)
        self.client.close()
        self.client.switch_to_window(self.control)

    def page(self, handle: str, script: str, *args):
        """Evaluate ``script`` (a function body using ``arguments``) in the page of tab ``handle``,
        through the page's own objects (``window.wrappedJSObject``); the result is JSON-decoded."""
        self.client.switch_to_window(handle)
        return json.loads(self.client.execute_script(
            "const w = window.wrappedJSObject; return JSON.stringify((" + script + ")(w, ...arguments) ?? null);",
            script_args=list(args)))

    def wait_page(self, handle: str, predicate: str, *args, timeout_s: float = SCRIPT_TIMEOUT_MS / 1000):
        """Poll ``predicate`` (a JS function ``(w, ...args) => value``) in tab ``handle`` until truthy;
        return its value. Raises ``TimeoutError`` with the last value."""
        from marionette_driver import Wait
        from marionette_driver.errors import TimeoutException

        last = {}

        def check(_):
            last["value"] = self.page(handle, predicate, *args)
            return last["value"]

        try:
            return Wait(self.client, timeout=timeout_s, interval=0.2).until(check)
        except TimeoutException as exc:
            raise TimeoutError(f"waited {timeout_s} s for {predicate[:80]!r}; last value {last.get('value')!r}") from exc

    def tab_id(self, url: str) -> int:
        """The WebExtension tab id of the tab showing ``url``."""
        # Filtered here: Firefox's tabs.query({url}) takes match patterns, which cannot hold a port.
        return self.ext("return (await browser.tabs.query({})).find((t) => t.url === args[0]).id;", url)


def start_firefox(addon_dir: Path, log_dir: Path):
    """Start Firefox headless under Marionette, install ``addon_dir`` as a temporary add-on and open
    the control tab. Returns a ``FirefoxSession``; call ``stop_firefox`` to end it."""
    from marionette_driver.addons import Addons
    from marionette_driver.marionette import Marionette

    os.environ.setdefault("MOZ_HEADLESS", "1")
    client = Marionette(bin=str(FIREFOX), headless=True, gecko_log=str(log_dir / "gecko.log"),
                        startup_timeout=180, prefs={
                            # The badges run on loopback pages; nothing else should be contacted.
                            "network.proxy.allow_hijacking_localhost": False,
                            "browser.shell.checkDefaultBrowser": False,
                        })
    client.start_session()
    try:
        client.set_window_rect(width=1400, height=1000)
        addon_id = Addons(client).install(str(addon_dir), temp=True)
        with client.using_context(client.CONTEXT_CHROME):
            uuid = client.execute_script(
                "return WebExtensionPolicy.getByID(arguments[0]).mozExtensionHostname", script_args=[addon_id])
        client.navigate(f"moz-extension://{uuid}/ui/options/options.html")
        return FirefoxSession(client=client, addon_id=addon_id, uuid=uuid, control=client.current_window_handle)
    except BaseException:
        stop_firefox(client)
        raise


def stop_firefox(client) -> None:
    """End the Marionette session and Firefox, and remove the temporary profile now (mozprofile
    would otherwise try at interpreter exit, when it no longer can)."""
    profile = getattr(client.instance, "profile", None)
    try:
        client.delete_session()
    finally:
        client.cleanup()
        if profile is not None:
            profile.cleanup()
            profile.restore = False
