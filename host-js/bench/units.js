// Memory per live unit for run.js: this new Node process makes one Lua state of an engine (so
// that what the engine shares is there), then COUNT more, each having run `return 1`, and prints
// the growth of the process's resident memory per state, in bytes, with every state still live.
// cu's units each have an instance of the component (`cu`) or share instances, 32 to one
// (`cu-shared`, `isolation: 'shared'`); wasmoon's states share one factory's
// module, as its users make them; fengari's are JavaScript objects.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

const makers = {
  cu: () => cuUnits('instance'),
  'cu-shared': () => cuUnits('shared'),
  async bare() {
    const { bareUnit } = await import('./bare.js');
    return async () => {
      const unit = await bareUnit();
      if (!unit.compute('return 1')) throw new Error('the bare unit failed');
      return unit;
    };
  },
  async wasmoon() {
    const { LuaFactory } = await import('wasmoon');
    const factory = new LuaFactory();
    return async () => {
      const engine = await factory.createEngine();
      engine.doStringSync('return 1');
      return engine;
    };
  },
  async fengari() {
    const {
      default: { lauxlib, lualib, to_luastring },
    } = await import('fengari');
    return async () => {
      const L = lauxlib.luaL_newstate();
      lualib.luaL_openlibs(L);
      lauxlib.luaL_dostring(L, to_luastring('return 1'));
      return L;
    };
  },
};

/** cu's units, each with an instance of its own or sharing instances (`isolation`). */
async function cuUnits(isolation) {
  const { Cu } = await import('../src/node/index.js');
  return async () => {
    const unit = new Cu({ store: 'memory', isolation });
    await unit.load();
    unit.init();
    unit.compute('return 1');
    return unit;
  };
}

const [engine, countText] = process.argv.slice(2);
const count = Number(countText);
if (!(engine in makers) || !(count > 0)) throw new Error(`units.js takes one of ${Object.keys(makers).join(', ')} and a count`);

/** Resident memory once the garbage is collected and the collector has had a moment. */
async function settled() {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().rss;
}

const make = await makers[engine]();
const live = [await make()];
const before = await settled();
for (let i = 0; i < count; i++) live.push(await make());
const after = await settled();
process.stdout.write(String(Math.round((after - before) / count)));
// The states stay live until here.
if (live.length !== count + 1) throw new Error('a state was lost');
