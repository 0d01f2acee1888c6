// The package in a real browser: headless Chromium (Debian's `chromium`, driven by
// playwright-core) loads it from a page on 127.0.0.1, keeps data and a closure in _home across a
// reload through IndexedDB, and keeps pcall/error and the deadline working in the page.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildPlayground } from '../../scripts/playground.js';
import { serve } from '../../scripts/serve.js';
import { checkSeed004 } from '../seed004.js';

/** Debian's chromium, which `cargo xtask test` installs. */
const CHROMIUM = process.env.CU_CHROMIUM ?? '/usr/bin/chromium';

let server;
let base;
let context;
const pageErrors = [];

before(async () => {
  ({ server, url: base } = await serve());
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'cu-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context.on('weberror', (error) => pageErrors.push(String(error.error())));
});

after(async () => {
  await context?.close();
  server?.close();
});

/** A page of the test page with the package loaded and the default unit started. */
async function openPage() {
  const page = await context.newPage();
  await page.goto(`${base}/test/browser/page.html`);
  await page.evaluate(() => window.cuTest.ready);
  return page;
}

test('data and a closure in _home survive a reload through IndexedDB', async () => {
  const page = await openPage();
  const first = await page.evaluate(async () => {
    const { default: cu } = window.cuTest;
    const value = await cu.compute(`
      _home.user = { name = "Ada", langs = { "lua", "rust" } }
      local count = 0
      function _home.counter() count = count + 1 return count end
      return _home.counter()`);
    return [value, await cu.saveState()];
  });
  assert.deepEqual(first, [1, true]);

  await page.reload();
  await page.evaluate(() => window.cuTest.ready);
  const second = await page.evaluate(async () => {
    const { default: cu } = window.cuTest;
    return [await cu.compute('return _home.user.name, _home.user.langs[2], _home.counter()'), cu.listStates().map((s) => s.name)];
  });
  assert.deepEqual(second, [['Ada', 'rust', 2], ['default']]);
  await page.close();
});

test('every query operator matches a brute-force reference on IndexedDB, with and without indexes', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const { checkQueries } = await import('/test/query-reference.js');
    const cu = new window.cuTest.Cu({ store: 'indexeddb:cu-queries' });
    await cu.load();
    const result = await checkQueries(cu);
    await cu.flush();
    return result;
  });
  assert.equal(result.ran, 240);
  assert.deepEqual(result.mismatches, []);
  assert.deepEqual(result.problems, []);
  await page.close();
});

test("seed 004's examples run as written on IndexedDB", async () => {
  const page = await openPage();
  const seen = await page.evaluate(async () => {
    const { runSeed004 } = await import('/test/seed004.js');
    // Every unit the seed makes, to wait for its writes before the reload.
    const units = [];
    const LuaWASM = { init: async (options) => units[units.push(await window.cuTest.LuaWASM.init(options)) - 1] };
    const seen = await runSeed004(LuaWASM);
    await Promise.all(units.map((unit) => unit.flush()));
    return seen;
  });
  checkSeed004(seen, assert);
  // The index and the schema are in IndexedDB: a reloaded page queries and checks with them.
  await page.reload();
  await page.evaluate(() => window.cuTest.ready);
  const after = await page.evaluate(async () => {
    const lua = await window.cuTest.LuaWASM.init();
    const top = await lua.queryTable('Memory', { table: 'appUsers', field: 'score', operator: '>=', value: 0, limit: 1, sort: 'desc' });
    const refused = await lua.batchTableOperations([{ type: 'set', table: 'users', key: 'y', value: { age: -1 } }]).catch((e) => e.name);
    return { top: top.length, indexes: lua.listIndexes().length, refused, fib: lua.eval('return Memory.fibonacci(12)') };
  });
  assert.deepEqual(after, { top: 1, indexes: 1, refused: 'SchemaError', fib: 144 });
  await page.close();
});

test('pcall, error and the deadline work in the page, which stays responsive', async () => {
  const page = await openPage();
  const results = await page.evaluate(async () => {
    const { Cu, LimitError, LuaRuntimeError } = window.cuTest;
    const unit = new Cu({ store: 'memory', timeLimit: 300 });
    await unit.load();
    const caught = await unit.compute('return pcall(error, "x")');
    const raised = await unit.compute('error("boom")').catch((e) => e instanceof LuaRuntimeError && e.message);
    const started = performance.now();
    const limit = await unit.compute('while true do end').catch((e) => e instanceof LimitError && e.limit);
    const took = performance.now() - started;
    return { caught, raised, limit, took, after: await unit.compute('return 1') };
  });
  assert.deepEqual(results.caught, [false, 'x']);
  assert.equal(results.raised, '(compute):1: boom');
  assert.equal(results.limit, 'time');
  assert.ok(results.took < 600, `the deadline of 300 ms held within twice the limit (${results.took} ms)`);
  assert.equal(results.after, 1);
  // A timer still fires: the page's event loop runs.
  assert.equal(await page.evaluate(() => new Promise((resolve) => setTimeout(() => resolve('tick'), 10))), 'tick');
  await page.close();
});

test("units made with isolation: 'shared' share an instance in the page, each with its own globals, IndexedDB _home and traps", async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const { Cu } = window.cuTest;
    const units = [];
    for (const name of ['shared-a', 'shared-b']) {
      const unit = new Cu({ store: `indexeddb:${name}`, isolation: 'shared' });
      await unit.load();
      await unit.compute(`x = "${name}"; _home.name = "${name}"`);
      units.push(unit);
    }
    // The first grows the memory under it; a unit of another instance would not see it grow.
    await units[0].compute('local t = {} for i = 1, 2e6 do t[i] = i end');
    const seen = [];
    for (const unit of units) seen.push(await unit.compute('return x, _home.name'));
    const [a, b] = units.map((unit) => unit.getMemoryStats().linear);
    // A trap in the first (a store answer jco cannot lower) resets it alone.
    const { store } = units[0];
    const getMany = store.getMany;
    store.getMany = () => [42];
    const trapped = await units[0].compute('return _home.other').then(
      () => 'no error',
      (error) => error.name,
    );
    store.getMany = getMany;
    const after = [];
    for (const unit of units) after.push(await unit.compute('return x, _home.name'));
    for (const unit of units) await unit.flush();
    return { seen, sameMemory: a === b && a > 16 * 1024 * 1024, trapped, after };
  });
  assert.deepEqual(result.seen, [['shared-a', 'shared-a'], ['shared-b', 'shared-b']]);
  assert.ok(result.sameMemory, 'the two units report the memory of one instance');
  assert.equal(result.trapped, 'ResetError');
  assert.deepEqual(result.after, [[undefined, 'shared-a'], ['shared-b', 'shared-b']]);
  await page.close();
});

test('the IndexedDB store keeps every promise, durably', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const { runChecks } = await import('/test/store-checks.js');
    const { IndexedDbStore } = window.cuTest;
    const failures = await runChecks(new IndexedDbStore('cu-checks'), 'idb');
    // What one store committed, a new store on the same database reads after flush.
    const store = new IndexedDbStore('cu-checks');
    await store.load('durable');
    const key = new Uint8Array([1, 2]);
    store.commit('durable', [{ tag: 'set', key, value: new Uint8Array([42]) }], []);
    await store.flush();
    await store.close();
    const again = new IndexedDbStore('cu-checks');
    await again.load('durable');
    let unloaded;
    try {
      again.open('never-loaded');
    } catch (error) {
      unloaded = error.payload.tag;
    }
    return { failures, reread: [...again.getMany('durable', [key])[0]], unloaded };
  });
  assert.deepEqual(result, { failures: [], reread: [42], unloaded: 'unavailable' });
  await page.close();
});

test('the playground runs code, shows _home and saves a snapshot', async () => {
  await buildPlayground();
  const page = await context.newPage();
  await page.goto(`${base}/examples/playground/`);
  await page.waitForSelector('#status:text("ready")');
  await page.evaluate(() => {
    window.playground.code = 'local count = 0\nfunction _home.next() count = count + 1 return count end\n_home.greeting = "hello"\nprint("stored")\nreturn _home.next(), {a = 1}';
  });
  await page.click('#run');
  await page.waitForSelector('#result:text("1")');
  assert.equal(await page.textContent('#result'), '1\n{a = 1}');
  assert.equal(await page.textContent('#printed'), 'stored\n');
  assert.match(await page.textContent('#home'), /greeting = "hello"[\s\S]*next: function/);
  await page.fill('#snapshot-name', 'first');
  await page.click('#save');
  await page.waitForSelector('#snapshots :text("first")');
  await page.close();
});

test("the playground's editor numbers lines, highlights Lua, offers the seeds' examples, marks an error's line and takes limits", async () => {
  await buildPlayground();
  const page = await context.newPage();
  await page.goto(`${base}/examples/playground/`);
  await page.waitForSelector('#status:text("ready")');
  assert.ok(await page.isVisible('.cm-lineNumbers'), 'line numbers');
  const styled = await page.$$eval('.cm-line span', (spans) => spans.filter((s) => s.textContent === 'return').length);
  assert.ok(styled > 0, 'Lua keywords are highlighted');
  const names = await page.$$eval('#examples option', (options) => options.map((o) => o.textContent));
  assert.ok(names.length >= 8 && names.some((name) => name.includes('bigint')), names.join(', '));

  await page.selectOption('#examples', { label: 'An error, shown at its line' });
  await page.click('#run');
  await page.waitForSelector('#error:text("cannot divide by zero")');
  assert.match(await page.textContent('#error'), /^playground:2: cannot divide by zero/);
  assert.match(await page.textContent('.cm-errorLine'), /error\("cannot divide by zero"\)/);

  await page.evaluate(() => {
    window.playground.code = 'local x = 1\nreturn x +';
  });
  await page.click('#run');
  await page.waitForSelector('#error:text("syntax error")');
  assert.match(await page.textContent('.cm-errorLine'), /return x \+/);

  await page.fill('#time-limit', '100');
  await page.selectOption('#examples', { label: 'A runaway loop, stopped by the time limit' });
  await page.click('#run');
  await page.waitForSelector('#error:text("time limit")');
  assert.match(await page.textContent('#error'), /100 ms/);
  await page.close();
});

test('the browser quick start runs as written and is the one in the README', async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const script = readFileSync(new URL('../../examples/quickstart.html', import.meta.url), 'utf8');
  const module = script.slice(script.indexOf('  import cu'), script.indexOf('</script>', script.indexOf('import cu')));
  assert.ok(readme.includes(module.replace(/^  /gm, '')), 'README.md holds the module of examples/quickstart.html');
  const page = await context.newPage();
  await page.goto(`${base}/examples/quickstart.html`);
  await page.waitForSelector('#out:text("visit")');
  const first = await page.textContent('#out');
  await page.reload();
  await page.waitForSelector('#out:text("visit")');
  const visit = (text) => Number(/visit (\d+)/.exec(text)[1]);
  assert.match(first, /^visit \d+: 2 \+ 2 = 4$/);
  assert.equal(visit(await page.textContent('#out')), visit(first) + 1);
  await page.close();
});

test('modules are fetched from moduleBaseUrl before the call, with those they require', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const cu = new window.cuTest.Cu({ store: 'memory', moduleBaseUrl: '/test/browser/lua/', print: () => {} });
    await cu.load();
    const area = await cu.compute("return require('geometry').area(6, 7), require('shapes').name");
    let dynamic;
    try {
      await cu.compute("return require('dyn' .. 'amic')");
    } catch (error) {
      dynamic = error.message;
    }
    await cu.fetchModules(['dynamic']);
    return { area, dynamic, fetched: await cu.compute("return (require('dyn' .. 'amic'))") };
  });
  assert.deepEqual(result.area, ['area 42', 'shapes']);
  assert.match(result.dynamic, /module 'dynamic' not found:\n\tno field package\.preload\['dynamic'\]\n\tno module 'dynamic' added by the host\n\tno file 'http:\/\/127\.0\.0\.1:\d+\/test\/browser\/lua\/dynamic\.lua'/);
  assert.equal(result.fetched, 'built at run time');
  await page.close();
});

test('wasmUrl loads the component from another place, and a wrong one says which file it could not fetch', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/test/browser/bare.html`);
  await page.waitForFunction(() => window.cuTest !== undefined);
  const result = await page.evaluate(async () => {
    const { Cu } = window.cuTest;
    const wrong = await new Cu({ store: 'memory', wasmUrl: '/nowhere/' }).load().then(() => 'loaded', (error) => error.message);
    const unit = new Cu({ store: 'memory', wasmUrl: new URL('/generated', location.href).href });
    await unit.load();
    return { wrong, value: await unit.compute('return 6 * 7') };
  });
  assert.match(result.wrong, /^cu could not fetch http:\/\/127\.0\.0\.1:\d+\/nowhere\/guest\.core\d?\.wasm: 404 Not Found$/);
  assert.equal(result.value, 42);
  await page.close();
});

test('a Worker unit stops a gigabyte string.rep at its time limit while the page keeps running', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const unit = new window.cuTest.Cu({ worker: true, store: 'indexeddb:cu-worker', timeLimit: 200, memoryLimit: 3 * 2 ** 30 });
    await unit.load();
    // The setup may itself run past 200 ms on a loaded machine (the Worker's first call compiles
    // the functions it runs): it is not what is tested, so it is made again until it fits.
    for (let tries = 1; ; tries++) {
      try {
        await unit.compute('kept_global = 1 _home.kept = "yes"');
        break;
      } catch (error) {
        if (error.name !== 'LimitError' || tries === 5) throw error;
      }
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const error = await unit.compute("return #string.rep('x', 1 << 30)").then(() => undefined, (e) => e);
    const took = performance.now() - started;
    clearInterval(timer);
    const after = await unit.compute('return kept_global, _home.kept');
    unit.close();
    return { name: error?.name, limit: error?.limit, reset: error?.reset, took, ticks, after };
  });
  assert.equal(result.name, 'LimitError');
  assert.equal(result.limit, 'time');
  assert.equal(result.reset, true);
  assert.ok(result.took < 2000, `stopped after ${result.took} ms`);
  assert.ok(result.ticks >= 5, `the page's timer ticked ${result.ticks} times`);
  assert.equal(result.after[0] ?? null, null, 'the globals are gone');
  assert.equal(result.after[1], 'yes', '_home is intact');
  await page.close();
});

test('no page raised an uncaught error', () => {
  assert.deepEqual(pageErrors, []);
});
