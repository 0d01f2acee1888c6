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

/** Runs examples/`name` in a new directory after checking README.md holds it; returns its output. */
function runAsWritten(name) {
  const file = fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const body = readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
  assert.ok(readme.includes(body), `README.md holds examples/${name} (after its first line)`);
  return execFileSync(process.execPath, [file], { cwd: mkdtempSync(join(tmpdir(), 'cu-example-')), encoding: 'utf8' });
}

test('the storage API example runs as written and is the one in the README', () => {
  assert.equal(runAsWritten('storage.js'), "[ { key: 'user1', value: { age: 30, name: 'Alice' } } ]\n55\n");
});

test('the modules example runs as written and is the one in the README', () => {
  assert.equal(runAsWritten('modules.js'), "[ 'hi Ada', 49 ]\n");
});

test('the many-units example runs as written and is the one in the README', () => {
  assert.equal(runAsWritten('many-units.js'), 'player 42\n');
});
