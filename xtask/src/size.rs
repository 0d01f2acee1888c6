//! `cargo xtask size`: what the guest's core module is made of. The guest is built again with its
//! symbols and wasm-ld's link map (in target/size), and the map's code and data are summed by
//! where they come from: Lua (one unity C file and two more, guest/build.rs), cu's own C, the Rust
//! crates (named by their demangled symbols, since LTO puts them all in one object), wasi-libc.
//! The sizes are the linker's, before binaryen's wasm-opt, whose output (the shipped module) is
//! printed beside for scale.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd::{self, root};
use crate::setup::WASM_TARGET;
use crate::tasks::{self, GUEST_PROFILE};

/// Builds the guest with a link map and prints its code and data by origin.
pub fn size() -> Result<()> {
    let dir = root().join("target/size");
    let map = dir.join("guest.map");
    let mut build = tasks::wasm_build(&dir);
    // The guest's flags plus the map; the symbols stay for the demangler.
    let flags = format!("{} -C link-arg=-Map={}", tasks::wasm_rustflags(), map.display());
    build
        .args(["-p", "guest"])
        .env("CU_LUA_SRC", tasks::lua_src_dir()?)
        .env("CARGO_PROFILE_GUEST_STRIP", "false")
        .env(tasks::WASM_RUSTFLAGS, flags);
    cmd::run(&mut build)?;
    let text = fs::read_to_string(&map).with_context(|| format!("the build wrote no link map at {}", map.display()))?;
    let sections = sum_by_origin(&text);
    let linked = fs::metadata(dir.join(WASM_TARGET).join(GUEST_PROFILE).join("guest.wasm"))?.len();
    print(&sections, linked, &root().join("host-js/generated/guest.core.wasm"));
    Ok(())
}

/// The column past which wasm-ld's map indents input sections and symbols: output sections and
/// data segments start before it.
const INPUT_COLUMN: usize = 30;

/// Bytes per origin in each output section the map lists (CODE, DATA).
fn sum_by_origin(map: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut sections: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut section = String::new();
    for line in map.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(size), Some(name)) = (fields.get(2), fields.get(3)) else { continue };
        let Ok(size) = u64::from_str_radix(size, 16) else { continue };
        if line.find(name).unwrap_or(0) < INPUT_COLUMN {
            // A data segment (`.rodata`) belongs to the section before it.
            if !name.starts_with('.') {
                section = name.to_string();
            }
            continue;
        }
        // Lines without `:(` name the symbols of the input section above them.
        let Some((input, symbol)) = name.split_once(":(") else { continue };
        let origin = origin(input, symbol.trim_end_matches(')'));
        *sections.entry(section.clone()).or_default().entry(origin).or_default() += size;
    }
    sections
}

/// Where an input section comes from: its C file's group, or its Rust crate.
fn origin(input: &str, symbol: &str) -> String {
    if input.contains("/libc.a(") {
        return "wasi-libc".into();
    }
    if input.contains("compiler_builtins") {
        return "Rust: standard library".into();
    }
    if let Some(object) = input.strip_suffix(".o)").and_then(|s| s.rsplit_once('(')).map(|(_, o)| o) {
        // Objects are named `HASH-file.o`; guest/build.rs compiles Lua as one unity file, and
        // apart from it the interpreter loop, calls and the compiler.
        let file = object.split_once('-').map_or(object, |(_, file)| file);
        return match file {
            "cu_lua" | "lvm" | "ldo" | "llex" | "lcode" | "lparser" => "Lua 5.4 (C: interpreter and libraries)".into(),
            _ => format!("cu's C ({file}.c)"),
        };
    }
    if input.starts_with("<internal>") {
        return "linker".into();
    }
    if !input.ends_with(".rcgu.o") {
        return Path::new(input).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    }
    // A data symbol is named after its section: `.rodata.NAME`.
    let symbol =
        [".rodata.", ".data.", ".bss.", ".tdata."].iter().find_map(|p| symbol.strip_prefix(p)).unwrap_or(symbol);
    if symbol.starts_with(".L") {
        return "Rust: unnamed constants".into();
    }
    let demangled = format!("{:#}", rustc_demangle::demangle(symbol));
    match rust_crate(&demangled) {
        Some("std" | "core" | "alloc" | "dlmalloc" | "hashbrown" | "__rustc") => "Rust: standard library".into(),
        Some(krate) => format!("Rust: {krate}"),
        // Exports and shims: wit-bindgen's export functions, into which LTO inlines guest code.
        None => "Rust: the component's exports (guest code inlined into them)".into(),
    }
}

/// The crate a demangled path belongs to: `mlua::table::Table::get` is mlua's; a trait method
/// `<mlua::Table as core::fmt::Debug>::fmt` is its type's crate, or the trait's when the type is
/// generic or primitive (`<T as core::fmt::Debug>`).
fn rust_crate(path: &str) -> Option<&str> {
    let Some(inner) = path.strip_prefix('<') else {
        return path.split_once("::").map(|(krate, _)| krate);
    };
    let (own, trait_path) = inner.split_once(" as ").unwrap_or((inner, ""));
    let own = own.trim_start_matches(['<', '&', '*', '[']).trim_start_matches("mut ").trim_start_matches("const ");
    let own = own.trim_start_matches("dyn ");
    own.split_once("::").map(|(krate, _)| krate).or_else(|| trait_path.split_once("::").map(|(krate, _)| krate))
}

fn print(sections: &BTreeMap<String, BTreeMap<String, u64>>, linked: u64, shipped: &Path) {
    let kib = |bytes: u64| format!("{:.1} KiB", bytes as f64 / 1024.0);
    for (section, origins) in sections.iter().filter(|(s, _)| *s == "CODE" || *s == "DATA") {
        let total: u64 = origins.values().sum();
        println!("\n| {section} of the linked guest, by origin | size | share |\n|---|---:|---:|");
        let mut sorted: Vec<_> = origins.iter().collect();
        sorted.sort_by_key(|(_, bytes)| std::cmp::Reverse(**bytes));
        for (origin, bytes) in sorted {
            println!("| {origin} | {} | {:.1}% |", kib(*bytes), 100.0 * *bytes as f64 / total as f64);
        }
        println!("| total | {} | |", kib(total));
    }
    println!("\nThe linked guest (symbols and debug sections included) is {}.", kib(linked));
    match fs::metadata(shipped) {
        Ok(meta) => println!(
            "The shipped core module ({}, after wasm-opt -O3, stripped) is {}.",
            shipped.display(),
            kib(meta.len())
        ),
        Err(_) => println!("Run `cargo xtask build` for the shipped core module's size ({}).", shipped.display()),
    }
}
