// The store checks of test/store-checks.js on the memory and SQLite stores, and SQLite's own:
// one file shared by two stores (as by two processes) keeps its promises.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { MemoryStore, SqliteStore } from '../../src/node/index.js';
import { runChecks } from '../store-checks.js';

const sqlitePath = () => join(mkdtempSync(join(tmpdir(), 'cu-store-')), 'home.sqlite');

test('the memory store keeps every promise', async () => {
  assert.deepEqual(await runChecks(new MemoryStore(), 'memory'), []);
});

test('the SQLite store keeps every promise', async () => {
  assert.deepEqual(await runChecks(new SqliteStore(sqlitePath()), 'sqlite'), []);
});

test('two SQLite stores on one file see each other and conflict', () => {
  const path = sqlitePath();
  const [a, b] = [new SqliteStore(path), new SqliteStore(path)];
  const key = new Uint8Array([1]);
  a.commit('home', [{ tag: 'set', key, value: new Uint8Array([1]) }], []);
  assert.deepEqual(b.getMany('home', [key]), [new Uint8Array([1])]);
  b.commit('home', [{ tag: 'set', key, value: new Uint8Array([2]) }], [{ key, value: new Uint8Array([1]) }]);
  assert.throws(
    () => a.commit('home', [{ tag: 'set', key, value: new Uint8Array([3]) }], [{ key, value: new Uint8Array([1]) }]),
    (error) => error.payload?.tag === 'conflict',
  );
  assert.deepEqual(a.getMany('home', [key]), [new Uint8Array([2])]);
});
