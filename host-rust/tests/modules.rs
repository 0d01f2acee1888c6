//! `require` through the Rust host and the `cu` CLI: module paths read lazily and confined to
//! their directory, added modules, modules in `_home` shared between processes, Lua source as
//! bytes, and the bad inputs of each (tests/cases/modules.toml has the rules every host shares).

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use cu::{Error, UnitOptions, Value};

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("makes the directory");
    fs::write(path, text).expect("writes the file");
}

fn runtime_message(result: cu::Result<cu::Outcome>) -> String {
    match result {
        Err(Error::Runtime { message, .. }) => message,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

fn cu_in(dir: &Path, args: &[&str]) -> Output {
    let cache = std::env::temp_dir().join("cu-modules-test-cache");
    common::cu_command(&cache).args(args).current_dir(dir).output().expect("cu runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_module_path_is_read_when_required_and_dotted_names_are_directories() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lib = dir.path().join("lib");
    fs::create_dir(&lib).expect("makes lib");
    let mut unit = common::unit_with(UnitOptions::default().module_path(&lib));
    // Written after the unit was made: nothing is read before `require` asks.
    write(&lib.join("late.lua"), "return { made = 'late' }");
    write(&lib.join("pkg/init.lua"), "return 'pkg from init.lua'");
    write(&lib.join("pkg/sub.lua"), "return ...");
    let values = common::values(&mut unit, "return require('late').made, require('pkg'), require('pkg.sub')");
    // The loader gets the name and the file; the first `require` returns both.
    let origin = format!("{}/pkg/sub.lua", lib.display());
    assert_eq!(
        values,
        [Value::from("late"), Value::from("pkg from init.lua"), Value::from("pkg.sub"), Value::from(origin.as_str())]
    );
    let second = common::values(&mut unit, "return select(2, package.loaded.pkg and require('pkg.sub'))");
    assert!(second.is_empty() || second == [Value::Nil], "a cached module gives one value: {second:?}");
    // A changed file does not change a loaded module; a reset loads it afresh.
    write(&lib.join("late.lua"), "return { made = 'changed' }");
    assert_eq!(common::values(&mut unit, "return require('late').made"), [Value::from("late")]);
    unit.reset().expect("resets");
    assert_eq!(common::values(&mut unit, "return require('late').made"), [Value::from("changed")]);
}

#[test]
fn the_error_for_a_missing_module_lists_the_files_looked_at() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // `nope/` does not exist: the unit is refused before it starts.
    let made = common::engine().unit(UnitOptions::default().module_pattern("nope/?.lua"));
    match made {
        Err(Error::Module { message }) => assert_eq!(message, "module directory 'nope' does not exist"),
        other => panic!("expected a module error, got {other:?}"),
    }
    let mut unit = common::unit_with(UnitOptions::default().module_path(dir.path()));
    let message = runtime_message(unit.compute("return require('a.b')"));
    let shown = dir.path().display();
    assert_eq!(
        message,
        format!(
            "module 'a.b' not found:\n\tno field package.preload['a.b']\n\tno module 'a.b' added by the host\n\t\
             no file '{shown}/a/b.lua'\n\tno file '{shown}/a/b/init.lua'\n\tno field _home.modules['a.b']"
        )
    );
}

#[test]
fn modules_cannot_reach_outside_their_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lib = dir.path().join("lib");
    write(&dir.path().join("secret.lua"), "return 'the secret'");
    write(&dir.path().join("outside/inner.lua"), "return 'outside'");
    fs::create_dir_all(&lib).expect("makes lib");
    std::os::unix::fs::symlink(dir.path().join("secret.lua"), lib.join("link.lua")).expect("a symlink");
    std::os::unix::fs::symlink(dir.path().join("outside"), lib.join("away")).expect("a symlink");
    std::os::unix::fs::symlink("/etc/passwd", lib.join("passwd.lua")).expect("a symlink");
    write(&lib.join("real.lua"), "return 'inside'");
    std::os::unix::fs::symlink("real.lua", lib.join("alias.lua")).expect("a symlink inside");
    let mut unit = common::unit_with(UnitOptions::default().module_path(&lib));

    for name in ["../secret", "..secret", "/etc/passwd", "a//b", ".hidden"] {
        let message = runtime_message(unit.compute(format!("return require({name:?})")));
        assert!(message.contains("is not valid"), "{name}: {message}");
    }
    for name in ["link", "away.inner", "passwd"] {
        let message = runtime_message(unit.compute(format!("return require({name:?})")));
        assert!(message.starts_with(&format!("cannot load module '{name}': cannot read '")), "{name}: {message}");
        assert!(message.contains("it leads outside"), "{name}: {message}");
        assert!(!message.contains("the secret") && !message.contains("root:"), "{message}");
    }
    // A symlink that stays inside is followed.
    assert_eq!(common::values(&mut unit, "return (require('alias'))"), [Value::from("inside")]);
    common::assert_alive(&mut unit);
}

#[test]
fn a_module_larger_than_the_memory_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let big = format!("return '{}'", "x".repeat(3 << 20));
    write(&dir.path().join("big.lua"), &big);
    let mut unit = common::unit_with(UnitOptions::default().memory_limit(2 << 20).module_path(dir.path()));
    let message = runtime_message(unit.compute("return require('big')"));
    assert!(message.contains("holds 3145737 bytes, more than the unit's memory limit of 2097152 bytes"), "{message}");
    common::assert_alive(&mut unit);
    // One that fits the file check but not the heap is Lua's memory error.
    let mut unit = common::unit_with(UnitOptions::default().memory_limit(4 << 20).module_path(dir.path()));
    match unit.compute("return require('big')") {
        Err(Error::Limit { kind: cu::LimitKind::Memory, reset: false, .. }) => {}
        other => panic!("expected a memory limit, got {other:?}"),
    }
    common::assert_alive(&mut unit);
}

#[test]
fn added_modules_come_before_the_path_and_survive_a_reset() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(&dir.path().join("shape.lua"), "return 'from the file'");
    let mut unit = common::unit_with(UnitOptions::default().module_path(dir.path()));
    unit.add_module("shape", "return 'added'").expect("adds");
    unit.add_module("latin", b"return '\xe9t\xe9'".as_slice()).expect("adds bytes");
    assert_eq!(
        common::values(&mut unit, "return (require('shape')), #require('latin')"),
        [Value::from("added"), Value::Integer(3)]
    );
    unit.reset().expect("resets");
    assert_eq!(common::values(&mut unit, "return (require('shape'))"), [Value::from("added")]);
    for bad in ["", "a/b", "a..b", "x\0"] {
        match unit.add_module(bad, "return 1") {
            Err(Error::Module { message }) => assert!(message.contains("is not valid"), "{message}"),
            other => panic!("{bad:?}: expected a module error, got {other:?}"),
        }
    }
    // Bytecode stays refused, as a module too.
    unit.add_module("dumped", b"\x1bLua\x54\x00".as_slice()).expect("adds");
    let message = runtime_message(unit.compute("return require('dumped')"));
    assert!(message.contains("attempt to load a binary chunk"), "{message}");
}

#[test]
fn source_is_bytes() {
    let mut unit = common::unit();
    let latin1 = b"local s = 'caf\xe9' return #s, s:byte(4), s == '\\99\\97\\102\\233'";
    let values = |unit: &mut cu::Unit, code: &[u8]| unit.compute(code).expect("runs").values;
    assert_eq!(values(&mut unit, latin1), [Value::Integer(4), Value::Integer(0xe9), Value::Boolean(true)]);
    let raw_binary = b"return #'\x00\x01\xff\xfe'";
    assert_eq!(values(&mut unit, raw_binary), [Value::Integer(4)]);
    match unit.compute(b"\x1bLua".as_slice()) {
        Err(Error::Syntax { message, .. }) => assert!(message.contains("binary chunk"), "{message}"),
        other => panic!("expected bytecode to be refused, got {other:?}"),
    }
}

#[test]
fn cu_run_finds_modules_beside_the_script_and_in_lib_dirs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(
        &dir.path().join("app/main.lua"),
        "local util = require('util')\nlocal fmt = require('text.fmt')\nprint(fmt.show(util.twice(21)))\n",
    );
    write(&dir.path().join("app/util.lua"), "local M = {}\nfunction M.twice(x) return x * 2 end\nreturn M\n");
    write(&dir.path().join("vendor/text/fmt.lua"), "return { show = function(n) return 'n = ' .. n end }\n");
    write(&dir.path().join("extra/greet.lua"), "return 'hi'\n");
    let out = cu_in(dir.path(), &["--store", "memory", "run", "app/main.lua", "-L", "vendor"]);
    assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(0), "n = 42\n"), "{}", text(&out.stderr));
    // Without -L the third file is not found, and the error lists where cu looked.
    let out = cu_in(dir.path(), &["--store", "memory", "run", "app/main.lua"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no file 'app/text/fmt.lua'"), "{}", text(&out.stderr));
    // --path takes LUA_PATH's form; eval looks in the current directory.
    let out = cu_in(
        dir.path(),
        &[
            "--store",
            "memory",
            "--path",
            "extra/?.lua;vendor/?.lua",
            "eval",
            "return require('greet'), require('text.fmt').show(1)",
        ],
    );
    assert_eq!(text(&out.stdout), "\"hi\"\n\"n = 1\"\n", "{}", text(&out.stderr));
    let out = cu_in(dir.path(), &["--store", "memory", "-L", "missing-dir", "eval", "return 1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "cu: module directory 'missing-dir' does not exist\n");
    // A script with Latin-1 bytes runs as Lua reads it.
    fs::write(dir.path().join("latin.lua"), b"return #'\xe9l\xe9phant'").expect("writes");
    let out = cu_in(dir.path(), &["--store", "memory", "run", "latin.lua"]);
    assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(0), "8\n"), "{}", text(&out.stderr));
}

#[test]
fn a_module_stored_in_home_by_one_process_is_required_by_another() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = format!("sqlite:{}", dir.path().join("home.sqlite").display());
    let stored = "_home.modules = { money = [[local M = {} function M.cents(x) return x * 100 end return M]] }";
    let out = cu_in(dir.path(), &["--store", &store, "eval", stored]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cu_in(dir.path(), &["--store", &store, "eval", "return require('money').cents(12)"]);
    assert_eq!(text(&out.stdout), "1200\n", "{}", text(&out.stderr));
    // The Rust API on the same file sees it too.
    let mut unit = common::unit_with(UnitOptions::default().store(cu::Store::sqlite(dir.path().join("home.sqlite"))));
    assert_eq!(common::values(&mut unit, "return require('money').cents(3)"), [Value::Integer(300)]);
}
