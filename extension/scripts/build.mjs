#!/usr/bin/env node
/**
 * Build the extension for Chromium and Firefox from the same sources.
 *
 *   node scripts/build.mjs          -> build/chromium/, build/firefox/
 *   node scripts/build.mjs --zip    -> also dist/shinsaku-<browser>-<version>.zip
 *
 * The only per-browser differences are manifest/chromium.json and manifest/firefox.json,
 * shallow-merged over manifest/base.json ("//" comment keys are dropped).
 */
import { build as esbuild } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
export const BROWSERS = ['chromium', 'firefox'];

/**
 * Manifest for one browser.
 * @param {'chromium'|'firefox'} browser
 * @returns {object}
 */
export function manifestFor(browser) {
  const read = (f) => JSON.parse(readFileSync(join(root, 'manifest', f), 'utf8'));
  const merged = { ...read('base.json'), ...read(`${browser}.json`), version: pkg.version };
  delete merged['//'];
  return merged;
}

function crc32(buf) {
  let c;
  let crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A square RGBA PNG icon: a rounded badge with two halves (human / AI), size in px. */
function iconPng(size) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const r = size / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const d = Math.hypot(x + 0.5 - r, y + 0.5 - r);
      const inside = d <= r - 0.5;
      const left = x < size / 2;
      raw[o] = left ? 0x2e : 0xc6;
      raw[o + 1] = left ? 0x7d : 0x28;
      raw[o + 2] = left ? 0x32 : 0x28;
      raw[o + 3] = inside ? 255 : 0;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Build one browser's unpacked extension into build/<browser>/.
 * @param {'chromium'|'firefox'} browser
 * @returns {Promise<string>} output directory
 */
export async function buildBrowser(browser) {
  const out = join(root, 'build', browser);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const target = browser === 'firefox' ? ['firefox128'] : ['chrome120'];
  await esbuild({
    entryPoints: {
      background: join(root, 'src/background/index.js'),
      content: join(root, 'src/content/index.js'),
      'ui/popup/popup': join(root, 'src/ui/popup/popup.js'),
      'ui/options/options': join(root, 'src/ui/options/options.js'),
      'ui/review/review': join(root, 'src/ui/review/review.js'),
    },
    outdir: out,
    bundle: true,
    format: 'iife',
    target,
    legalComments: 'none',
    logLevel: 'warning',
    define: { __BROWSER__: JSON.stringify(browser) },
  });
  for (const page of ['popup', 'options', 'review']) {
    for (const ext of ['html', 'css']) {
      cpSync(join(root, `src/ui/${page}/${page}.${ext}`), join(out, `ui/${page}/${page}.${ext}`));
    }
  }
  // UI texts, English and Japanese (WebExtension convention: _locales/<lang>/messages.json).
  cpSync(join(root, 'src/_locales'), join(out, '_locales'), { recursive: true });
  mkdirSync(join(out, 'icons'), { recursive: true });
  for (const s of [16, 48, 128]) writeFileSync(join(out, 'icons', `icon${s}.png`), iconPng(s));
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifestFor(browser), null, 2)}\n`);
  return out;
}

/**
 * Zip build/<browser>/ into dist/ with `web-ext build`.
 * @param {'chromium'|'firefox'} browser
 * @returns {string} zip path
 */
export function zipBrowser(browser) {
  const filename = `shinsaku-${browser}-${pkg.version}.zip`;
  const bin = join(root, 'node_modules', '.bin', 'web-ext');
  const res = spawnSync(
    bin,
    ['build', '--source-dir', join(root, 'build', browser), '--artifacts-dir', join(root, 'dist'),
      '--filename', filename, '--overwrite-dest', '--no-config-discovery'],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error(`web-ext build failed for ${browser}`);
  return join(root, 'dist', filename);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const zip = process.argv.includes('--zip');
  for (const b of BROWSERS) {
    const out = await buildBrowser(b);
    console.log(`built ${out}`);
    if (zip) console.log(`packaged ${zipBrowser(b)}`);
  }
}
