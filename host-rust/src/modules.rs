//! The component's `modules` import: the Lua modules a unit's `require` finds through this host.
//! Modules added by name come first, then the files of the module path, each read when `require`
//! first asks for it and through cap-std, so that neither a name nor a symlink reaches outside
//! its directory.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use module_path::{Files, Pattern};

use crate::bindings::cu::unit::modules::{Found, Host, Module};
use crate::error::{Error, Result};
use crate::state::State;

/// Where a unit's modules come from. Cheap to clone: a unit and each of its instances share one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Modules {
    /// Added with [`Unit::add_module`](crate::Unit::add_module): kept by the unit across resets.
    added: Arc<RwLock<BTreeMap<String, Arc<[u8]>>>>,
    path: Arc<[Pattern]>,
    /// The unit's memory limit (0 = none): a larger module could not fit in it.
    limit: u64,
}

impl Modules {
    /// The module path `templates`, whose directories must exist, for a unit with a Lua heap of
    /// `limit` bytes.
    pub(crate) fn new(templates: &[String], limit: u64) -> Result<Self> {
        let module = |message| Error::Module { message };
        let path = templates.iter().map(|t| Pattern::parse(t).map_err(module)).collect::<Result<Vec<_>>>()?;
        if let Some(missing) = path.iter().find(|p| !p.dir().is_dir()) {
            return Err(module(format!("module directory '{}' does not exist", missing.dir().display())));
        }
        Ok(Self { added: Arc::default(), path: path.into(), limit })
    }

    pub(crate) fn add(&self, name: &str, source: &[u8]) -> Result<()> {
        if !module_path::valid_name(name) {
            return Err(Error::Module { message: module_path::invalid_name(name) });
        }
        self.added.write().unwrap_or_else(PoisonError::into_inner).insert(name.to_string(), source.into());
        Ok(())
    }

    fn find(&self, name: &str) -> Result<Found, String> {
        if let Some(source) = self.added.read().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(Found::Module(Module { source: source.to_vec(), origin: name.to_string() }));
        }
        let searched = vec![format!("no module '{name}' added by the host")];
        Ok(match module_path::find(name, &self.path, &Confined, self.limit, searched)? {
            module_path::Found::Module { source, origin } => Found::Module(Module { source, origin }),
            module_path::Found::Missing(places) => Found::Missing(places),
        })
    }
}

/// Files opened inside their directory by cap-std, which refuses `..` and symlinks that lead out.
struct Confined;

impl Files for Confined {
    fn size(&self, dir: &Path, file: &str) -> io::Result<Option<u64>> {
        let meta = Dir::open_ambient_dir(dir, ambient_authority())?.metadata(file)?;
        Ok(meta.is_file().then_some(meta.len()))
    }

    fn read(&self, dir: &Path, file: &str) -> io::Result<Vec<u8>> {
        Dir::open_ambient_dir(dir, ambient_authority())?.read(file)
    }
}

impl Host for State {
    fn find(&mut self, name: String) -> wasmtime::Result<Result<Found, String>> {
        Ok(self.modules.find(&name))
    }
}
