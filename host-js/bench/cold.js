// One cold start for run.js: this new Node process imports one engine, makes a Lua state, runs
// `return 1` and prints what it returned. `node` imports nothing: what the process alone costs.

const starts = {
  /** As the package's README starts: the default unit, from the package's Node entry. */
  async cu() {
    const { default: cu } = await import('cu');
    await cu.load();
    cu.init();
    return cu.compute('return 1');
  },
  async wasmoon() {
    const { LuaFactory } = await import('wasmoon');
    const lua = await new LuaFactory().createEngine();
    return lua.doString('return 1');
  },
  async fengari() {
    const {
      default: { lua, lauxlib, lualib, to_luastring },
    } = await import('fengari');
    const L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(L);
    if (lauxlib.luaL_dostring(L, to_luastring('return 1')) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
    return lua.lua_tointeger(L, -1);
  },
  /** The core module alone, with no glue (bare.js): prints 1 when the component answered ok. */
  async bare() {
    const { bareUnit } = await import('./bare.js');
    return (await bareUnit()).compute('return 1') ? 1 : 0;
  },
  async node() {
    return 1;
  },
};

const engine = process.argv[2];
if (!(engine in starts)) throw new Error(`cold.js takes one of ${Object.keys(starts).join(', ')}`);
process.stdout.write(String(await starts[engine]()));
