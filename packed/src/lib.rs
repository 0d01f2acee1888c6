//! The packed form of a `cu:unit/types.value` (wit/types.wit): a tree of nodes in preorder, each
//! node a tag byte followed by its payload, numbers little-endian. The guest and the Rust host
//! both read and write values through this crate, so the format has one definition in Rust.
//!
//! Reading checks only that each node is whole; what a tree must satisfy beyond that (counts
//! that close, keys Lua accepts, nesting depth) is for the reader of the tree to check.

const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INTEGER: u8 = 3;
const FLOAT: u8 = 4;
const STRING: u8 = 5;
const BIGINT: u8 = 6;
const ARRAY: u8 = 7;
const MAP: u8 = 8;

/// One node. A string's bytes and a bigint's digits are borrowed from the packed value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node<'a> {
    /// `nil` at the root, Lua's `null` inside a container.
    Nil,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    /// A string: any bytes.
    String(&'a [u8]),
    /// An integer of any size: its decimal digits, after a `-` when it is negative.
    Bigint(&'a [u8]),
    /// An array of this many elements, which follow it.
    Array(u32),
    /// A map of this many entries, which follow it, each a key then a value.
    Map(u32),
}

/// Why bytes do not hold a node where one should start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// The bytes end before the node does.
    Truncated,
    /// The tag is none of the format's.
    UnknownTag(u8),
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated => f.write_str("is malformed: its bytes end inside a node"),
            Malformed::UnknownTag(tag) => write!(f, "is malformed: {tag} is not a node's tag"),
        }
    }
}

/// A string or bigint too long for the format's 32-bit lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

/// Reads nodes one after another.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// Where the next node starts.
    #[inline]
    pub fn position(&self) -> usize {
        self.at
    }

    /// How many bytes are left to read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Whether every byte has been read.
    #[inline]
    pub fn is_at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// The next node, without moving past it.
    #[inline]
    pub fn peek(&self) -> Result<Node<'a>, Malformed> {
        self.clone().next()
    }

    /// The node that starts at `position`, for naming a key in an error message.
    pub fn node_at(&self, position: usize) -> Option<Node<'a>> {
        Reader { bytes: self.bytes, at: position }.next().ok()
    }

    /// The next node, moving past it (and past a string's or bigint's bytes, not a container's
    /// contents). On an error the reader stays where it was.
    #[allow(clippy::should_implement_trait)] // a fallible cursor, not an iterator
    #[inline]
    pub fn next(&mut self) -> Result<Node<'a>, Malformed> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let (&tag, payload) = rest.split_first().ok_or(Malformed::Truncated)?;
        let (node, len) = match tag {
            NIL => (Node::Nil, 0),
            FALSE => (Node::Boolean(false), 0),
            TRUE => (Node::Boolean(true), 0),
            INTEGER => (Node::Integer(i64::from_le_bytes(fixed(payload)?)), 8),
            FLOAT => (Node::Float(f64::from_le_bytes(fixed(payload)?)), 8),
            STRING => {
                let bytes = contents(payload)?;
                (Node::String(bytes), 4 + bytes.len())
            }
            BIGINT => {
                let digits = contents(payload)?;
                (Node::Bigint(digits), 4 + digits.len())
            }
            ARRAY => (Node::Array(u32::from_le_bytes(fixed(payload)?)), 4),
            MAP => (Node::Map(u32::from_le_bytes(fixed(payload)?)), 4),
            other => return Err(Malformed::UnknownTag(other)),
        };
        self.at += 1 + len;
        Ok(node)
    }
}

/// The first `N` bytes of a payload.
#[inline]
fn fixed<const N: usize>(payload: &[u8]) -> Result<[u8; N], Malformed> {
    payload.first_chunk::<N>().copied().ok_or(Malformed::Truncated)
}

/// The contents of a payload that starts with their length.
#[inline]
fn contents(payload: &[u8]) -> Result<&[u8], Malformed> {
    let len = u32::from_le_bytes(fixed(payload)?) as usize;
    payload.get(4..).and_then(|rest| rest.get(..len)).ok_or(Malformed::Truncated)
}

/// A lone nil: the packed form of an absent value.
pub fn nil() -> Vec<u8> {
    vec![NIL]
}

/// Appends `node` to `out`. A container's contents are pushed after it; when its count is known
/// only at its end, push it with 0 and set the count with [`set_container`].
#[inline]
pub fn push(out: &mut Vec<u8>, node: Node<'_>) -> Result<(), TooLong> {
    match node {
        Node::Nil => out.push(NIL),
        Node::Boolean(false) => out.push(FALSE),
        Node::Boolean(true) => out.push(TRUE),
        Node::Integer(i) => tagged(out, INTEGER, i.to_le_bytes()),
        Node::Float(f) => tagged(out, FLOAT, f.to_le_bytes()),
        Node::String(bytes) => with_contents(out, STRING, bytes)?,
        Node::Bigint(digits) => with_contents(out, BIGINT, digits)?,
        Node::Array(count) => tagged(out, ARRAY, count.to_le_bytes()),
        Node::Map(count) => tagged(out, MAP, count.to_le_bytes()),
    }
    Ok(())
}

/// The two kinds of container, which take the same room in the packed form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Array,
    Map,
}

/// Rewrites the array or map node that starts at `position` in `out` as a `kind` of `count`.
pub fn set_container(out: &mut [u8], position: usize, kind: Container, count: u32) {
    out[position] = match kind {
        Container::Array => ARRAY,
        Container::Map => MAP,
    };
    out[position + 1..position + 5].copy_from_slice(&count.to_le_bytes());
}

/// A tag and a fixed-size payload (at most 8 bytes), appended at once.
#[inline]
fn tagged<const N: usize>(out: &mut Vec<u8>, tag: u8, payload: [u8; N]) {
    let mut node = [tag; 9];
    node[1..=N].copy_from_slice(&payload);
    out.extend_from_slice(&node[..=N]);
}

#[inline]
fn with_contents(out: &mut Vec<u8>, tag: u8, contents: &[u8]) -> Result<(), TooLong> {
    let len = u32::try_from(contents.len()).map_err(|_| TooLong)?;
    out.reserve(5 + contents.len());
    tagged(out, tag, len.to_le_bytes());
    out.extend_from_slice(contents);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(nodes: &[Node<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for node in nodes {
            push(&mut out, *node).expect("short contents");
        }
        out
    }

    #[test]
    fn every_node_reads_back_as_written() {
        let nodes = [
            Node::Map(2),
            Node::String(b"a"),
            Node::Array(3),
            Node::Nil,
            Node::Boolean(true),
            Node::Boolean(false),
            Node::Integer(i64::MIN),
            Node::Float(-0.0),
            Node::Bigint(b"-123456789012345678901234567890"),
            Node::String(b"\xff\x00"),
        ];
        let bytes = packed(&nodes);
        let mut reader = Reader::new(&bytes);
        for node in nodes {
            assert_eq!(reader.next(), Ok(node));
        }
        assert!(reader.is_at_end());
        assert_eq!(reader.next(), Err(Malformed::Truncated));
    }

    #[test]
    fn a_cut_node_or_an_unknown_tag_is_malformed_and_the_reader_stays() {
        let bytes = packed(&[Node::Integer(7), Node::String(b"abc")]);
        for end in [1, 8, 10, 13] {
            let mut reader = Reader::new(&bytes[..end]);
            let first = reader.next();
            if end >= 9 {
                assert_eq!(first, Ok(Node::Integer(7)));
            } else {
                assert_eq!(first, Err(Malformed::Truncated));
            }
            let at = reader.position();
            assert_eq!(reader.next(), Err(Malformed::Truncated), "cut at {end}");
            assert_eq!(reader.position(), at);
        }
        assert_eq!(Reader::new(&[9]).next(), Err(Malformed::UnknownTag(9)));
    }

    #[test]
    fn a_container_count_can_be_set_when_it_ends() {
        let mut bytes = packed(&[Node::Map(0), Node::Integer(1), Node::Nil]);
        set_container(&mut bytes, 0, Container::Array, 2);
        assert_eq!(Reader::new(&bytes).next(), Ok(Node::Array(2)));
        assert_eq!(Reader::new(&nil()).next(), Ok(Node::Nil));
    }
}
