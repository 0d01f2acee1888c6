// The README's storage API example (test/node/examples.test.js runs it): `node examples/storage.js`.
import { LuaWASM } from 'cu';

const lua = await LuaWASM.init();
await lua.batchTableOperations([{ type: 'set', table: 'users', key: 'user1', value: { name: 'Alice', age: 30 } }]);
await lua.createIndex('Memory', 'users.age', 'btree'); // or createIndex('users', 'age')
const adults = await lua.queryTable('Memory', { table: 'users', field: 'age', operator: '>=', value: 18, sort: 'desc' });
console.log(adults); // [ { key: 'user1', value: { age: 30, name: 'Alice' } } ]
await lua.persistFunction('Memory', 'fibonacci', 'function(n) if n <= 1 then return n end return fibonacci(n - 1) + fibonacci(n - 2) end');
console.log(lua.eval('return Memory.fibonacci(10)')); // 55
await lua.setSchema('users', { age: { type: 'number', min: 0, max: 150 }, email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+$/ } });
lua.enableAuditLog(['persistFunction', 'batchTableOperations']);
