// The package as npm publishes it: `npm pack` makes a tarball that installs into an empty project
// and runs the Node quick start there, with nothing but the tarball.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));

test('npm pack makes a tarball that installs into an empty project and runs the quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-pack-'));
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir, encoding: 'utf8' }));
  const names = packed.files.map((file) => file.path);
  for (const needed of ['generated/node/index.js', 'generated/node/worker.js', 'src/browser/index.js', 'generated/guest.js', 'generated/guest.core.wasm', 'index.d.ts']) {
    assert.ok(names.includes(needed), `the tarball lacks ${needed}`);
  }
  assert.ok(!names.some((name) => name.startsWith('test/') || name.startsWith('node_modules/')), 'the tarball holds tests or dependencies');

  const project = join(dir, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', join(dir, packed.filename)], { cwd: project, encoding: 'utf8' });
  copyFileSync(fileURLToPath(new URL('../../examples/quickstart.js', import.meta.url)), join(project, 'quickstart.js'));
  const env = { ...process.env };
  delete env.CU_STORE;
  const run = () => execFileSync(process.execPath, ['quickstart.js'], { cwd: project, env, encoding: 'utf8' });
  assert.equal(run(), '4\n1\n{ average: 30, sum: 150 }\n');
  assert.equal(run(), '4\n2\n{ average: 30, sum: 150 }\n');
});
