//! Compiles Lua 5.4 and the setjmp runtime for wasm32-wasip2 with clang-22.
//!
//! Lua's sources come from the `lua-src` crate (located by `cargo xtask`), copied and patched
//! so the interpreter checks the time limit cheaply (see c/cu_limits.h) and `lapi.c` carries two
//! userdata helpers for bigints (c/cu_udata.c). Lua raises errors with
//! setjmp/longjmp, which on wasm needs the exception-handling proposal and our own runtime
//! (c/setjmp_rt.c). `cargo xtask` installs the compiler; this script only says what is missing.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set by `cargo xtask` to the directory of the `lua-src` package.
const LUA_SRC_ENV: &str = "CU_LUA_SRC";
const LUA_DIR: &str = "lua-5.4.9";
/// Set by `cargo xtask bench` to build a guest without conflict tracking, the baseline that
/// measures what the tracking costs (host-rust/benches/retry.rs). Such a guest never retries.
const UNTRACKED_ENV: &str = "CU_UNTRACKED";
/// Lua's interpreter loop, compiled apart from the rest.
const INTERPRETER: &str = "lvm.c";
/// Lua's calls and returns (`luaD_precall` runs for every call), compiled apart too: inside the
/// amalgamation its cold paths are inlined into the hot one, and V8 ran the call-heavy program
/// 1.13× of wasmoon instead of 1.04× (`cargo xtask bench`).
const CALLS: &str = "ldo.c";
/// Lua's compiler (lexer, parser, code generator), compiled apart and for size (-Os). In the
/// amalgamation, under its inlining threshold, it was 128 KB more code, and V8 compiles each
/// function at its first call: a cold start (a first unit, then `return 1`) compiled 276 KB
/// instead of 395 KB and made its unit some 3 ms sooner (`node --trace-wasm-compilation-times`).
/// The price is the compiler's speed: `npm run bench` compiles a 403 KiB chunk in 1.14× wasmoon's
/// time, where it took about 0.95×. The programs ran 0.990× of before (bench/compare.js).
const COMPILER: &[&str] = &["llex.c", "lcode.c", "lparser.c"];
/// The rest of Lua, compiled as one translation unit so that clang can inline across files (as
/// Lua's own `onelua.c` does), with an inlining threshold four times clang's default. Function
/// calls cost more in WebAssembly than natively: wasmtime's epoch check and stack check at every
/// entry. Measured with `cargo xtask bench`: the Lua programs' geometric mean went from 1.67× to
/// about 1.58× native in wasmtime as one unit, and to about 1.54× with the threshold, which
/// inlines the C API into the libraries' loops (the sorting program went from 1.6× to 1.2× native,
/// and from 0.95× to 0.72× of wasmoon in Node). `ltablib.c` comes first because it needs
/// wasi-libc's `arc4random`, which `<stdlib.h>` declares only when no other file has included it
/// first with other feature macros.
const AMALGAMATION: &[&str] = &[
    "ltablib.c",
    "lzio.c",
    "lctype.c",
    "lopcodes.c",
    "lmem.c",
    "lundump.c",
    "ldump.c",
    "lstate.c",
    "lgc.c",
    "ldebug.c",
    "lfunc.c",
    "lobject.c",
    "ltm.c",
    "lstring.c",
    "ltable.c",
    "lapi.c",
    "lauxlib.c",
    "lbaselib.c",
    "lcorolib.c",
    "ldblib.c",
    "liolib.c",
    "lmathlib.c",
    "loadlib.c",
    "loslib.c",
    "lstrlib.c",
    "lutf8lib.c",
    "linit.c",
];
const CLANG: &str = "clang-22";
const LLVM_AR: &str = "llvm-ar-22";
const WASI_HEADERS: &str = "/usr/include/wasm32-wasi";

/// Each patch: file, anchor text, replacement. Every anchor must occur exactly once, so a change in
/// Lua's sources fails the build instead of silently dropping a check.
const PATCHES: &[(&str, &str, &str)] = &[
    (
        "lvm.c",
        "#include \"lvm.h\"\n",
        "#include \"lvm.h\"\n#include \"cu_limits.h\"\n\
         /* Inside the interpreter the state is saved first, as `Protect` does, so an error can be raised. */\n\
         #define cu_vmcharge(L, n) { cu_budget -= (n); if (l_unlikely(cu_budget <= 0)) { savestate(L, ci); cu_budget_exhausted(L); } }\n\
         #define cu_vmtick(L) cu_vmcharge(L, 1)\n",
    ),
    // A new call: the call info and its saved pc are already set up.
    ("lvm.c", " startfunc:\n  trap = L->hookmask;\n", " startfunc:\n  cu_tick(L);\n  trap = L->hookmask;\n"),
    // `while`, `repeat` and `goto` loops.
    (
        "lvm.c",
        "vmcase(OP_JMP) {\n        dojump(ci, i, 0);",
        "vmcase(OP_JMP) {\n        if (GETARG_sJ(i) < 0) cu_vmtick(L);\n        dojump(ci, i, 0);",
    ),
    // Integer `for` loops are charged 1,024 iterations at a time, from the loop counter already in
    // a register: a memory decrement on every iteration costs a tight loop about 15%. The loop
    // pays for its first iterations up to a multiple of 1,024 when it starts, so a loop that runs
    // to its end is charged exactly its iterations, and one left by `break` at most 1,023 more.
    (
        "lvm.c",
        "        if (forprep(L, ra))\n          pc += GETARG_Bx(i) + 1;  /* skip the loop */\n",
        "        if (forprep(L, ra))\n          pc += GETARG_Bx(i) + 1;  /* skip the loop */\n        \
         else if (ttisinteger(s2v(ra + 2)))\n          cu_vmcharge(L, (int)(ivalue(s2v(ra + 1)) & 1023) + 1);\n",
    ),
    (
        "lvm.c",
        "            chgivalue(s2v(ra + 1), count - 1);  /* update counter */\n",
        "            chgivalue(s2v(ra + 1), count - 1);  /* update counter */\n            if (l_unlikely((count & 1023) == 0)) cu_vmcharge(L, 1024);\n",
    ),
    (
        "lvm.c",
        "        else if (floatforloop(ra))  /* float loop */\n          pc -= GETARG_Bx(i);  /* jump back */\n",
        "        else if (floatforloop(ra)) {  /* float loop */\n          pc -= GETARG_Bx(i);  /* jump back */\n          cu_vmtick(L);\n        }\n",
    ),
    // Generic `for` loops (their iterator may be a C function that never ends, like `math.random`).
    (
        "lvm.c",
        "          setobjs2s(L, ra + 2, ra + 4);  /* save control variable */\n          pc -= GETARG_Bx(i);  /* jump back */\n",
        "          setobjs2s(L, ra + 2, ra + 4);  /* save control variable */\n          pc -= GETARG_Bx(i);  /* jump back */\n          cu_vmtick(L);\n",
    ),
    // One-call userdata helpers, which need lapi.c's own index lookup (c/cu_udata.c).
    (
        "lapi.c",
        "  *up1 = *up2;\n  luaC_objbarrier(L, f1, *up1);\n}\n",
        "  *up1 = *up2;\n  luaC_objbarrier(L, f1, *up1);\n}\n\n#include \"cu_udata.c\"\n",
    ),
    // Library loops whose length a script controls without allocating much: backtracking patterns,
    // sorting, and shifting elements over a range of absent keys or a huge `__len`.
    ("lstrlib.c", "#include \"lualib.h\"\n", "#include \"lualib.h\"\n#include \"cu_limits.h\"\n"),
    // A string position past 2^32 would be cut to 32 bits on wasm32 (`string.sub("abc", 2^32)`
    // read the byte before the string): clamp it to the largest size, which every caller takes
    // as past the end, as natively.
    (
        "lstrlib.c",
        "  if (pos > 0)\n    return (size_t)pos;\n",
        "  if (pos > 0)\n    return ((lua_Unsigned)pos > (lua_Unsigned)MAX_SIZET) ? MAX_SIZET : (size_t)pos;\n",
    ),
    (
        "lstrlib.c",
        "    luaL_error(ms->L, \"pattern too complex\");\n",
        "    luaL_error(ms->L, \"pattern too complex\");\n  cu_tick(ms->L);\n",
    ),
    // `load` reads text only, whatever mode it is given: bytecode can break Lua's safety checks.
    // Refused in C rather than by a wrapper in Lua, whose upvalue would hand the full `load` to
    // code that may use the `debug` library.
    (
        "lbaselib.c",
        "  const char *mode = luaL_optstring(L, 3, \"bt\");\n",
        "  const char *mode = strchr(luaL_optstring(L, 3, \"bt\"), 't') ? \"t\" : \"\";\n",
    ),
    ("ltablib.c", "#include \"lualib.h\"\n", "#include \"lualib.h\"\n#include \"cu_limits.h\"\n"),
    (
        "ltablib.c",
        "  while (lo < up) {  /* loop for tail recursion */\n",
        "  while (lo < up) {  /* loop for tail recursion */\n    cu_tick(L);\n",
    ),
    (
        "ltablib.c",
        "      for (i = e; i > pos; i--) {  /* move up elements */\n",
        "      for (i = e; i > pos; i--) {  /* move up elements */\n        cu_tick(L);\n",
    ),
    ("ltablib.c", "  for ( ; pos < size; pos++) {\n", "  for ( ; pos < size; pos++) {\n    cu_tick(L);\n"),
    ("ltablib.c", "      for (i = 0; i < n; i++) {\n", "      for (i = 0; i < n; i++) {\n        cu_tick(L);\n"),
    (
        "ltablib.c",
        "      for (i = n - 1; i >= 0; i--) {\n",
        "      for (i = n - 1; i >= 0; i--) {\n        cu_tick(L);\n",
    ),
];

/// What a call attempt changed (c/cu_track.h): the attempt that made each table, upvalue and
/// coroutine, and a mark on every write to an older one. Left out when [`UNTRACKED_ENV`] is set.
const TRACKING: &[(&str, &str, &str)] = &[
    (
        "lobject.h",
        "  GCObject *gclist;\n} Table;\n",
        "  GCObject *gclist;\n  unsigned long long cu_epoch;\n} Table;\n\n#include \"cu_track.h\"\n",
    ),
    (
        "lobject.h",
        "    TValue value;  /* the value (when closed) */\n  } u;\n} UpVal;\n",
        "    TValue value;  /* the value (when closed) */\n  } u;\n  unsigned long long cu_epoch;\n} UpVal;\n",
    ),
    (
        "lstate.h",
        "  volatile l_signalT hookmask;\n};\n",
        "  volatile l_signalT hookmask;\n  unsigned long long cu_epoch;\n};\n",
    ),
    (
        "ltable.c",
        "  t->flags = cast_byte(maskflags);  /* table has no metamethod fields */\n",
        "  t->flags = cast_byte(maskflags);  /* table has no metamethod fields */\n  t->cu_epoch = cu_epoch;\n",
    ),
    (
        "lfunc.c",
        "    UpVal *uv = gco2upv(o);\n    uv->v.p = &uv->u.value;  /* make it closed */\n",
        "    UpVal *uv = gco2upv(o);\n    uv->cu_epoch = cu_epoch;\n    uv->v.p = &uv->u.value;  /* make it closed */\n",
    ),
    (
        "lfunc.c",
        "  UpVal *uv = gco2upv(o);\n  UpVal *next = *prev;\n",
        "  UpVal *uv = gco2upv(o);\n  UpVal *next = *prev;\n  uv->cu_epoch = cu_epoch;\n",
    ),
    (
        "lstate.c",
        "  L->twups = L;  /* thread has no upvalues */\n",
        "  L->twups = L;  /* thread has no upvalues */\n  L->cu_epoch = cu_epoch;\n",
    ),
    (
        "lvm.h",
        "    { setobj2t(L, cast(TValue *,slot), v); \\\n",
        "    { cu_touch_slot(hvalue(t), slot); setobj2t(L, cast(TValue *,slot), v); \\\n",
    ),
    (
        "lvm.c",
        "        luaH_finishset(L, h, key, slot, val);  /* set new value */\n",
        "        cu_touch_key(h, key);\n        luaH_finishset(L, h, key, slot, val);  /* set new value */\n",
    ),
    (
        "lvm.c",
        "      GCObject *h = gcvalue(t);\n      setobj2t(L, cast(TValue *,slot), val);\n",
        "      GCObject *h = gcvalue(t);\n      cu_touch_slot(hvalue(t), slot);\n      setobj2t(L, cast(TValue *,slot), val);\n",
    ),
    (
        "lvm.c",
        "        UpVal *uv = cl->upvals[GETARG_B(i)];\n        setobj(L, uv->v.p, s2v(ra));\n",
        "        UpVal *uv = cl->upvals[GETARG_B(i)];\n        cu_touch(uv);\n        setobj(L, uv->v.p, s2v(ra));\n",
    ),
    (
        "lapi.c",
        "  luaH_set(L, t, key, s2v(L->top.p - 1));\n",
        "  cu_touch_key(t, key);\n  luaH_set(L, t, key, s2v(L->top.p - 1));\n",
    ),
    (
        "lapi.c",
        "  luaH_setint(L, t, n, s2v(L->top.p - 1));\n",
        "  cu_touch_key(t, NULL);\n  luaH_setint(L, t, n, s2v(L->top.p - 1));\n",
    ),
    (
        "lapi.c",
        "      hvalue(obj)->metatable = mt;\n",
        "      cu_touch_key(hvalue(obj), NULL);\n      hvalue(obj)->metatable = mt;\n",
    ),
    (
        "ldo.c",
        "                                      int *nresults) {\n  int status;\n  lua_lock(L);\n",
        "                                      int *nresults) {\n  int status;\n  cu_touch(L);\n  lua_lock(L);\n",
    ),
    (
        "lstate.c",
        "LUA_API int lua_closethread (lua_State *L, lua_State *from) {\n  int status;\n",
        "LUA_API int lua_closethread (lua_State *L, lua_State *from) {\n  int status;\n  cu_touch(L);\n",
    ),
    // The generator's state and the collector's settings live outside any table.
    ("lmathlib.c", "#include \"lualib.h\"\n", "#include \"lualib.h\"\n#include \"cu_track.h\"\n"),
    (
        "lmathlib.c",
        "  RanState *state = (RanState *)lua_touserdata(L, lua_upvalueindex(1));\n  Rand64 rv = nextrand(state->s);  /* next pseudo-random value */\n",
        "  RanState *state = (RanState *)lua_touserdata(L, lua_upvalueindex(1));\n  Rand64 rv = nextrand(state->s);  /* next pseudo-random value */\n  cu_changed();\n",
    ),
    (
        "lmathlib.c",
        "                     lua_Unsigned n1, lua_Unsigned n2) {\n  int i;\n",
        "                     lua_Unsigned n1, lua_Unsigned n2) {\n  int i;\n  cu_changed();\n",
    ),
    ("lbaselib.c", "#include \"lualib.h\"\n", "#include \"lualib.h\"\n#include \"cu_track.h\"\n"),
    (
        "lbaselib.c",
        "  int o = optsnum[luaL_checkoption(L, 1, \"collect\", opts)];\n",
        "  int o = optsnum[luaL_checkoption(L, 1, \"collect\", opts)];\n  if (o != LUA_GCCOUNT && o != LUA_GCSTEP && o != LUA_GCCOLLECT && o != LUA_GCISRUNNING) cu_changed();\n",
    ),
];

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let c_dir = manifest_dir.join("c");
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-changed=build.rs");

    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return Err("the guest builds only for wasm32-wasip2: use `cargo xtask build`".into());
    }
    require_tool(CLANG)?;
    require_tool(LLVM_AR)?;
    if !Path::new(WASI_HEADERS).is_dir() {
        return Err(format!("{WASI_HEADERS} is missing: install Debian's `wasi-libc` (`cargo xtask build` does)"));
    }

    let sysroot = make_sysroot(&out_dir, &c_dir)?;
    let lua_dir = patched_lua_sources(&out_dir)?;

    let lua_build = || {
        let mut build = compiler(&sysroot);
        build
            .include(&lua_dir)
            .include(&c_dir)
            .define("LUA_USE_POSIX", None)
            .define("LUA_COMPAT_5_3", None)
            // lstate.h includes <signal.h> for `sig_atomic_t`; nothing calls into signals.
            .define("_WASI_EMULATED_SIGNAL", None)
            .flag("-mllvm")
            .flag("-wasm-enable-sjlj");
        build
    };
    // The interpreter loop is optimized for size: at -O2/-O3 clang duplicates the dispatch and
    // inlines into one huge function whose register pressure Cranelift handles badly. Measured with
    // `cargo xtask bench`: the float-heavy program ran 2.9× native at -O3 and 1.5× at -Os, with
    // no program slower. The rest of Lua (libraries, tables, strings) is faster at -O3.
    let mut interpreter = lua_build();
    interpreter.flag("-Os").file(lua_dir.join(INTERPRETER));
    interpreter.try_compile("lua_vm").map_err(|e| e.to_string())?;

    let amalgamation = out_dir.join("cu_lua.c");
    let includes: String = AMALGAMATION.iter().map(|file| format!("#include \"{file}\"\n")).collect();
    fs::write(&amalgamation, includes).map_err(|e| e.to_string())?;
    let mut lua = lua_build();
    if untracked() {
        lua.define("CU_UNTRACKED", None);
    }
    lua.file(c_dir.join("cu_limits.c"))
        .file(c_dir.join("cu_track.c"))
        .file(c_dir.join("cu_heap.c"))
        .file(&amalgamation)
        .flag("-mllvm")
        .flag("-inline-threshold=1000");
    lua.try_compile("lua").map_err(|e| e.to_string())?;
    let mut parser = lua_build();
    parser.flag("-Os").files(COMPILER.iter().map(|file| lua_dir.join(file)));
    parser.try_compile("lua_compiler").map_err(|e| e.to_string())?;
    lua_build().file(lua_dir.join(CALLS)).try_compile("lua_calls").map_err(|e| e.to_string())?;

    compiler(&sysroot).file(c_dir.join("setjmp_rt.c")).try_compile("setjmp_rt").map_err(|e| e.to_string())?;
    Ok(())
}

fn require_tool(name: &str) -> Result<(), String> {
    match Command::new(name).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(format!(
            "`{name}` was not found: install Debian's clang-22, lld-22 and llvm-22 (`cargo xtask build` does)"
        )),
    }
}

/// A clang build for wasm32-wasip2 with exceptions in the standard (exnref) encoding.
fn compiler(sysroot: &Path) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .compiler(CLANG)
        .archiver(LLVM_AR)
        .warnings(false)
        .flag(format!("--sysroot={}", sysroot.display()))
        .flag("-mexception-handling")
        .flag("-mllvm")
        .flag("-wasm-enable-eh")
        .flag("-mllvm")
        .flag("-wasm-use-legacy-eh=false");
    build
}

/// clang needs a sysroot for wasm32-wasip2 (without one it picks up the host's glibc headers):
/// Debian's wasi-libc headers plus our setjmp.h, which wasi-libc lacks.
fn make_sysroot(out_dir: &Path, c_dir: &Path) -> Result<PathBuf, String> {
    let sysroot = out_dir.join("sysroot");
    let include = sysroot.join("include");
    fs::create_dir_all(&include).map_err(|e| e.to_string())?;
    let triple_dir = include.join("wasm32-wasip2");
    if fs::symlink_metadata(&triple_dir).is_err() {
        std::os::unix::fs::symlink(WASI_HEADERS, &triple_dir).map_err(|e| e.to_string())?;
    }
    fs::copy(c_dir.join("include/setjmp.h"), include.join("setjmp.h")).map_err(|e| e.to_string())?;
    Ok(sysroot)
}

/// Copies Lua's sources out of the `lua-src` package and applies `PATCHES`.
fn patched_lua_sources(out_dir: &Path) -> Result<PathBuf, String> {
    let source = lua_src_dir()?.join(LUA_DIR);
    let dest = out_dir.join("lua");
    fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
    for entry in fs::read_dir(&source).map_err(|e| format!("{}: {e}", source.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, dest.join(name)).map_err(|e| e.to_string())?;
        }
    }
    let tracking = if untracked() { &[][..] } else { TRACKING };
    for (file, anchor, replacement) in PATCHES.iter().chain(tracking) {
        let path = dest.join(file);
        let text = fs::read_to_string(&path).map_err(|e| e.to_string())?;
        if text.matches(anchor).count() != 1 {
            return Err(format!("patching {file}: expected exactly one occurrence of {anchor:?}"));
        }
        fs::write(&path, text.replacen(anchor, replacement, 1)).map_err(|e| e.to_string())?;
    }
    Ok(dest)
}

fn untracked() -> bool {
    println!("cargo:rerun-if-env-changed={UNTRACKED_ENV}");
    env::var_os(UNTRACKED_ENV).is_some()
}

/// Where cargo unpacked the `lua-src` package this workspace locks: `cargo xtask` finds it with
/// `cargo metadata` (which cannot run offline from here before the host's crates are fetched).
fn lua_src_dir() -> Result<PathBuf, String> {
    println!("cargo:rerun-if-env-changed={LUA_SRC_ENV}");
    env::var_os(LUA_SRC_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{LUA_SRC_ENV} is not set: build the guest with `cargo xtask build`, which sets it"))
}
