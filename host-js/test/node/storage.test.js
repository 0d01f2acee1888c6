// The storage API (seed 004) in Node: the seed's examples as written, then what the seed leaves
// open — argument shapes, RegExp patterns, errors — all through the component.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Cu, CuError, LuaWASM, SchemaError } from '../../src/node/index.js';
import { luaPattern } from '../../src/common/pattern.js';
import { checkQueries } from '../query-reference.js';
import { checkSeed004, runSeed004 } from '../seed004.js';

async function unit(options = {}) {
  const cu = new Cu({ store: 'memory', ...options });
  await cu.load();
  return cu;
}

test("seed 004's Quick Start, Batch Operations, Advanced Querying, Data Analysis and Security run as written", async () => {
  checkSeed004(await runSeed004(LuaWASM), assert);
});

test('createIndex and queryTable take the table either way, and several conditions', async () => {
  const cu = await unit();
  await cu.batchTableOperations([
    { type: 'set', table: 'org.people', key: 'ann', value: { age: 31, address: { city: 'Oslo' } } },
    { type: 'set', table: 'org.people', key: 'bob', value: { age: 17, address: { city: 'Oslo' } } },
    { type: 'set', table: 'org.people', key: 'cy', value: { age: 45, address: { city: 'Rome' } } },
  ]);
  assert.deepEqual(await cu.createIndex('org.people', 'address.city', 'hash'), { table: 'org.people', field: 'address.city', type: 'hash' });
  assert.deepEqual(await cu.createIndex({ table: 'org.people', field: 'age' }), { table: 'org.people', field: 'age', type: 'btree' });
  const hits = await cu.queryTable('org.people', {
    where: [
      { field: 'address.city', operator: '=', value: 'Oslo' },
      { field: 'age', operator: '>=', value: 18 },
    ],
  });
  assert.deepEqual(hits, [{ key: 'ann', value: { age: 31, address: { city: 'Oslo' } } }]);
  const [, query] = cu.homeBatch([
    { type: 'delete', path: 'org.people.ann' },
    { type: 'query', table: 'org.people', query: { field: 'address.city', operator: 'startsWith', value: 'O' } },
  ]);
  assert.deepEqual(query.map((hit) => hit.key), ['bob'], 'a query in a batch sees the writes before it');
  assert.equal(await cu.dropIndex('org.people', 'age'), true);
  assert.deepEqual(cu.listIndexes(), [{ table: 'org.people', field: 'address.city', type: 'hash' }]);
  await assert.rejects(cu.queryTable('Memory', { table: 'org.people', field: 'age', operator: 'like', value: 1 }), /unknown operator 'like'/);
  await assert.rejects(cu.queryTable('Memory', { table: 'nobody', field: 'age', operator: '=', value: 1 }), /_home.nobody does not exist/);
  await assert.rejects(cu.createIndex('Memory', 'people'), /names no field/);
  await assert.rejects(cu.createIndex('org.people', 'age', 'skiplist'), CuError);
  assert.equal(await cu.compute('return 1'), 1, 'the unit goes on');
});

test('a RegExp in a schema becomes a Lua pattern, or is refused naming what Lua lacks', async () => {
  assert.equal(luaPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/), '^[^%s@]+@[^%s@]+%.[^%s@]+$');
  assert.equal(luaPattern(/^\d{3}-\d{2,4}$/), '^%d%d%d%-%d%d%d?%d?$');
  assert.equal(luaPattern(/a.*?b\w+/), 'a.-b[%w_]+');
  assert.equal(luaPattern(/100% [\]\-]/), '100%% [%]%-]');
  assert.throws(() => luaPattern(/(cat|dog)/), /groups/);
  assert.throws(() => luaPattern(/cat|dog/), /alternation/);
  assert.throws(() => luaPattern(/abc/i), /the flag i/);
  const cu = await unit();
  await cu.setSchema('users', { email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/ }, age: { type: 'integer' } });
  assert.deepEqual(cu.getSchema('users'), { email: { type: 'string', pattern: '^[^%s@]+@[^%s@]+%.[^%s@]+$' }, age: { type: 'integer' } });
  cu.homeSet('users.ann', { email: 'ann@example.com', age: 3 });
  const refused = await cu.compute("_home.users.bob = { email = 'nope' }").catch((e) => e);
  assert.ok(refused instanceof SchemaError, String(refused));
  assert.equal(refused.rule, 'pattern');
  assert.equal(refused.path, '_home.users.bob.email');
  assert.equal(cu.homeGet('users.bob'), undefined, 'nothing was written');
  await assert.rejects(cu.setSchema('users', { email: { pattern: /(a)/ } }), /groups/);
  await assert.rejects(cu.setSchema('users', { email: { size: 3 } }), /unknown rule 'size'/);
  await cu.setSchema('users', null);
  assert.equal(cu.getSchema('users'), undefined);
});

test('functions, validation and the audit log with a label', async () => {
  const cu = await unit({ auditLabel: 'tester' });
  await cu.enableAuditLog(['persistFunction', 'set']);
  assert.equal(await cu.persistFunction('lib', 'square', 'function(x) return x * x end'), true);
  assert.equal(await cu.compute('return _home.lib.square(7)'), 49);
  await assert.rejects(cu.persistFunction('Memory', 'bad', 'function(x) return x +'), /bad:1: unexpected symbol near <eof>/);
  assert.deepEqual(await cu.validateFunction('function(x) return x +'), { isValid: false, error: 'code:1: unexpected symbol near <eof>', line: 1 });
  cu.homeSet('n', 1);
  cu.setAuditLabel(undefined);
  cu.homeSet('n', 2);
  const log = cu.getAuditLog({ since: Date.now() - 60_000 });
  assert.deepEqual(log.map(({ operation, targets, label }) => ({ operation, targets, label })), [
    { operation: 'enableAuditLog', targets: ['persistFunction', 'set'], label: 'tester' },
    { operation: 'persistFunction', targets: ['_home.lib'], label: 'tester' },
    { operation: 'set', targets: ['_home.n'], label: 'tester' },
    { operation: 'set', targets: ['_home.n'], label: undefined },
  ]);
  assert.ok(log.every((entry) => entry.time instanceof Date));
  assert.deepEqual(cu.getAuditLog({ until: 0 }), []);
});

test('every operator matches a brute-force reference on random records, with and without indexes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-queries-'));
  for (const store of ['memory', `sqlite:${join(dir, 'home.sqlite')}`]) {
    const cu = new Cu({ store });
    await cu.load();
    const { ran, mismatches, problems } = await checkQueries(cu);
    assert.equal(ran, 240, store);
    assert.deepEqual(mismatches, [], store);
    assert.deepEqual(problems, [], store);
  }
});
