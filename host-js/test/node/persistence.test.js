// _home in a SQLite file across separate Node processes, and shared with the Rust host's `cu`:
// data and a closure stored by one process are there, and keep working, in the next.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/node/index.js', import.meta.url));
// Built by `cargo xtask build` with the package.
const cuBinary = fileURLToPath(new URL('../../../target/release/cu', import.meta.url));

/** Runs `code` in a new Node process on the SQLite file `path`; returns what it printed. */
function inNewProcess(path, code) {
  const script = `
    import { Cu } from ${JSON.stringify(entry)};
    const cu = new Cu({ store: ${JSON.stringify(`sqlite:${path}`)} });
    await cu.load();
    const value = await cu.compute(${JSON.stringify(code)});
    process.stdout.write(JSON.stringify(value ?? null));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

test('data and closures persist across Node processes', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'cu-node-')), 'home.sqlite');
  inNewProcess(path, `
    _home.users = { alice = { name = "Alice", age = 30 } }
    local count = 0
    function _home.counter() count = count + 1 return count end
    local config = _home.users
    function _home.describe(id) return config[id].name .. " is " .. config[id].age end`);
  assert.equal(inNewProcess(path, 'return _home.counter()'), 1);
  assert.equal(inNewProcess(path, 'return _home.counter()'), 2);
  assert.equal(inNewProcess(path, 'return _home.describe("alice")'), 'Alice is 30');
  assert.deepEqual(inNewProcess(path, 'return _home.users'), { alice: { name: 'Alice', age: 30 } });
});

test('Node and the Rust CLI share one SQLite file', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'cu-node-')), 'home.sqlite');
  const cu = (code) => execFileSync(cuBinary, ['--store', `sqlite:${path}`, 'eval', code], { encoding: 'utf8' });
  cu('local n = 10 function _home.next() n = n + 1 return n end _home.from = "cli"');
  assert.deepEqual(inNewProcess(path, 'return {_home.next(), _home.from}'), [11, 'cli']);
  inNewProcess(path, '_home.from = "node"');
  assert.equal(cu('return _home.next(), _home.from'), '12\n"node"\n');
});

test("the default unit keeps _home in .cu/home.sqlite, as the CLI does: the seed's saveState and loadState across processes", () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-default-'));
  const env = { ...process.env };
  delete env.CU_STORE;
  const run = (body) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', `import cu from ${JSON.stringify(entry)};\nawait cu.load();\n${body}`], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
  assert.equal(run("await cu.compute('_home.visits = 41'); console.log(await cu.saveState());"), 'true\n');
  assert.equal(run("console.log(await cu.loadState()); console.log(await cu.compute('_home.visits = _home.visits + 1 return _home.visits'));"), 'true\n42\n');
  // The file is the CLI's: `cu` in the same directory reads what Node wrote.
  assert.equal(execFileSync(cuBinary, ['eval', 'return _home.visits'], { cwd: dir, env, encoding: 'utf8' }), '42\n');
  // CU_STORE=memory keeps nothing.
  const memory = (body) => execFileSync(process.execPath, ['--input-type=module', '-e', `import cu from ${JSON.stringify(entry)};\nawait cu.load();\n${body}`], {
    cwd: dir,
    env: { ...env, CU_STORE: 'memory' },
    encoding: 'utf8',
  });
  assert.equal(memory("console.log(await cu.compute('return _home.visits'))"), 'undefined\n');
});
