//! The modules-dir component: cu's `require` finds modules in the directories WASI preopened
//! (`wasmtime run --dir .`), as `?.lua` and `?/init.lua` under the current directory, or along
//! the path `CU_PATH` names in `LUA_PATH`'s form (`wasmtime run --env CU_PATH='lib/?.lua'`).
//! WASI itself keeps every read inside the preopened directories; names cannot hold `..`.

use std::io;
use std::path::Path;

use module_path::{Files, Pattern};

#[allow(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "modules-provider", path: "../wit" });
}

use bindings::exports::cu::unit::modules::{Found, Guest, Module};

/// The path when `CU_PATH` is not set, as `lua`'s default finds modules in the current directory.
const DEFAULT_PATH: &str = "./?.lua;./?/init.lua";

struct Provider;

impl Guest for Provider {
    fn find(name: String) -> Result<Found, String> {
        let path = std::env::var("CU_PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
        let path = Pattern::parse_path(&path).map_err(|e| format!("CU_PATH: {e}"))?;
        // The unit's memory limit is not known here; the unit refuses a module it cannot hold.
        Ok(match module_path::find(&name, &path, &Preopened, 0, Vec::new())? {
            module_path::Found::Module { source, origin } => Found::Module(Module { source, origin }),
            module_path::Found::Missing(places) => Found::Missing(places),
        })
    }
}

/// Files through WASI's preopened directories.
struct Preopened;

impl Files for Preopened {
    fn size(&self, dir: &Path, file: &str) -> io::Result<Option<u64>> {
        let meta = std::fs::metadata(dir.join(file))?;
        Ok(meta.is_file().then_some(meta.len()))
    }

    fn read(&self, dir: &Path, file: &str) -> io::Result<Vec<u8>> {
        std::fs::read(dir.join(file))
    }
}

bindings::export!(Provider with_types_in bindings);
