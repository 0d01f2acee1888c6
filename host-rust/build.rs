//! Embeds the guest component, and cu-http composed with it (for `cu serve`), in the library, so
//! `cu` is a single self-contained binary.
//!
//! `cargo xtask build` builds and composes the components first and passes their paths as
//! CU_COMPONENT and CU_HTTP_COMPONENT; without them the default locations of that build are used.

use std::env;
use std::path::PathBuf;

fn main() {
    embed("CU_COMPONENT", "cu.wasm", "the guest component");
    embed("CU_HTTP_COMPONENT", "cu-http-open.wasm", "cu-http composed with the guest");
}

/// Tells rustc where the component `variable` names (or `default` in the target directory) is,
/// as `<variable>_PATH`.
fn embed(variable: &str, default: &str, what: &str) {
    println!("cargo:rerun-if-env-changed={variable}");
    let path = match env::var_os(variable) {
        Some(path) => PathBuf::from(path),
        None => {
            let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
            manifest_dir.join("../target").join(default)
        }
    };
    if !path.is_file() {
        eprintln!(
            "error: {what} {} does not exist: build it with `cargo xtask build` (or set {variable})",
            path.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rustc-env={variable}_PATH={}", path.display());
}
