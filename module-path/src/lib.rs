//! Finding Lua modules on a path like `LUA_PATH`'s, for the hosts of cu's `modules` import: what
//! a module name may be, what a path entry means, and the places `require`'s error lists. Reading
//! files is the caller's ([`Files`]), so that each host confines it its own way.

use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

/// One entry of a module path, such as `lib/?.lua`: `?` stands for the module's name with its
/// dots as `/`, and the file is looked for inside the directory before the `?` (`lib`).
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The entry as given, for messages.
    template: String,
    /// The directory the entry is confined to.
    dir: PathBuf,
    /// The rest of the entry, relative to `dir`.
    file: String,
}

impl Pattern {
    /// Reads one entry; fails when it has no `?`.
    pub fn parse(template: &str) -> Result<Self, String> {
        let Some(question) = template.find('?') else {
            return Err(format!("module path entry '{template}' has no '?' to stand for the module's name"));
        };
        let cut = template[..question].rfind('/').map_or(0, |slash| slash + 1);
        let dir = match &template[..cut] {
            "" => ".",
            "/" => "/",
            dir => dir.trim_end_matches('/'),
        };
        let dir = PathBuf::from(dir);
        Ok(Self { template: template.to_string(), dir, file: template[cut..].to_string() })
    }

    /// The entries of a path in `LUA_PATH`'s form (`;` between entries; empty ones skipped).
    pub fn parse_path(path: &str) -> Result<Vec<Self>, String> {
        path.split(';').filter(|t| !t.is_empty()).map(Self::parse).collect()
    }

    /// The directory the entry is confined to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Reads module files: a host opens them inside a directory, never outside it.
pub trait Files {
    /// The size of `file` (a relative path) inside `dir`; `None` when there is no such file
    /// (a directory is none either).
    fn size(&self, dir: &Path, file: &str) -> io::Result<Option<u64>>;
    /// The bytes of `file` inside `dir`.
    fn read(&self, dir: &Path, file: &str) -> io::Result<Vec<u8>>;
}

/// What looking for a module found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Its source, and where it came from (the file as its path entry names it).
    Module { source: Vec<u8>, origin: String },
    /// The places searched, as `require`'s error lists them (`no file 'lib/util.lua'`).
    Missing(Vec<String>),
}

/// Looks for `name` along `path`, reading through `files`. A file larger than `limit` bytes
/// (0 = none) is refused, as is one that cannot be read; `searched` starts the list of places.
pub fn find(
    name: &str,
    path: &[Pattern],
    files: &impl Files,
    limit: u64,
    mut searched: Vec<String>,
) -> Result<Found, String> {
    if !valid_name(name) {
        return Err(invalid_name(name));
    }
    let as_path = name.replace('.', "/");
    for pattern in path {
        let file = pattern.file.replace('?', &as_path);
        let shown = pattern.template.replace('?', &as_path);
        let unreadable = |e: io::Error| {
            if e.kind() == ErrorKind::PermissionDenied && e.to_string().contains("outside") {
                format!("cannot read '{shown}': it leads outside '{}'", pattern.dir.display())
            } else {
                format!("cannot read '{shown}': {e}")
            }
        };
        let size = match files.size(&pattern.dir, &file) {
            Ok(Some(size)) => size,
            Ok(None) => {
                searched.push(format!("no file '{shown}'"));
                continue;
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                searched.push(format!("no file '{shown}'"));
                continue;
            }
            Err(e) => return Err(unreadable(e)),
        };
        if limit > 0 && size > limit {
            return Err(format!("'{shown}' holds {size} bytes, more than the unit's memory limit of {limit} bytes"));
        }
        let source = files.read(&pattern.dir, &file).map_err(unreadable)?;
        return Ok(Found::Module { source, origin: shown });
    }
    Ok(Found::Missing(searched))
}

/// A module name as `require` takes it: parts separated by dots, none empty, and no `/`, `\` or
/// NUL, so that no name can climb out of a directory. The component checks the same.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|part| !part.is_empty()) && !name.contains(['/', '\\', '\0'])
}

/// The error for a name that is not [`valid_name`].
pub fn invalid_name(name: &str) -> String {
    format!(
        "module name {name:?} is not valid: its parts are separated by dots, none empty, and it holds no '/', '\\' or NUL"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_confined_to_the_directory_before_the_question_mark() {
        let p = Pattern::parse("lib/sub/?/init.lua").expect("an entry");
        assert_eq!((p.dir(), p.file.as_str()), (Path::new("lib/sub"), "?/init.lua"));
        assert_eq!(Pattern::parse("/?.lua").expect("an entry").dir(), Path::new("/"));
        assert_eq!(Pattern::parse("?.lua").expect("an entry").dir(), Path::new("."));
        assert!(Pattern::parse("lib/x.lua").is_err());
    }

    #[test]
    fn names_cannot_climb() {
        for bad in ["", "a..b", ".a", "a.", "a/b", "..", "a\\b", "a\0b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("app.models.user"));
    }
}
