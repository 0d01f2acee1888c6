// The browser entry inside Cloudflare's workerd (installed from the npm registry): test/workerd's
// workers and the README's import the component's core modules compiled, as workerd requires, and
// answer HTTP requests with what their Lua computes; Durable Objects keep `_home` in their own
// SQLite storage, on disk, across a restart of workerd.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const workerd = join(root, 'node_modules/.bin/workerd');

/** A free loopback port. */
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** The code of the first `js` block after `heading` in host-js/README.md, as written. */
function readmeBlock(heading) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  return section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```\n'));
}

/** The services: a name, the worker's main module (name and file), and its Durable Objects. */
const SERVICES = [
  { name: 'test', main: 'test/workerd/worker.js' },
  { name: 'readme', main: 'readme-worker.js', readme: '## Cloudflare Workers (workerd)' },
  { name: 'objects', main: 'test/workerd/durable-object.js', objects: { className: 'Units', binding: 'UNITS' } },
  {
    name: 'readme-objects',
    main: 'readme-objects.js',
    readme: '### `_home` in a Durable Object',
    objects: { className: 'Counter', binding: 'COUNTER' },
  },
];

/**
 * workerd's configuration: SERVICES, each with every module it may import, named by its path in
 * the package; the package's own name `cu` is a module that re-exports the browser entry, as a
 * bundler's `browser` condition would resolve it. Durable Objects are kept under `dir`/objects.
 */
function config(dir, ports) {
  writeFileSync(join(dir, 'cu.js'), "export * from './src/browser/index.js';\n");
  const wasm = readdirSync(join(root, 'generated')).filter((f) => f.endsWith('.wasm'));
  const shared = [
    ...['src/common', 'src/browser'].flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.js')).map((f) => `${d}/${f}`)),
    'generated/guest.js',
    ...wasm.map((f) => `generated/${f}`),
  ].map((file) => [file, join(root, file)]);
  const packaged = [['cu', join(dir, 'cu.js')], ...wasm.map((f) => [`cu/generated/${f}`, join(root, 'generated', f)])];
  const worker = ({ name, main, readme, objects }) => {
    const file = readme === undefined ? join(root, main) : join(dir, main);
    if (readme !== undefined) writeFileSync(file, readmeBlock(readme));
    const modules = [[main, file], ...shared, ...packaged].map(([module, path]) => {
      const kind = path.endsWith('.wasm') ? 'wasm' : 'esModule';
      return `(name = "${module}", ${kind} = embed "${relative(dir, path)}")`;
    });
    const stored = objects && [
      `durableObjectNamespaces = [(className = "${objects.className}", uniqueKey = "cu-${name}", enableSql = true)]`,
      'durableObjectStorage = (localDisk = "disk")',
      `bindings = [(name = "${objects.binding}", durableObjectNamespace = "${objects.className}")]`,
    ];
    const fields = [`modules = [${modules.join(',\n    ')}]`, 'compatibilityDate = "2026-11-01"', ...(stored ?? [])];
    return `(name = "${name}", worker = (${fields.join(',\n  ')}))`;
  };
  mkdirSync(join(dir, 'objects'), { recursive: true });
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${SERVICES.map(worker).join(',\n    ')},
    (name = "disk", disk = (path = "${join(dir, 'objects')}", writable = true)),
  ],
  sockets = [
    ${SERVICES.map(({ name }, i) => `(name = "${name}", address = "127.0.0.1:${ports[i]}", http = (), service = "${name}")`).join(',\n    ')}
  ],
);
`;
}

let server;
/** The port of each of SERVICES, by name. */
const ports = {};
/** workerd's configuration, and the directory of its Durable Objects' storage. */
let configFile;
let dir;

/**
 * Starts workerd on free ports, resolving once the test worker answers as itself (workerd opens
 * every socket at once). If another process takes a port between its pick and workerd's bind,
 * workerd exits and the ports are picked again; `_home` stays in `dir`.
 */
async function start() {
  for (let attempt = 1; ; attempt++) {
    for (const { name } of SERVICES) ports[name] = await freePort();
    writeFileSync(configFile, config(dir, SERVICES.map(({ name }) => ports[name])));
    server = spawn(workerd, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr.on('data', (chunk) => (log += chunk));
    const deadline = Date.now() + 30_000;
    while (server.exitCode === null && Date.now() < deadline) {
      const answer = await fetch(`http://127.0.0.1:${ports.test}/?code=return%201`)
        .then((response) => response.json())
        .catch(() => undefined);
      if (answer?.values === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (server.exitCode === null || attempt === 3) {
      server.kill();
      throw new Error(`workerd did not start: ${log}`);
    }
  }
}

/** Stops workerd and waits for it to exit. */
async function stop() {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill();
  await exited;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cu-workerd-'));
  configFile = join(dir, 'config.capnp');
  await start();
});

after(() => server?.kill());

const ask = async (code) => (await fetch(`http://127.0.0.1:${ports.test}/?code=${encodeURIComponent(code)}`)).json();

test('a worker in workerd answers requests with what its Lua computes', async () => {
  assert.deepEqual(await ask('return 6 * 7, _VERSION'), { values: [42, 'Lua 5.4'] });
  assert.deepEqual(await ask('_home.n = (_home.n or 0) + 1 return _home.n'), { values: 1 });
  assert.deepEqual(await ask('_home.n = _home.n + 1 return _home.n, #string.rep("x", 1000)'), { values: [2, 1000] });
  const failed = await ask('error("nope")');
  assert.match(failed.error, /nope/);
  assert.deepEqual(await ask('return _home.n'), { values: 2 }, 'the unit serves on after an error');
});

test("the README's worker runs as written", async () => {
  const answer = await fetch(`http://127.0.0.1:${ports.readme}/`);
  assert.deepEqual(await answer.json(), { values: 42 });
});

/** `code` computed by the Durable Object `object` of test/workerd/durable-object.js (no code: its memory). */
const askObject = async (object, code) =>
  (await fetch(`http://127.0.0.1:${ports.objects}/?object=${object}${code === undefined ? '' : `&code=${encodeURIComponent(code)}`}`)).json();

const visit = async () => (await (await fetch(`http://127.0.0.1:${ports['readme-objects']}/`)).json()).visits;

test("Durable Objects keep _home in their own SQLite storage, across a restart of workerd", async () => {
  const count = '_home.n = (_home.n or 0) + 1 return _home.n';
  assert.deepEqual(await askObject('a', count), { values: 1 });
  assert.deepEqual(await askObject('a', count), { values: 2 });
  assert.deepEqual(await askObject('b', count), { values: 1 }, 'each object has its own _home');
  // Their units share an instance: b sees the memory a grows.
  assert.deepEqual(await askObject('a', 'local t = {} for i = 1, 2e6 do t[i] = i end'), {});
  const [a, b] = [await askObject('a'), await askObject('b')];
  assert.ok(a.linear > 16 * 1024 * 1024 && b.linear === a.linear, `memory under a and b: ${a.linear}, ${b.linear}`);
  assert.deepEqual(await askObject('a', '_home.users = { alice = { tags = {"x", "y"} } } _home.users.bob = { tags = {} }'), {});
  assert.match((await askObject('a', '_home.n = 100 error("nope")')).error, /nope/);
  assert.deepEqual(await askObject('a', 'return _home.n'), { values: 2 }, 'a failed call wrote nothing');
  assert.deepEqual(await askObject('a', 'local n = 0 for i = 1, 300 do _home.list = _home.list or {} _home.list[i] = i * i n = n + 1 end return n'), {
    values: 300,
  });
  assert.deepEqual([await visit(), await visit()], [1, 2]);

  await stop();
  await start();
  assert.deepEqual(await askObject('a', count), { values: 3 });
  assert.deepEqual(await askObject('b', 'return _home.n'), { values: 1 });
  assert.deepEqual(
    await askObject('a', 'local t = {} for k in pairs(_home.users) do t[#t + 1] = k end table.sort(t) return t, _home.users.alice.tags[2], #_home.list, _home.list[300]'),
    { values: [['alice', 'bob'], 'y', 300, 90000] },
  );
  assert.equal(await visit(), 3, "the README's object counts on");
});

test('a Durable Object store given anything but SQLite storage says what it needs', async () => {
  const { DurableObjectStore } = await import('../../src/browser/durable-object-store.js');
  for (const wrong of [undefined, {}, { sql: {} }, { sql: { exec() {} } }]) {
    assert.throws(() => new DurableObjectStore(wrong), /ctx\.storage, of a class with SQLite storage/);
  }
});
