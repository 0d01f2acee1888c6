// cu for browsers: the component's files are fetched next to this module, `_home` is kept in
// IndexedDB (the database "cu" of the page's origin) unless a store is given, and `print` writes
// to the console.

import { Cu as CommonCu, IoWrapper as CommonIoWrapper, luaWasm } from '../common/cu.js';
import { MemoryStore } from '../common/memory-store.js';
import { IndexedDbStore } from './indexeddb-store.js';
import { browserModules, prefetch } from './module-files.js';

async function fetchBytes(name) {
  const response = await fetch(new URL(`../../generated/${name}`, import.meta.url));
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
export { IndexedDbStore };

/** The default unit, as in the seeds: `await cu.load(); cu.init(); await cu.compute('return 1')`. */
const cu = new Cu();
export default cu;

/** The seeds' `IoWrapper`: `_io` round trips over a unit, the default one unless given one. */
export class IoWrapper extends CommonIoWrapper {
  constructor(unit = cu) {
    super(unit);
  }
}
