// The browser entry inside Cloudflare's workerd (installed from the npm registry): test/workerd's
// worker and the README's import the component's core modules compiled, as workerd requires, and
// answer HTTP requests with what their Lua computes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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

/** The worker of host-js/README.md's workerd section, as written. */
function readmeWorker() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Cloudflare Workers (workerd)'));
  return section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```\n'));
}

/**
 * workerd's configuration: two workers, test/workerd/worker.js and the README's, with every module
 * they may import, named by its path in the package; the package's own name `cu` is a module that
 * re-exports the browser entry, as a bundler's `browser` condition would resolve it.
 */
function config(dir, ports) {
  writeFileSync(join(dir, 'readme-worker.js'), readmeWorker());
  writeFileSync(join(dir, 'cu.js'), "export * from './src/browser/index.js';\n");
  const wasm = readdirSync(join(root, 'generated')).filter((f) => f.endsWith('.wasm'));
  const shared = [
    ...['src/common', 'src/browser'].flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.js')).map((f) => `${d}/${f}`)),
    'generated/guest.js',
    ...wasm.map((f) => `generated/${f}`),
  ].map((file) => [file, join(root, file)]);
  const packaged = [['cu', join(dir, 'cu.js')], ...wasm.map((f) => [`cu/generated/${f}`, join(root, 'generated', f)])];
  const modules = (main) =>
    [main, ...shared, ...packaged].map(([name, file]) => {
      const kind = file.endsWith('.wasm') ? 'wasm' : 'esModule';
      return `(name = "${name}", ${kind} = embed "${relative(dir, file)}")`;
    });
  const worker = (main) => `(modules = [${modules(main).join(',\n    ')}], compatibilityDate = "2026-11-01")`;
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "test", worker = ${worker(['test/workerd/worker.js', join(root, 'test/workerd/worker.js')])}),
    (name = "readme", worker = ${worker(['readme-worker.js', join(dir, 'readme-worker.js')])}),
  ],
  sockets = [
    (name = "test", address = "127.0.0.1:${ports[0]}", http = (), service = "test"),
    (name = "readme", address = "127.0.0.1:${ports[1]}", http = (), service = "readme"),
  ],
);
`;
}

let server;
let port;
let readmePort;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-workerd-'));
  [port, readmePort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'config.capnp'), config(dir, [port, readmePort]));
  server = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => (log += chunk));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`workerd did not start: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});

after(() => server?.kill());

const ask = async (code) => (await fetch(`http://127.0.0.1:${port}/?code=${encodeURIComponent(code)}`)).json();

test('a worker in workerd answers requests with what its Lua computes', async () => {
  assert.deepEqual(await ask('return 6 * 7, _VERSION'), { values: [42, 'Lua 5.4'] });
  assert.deepEqual(await ask('_home.n = (_home.n or 0) + 1 return _home.n'), { values: 1 });
  assert.deepEqual(await ask('_home.n = _home.n + 1 return _home.n, #string.rep("x", 1000)'), { values: [2, 1000] });
  const failed = await ask('error("nope")');
  assert.match(failed.error, /nope/);
  assert.deepEqual(await ask('return _home.n'), { values: 2 }, 'the unit serves on after an error');
});

test("the README's worker runs as written", async () => {
  const answer = await fetch(`http://127.0.0.1:${readmePort}/`);
  assert.deepEqual(await answer.json(), { values: 42 });
});
