// The code cache of jco's glue in Node (src/node/glue.js): written by a process's first start,
// taken by the next, written again when V8 rejects it, and never in the way of a unit.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Cu } from '../../src/node/index.js';

const entry = fileURLToPath(new URL('../../src/node/index.js', import.meta.url));
const glue = readFileSync(new URL('../../generated/guest.js', import.meta.url), 'utf8');

/**
 * Runs `return 6 * 7` in a new Node process whose cache directory is `cacheDir`, with `options`
 * for the unit; returns what it printed.
 */
function start(cacheDir, options = {}, nodeFlags = []) {
  const env = { ...process.env, CU_STORE: 'memory', CU_CACHE_DIR: cacheDir };
  const script = `
    import { Cu } from ${JSON.stringify(entry)};
    const cu = new Cu(${JSON.stringify(options)});
    await cu.load();
    process.stdout.write(JSON.stringify(await cu.compute('return 6 * 7')));`;
  return execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { env, encoding: 'utf8' });
}

/** Whether `bytes` are a cache file: the CRC-32 of what follows, then a cache of the glue's size. */
const whole = (bytes) => bytes.length > 100_000 && bytes.readUInt32LE(0) === crc32(bytes.subarray(4));

/** The directory's files, by name. */
const files = (dir) => readdirSync(dir).sort();

test('the glue is headed by the sha256 of the rest of its text, which names its cache', () => {
  const [, stamp, rest] = /^\/\/ cu glue sha256:(\w+)\n([^]*)$/.exec(glue);
  assert.equal(stamp, createHash('sha256').update(rest).digest('hex'));
});

test('the first start writes the cache, and the next takes it without writing it again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  assert.equal(start(dir), '42');
  const name = `glue-${/sha256:(\w{32})/.exec(glue)[1]}.v8`;
  assert.deepEqual(files(dir), [name]);
  assert.ok(whole(readFileSync(join(dir, name))));
  const written = statSync(join(dir, name), { bigint: true });
  assert.equal(written.mode & 0o777n, 0o600n);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(start(dir), '42');
  // Written only when missing or rejected (to a new file, renamed over the old): the same file,
  // untouched, was taken.
  const after = statSync(join(dir, name), { bigint: true });
  assert.deepEqual([after.ino, after.mtimeNs], [written.ino, written.mtimeNs], 'the cache was written again');
  assert.deepEqual(files(dir), [name]);
});

test('a process that runs on writes the cache without exiting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  const script = `
    import { Cu } from ${JSON.stringify(entry)};
    const cu = new Cu({ store: 'memory' });
    await cu.load();
    await cu.compute('return 1');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, CU_CACHE_DIR: dir } });
  try {
    // Written to a temporary file, then renamed: the cache is whole once it has its name.
    const cache = () => files(dir).find((name) => name.endsWith('.v8'));
    for (let waited = 0; cache() === undefined; waited += 100) {
      assert.ok(waited < 20_000, 'no cache after 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(child.exitCode, null, 'the process ended');
  } finally {
    child.kill('SIGKILL');
  }
  const [name] = files(dir);
  assert.match(name, /^glue-\w{32}\.v8$/);
  assert.ok(whole(readFileSync(join(dir, name))));
});

test('a corrupt cache is not used: the unit runs, and the cache is written again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  start(dir);
  const [name] = files(dir);
  const good = readFileSync(join(dir, name));
  // Bytes changed inside the cache (V8 itself would read them and abort), in its header, and
  // a cache cut short, emptied or replaced.
  const flipped = (from) => Buffer.from(good.map((byte, i) => (i >= from && i % 997 === 3 ? byte ^ 0x5a : byte)));
  for (const bytes of [flipped(200), flipped(0), good.subarray(0, 1000), Buffer.alloc(0), Buffer.from('not a cache')]) {
    writeFileSync(join(dir, name), bytes);
    assert.equal(start(dir), '42');
    assert.ok(whole(readFileSync(join(dir, name))), 'the cache was written again');
  }
});

test('a cache that V8 rejects, made with other flags, is written again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  start(dir);
  const [name] = files(dir);
  const before = statSync(join(dir, name), { bigint: true });
  assert.equal(start(dir, {}, ['--no-opt']), '42');
  const after = statSync(join(dir, name), { bigint: true });
  assert.notEqual(after.ino, before.ino, 'the rejected cache was kept');
  assert.equal(start(dir), '42');
});

test('cacheDir: false keeps no cache; a directory that cannot be written costs nothing but speed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  assert.equal(start(dir, { cacheDir: false }), '42');
  assert.deepEqual(files(dir), []);
  const other = mkdtempSync(join(tmpdir(), 'cu-glue-cache-'));
  assert.equal(start(dir, { cacheDir: other }), '42');
  assert.deepEqual(files(dir), []);
  assert.equal(files(other).length, 1);
  // A file where the directory should be: nothing can be written under it.
  assert.equal(start(join(other, files(other)[0], 'cu')), '42');
});

test('cacheDir of another type is refused when the unit is made', () => {
  for (const wrong of [true, 0, '', {}]) {
    assert.throws(() => new Cu({ cacheDir: wrong }), /cacheDir must be a directory's path or false, not /);
  }
});
