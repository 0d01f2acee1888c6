//! Exports the stack pointer of the JavaScript package's core module (generated/guest.core.wasm).
//!
//! Units made with `isolation: 'shared'` keep their Lua states in one instance, and a trap in one
//! unit must leave the others running (src/common/component.js). A trap unwinds the guest without
//! running the epilogues that give back each function's frame on the shadow stack, so the stack
//! pointer (the module's one global, which LLVM keeps unexported) stays where the trap left it and
//! every trap would shorten the stack of the units left. Exported, the package puts it back to
//! where every call starts. jco's glue ignores exports it does not know.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasm_encoder::{ExportKind, ExportSection, RawSection};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType};

/// The name the package reads the stack pointer by.
const EXPORT: &str = "cu_stack_pointer";

/// Adds to the core module at `path` an export of its stack pointer, named [`EXPORT`].
pub fn export_stack_pointer(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let edited = with_export(&bytes).with_context(|| format!("exporting the stack pointer of {}", path.display()))?;
    std::fs::write(path, edited).with_context(|| format!("writing {}", path.display()))
}

fn with_export(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    let mut imported_globals = 0u32;
    let mut stack_pointer = None;
    let mut exported = false;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::ImportSection(imports) => {
                for import in imports.clone().into_imports() {
                    if matches!(import?.ty, TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::GlobalSection(globals) => {
                // LLVM's layout: the stack pointer is the one global a Rust and C module defines,
                // a mutable i32. Anything else is a toolchain this was not written for.
                let types = globals.clone().into_iter().map(|g| g.map(|g| g.ty)).collect::<Result<Vec<_>, _>>()?;
                match types[..] {
                    [ty] if ty.mutable && ty.content_type == ValType::I32 => stack_pointer = Some(imported_globals),
                    _ => bail!("expected one global, the stack pointer (a mutable i32); found {types:?}"),
                }
            }
            Payload::ExportSection(exports) => {
                let index = stack_pointer.context("no global section before the exports")?;
                let mut section = ExportSection::new();
                for export in exports.clone() {
                    let export = export?;
                    if export.name == EXPORT {
                        bail!("already exports {EXPORT}");
                    }
                    section.export(export.name, export_kind(export.kind)?, export.index);
                }
                section.export(EXPORT, ExportKind::Global, index);
                module.section(&section);
                exported = true;
                continue;
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            let data = &bytes[usize::try_from(range.start)?..usize::try_from(range.end)?];
            module.section(&RawSection { id, data });
        }
    }
    if !exported {
        bail!("no export section");
    }
    Ok(module.finish())
}

fn export_kind(kind: ExternalKind) -> Result<ExportKind> {
    Ok(match kind {
        ExternalKind::Func => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
        other => bail!("an export of a kind jco does not make: {other:?}"),
    })
}
