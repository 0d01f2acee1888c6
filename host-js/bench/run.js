// `npm run bench`, and the last part of `cargo xtask bench`: the Lua programs in bench/programs
// (at the repository's root) run through this package in Node beside wasmoon (Lua 5.4 compiled to
// WebAssembly by emscripten) and fengari (Lua 5.3 written in JavaScript), then the package's
// start-up costs.
//
// Options: `--runs N` (default 7) and program names to run only those. The machine this runs on is
// shared and noisy, so every figure is a median, and the engines take turns within each run so
// that a burst of load hits all of them alike. A figure is one whole program, compiled and run, in
// a fresh Lua state; making the state is not part of it.

import { execFileSync, spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import fengari from 'fengari';
import { LuaFactory } from 'wasmoon';

import { Cu } from '../src/node/index.js';
import { median } from './median.js';

const { lua, lauxlib, lualib, to_luastring } = fengari;

const PROGRAMS = new URL('../../bench/programs/', import.meta.url);
const COLD = fileURLToPath(new URL('./cold.js', import.meta.url));
const UNITS = fileURLToPath(new URL('./units.js', import.meta.url));

/** Live units for the memory figure, as the issue that asked for it counted them. */
const LIVE_UNITS = 200;

/** cu is to be faster than wasmoon on the geometric mean of the programs. */
const TARGET_RATIO = 1.0;

/** Cold starts per engine for each run asked for: a start takes some 50 ms, and varies by 10%. */
const COLD_ROUNDS_PER_RUN = 3;

/** Samples for the microsecond-scale figures, where one run says nothing. */
const SAMPLES = 1000;

// A full collection before each timed run, so that no engine pays for the garbage of the one
// before it (fengari's Lua values are JavaScript objects: it leaves a lot).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

const discard = () => {};
const wasmoon = new LuaFactory();

/**
 * The engines: `open` makes a fresh Lua state, `run` compiles and runs a chunk in it and returns
 * the chunk's first value (the part timed), `close` releases the state.
 */
const ENGINES = [
  {
    name: 'cu',
    async open() {
      // No time limit, as the Rust bench's units have none: wasmoon and fengari have none either.
      const cu = new Cu({ timeLimit: 0, print: discard, store: 'memory' });
      await cu.load();
      cu.init();
      return cu;
    },
    run: (cu, code, chunkName) => cu.computeAll(code, { chunkName }).values[0],
    close: (cu) => cu.close(),
  },
  {
    name: 'wasmoon',
    open: () => wasmoon.createEngine(),
    run: wasmoonRun,
    close: (engine) => engine.global.close(),
  },
  {
    name: 'fengari',
    open: fengariState,
    run: fengariRun,
    close: (L) => lua.lua_close(L),
  },
];

/**
 * The synchronous call, as cu's `computeAll`. (wasmoon's `doString` is also what its users would
 * call, but wasmoon 1.16.0 traps with "memory access out of bounds" after some 60 `doString`
 * calls on one engine: github.com/ceifa/wasmoon/issues/109.)
 */
function wasmoonRun(engine, code) {
  const top = engine.global.getTop();
  const value = engine.doStringSync(code);
  engine.global.setTop(top); // doStringSync leaves the chunk's values on the stack
  return value;
}

function fengariState() {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  // A Lua error outside any pcall reaches fengari's panic function: throw it as JavaScript.
  lua.lua_atpanic(L, (L) => {
    throw new Error(lua.lua_tojsstring(L, -1));
  });
  return L;
}

function fengariRun(L, code, chunkName) {
  if (lauxlib.luaL_loadbuffer(L, to_luastring(code), null, to_luastring(`=${chunkName}`)) !== lua.LUA_OK) {
    throw new Error(lua.lua_tojsstring(L, -1));
  }
  // Unprotected, so that a JavaScript exception inside fengari (a Map grown past V8's limit, say)
  // arrives as itself: lua_pcall reports those as a status with no message. Lua errors arrive
  // through the panic function.
  lua.lua_call(L, 0, 1);
  const value = fengariValue(L);
  lua.lua_pop(L, 1);
  return value;
}

/** The value on top of fengari's stack as JavaScript, as far as a checksum needs. */
function fengariValue(L) {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TNUMBER:
      return lua.lua_isinteger(L, -1) ? lua.lua_tointeger(L, -1) : lua.lua_tonumber(L, -1);
    case lua.LUA_TSTRING:
      return lua.lua_tojsstring(L, -1);
    case lua.LUA_TNIL:
      return undefined;
    default:
      return `a ${lua.lua_typename(L, lua.lua_type(L, -1))}`;
  }
}

/** The option that makes this script run only the start-up and call figures: run.js gives it to itself. */
const STARTUP_ONLY = '--start-up-only';

async function main() {
  if (process.argv[2] === STARTUP_ONLY) {
    await startup(Number(process.argv[3]));
    return workerCosts(Number(process.argv[3]));
  }
  const { runs, only } = parseArgs(process.argv.slice(2));
  await benchmark(readPrograms(only), runs);
  // The start-up and call figures come from a process of their own: in this one, after the
  // programs, a `return 1` measured 7.7 µs rather than 3.8 (V8's feedback and optimized code were
  // then the programs' for the glue and the component's functions alike).
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), STARTUP_ONLY, String(runs)], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error('the start-up figures failed');
  runtimeStarts(runs);
  packageSizes();
}

/**
 * The Node quick start (examples/quickstart.js: load, `return 2 + 2`, a SQLite unit, `_io`) as a
 * new process of each JavaScript runtime the package runs in, the runtimes taking turns.
 */
function runtimeStarts(runs) {
  const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
  const runtimes = { node: [process.execPath], deno: [bin('deno'), 'run', '--allow-all'], bun: [bin('bun')] };
  const example = fileURLToPath(new URL('../examples/quickstart.js', import.meta.url));
  const cwd = mkdtempSync(join(tmpdir(), 'cu-bench-runtimes-'));
  const { CU_STORE, ...env } = process.env;
  const times = Object.fromEntries(Object.keys(runtimes).map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const name of rotate(Object.keys(runtimes), run)) {
      const [program, ...args] = runtimes[name];
      const start = performance.now();
      const child = spawnSync(program, [...args, example], { cwd, env, encoding: 'utf8' });
      const took = performance.now() - start;
      if (child.status !== 0 || !child.stdout.startsWith('4\n')) throw new Error(`the quick start in ${name} failed: ${child.stderr}`);
      times[name].push(took);
    }
  }
  const node = median(times.node);
  console.log(`\n| the Node quick start, a new process (medians of ${runs}) | ms | against Node |`);
  console.log('|---|---:|---:|');
  for (const [name, [program]] of Object.entries(runtimes)) {
    const version = spawnSync(program, ['--version'], { encoding: 'utf8' }).stdout.split(/[\n(]/)[0].trim();
    const ms = median(times[name]);
    console.log(`| ${version.startsWith(name) ? version : `${name} ${version}`} | ${ms.toFixed(1)} | ${(ms / node).toFixed(2)}× |`);
  }
}

/**
 * What `worker: true` adds, beside a direct unit, interleaved: a `return 1` call (SAMPLES of each
 * after warm-up), and a fresh loaded unit (`runs` of each: a Worker compiles the component in its
 * own realm).
 */
async function workerCosts(runs) {
  const direct = new Cu({ store: 'memory', timeLimit: 0, print: discard });
  const worker = new Cu({ store: 'memory', timeLimit: 0, print: discard, worker: true });
  await direct.load();
  await worker.load();
  const call = { direct: [], worker: [] };
  for (let i = 0; i < 100; i++) {
    await direct.compute('return 1');
    await worker.compute('return 1');
  }
  for (let i = 0; i < SAMPLES; i++) {
    for (const [name, unit] of rotate([['direct', direct], ['worker', worker]], i)) {
      const start = performance.now();
      await unit.compute('return 1');
      call[name].push(performance.now() - start);
    }
  }
  worker.close();
  direct.close();
  const fresh = { direct: [], worker: [] };
  for (let run = 0; run < runs; run++) {
    for (const name of rotate(['direct', 'worker'], run)) {
      const start = performance.now();
      const unit = new Cu({ store: 'memory', print: discard, worker: name === 'worker' });
      await unit.load();
      await unit.compute('return 1');
      fresh[name].push(performance.now() - start);
      unit.close();
    }
  }
  const [c, f] = [call, fresh].map((t) => ({ direct: median(t.direct), worker: median(t.worker) }));
  console.log('\n| `worker: true` (medians) | direct | in a Worker | ratio |');
  console.log('|---|---:|---:|---:|');
  console.log(`| \`await unit.compute('return 1')\` (of ${SAMPLES}) | ${(c.direct * 1e3).toFixed(1)} µs | ${(c.worker * 1e3).toFixed(1)} µs | ${(c.worker / c.direct).toFixed(1)}× |`);
  console.log(`| new unit, \`load\`, \`return 1\` (of ${runs}) | ${f.direct.toFixed(1)} ms | ${f.worker.toFixed(1)} ms | ${(f.worker / f.direct).toFixed(1)}× |`);
}

/** The npm tarball of the package beside wasmoon's and fengari's, as `npm pack` makes them. */
function packageSizes() {
  const packed = (dir) => JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: dir, encoding: 'utf8' }))[0];
  const here = new URL('..', import.meta.url);
  const sizes = {
    cu: packed(fileURLToPath(here)),
    wasmoon: packed(fileURLToPath(new URL('node_modules/wasmoon/', here))),
    fengari: packed(fileURLToPath(new URL('node_modules/fengari/', here))),
  };
  const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log('\n| npm package (`npm pack`) | cu | wasmoon | fengari |');
  console.log('|---|---:|---:|---:|');
  console.log(`| tarball | ${Object.values(sizes).map((p) => kb(p.size)).join(' | ')} |`);
  console.log(`| unpacked | ${Object.values(sizes).map((p) => kb(p.unpackedSize)).join(' | ')} |`);
  const wasm = [wasmFiles(new URL('generated/', here)), wasmFiles(new URL('node_modules/wasmoon/dist/', here))];
  const sized = wasm.map((files) => `${kb(sum(files.map((f) => f.length)))} (${kb(sum(files.map((f) => gzipSync(f, { level: 9 }).length)))})`);
  console.log(`| WebAssembly (gzip -9) | ${sized.join(' | ')} | none |`);
  console.log(`\ncu's tarball is ${(sizes.cu.size / sizes.wasmoon.size).toFixed(2)}× wasmoon's.`);
}

/** The contents of the `.wasm` files in the directory `url`. */
function wasmFiles(url) {
  return readdirSync(url)
    .filter((name) => name.endsWith('.wasm'))
    .map((name) => readFileSync(new URL(name, url)));
}

function sum(numbers) {
  return numbers.reduce((a, b) => a + b, 0);
}

function parseArgs(args) {
  let runs = 7;
  const only = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') {
      runs = Number(args[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive number');
    } else if (args[i].startsWith('-')) {
      throw new Error(`unknown option ${args[i]}; use --runs N and program names`);
    } else {
      only.push(args[i]);
    }
  }
  return { runs, only };
}

/** bench/programs/*.lua, sorted by name, or only the named ones. */
function readPrograms(only) {
  const names = readdirSync(PROGRAMS)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => file.slice(0, -'.lua'.length))
    .sort();
  const missing = only.find((name) => !names.includes(name));
  if (missing !== undefined) throw new Error(`there is no ${missing}.lua in ${PROGRAMS.pathname}`);
  const chosen = only.length === 0 ? names : names.filter((name) => only.includes(name));
  if (chosen.length === 0) throw new Error(`there are no programs in ${PROGRAMS.pathname}`);
  return chosen.map((name) => ({
    name,
    chunkName: `${name}.lua`,
    code: readFileSync(new URL(`${name}.lua`, PROGRAMS), 'utf8'),
  }));
}

async function benchmark(programs, runs) {
  console.log(
    `${runs} runs per figure after one untimed run of each engine (which checks the checksums and lets V8 ` +
      `optimise), medians; Node ${process.versions.node}.\n`,
  );
  console.log('| program | cu (ms) | wasmoon (ms) | fengari (ms) | cu/wasmoon |');
  console.log('|---|---:|---:|---:|---:|');
  let logRatios = 0;
  const notes = [];
  for (const program of programs) {
    const { medians, skipped } = await timeProgram(program, runs);
    const ratio = medians.cu / medians.wasmoon;
    logRatios += Math.log(ratio);
    const cells = [medians.cu.toFixed(1), medians.wasmoon.toFixed(1), skipped ? 'n/a' : medians.fengari.toFixed(1)];
    if (skipped) notes.push(`- fengari on ${program.name}: ${skipped}`);
    console.log(`| ${program.name} | ${cells.join(' | ')} | ${ratio.toFixed(2)}× |`);
  }
  const mean = Math.exp(logRatios / programs.length);
  const target = `target < ${TARGET_RATIO.toFixed(1)}×: ${verdict(mean < TARGET_RATIO)}`;
  console.log(`\ngeometric mean of cu/wasmoon: ${mean.toFixed(2)}× (${target})`);
  if (notes.length > 0) {
    console.log(`\nn/a: fengari's integers are 32-bit (math.maxinteger = ${fengariMaxInteger()}): integer arithmetic`);
    console.log("past 2^31 wraps around where Lua 5.4's has 64 bits. The programs are left as they are.");
    console.log(notes.join('\n'));
  }
  console.log();
}

/**
 * Medians in milliseconds of the program in each engine. Every engine must return cu's checksum:
 * a fast wrong answer is no result. fengari is Lua 5.3 in JavaScript, so a program it cannot run
 * or gets wrong is `skipped` (why) rather than a failure.
 */
async function timeProgram(program, runs) {
  const times = Object.fromEntries(ENGINES.map(({ name }) => [name, []]));
  let expected;
  let skipped;
  for (let run = 0; run <= runs; run++) {
    // Run 0 goes in this order, so that cu's checksum is known first; later runs take turns.
    for (const engine of rotate(ENGINES, run)) {
      if (engine.name === 'fengari' && skipped) continue;
      let result;
      try {
        result = await measure(engine, program);
      } catch (error) {
        if (engine.name !== 'fengari') throw new Error(`${program.name} in ${engine.name}: ${error.message}`);
        skipped = `failed: ${error}`;
        continue;
      }
      expected ??= result.checksum;
      if (result.checksum !== expected) {
        const mismatch = `returned ${result.checksum} where cu returned ${expected}`;
        if (engine.name !== 'fengari') throw new Error(`${program.name}: ${engine.name} ${mismatch}`);
        skipped = mismatch;
        continue;
      }
      if (run > 0) times[engine.name].push(result.took);
    }
  }
  const medians = Object.fromEntries(Object.entries(times).map(([name, samples]) => [name, median(samples)]));
  return { medians, skipped };
}

/** One run of `program` in a fresh state of `engine`: its time in milliseconds and its checksum. */
async function measure(engine, program) {
  const state = await engine.open();
  try {
    collectGarbage();
    const start = performance.now();
    const value = engine.run(state, program.code, program.chunkName);
    const took = performance.now() - start;
    return { took, checksum: checksum(value) };
  } finally {
    engine.close(state);
  }
}

/**
 * A returned value as comparable text; strings are quoted so that `"3"` is not `3`. JavaScript
 * numbers cannot tell Lua's 3 from 3.0, so neither does this: the Rust bench checks cu's values
 * against native Lua exactly.
 */
function checksum(value) {
  if (value === undefined || value === null) return 'nothing';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function fengariMaxInteger() {
  const L = fengariState();
  try {
    return fengariRun(L, 'return math.maxinteger', 'maxinteger');
  } finally {
    lua.lua_close(L);
  }
}

/**
 * Cold starts (a new Node process per figure, as a script using the package would start), then
 * what a loaded process pays for a fresh state and for one small call.
 */
async function startup(runs) {
  const cold = await coldStarts(runs);
  const first = await coldStarts(runs, { gluesCached: false });
  const cached = await coldStarts(runs, { compileCache: true });
  const fresh = await sampleEach(async (engine) => {
    const start = performance.now();
    const state = await engine.open();
    const took = performance.now() - start;
    engine.close(state); // outside the timed region: tearing down is not part of starting
    return took;
  });
  const calls = await returnOneCalls();
  const tables = await tableCalls();
  const memory = await memoryPerUnit(runs);
  const compiling = await compileCosts();

  const row = (label, figures, format) =>
    console.log(`| ${label} | ${ENGINES.map(({ name }) => format(figures[name])).join(' | ')} |`);
  const msText = (ms) => `${ms.toFixed(1)} ms`;
  const usText = (ms) => `${(ms * 1e3).toFixed(1)} µs`;
  console.log('| start-up (medians) | cu | wasmoon | fengari |');
  console.log('|---|---:|---:|---:|');
  row(`cold: new Node process, import, state, \`return 1\` (of ${cold.rounds})`, cold, msText);
  row(`cold, a machine's first start (no code cache of cu's yet, of ${first.rounds})`, first, msText);
  row(`cold, with Node's compile cache (\`NODE_COMPILE_CACHE\`, of ${cached.rounds})`, cached, msText);
  row(`warm: fresh state in a loaded process (of ${SAMPLES})`, fresh, usText);
  row(`\`return 1\` in a state (of ${SAMPLES} batches of ${CALLS_PER_SAMPLE}, after warm-up)`, calls, usText);
  row(`a call with a ${TABLE_FIELDS}-field table in and out (of ${SAMPLES} batches of ${CALLS_PER_SAMPLE})`, tables, usText);
  row(`compiling a ${(COMPILED.length / 1024).toFixed(0)} KiB chunk, \`load\` (of ${COMPILE_SAMPLES})`, compiling, msText);
  const mibText = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  row(`memory per live unit: resident, over ${LIVE_UNITS} (of ${runs})`, memory, mibText);
  const shared = { ...memory, cu: memory['cu-shared'] };
  row(`the same, cu's units made with \`isolation: 'shared'\``, shared, mibText);
  const ratio = (figures) => (figures.ratio ?? figures.cu / figures.wasmoon).toFixed(2);
  console.log(`\ncu against wasmoon: cold start ${ratio(cold)}× (${ratio(first)}× a machine's first, ${ratio(cached)}× with Node's compile cache; medians of the rounds' ratios), \`return 1\` ${ratio(calls)}×, the table call ${ratio(tables)}×, compiling ${ratio(compiling)}×, memory per unit ${ratio(memory)}× (${ratio(shared)}× shared).`);
  console.log(
    `\nWith no glue at all (bench/bare.js: the core module with stub imports, a unit made and \`return 1\` run through its` +
      ` core exports), a cold start takes ${msText(cold.bare)} (${cold.bareRatio.toFixed(2)}× wasmoon) and a live unit` +
      ` ${mibText(memory.bare)}: the floor of a unit with an instance of its own, however lean its glue.`,
  );
  console.log(`\nAn empty Node process takes ${msText(cold.node)}, included in the cold figures. cu's cold start is`);
  console.log("`await cu.load(); cu.init(); await cu.compute('return 1')`; its fresh state is `new Cu()`, `load`");
  console.log("and `init`; its call is `await cu.compute('return 1')`, wasmoon's `lua.doStringSync('return 1')`.");
  console.log("In Node, cu keeps the code V8 compiled for jco's glue in its cache directory (CU_CACHE_DIR, by default");
  console.log('~/.cache/cu) for the next process, as the CLI keeps the compiled component: every start but the first');
  console.log("takes it from there. A machine's first start compiles the glue and writes the cache at exit (each of those");
  console.log("starts here in an empty directory). Node's compile cache keeps compiled JavaScript on disk for the next");
  console.log('process (an application turns it on with `module.enableCompileCache()` or NODE_COMPILE_CACHE); it holds no');
  console.log('WebAssembly.');
  console.log(`Calls are timed ${CALLS_PER_SAMPLE} in a row, the engines taking turns. The table call passes a table of ${TABLE_FIELDS} fields`);
  console.log("(half strings, half integers) to a Lua function that returns a copy: `await cu.call('copy', table)`, wasmoon's");
  console.log("`copy(table)` on `lua.global.get('copy')` in an engine made with `enableProxy: false`, so that the table is");
  console.log("converted (by default wasmoon gives Lua a proxy of the object, which `pairs` cannot walk).");
  console.log('Memory: a new Node process per engine and run makes one state, then the rest, all kept live (bench/units.js);');
  console.log("cu's units each have an instance of the component, or share one 32 to an instance with `isolation: 'shared'`");
  console.log("(a trap still resets only the unit that trapped; they share the instance's memory); wasmoon's states share");
  console.log("one factory's module.");
}

/**
 * The chunk the compiling figure compiles: 2,000 functions of a few statements each (tables,
 * loops, branches, string concatenation), about 400 KiB of Lua, as a large module would be.
 */
const COMPILED = Array.from(
  { length: 2000 },
  (_, i) =>
    `M.f${i} = function(a, b)\n  local t = { x = a + ${i}, y = b * 2, s = "k${i}" .. tostring(a) }\n` +
    '  for j = 1, 10 do if t.x > j then t.y = t.y - j elseif t.s == "z" then break end end\n' +
    '  return t.x + t.y, #t.s\nend\n',
).join('');
/** Compilations timed per engine: each takes milliseconds. */
const COMPILE_SAMPLES = 31;

/**
 * Lua's compiler in each engine: `load` of COMPILED, given to the state as a global, the engines
 * taking turns. What a unit pays to take in a large program or module.
 */
function compileCosts() {
  const code = 'local M = {} return select("#", assert(load(SOURCE, "=compiled", "t", { M = M, tostring = tostring })))';
  return withStates(async (states) => {
    states.cu.setGlobal('SOURCE', COMPILED);
    states.wasmoon.global.set('SOURCE', COMPILED);
    lua.lua_pushstring(states.fengari, to_luastring(COMPILED));
    lua.lua_setglobal(states.fengari, to_luastring('SOURCE'));
    const times = Object.fromEntries(ENGINES.map(({ name }) => [name, []]));
    for (let i = 0; i < COMPILE_SAMPLES; i++) {
      for (const engine of ENGINES) {
        collectGarbage();
        const start = performance.now();
        const loaded = engine.run(states[engine.name], code, 'compile');
        times[engine.name].push(performance.now() - start);
        if (loaded !== 1) throw new Error(`${engine.name} did not compile the chunk: ${loaded}`);
      }
    }
    return Object.fromEntries(ENGINES.map(({ name }) => [name, median(times[name])]));
  });
}

/** Fields of the table the table call passes. */
const TABLE_FIELDS = 100;

/**
 * A call that passes a table of TABLE_FIELDS fields in and takes a copy of it out, in each engine.
 * wasmoon's engine here converts objects to tables (`enableProxy: false`): by default it hands
 * Lua a proxy of the JavaScript object, which `pairs` cannot walk, and gives back the very object
 * it was given when Lua returns it.
 */
async function tableCalls() {
  const table = Object.fromEntries(
    Array.from({ length: TABLE_FIELDS }, (_, i) => [`field${i}`, i % 2 === 0 ? `value ${i}` : i]),
  );
  const copy = 'function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end';
  const converting = await wasmoon.createEngine({ enableProxy: false });
  converting.doStringSync(copy);
  const wasmoonCopy = converting.global.get('copy');
  try {
    return await callCosts(
      (states) => {
        states.cu.compute(copy);
        fengariRun(states.fengari, copy, 'copy');
        return {
          cu: () => states.cu.call('copy', table),
          wasmoon: () => wasmoonCopy(table),
          fengari: () => fengariCopy(states.fengari, table),
        };
      },
      (name, back) =>
        back !== table && back.field7 === 7 && back.field8 === 'value 8' && Object.keys(back).length === TABLE_FIELDS,
    );
  } finally {
    converting.global.close();
  }
}

/** `copy(object)` in fengari: the table built field by field, the result read back the same way. */
function fengariCopy(L, object) {
  lua.lua_getglobal(L, to_luastring('copy'));
  lua.lua_createtable(L, 0, TABLE_FIELDS);
  for (const [key, value] of Object.entries(object)) {
    if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
    else lua.lua_pushinteger(L, value);
    lua.lua_setfield(L, -2, to_luastring(key));
  }
  lua.lua_call(L, 1, 1);
  const back = {};
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    back[lua.lua_tojsstring(L, -2)] = fengariValue(L);
    lua.lua_pop(L, 1);
  }
  lua.lua_pop(L, 1);
  return back;
}

/** The median resident memory per live unit of each engine (bench/units.js), engines taking turns. */
async function memoryPerUnit(runs) {
  const names = [...ENGINES.map(({ name }) => name), 'cu-shared', 'bare'];
  const bytes = Object.fromEntries(names.map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const name of rotate(names, run)) {
      const child = spawnSync(process.execPath, [UNITS, name, String(LIVE_UNITS)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`memory of ${name} units failed: ${child.stderr.trim()}`);
      bytes[name].push(Number(child.stdout));
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(bytes[name])]));
}

/**
 * Median wall time of a new Node process running cold.js for each engine, and for none. cu's
 * code cache (CU_CACHE_DIR) is a new directory that one untimed process per engine fills first,
 * or with `gluesCached: false` a new empty directory for every start; with `compileCache`, every
 * process shares Node's compile cache (NODE_COMPILE_CACHE) in a new directory filled the same way.
 */
async function coldStarts(runs, { compileCache = false, gluesCached = true } = {}) {
  const names = [...ENGINES.map(({ name }) => name), 'node', 'bare'];
  const times = Object.fromEntries(names.map((name) => [name, []]));
  const rounds = runs * COLD_ROUNDS_PER_RUN;
  const made = [];
  const directory = (prefix) => made[made.push(mkdtempSync(join(tmpdir(), prefix))) - 1];
  const env = { ...process.env, CU_CACHE_DIR: directory('cu-cache-') };
  if (compileCache) env.NODE_COMPILE_CACHE = directory('cu-compile-cache-');
  const start = (name) => {
    if (!gluesCached) env.CU_CACHE_DIR = directory('cu-cache-');
    const began = performance.now();
    const child = spawnSync(process.execPath, [COLD, name], { encoding: 'utf8', env });
    const took = performance.now() - began;
    if (child.status !== 0) throw new Error(`cold start of ${name} failed: ${child.stderr.trim()}`);
    if (child.stdout !== '1') throw new Error(`cold start of ${name} printed ${JSON.stringify(child.stdout)}`);
    return took;
  };
  names.forEach(start);
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(names, round)) times[name].push(start(name));
  }
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  const figures = Object.fromEntries(names.map((name) => [name, median(times[name])]));
  // The engines of a round ran within a second of each other, on a machine whose speed moves by
  // more than that between rounds: the median of the rounds' own ratios is steadier than the
  // ratio of the medians.
  const against = (name) => median(times[name].map((ms, round) => ms / times.wasmoon[round]));
  figures.ratio = against('cu');
  figures.bareRatio = against('bare');
  figures.rounds = rounds;
  return figures;
}

/** The median of `sample(engine)` over SAMPLES rounds, the engines taking turns in each. */
async function sampleEach(sample) {
  const times = Object.fromEntries(ENGINES.map(({ name }) => [name, []]));
  for (let i = 0; i < SAMPLES; i++) {
    for (const engine of ENGINES) times[engine.name].push(await sample(engine));
  }
  return Object.fromEntries(ENGINES.map(({ name }) => [name, median(times[name])]));
}

/** `return 1` as each engine's users would call it. */
function returnOneCalls() {
  return callCosts(
    (states) => ({
      cu: () => states.cu.compute('return 1'),
      wasmoon: () => wasmoonRun(states.wasmoon, 'return 1'),
      fengari: () => fengariRun(states.fengari, 'return 1', 'return1'),
    }),
    (name, value) => value === 1,
  );
}

/** Calls are timed in batches of this many: one call takes a few microseconds. */
const CALLS_PER_SAMPLE = 20;
/**
 * Calls made before timing: V8 moves a WebAssembly function to its optimizing tier only after it
 * has run for a while, and cu's call goes through more functions than wasmoon's: measured, a
 * `return 1` took 31 µs over its first 2,500 calls, 6 µs over the next, about 5 µs after 10,000.
 */
const WARM_UP_CALLS = 10000;

/**
 * The median time of a call that `callsOf(states)` makes in a state of each engine (one function
 * per engine name), timed over CALLS_PER_SAMPLE calls in a row, the engines taking turns between
 * batches; after WARM_UP_CALLS of each, whose results `right(name, result)` must accept.
 */
function callCosts(callsOf, right) {
  return withStates(async (states) => {
    const calls = callsOf(states);
    for (let i = 0; i < WARM_UP_CALLS; i++) {
      for (const { name } of ENGINES) {
        const result = await calls[name]();
        if (!right(name, result)) throw new Error(`a timed call in ${name} gave ${JSON.stringify(result)?.slice(0, 80)}`);
      }
    }
    return await sampleEach(async ({ name }) => {
      const call = calls[name];
      const start = performance.now();
      for (let i = 0; i < CALLS_PER_SAMPLE; i++) await call();
      return (performance.now() - start) / CALLS_PER_SAMPLE;
    });
  });
}

/** What `use(states)` resolves to, given a fresh state of each engine by name, closed after. */
async function withStates(use) {
  const states = Object.fromEntries(await Promise.all(ENGINES.map(async (e) => [e.name, await e.open()])));
  try {
    return await use(states);
  } finally {
    for (const engine of ENGINES) engine.close(states[engine.name]);
  }
}

/** `items` starting at `by` (modulo its length). */
function rotate(items, by) {
  const at = by % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}


function verdict(met) {
  return met ? 'met' : 'MISSED';
}

main().catch((error) => {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
});
