// The README's modules example (test/node/examples.test.js runs it in an empty directory).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Cu } from 'cu';

mkdirSync('lib', { recursive: true });
writeFileSync('lib/shapes.lua', 'return { square = function(n) return n * n end }');

const lua = new Cu({ modulePath: 'lib' }); // browsers: new Cu({ moduleBaseUrl: '/lua/' })
await lua.load();
lua.addModule('greet', 'return function(name) return "hi " .. name end');
console.log(await lua.compute("return require('greet')('Ada'), require('shapes').square(7)"));
