//! Text built without the heap: raising an error leaves a function by a long jump, which would
//! leak anything it still owned.
//!
//! An error message is written to one buffer per thread, and a [`Message`] says it is there: the
//! result types of the operations stay small, which keeps their successful path fast.

use std::cell::RefCell;
use std::fmt::{self, Write};

/// Room for a text; longer ones (a huge malformed string, a huge number) are cut.
const ROOM: usize = 240;
const CUT: &str = "...";

thread_local! {
    static LAST: RefCell<Text> = const { RefCell::new(Text::EMPTY) };
}

/// Proof that an error message was written, to be taken by [`Message::take`].
#[derive(Debug)]
pub struct Message(());

impl Message {
    pub fn new(args: fmt::Arguments<'_>) -> Self {
        LAST.with_borrow_mut(|last| *last = Text::new(args));
        Message(())
    }

    /// The message, copied out so that no borrow is held when it is raised.
    pub fn take(self) -> Text {
        LAST.with_borrow(Text::clone)
    }
}

/// A short text on the stack.
#[derive(Clone, Debug)]
pub struct Text {
    bytes: [u8; ROOM],
    len: usize,
    cut: bool,
}

impl Text {
    const EMPTY: Text = Text { bytes: [0; ROOM], len: 0, cut: false };

    pub fn new(args: fmt::Arguments<'_>) -> Self {
        let mut text = Text::EMPTY;
        // Writing into the buffer cannot fail; a long text is cut.
        let _ = text.write_fmt(args);
        text
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Write for Text {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        let room = ROOM - CUT.len() - self.len;
        if text.len() <= room {
            self.bytes[self.len..self.len + text.len()].copy_from_slice(text.as_bytes());
            self.len += text.len();
            return Ok(());
        }
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[self.len..self.len + end].copy_from_slice(&text.as_bytes()[..end]);
        self.bytes[self.len + end..self.len + end + CUT.len()].copy_from_slice(CUT.as_bytes());
        self.len += end + CUT.len();
        self.cut = true;
        Err(fmt::Error)
    }
}
