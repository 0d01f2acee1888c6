//! The kv-sqlite component: `_home` in a SQLite file reached through `wasi:filesystem`, by default
//! `.cu/home.sqlite` under the preopened directory `.` (`wasmtime run --dir .`), the file the `cu`
//! CLI uses in the same directory. `CU_STORE=sqlite:PATH` in the environment names another
//! (`wasmtime run --env CU_STORE=sqlite:data/app.sqlite`).

use kv_store::Store;

/// The file `cu` keeps `_home` in by default, relative to the directory it runs in.
const DEFAULT: &str = ".cu/home.sqlite";

/// Opens the file `CU_STORE` names, or the default one.
#[derive(Debug)]
pub struct Sqlite;

impl kv_provider::Open for Sqlite {
    fn open() -> Result<Store, String> {
        match std::env::var("CU_STORE") {
            Ok(spec) if spec.starts_with("sqlite:") => Store::open(&spec),
            Ok(spec) => Err(format!("CU_STORE={spec}: the kv-sqlite component keeps `_home` in a file: sqlite:PATH")),
            Err(_) => Ok(Store::sqlite(DEFAULT)),
        }
    }
}

type Provider = kv_provider::Provider<Sqlite>;

kv_provider::bindings::export_kv!(Provider with_types_in kv_provider::bindings);
