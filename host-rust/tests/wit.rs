//! The WIT the component carries is the repository's wit/, the package consumers vendor
//! (docs/COMPOSITION.md): every interface it exports is, item for item, the one in wit/, and its
//! world is wit/'s world `cu`. What it imports is the part of wit/ it uses: the component's
//! imports keep only the functions the guest calls (a kv provider exports all of them).

use std::collections::BTreeMap;
use std::path::Path;

use wit_component::{DecodedWasm, WitPrinter};
use wit_parser::{PackageId, Resolve, WorldKey};

/// Each interface of `package` as WIT text without doc comments, by name.
fn interfaces(resolve: &Resolve, package: PackageId) -> BTreeMap<String, String> {
    let mut printer = WitPrinter::default();
    printer.emit_docs(false);
    printer.print(resolve, package, &[]).expect("prints the package");
    let text = printer.output.to_string();
    let mut found = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("interface ").and_then(|rest| rest.strip_suffix(" {")) {
            let body: Vec<&str> = lines.by_ref().take_while(|line| *line != "}").collect();
            found.insert(name.to_string(), body.join("\n"));
        }
    }
    found
}

/// The names of a world's imports or exports that are interfaces of `package`.
fn named<'a>(resolve: &Resolve, items: impl Iterator<Item = &'a WorldKey>, package: PackageId) -> Vec<String> {
    let mut names: Vec<String> = items
        .filter_map(|key| match key {
            WorldKey::Interface(id) if resolve.interfaces[*id].package == Some(package) => {
                resolve.interfaces[*id].name.clone()
            }
            _ => None,
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_component_carries_exactly_the_wit_of_the_repository() {
    let mut ours = Resolve::default();
    let (package, _) = ours.push_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")).expect("wit/ parses");
    let DecodedWasm::Component(theirs, world) = wit_component::decode(cu::COMPONENT).expect("the component decodes")
    else {
        panic!("cu.wasm is not a component");
    };
    let their_package = theirs
        .package_names
        .iter()
        .find(|(name, _)| name.namespace == "cu" && name.name == "unit")
        .map(|(_, id)| *id)
        .expect("the component uses cu:unit");
    assert_eq!(theirs.packages[their_package].name, ours.packages[package].name, "the package and its version");

    let (expected, carried) = (interfaces(&ours, package), interfaces(&theirs, their_package));
    let cu_world = ours.packages[package].worlds["cu"];
    let (want, got) = (&ours.worlds[cu_world], &theirs.worlds[world]);
    let exports = named(&theirs, got.exports.keys(), their_package);
    assert_eq!(exports, named(&ours, want.exports.keys(), package), "exports");
    for name in &exports {
        assert_eq!(carried.get(name), expected.get(name), "exported interface {name} differs from wit/");
    }
    let imports = named(&theirs, got.imports.keys(), their_package);
    assert!(imports.contains(&"kv".to_string()) && imports.contains(&"types".to_string()), "imports {imports:?}");
    for name in &imports {
        let (text, whole) = (&carried[name], &expected[name]);
        let missing: Vec<&str> = text.lines().filter(|line| !whole.lines().any(|l| l == *line)).collect();
        assert!(missing.is_empty(), "imported interface {name} has what wit/ lacks: {missing:?}");
    }
    assert!(carried["kv"].contains("commit: func("), "the kv import keeps what the guest calls");
}

#[test]
fn the_consumers_in_the_repository_are_built_against_wit_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wit = root.join("wit").canonicalize().expect("wit/ exists");
    for consumer in ["cu-run", "cu-http"] {
        let manifest: toml::Table = std::fs::read_to_string(root.join(consumer).join("Cargo.toml"))
            .expect("a manifest")
            .parse()
            .expect("valid TOML");
        let dependencies = manifest["dependencies"].as_table().expect("dependencies");
        assert!(!dependencies.contains_key("guest"), "{consumer} uses no code of the guest crate");
        let vendored = root.join(consumer).join("wit/deps/cu-unit").canonicalize().expect("cu's WIT in wit/deps");
        assert_eq!(vendored, wit, "{consumer} takes cu's WIT from wit/, unchanged");
    }
}
