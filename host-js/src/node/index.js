// cu for Node: the component's files are read from generated/, `_home` is kept in
// `.cu/home.sqlite` under the current directory (the file the `cu` CLI uses there), unless a
// store is given or `CU_STORE` names another (`memory`, `sqlite:PATH`), and `print` writes to
// standard output.

import { Cu as CommonCu, ioWrapperOver, luaWasm } from '../common/cu.js';
import { MemoryStore } from '../common/memory-store.js';
import { readFileSync } from './builtins.js';
import { defaultCacheDir, importGlue } from './glue.js';
import { nodeModules } from './module-files.js';
import { SqliteStore } from './sqlite-store.js';

/** Node releases that run WebAssembly exception handling (exnref) without a flag. */
const SUPPORTED = '^22.19.0 || >=24.15.0';

/** Fails, saying which Node cu needs, unless `version` (`24.21.0`) is one that runs it. */
export function checkNode(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  if ((major === 22 && minor >= 19) || (major === 24 && minor >= 15) || major >= 25) return;
  throw new Error(`cu needs Node ${SUPPORTED} (WebAssembly exception handling); this is Node ${version}`);
}

const platform = {
  // Read at once, not with `readFile`, whose steps each wait for the main thread, busy then with
  // jco's glue: the sooner a module is read, the sooner V8 compiles it beside the glue's work.
  fetchBytes: (name, wasmUrl) => readFileSync(new URL(name, wasmUrl ?? new URL('../../generated/', import.meta.url))),
  defaultPrint: (text) => process.stdout.write(text),
  stores: {
    // As the CLI: state survives a restart unless asked otherwise.
    default: process.env.CU_STORE ?? 'sqlite:.cu/home.sqlite',
    memory: () => new MemoryStore(),
    sqlite: (path) => new SqliteStore(path),
  },
  modules: nodeModules,
  importGlue: ({ cacheDir = defaultCacheDir() }) => importGlue(cacheDir),
  makeWorker,
};

/**
 * A worker_threads Worker running worker.js, with a Web Worker's message interface. The module is
 * loaded only for a unit with `worker: true`: importing it costs every start-up some 2 ms.
 */
function makeWorker() {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  worker.unref();
  return {
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    set onmessage(listener) {
      worker.on('message', (data) => listener({ data }));
    },
  };
}

/**
 * One unit: a Lua state with its limits, `_io` and `_home`. `options.store` is `"sqlite:PATH"` (a
 * file, shared with other processes and with the `cu` CLI; the default is
 * `sqlite:.cu/home.sqlite`, made when `_home` is first used, or what `CU_STORE` names),
 * `"memory"` (gone with the process) or a store object.
 */
export class Cu extends CommonCu {
  constructor(options = {}) {
    checkNode();
    super(options, platform);
  }
}

/** Seed 004's entry point: `const lua = await LuaWASM.init(options)`, a loaded unit. */
export const LuaWASM = luaWasm(Cu);

export * from '../common/errors.js';
export { MemoryStore } from '../common/memory-store.js';
export { float, luaText } from '../common/values.js';
export { SqliteStore };

/** The default unit, as in the seeds: `await cu.load(); cu.init(); await cu.compute('return 1')`. */
const cu = new Cu();
export default cu;

/** The seeds' `IoWrapper`: `_io` round trips over a unit, the default one unless given one. */
export const IoWrapper = ioWrapperOver(cu);

