// Compiled (not run) by test/node/types.test.js: the README's uses of the API type-check
// against index.d.ts.
import cu, { Cu, IoWrapper, LimitError, float, type WorkerCu } from 'cu';

await cu.load();
cu.init();
const one = await cu.compute('return 1');
const unit = new Cu({ store: 'memory', timeLimit: 100, print: (text: string) => text.length });
const texts: string[] = unit.computeAll('return 1', { text: true }).values;
const io = new IoWrapper(unit);
const outputs = await io.processStream('x', [1, 2], { batchSize: 1, onProgress: (p) => p.items });
try {
  await unit.compute('while true do end');
} catch (error) {
  if (error instanceof LimitError) {
    const kind: 'time' | 'memory' | 'instructions' = error.limit;
    console.log(kind);
  }
}
unit.setInput({ a: float(1), b: [1n, 'x', new Uint8Array(1)], c: new Map([[1, true]]) });
console.log(one, texts, outputs, unit.homeKeys('users').map(({ kind }) => kind), await unit.saveState('s'));

// Seed 004's storage API.
import { LuaWASM, SchemaError } from 'cu';
const lua = await LuaWASM.init();
const four = lua.eval('return 2 + 2');
await lua.persistFunction('Memory', 'fibonacci', 'function(n) return n end');
await lua.batchTableOperations([{ type: 'set', table: 'users', key: 'user1', value: { name: 'Alice' } }]);
const index = await lua.createIndex('Memory', 'appUsers.score', 'btree');
const hits = await lua.queryTable('Memory', { table: 'appUsers', field: 'score', operator: '>=', value: 800, limit: 10, sort: 'desc' });
const { isValid } = await lua.validateFunction('function() end');
await lua.setSchema('users', { email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+$/ } });
lua.enableAuditLog(['persistFunction', 'batchTableOperations']);
const times = lua.getAuditLog({ since: new Date(0) }).map((entry) => entry.time.getTime());
try {
  await lua.batchTableOperations([{ type: 'set', table: 'users', key: 'x', value: { email: 'no' } }]);
} catch (error) {
  if (error instanceof SchemaError) console.log(error.path, error.rule);
}
console.log(four, index.type, hits.map((hit) => hit.key), isValid, times);

// Many small units, sharing instances; the glue's code cache kept elsewhere, or not at all.
const light = new Cu({ store: 'memory', isolation: 'shared', cacheDir: '/tmp/cu-cache' });
new Cu({ cacheDir: false });
await light.load();
console.log(await light.compute('return 1'));

// A unit in a Worker: every method returns a promise.
const worker = new Cu({ worker: true, store: 'memory', timeLimit: 200 }) as unknown as WorkerCu;
await worker.load();
const workerTexts: string[] = (await worker.computeAll('return 1', { text: true })).values;
const workerOutput = await worker.getOutput();
console.log(workerTexts, workerOutput);

// Cloudflare Workers: `_home` in a Durable Object's SQLite storage.
import { DurableObjectStore } from 'cu';
declare const storage: { sql: { exec(query: string, ...bindings: unknown[]): { toArray(): object[] } }; transactionSync<T>(body: () => T): T };
const objectUnit = new Cu({ store: new DurableObjectStore(storage), wasmModules: {} });
console.log(await objectUnit.load());
