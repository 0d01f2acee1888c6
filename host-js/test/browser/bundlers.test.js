// The package through the bundlers web apps are built with: Vite, webpack 5 and esbuild each build
// test/bundlers' small app against the package as npm installs it (from `npm pack`), and the
// built app runs in headless Chromium, keeping `_home` in IndexedDB across a reload.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import * as vite from 'vite';
import webpack from 'webpack';

import { serve } from '../../scripts/serve.js';

const CHROMIUM = process.env.CU_CHROMIUM ?? '/usr/bin/chromium';
const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const appSource = fileURLToPath(new URL('../bundlers/', import.meta.url));

let dir;
let app;
let context;
const servers = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cu-bundlers-'));
  app = join(dir, 'app');
  mkdirSync(app);
  for (const file of ['main.js', 'index.html']) copyFileSync(join(appSource, file), join(app, file));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir, encoding: 'utf8' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', join(dir, packed.filename)], { cwd: app });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'cu-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await context?.close();
  for (const server of servers) server.close();
});

/** Opens the built app in `out`, twice: the second visit must find the first in IndexedDB. */
async function checkApp(out) {
  const { server, url } = await serve(0, out);
  servers.push(server);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const visit = async () => {
    await page.waitForFunction(() => document.body?.dataset.visits !== undefined, undefined, { timeout: 30_000 });
    return page.evaluate(() => ({ ...document.body.dataset }));
  };
  await page.goto(`${url}/`);
  assert.deepEqual(await visit(), { answer: '42', visits: '1' }, errors.join('\n'));
  await page.reload();
  assert.deepEqual(await visit(), { answer: '42', visits: '2' }, errors.join('\n'));
  assert.deepEqual(errors, []);
  await page.close();
}

test('Vite builds an app that runs cu and keeps _home across a reload', async () => {
  const out = join(dir, 'vite');
  await vite.build({ root: app, base: './', logLevel: 'silent', build: { outDir: out, target: 'esnext', emptyOutDir: true } });
  assert.ok(readdirSync(join(out, 'assets')).some((name) => name.endsWith('.wasm')), 'Vite copied the component');
  await checkApp(out);
});

test('webpack 5 builds an app that runs cu and keeps _home across a reload', async () => {
  const out = join(dir, 'webpack');
  const config = (await import('../bundlers/webpack.config.js')).default({ app, out });
  const stats = await new Promise((resolve, reject) => webpack(config, (error, result) => (error ? reject(error) : resolve(result))));
  assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
  assert.ok(readdirSync(out).some((name) => name.endsWith('.wasm')), 'webpack copied the component');
  copyFileSync(join(app, 'index.html'), join(out, 'index.html'));
  await checkApp(out);
});

test('esbuild builds an app that runs cu, given wasmUrl, and keeps _home across a reload', async () => {
  const out = join(dir, 'esbuild');
  await esbuild.build({ entryPoints: [join(app, 'main.js')], bundle: true, format: 'esm', outdir: out, logLevel: 'silent' });
  // esbuild leaves `new URL('…', import.meta.url)` alone: the app copies the files and names them.
  const generated = join(app, 'node_modules/cu/generated');
  mkdirSync(join(out, 'wasm'));
  for (const name of readdirSync(generated).filter((name) => name.endsWith('.wasm'))) {
    copyFileSync(join(generated, name), join(out, 'wasm', name));
  }
  const html = readFileSync(join(app, 'index.html'), 'utf8').replace('<title>', '<meta name="cu-wasm" content="./wasm/">\n<title>');
  writeFileSync(join(out, 'index.html'), html);
  await checkApp(out);
});
