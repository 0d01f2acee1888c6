//! [`Value`] to and from the component's `value`: nodes in preorder, a container followed by its
//! contents, with every string's bytes in one shared buffer.

use super::{MAX_DEPTH, Value};
use crate::bindings::cu::unit::types::{Node, Value as WitValue};
use crate::error::{Error, Result};

impl Value {
    /// Flattens the value into the form the component takes. `path` names it in errors.
    pub(crate) fn to_wit(&self, path: &str) -> Result<WitValue> {
        let mut wit = WitValue { nodes: Vec::new(), bytes: Vec::new() };
        self.push_nodes(&mut wit, 0).map_err(|reason| Error::Conversion { path: path.to_string(), reason })?;
        Ok(wit)
    }

    fn push_nodes(&self, wit: &mut WitValue, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nests tables deeper than {MAX_DEPTH} levels"));
        }
        let node = match self {
            Value::Nil => Node::Nil,
            Value::Boolean(b) => Node::Boolean(*b),
            Value::Integer(i) => Node::Integer(*i),
            Value::Float(f) => Node::Float(*f),
            Value::String(s) => {
                wit.bytes.extend_from_slice(s);
                Node::Bytes(count(s.len(), "is a string longer than 4 GiB")?)
            }
            Value::Array(items) => {
                wit.nodes.push(Node::Array(count(items.len(), "has more than 2^32 elements")?));
                return items.iter().try_for_each(|item| item.push_nodes(wit, depth + 1));
            }
            Value::Map(entries) => {
                wit.nodes.push(Node::Map(count(entries.len(), "has more than 2^32 entries")?));
                for (key, value) in entries {
                    key.push_nodes(wit, depth + 1)?;
                    value.push_nodes(wit, depth + 1)?;
                }
                return Ok(());
            }
        };
        wit.nodes.push(node);
        Ok(())
    }

    /// Rebuilds a value from the component's form, checking its shape.
    pub(crate) fn from_wit(value: WitValue) -> Result<Value> {
        let mut reader = Reader { nodes: value.nodes.into_iter(), bytes: &value.bytes, next_byte: 0 };
        let malformed = |reason: String| Error::Conversion {
            path: "the component's value".into(),
            reason: format!("is malformed: {reason}"),
        };
        let root = reader.node(0).map_err(malformed)?;
        match reader.nodes.len() {
            0 => Ok(root),
            extra => Err(malformed(format!("{extra} nodes follow the end of the root"))),
        }
    }
}

fn count(len: usize, too_long: &str) -> Result<u32, String> {
    u32::try_from(len).map_err(|_| too_long.to_string())
}

struct Reader<'a> {
    nodes: std::vec::IntoIter<Node>,
    bytes: &'a [u8],
    next_byte: usize,
}

impl Reader<'_> {
    fn node(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
        }
        let node = self.nodes.next().ok_or("its nodes end inside a container")?;
        // Sizes come from outside: never reserve more than the remaining nodes could fill.
        let capacity = |len: u32| (len as usize).min(self.nodes.len());
        Ok(match node {
            Node::Nil => Value::Nil,
            Node::Boolean(b) => Value::Boolean(b),
            Node::Integer(i) => Value::Integer(i),
            Node::Float(f) => Value::Float(f),
            Node::Bytes(len) => {
                let end = self.next_byte.saturating_add(len as usize);
                let bytes = self.bytes.get(self.next_byte..end).ok_or("its strings run past its bytes")?;
                self.next_byte = end;
                Value::String(bytes.to_vec())
            }
            Node::Array(len) => {
                let mut items = Vec::with_capacity(capacity(len));
                for _ in 0..len {
                    items.push(self.node(depth + 1)?);
                }
                Value::Array(items)
            }
            Node::Map(len) => {
                let mut entries = Vec::with_capacity(capacity(len));
                for _ in 0..len {
                    let key = self.node(depth + 1)?;
                    entries.push((key, self.node(depth + 1)?));
                }
                Value::Map(entries)
            }
        })
    }
}
