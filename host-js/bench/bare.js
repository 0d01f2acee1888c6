// What a unit would cost with no glue at all, for run.js: the component's main core module
// (generated/guest.core.wasm) instantiated with stub imports, a unit made and code run by calling
// its core exports as the canonical ABI lays them out. Nothing else works in it (no store, no
// output, no results read back), so it only measures: what jco's glue adds to a cold start and to
// each unit, and what an instance per unit costs however lean its glue.

import { readFile } from 'node:fs/promises';

const COMPUTE = 'cu:unit/compute@0.2.0#';
const encoder = new TextEncoder();
let compiling;

/** A new instance of the core module with a fresh unit in it (the module compiled once). */
export async function bareUnit() {
  compiling ??= readFile(new URL('../generated/guest.core.wasm', import.meta.url)).then((bytes) => WebAssembly.compile(bytes));
  const module = await compiling;
  let exports;
  let rep;
  const view = () => new DataView(exports.memory.buffer);
  const stubs = {
    'insecure-seed': (at) => {
      view().setBigUint64(at, BigInt(Math.floor(Math.random() * 2 ** 52)), true);
      view().setBigUint64(at + 8, BigInt(Math.floor(Math.random() * 2 ** 52)), true);
    },
    '[resource-new]unit': (made) => {
      rep = made;
      return 1;
    },
    'monotonic-clock@0.2.0#now': () => process.hrtime.bigint(),
    'wall-clock@0.2.0#now': (at) => view().setBigUint64(at, BigInt(Math.floor(Date.now() / 1000)), true),
  };
  const imports = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    const stub = stubs[name] ?? stubs[`${from.split('/').pop()}#${name}`] ?? (() => 0);
    (imports[from] ??= {})[name] = stub;
  }
  exports = new WebAssembly.Instance(module, imports).exports;
  const bytes = (text) => {
    const encoded = encoder.encode(text);
    const at = exports.cabi_realloc(0, 0, 1, encoded.length);
    new Uint8Array(exports.memory.buffer, at, encoded.length).set(encoded);
    return [at, encoded.length];
  };
  // options: memory limit, time limit, print mode, home, retry conflicts, instruction limit, allow.
  exports[`${COMPUTE}[constructor]unit`](256n << 20n, 5000n, 0, ...bytes('home'), 1, 0n, 0);
  return {
    /** Runs `code`; whether the component answered ok. */
    compute(code) {
      const result = exports[`${COMPUTE}[method]unit.compute`](rep, ...bytes(code), 0, 0, 0);
      const ok = view().getUint8(result) === 0;
      exports[`cabi_post_${COMPUTE}[method]unit.compute`](result);
      return ok;
    },
  };
}
