import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildBrowser, manifestFor } from '../scripts/build.mjs';
import { refererRules } from '../src/sites/registry.js';
import { extensionIdFromKey } from '../src/utils/extension-id.js';

const EXPECTED_ID = 'ocllolngjednbkannikihobbnanlliko';
const REFERERS = new Set(refererRules().flatMap((r) => r.action.requestHeaders.map((h) => h.value)));

test('the Chromium key gives the fixed extension ID the backend allows', () => {
  const m = manifestFor('chromium');
  assert.equal(m.key.length, 392);
  assert.equal(extensionIdFromKey(m.key), EXPECTED_ID);
});

test('extensionIdFromKey maps sha256 hex digits to a-p', () => {
  // sha256 of empty input starts e3b0c442...: e->o 3->d b->l 0->a c->m ...
  assert.equal(extensionIdFromKey(''), 'odlameecjipmbmbejkplpemijjgpljce');
});

test('per-browser manifests differ only where they must', () => {
  const c = manifestFor('chromium');
  const f = manifestFor('firefox');
  assert.equal(c.manifest_version, 3);
  assert.deepEqual(c.background, { service_worker: 'background.js' });
  assert.deepEqual(f.background, { scripts: ['background.js'] });
  assert.equal(f.key, undefined);
  assert.equal(f.browser_specific_settings.gecko.id, 'shinsaku@shinsaku.local');
  assert.ok(f.browser_specific_settings.gecko.strict_min_version);
  for (const m of [c, f]) {
    assert.deepEqual(m.permissions, ['storage', 'contextMenus', 'activeTab', 'scripting', 'declarativeNetRequestWithHostAccess']);
    assert.deepEqual(m.host_permissions, ['http://127.0.0.1/*', 'http://localhost/*']);
    assert.deepEqual(m.optional_host_permissions, ['*://*/*']);
    assert.equal(m['//'], undefined);
    assert.equal(m.content_scripts, undefined, 'no site access until the user switches a site on');
  }
  const strip = (m) => {
    const { background, key, minimum_chrome_version, browser_specific_settings, ...rest } = m;
    return rest;
  };
  assert.deepEqual(strip(c), strip(f));
});

test('build writes both browsers with every referenced file', async () => {
  for (const b of ['chromium', 'firefox']) {
    const out = await buildBrowser(b);
    const m = JSON.parse(readFileSync(`${out}/manifest.json`, 'utf8'));
    const files = [
      ...(m.background.scripts || [m.background.service_worker]),
      m.action.default_popup, m.options_ui.page, 'content.js', 'ui/popup/popup.js', 'ui/options/options.js',
      'ui/review/review.html', 'ui/review/review.js', 'ui/review/review.css',
      ...Object.values(m.icons),
    ];
    for (const f of files) assert.ok(existsSync(`${out}/${f}`), `${b}: ${f}`);
    const bundle = readFileSync(`${out}/background.js`, 'utf8');
    assert.doesNotMatch(bundle, /^\s*(import|export)\s/m, 'bundles are classic scripts');
    // No third-party endpoints in shipped code: only the local backend.
    for (const js of ['background.js', 'content.js', 'ui/popup/popup.js', 'ui/options/options.js', 'ui/review/review.js']) {
      const urls = readFileSync(`${out}/${js}`, 'utf8').match(/https?:\/\/[^\s"'`)]+/g) || [];
      // Referer header values (src/sites) name a site but are never requested.
      for (const u of urls.filter((x) => !REFERERS.has(x))) assert.match(u, /^http:\/\/(127\.0\.0\.1|localhost)|^https?:\/\/\$\{/, `${js}: ${u}`);
    }
  }
});
