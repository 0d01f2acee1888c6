// cu for browsers: the component's files are fetched next to this module (or from `wasmUrl`),
// `_home` is kept in
// IndexedDB (the database "cu" of the page's origin) unless a store is given, and `print` writes
// to the console.

import { Cu as CommonCu, ioWrapperOver, luaWasm } from '../common/cu.js';
import { MemoryStore } from '../common/memory-store.js';
import { DurableObjectStore } from './durable-object-store.js';
import { IndexedDbStore } from './indexeddb-store.js';
import { browserModules, prefetch } from './module-files.js';

/**
 * The component's core modules, each written out as `new URL('…', import.meta.url)`: the form
 * Vite and webpack 5 find and copy into a build (test/node/files.test.js checks that the list is
 * jco's output). Made only when fetched: in workerd, where a module's URL is no URL, units are
 * given the modules compiled (`wasmModules`).
 */
const files = () => ({
  'guest.core.wasm': new URL('../../generated/guest.core.wasm', import.meta.url),
  'guest.core2.wasm': new URL('../../generated/guest.core2.wasm', import.meta.url),
  'guest.core3.wasm': new URL('../../generated/guest.core3.wasm', import.meta.url),
});

/** One core module, from `wasmUrl` (a directory holding generated/'s files) when one is given. */
async function fetchBytes(name, wasmUrl) {
  const url = wasmUrl === undefined ? files()[name] : new URL(name, new URL(`${wasmUrl}`.replace(/\/?$/, '/'), globalThis.location?.href));
  if (url === undefined) throw new Error(`cu does not know the file ${name} of its component`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cu could not fetch ${response.url}: ${response.status} ${response.statusText}`);
  const bytes = await response.arrayBuffer();
  if (!WebAssembly.validate(bytes)) {
    throw new Error(
      `cu cannot compile ${name}: this browser lacks WebAssembly exception handling (exnref: Chrome 137+, ` +
        'Firefox 131+, Safari 18.4+), or the file is damaged',
    );
  }
  return bytes;
}

const platform = {
  fetchBytes,
  defaultPrint: (text) => console.log(text.endsWith('\n') ? text.slice(0, -1) : text),
  stores: {
    default: 'indexeddb',
    memory: () => new MemoryStore(),
    indexeddb: (name) => new IndexedDbStore(name),
  },
  modules: browserModules,
  prefetch,
  makeWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
};

/**
 * One unit: a Lua state with its limits, `_io` and `_home`. `options.store` is `"indexeddb"` (the
 * default: state survives reloads), `"indexeddb:NAME"` (another database), `"memory"` or a store
 * object.
 */
export class Cu extends CommonCu {
  constructor(options = {}) {
    super(options, platform);
  }
}

/** Seed 004's entry point: `const lua = await LuaWASM.init(options)`, a loaded unit. */
export const LuaWASM = luaWasm(Cu);

export * from '../common/errors.js';
export { MemoryStore } from '../common/memory-store.js';
export { float, luaText } from '../common/values.js';
export { DurableObjectStore, IndexedDbStore };

/** The default unit, as in the seeds: `await cu.load(); cu.init(); await cu.compute('return 1')`. */
const cu = new Cu();
export default cu;

/** The seeds' `IoWrapper`: `_io` round trips over a unit, the default one unless given one. */
export const IoWrapper = ioWrapperOver(cu);

