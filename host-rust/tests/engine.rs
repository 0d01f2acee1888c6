//! The engine: compiling once, the on-disk cache, and starting units.

mod common;

use cu::{Engine, UnitOptions, Value};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cu-engine-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn answers(engine: &Engine) {
    let mut unit = engine.unit(UnitOptions::default()).expect("a unit starts");
    assert_eq!(unit.compute("return 6 * 7").expect("runs").values, vec![Value::Integer(42)]);
}

#[test]
fn the_compiled_component_is_cached_and_reused() {
    let dir = temp_dir("reuse");
    let first = Engine::builder().cache_dir(&dir).build().expect("compiles");
    let file = first.cache_file().expect("caching is on").to_path_buf();
    assert!(file.starts_with(&dir) && file.is_file(), "{} was not written", file.display());
    let written = std::fs::metadata(&file).expect("exists").modified().expect("mtime");
    answers(&first);

    let second = Engine::builder().cache_dir(&dir).build().expect("loads from the cache");
    assert_eq!(second.cache_file(), Some(file.as_path()));
    assert_eq!(std::fs::metadata(&file).expect("exists").modified().expect("mtime"), written, "not rewritten");
    answers(&second);
    std::fs::remove_dir_all(&dir).expect("cleans up");
}

#[test]
fn a_corrupt_cache_file_is_replaced() {
    let dir = temp_dir("corrupt");
    let file = Engine::builder().cache_dir(&dir).build().expect("compiles").cache_file().expect("cached").to_path_buf();
    std::fs::write(&file, b"not a compiled component").expect("corrupts");
    let engine = Engine::builder().cache_dir(&dir).build().expect("recompiles");
    answers(&engine);
    assert!(std::fs::metadata(&file).expect("exists").len() > 1000, "the corrupt file was replaced");
    std::fs::remove_dir_all(&dir).expect("cleans up");
}

#[test]
fn an_unwritable_cache_only_costs_speed() {
    let file = temp_dir("blocked");
    std::fs::write(&file, b"a file where the cache directory should be").expect("blocks");
    let engine = Engine::builder().cache_dir(file.join("cu")).build().expect("still builds");
    answers(&engine);
    std::fs::remove_file(&file).expect("cleans up");
}

#[test]
fn without_a_cache() {
    let engine = Engine::builder().no_cache().build().expect("compiles");
    assert!(engine.cache_file().is_none());
    answers(&engine);
}

#[test]
fn a_component_that_is_not_cu_is_refused_clearly() {
    match Engine::builder().no_cache().component(b"\0asm\x0d\0\x01\0".to_vec()).build() {
        Err(cu::Error::Engine(_)) => {}
        other => panic!("expected an engine error, got {other:?}"),
    }
}

#[test]
fn units_run_on_several_threads() {
    let engine = common::engine().clone();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut unit = engine.unit(UnitOptions::default()).expect("starts");
                unit.call("tostring", &[Value::Integer(i)]).expect("calls").values
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.join().expect("thread finishes"), vec![Value::from(i.to_string())]);
    }
}
