//! Embeds the guest component in the library, so `cu` is a single self-contained binary.
//!
//! `cargo xtask build` builds the guest first and passes its path as CU_COMPONENT; without it the
//! default location of that build is used.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=CU_COMPONENT");
    let path = match env::var_os("CU_COMPONENT") {
        Some(path) => PathBuf::from(path),
        None => {
            let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
            manifest_dir.join("../target/cu.wasm")
        }
    };
    if !path.is_file() {
        eprintln!(
            "error: the guest component {} does not exist: build it with `cargo xtask build` (or set CU_COMPONENT)",
            path.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rustc-env=CU_COMPONENT_PATH={}", path.display());
}
