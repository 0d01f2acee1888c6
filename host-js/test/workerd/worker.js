// A Cloudflare-style worker on the package's browser entry, run by workerd (workerd.test.js): the
// component's core modules are imported as compiled modules, as workerd compiles no WebAssembly
// at run time, and each request's `?code=` is computed in a unit whose `_home` is in memory.
import { Cu } from '../../src/browser/index.js';
import core from '../../generated/guest.core.wasm';
import core2 from '../../generated/guest.core2.wasm';
import core3 from '../../generated/guest.core3.wasm';

const wasmModules = { 'guest.core.wasm': core, 'guest.core2.wasm': core2, 'guest.core3.wasm': core3 };
let unit;

export default {
  async fetch(request) {
    unit ??= await new Cu({ store: 'memory', wasmModules, print: () => {} }).load();
    const code = new URL(request.url).searchParams.get('code') ?? 'return _VERSION';
    try {
      return Response.json({ values: await unit.compute(code) });
    } catch (error) {
      return Response.json({ error: `${error.name}: ${error.message}` }, { status: 500 });
    }
  },
};
