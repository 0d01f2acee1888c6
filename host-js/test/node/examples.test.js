// The README's Node quick start, run as written, twice: _home carries on in its SQLite file.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/quickstart.js', import.meta.url));

test('the Node quick start runs as written and is the one in the README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const body = readFileSync(example, 'utf8').split('\n').slice(1).join('\n');
  assert.ok(readme.includes(body), 'README.md holds examples/quickstart.js (after its first line)');
  const dir = mkdtempSync(join(tmpdir(), 'cu-quickstart-'));
  const run = () => execFileSync(process.execPath, [example], { cwd: dir, encoding: 'utf8' });
  assert.equal(run(), '4\n1\n{ average: 30, sum: 150 }\n');
  assert.equal(run(), '4\n2\n{ average: 30, sum: 150 }\n');
});

test('the storage API example runs as written and is the one in the README', () => {
  const storage = fileURLToPath(new URL('../../examples/storage.js', import.meta.url));
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const body = readFileSync(storage, 'utf8').split('\n').slice(1).join('\n');
  assert.ok(readme.includes(body), 'README.md holds examples/storage.js (after its first line)');
  const out = execFileSync(process.execPath, [storage], { cwd: mkdtempSync(join(tmpdir(), 'cu-storage-')), encoding: 'utf8' });
  assert.equal(out, "[ { key: 'user1', value: { age: 30, name: 'Alice' } } ]\n55\n");
});

test('the modules example runs as written and is the one in the README', () => {
  const modules = fileURLToPath(new URL('../../examples/modules.js', import.meta.url));
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const body = readFileSync(modules, 'utf8').split('\n').slice(1).join('\n');
  assert.ok(readme.includes(body), 'README.md holds examples/modules.js (after its first line)');
  const out = execFileSync(process.execPath, [modules], { cwd: mkdtempSync(join(tmpdir(), 'cu-modules-')), encoding: 'utf8' });
  assert.equal(out, "[ 'hi Ada', 49 ]\n");
});
