//! Stored values straight into the host's packed form (`cu:unit/types.value`): a query from the
//! host hands over the records it read from the store without making Lua tables of them first,
//! which took most of an indexed query's time. Only plain values go this way — scalars and
//! embedded tables — and each converts exactly as its Lua view would (convert/from_lua.rs: the
//! same array rule, key order and marked shapes); anything else, or a marked array that would
//! not convert, is left to that view and its error.

use packed::Node;

use super::codec::{Key, Shape, Stored};
use crate::convert::{self, MAX_DEPTH, longest_array};

/// The packed form of a stored value, when it is plain.
pub fn value(stored: &Stored) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    push(&mut out, stored, 0)?;
    Some(out)
}

/// The packed form of a key.
pub fn key(key: &Key) -> Vec<u8> {
    let mut out = Vec::new();
    // Only a string past 4 GiB is too long, and keys are at most a few KiB.
    let _ = packed::push(&mut out, crossing(key).node());
    out
}

fn crossing(key: &Key) -> convert::Key<'_> {
    match key {
        Key::Boolean(b) => convert::Key::Boolean(*b),
        Key::Integer(i) => convert::Key::Integer(*i),
        Key::Float(f) => convert::Key::Float(*f),
        Key::String(s) => convert::Key::String(s),
    }
}

fn push(out: &mut Vec<u8>, stored: &Stored, depth: usize) -> Option<()> {
    let node = match stored {
        Stored::Boolean(b) => Node::Boolean(*b),
        Stored::Integer(i) => Node::Integer(*i),
        Stored::Float(f) => Node::Float(*f),
        Stored::String(s) => Node::String(s),
        Stored::Null => Node::Nil,
        Stored::BigInt(value) => return packed::push(out, Node::Bigint(value.to_string().as_bytes())).ok(),
        Stored::Embedded(shape, entries) if depth < MAX_DEPTH => {
            let keys = entries.iter().map(|(code, _)| Key::decode(&code.0).ok()).collect::<Option<Vec<_>>>()?;
            return table(out, *shape, &keys, entries.iter().map(|(_, value)| value), depth);
        }
        _ => return None,
    };
    packed::push(out, node).ok()
}

/// An embedded table's entries, in key-code order: integer keys by value, so `1..n` in order.
fn table<'a>(
    out: &mut Vec<u8>,
    shape: Shape,
    keys: &[Key],
    values: impl Iterator<Item = &'a Stored>,
    depth: usize,
) -> Option<()> {
    let positions: Option<Vec<u64>> =
        keys.iter().map(|key| if let Key::Integer(i @ 1..) = key { Some(*i as u64) } else { None }).collect();
    let sequence =
        positions.as_ref().is_some_and(|p| !p.is_empty() && p.iter().enumerate().all(|(i, &k)| k == i as u64 + 1));
    match shape {
        Shape::Array => {
            let positions = positions?;
            let length = positions.last().copied().unwrap_or(0);
            if length > longest_array(positions.len()) {
                return None;
            }
            packed::push(out, Node::Array(u32::try_from(length).ok()?)).ok()?;
            let mut values = positions.iter().zip(values).peekable();
            for i in 1..=length {
                match values.next_if(|(at, _)| **at == i) {
                    Some((_, value)) => push(out, value, depth + 1)?,
                    None => packed::push(out, Node::Nil).ok()?,
                }
            }
        }
        Shape::Inferred if sequence => {
            packed::push(out, Node::Array(u32::try_from(keys.len()).ok()?)).ok()?;
            for value in values {
                push(out, value, depth + 1)?;
            }
        }
        _ => {
            packed::push(out, Node::Map(u32::try_from(keys.len()).ok()?)).ok()?;
            let mut entries: Vec<(convert::Key, &Stored)> = keys.iter().map(crossing).zip(values).collect();
            // Key codes put floats before integers; the host's order has numbers by value.
            entries.sort_by(|a, b| a.0.order(&b.0));
            for (key, value) in entries {
                packed::push(out, key.node()).ok()?;
                push(out, value, depth + 1)?;
            }
        }
    }
    Some(())
}
