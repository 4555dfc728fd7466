//! Protocol decoders. Each is sans-I/O: it is handed in-order bytes of one TCP direction and
//! reports what it found, and never reads a file or socket.
//!
//! # The stream-parser contract
//!
//! The reassembler keeps, per direction, a buffer of in-order bytes not yet consumed. It calls
//! [`ConnectionParser::feed`] with all of them each time new bytes arrive. The parser answers with
//! a [`Feed`]:
//!
//! * `consumed`: how many bytes at the front of `input` it is finished with (they are dropped);
//! * `skip`: how many bytes *after* those it does not need to see at all (e.g. the body of a TLS
//!   application-data record): the reassembler counts them as they arrive and never buffers them.
//!
//! Messages are reported through `emit(range, message)`, where `range` is the byte range of the
//! message inside `input` (its end is the byte that completes it). The reassembler maps the range
//! back to the frames that carried it, so a message is reported at the frame that completes it.
//! A parser that needs more bytes simply consumes nothing (or only the part it has dealt with)
//! and is called again with the same bytes plus new ones.
//!
//! A parser must never panic, must make progress or ask for more bytes, and must bound its own
//! internal buffers.

pub mod http;
pub mod ntlm;
pub mod tls;

use core::ops::Range;

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// From the client (the side that sent the SYN, or the guessed client) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// What a parser did with the bytes it was offered. See the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Feed {
    /// Bytes at the front of the input the parser is done with.
    pub consumed: usize,
    /// Bytes after the consumed ones that the parser does not need to see.
    pub skip: u64,
}

/// Why a direction ended, as told to [`ConnectionParser::end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The sender closed its side (FIN).
    Fin,
    /// The connection was reset.
    Reset,
    /// The capture ended with the direction still open.
    CaptureEnd,
}

/// A decoder of one TCP connection's application bytes (both directions).
pub trait ConnectionParser {
    /// The decoded messages it reports.
    type Message;

    /// New in-order bytes are available in direction `dir`; `input` holds every unconsumed byte.
    fn feed(
        &mut self,
        dir: Dir,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, Self::Message),
    ) -> Feed;

    /// `len` bytes are missing from direction `dir` (a hole that never filled). Whatever was
    /// buffered before it has been discarded; the next `feed` starts after the hole, so the
    /// parser must resynchronise.
    fn gap(&mut self, dir: Dir, len: u64);

    /// Direction `dir` has ended. Messages completed by the end (e.g. a close-delimited HTTP
    /// body) are emitted with an empty range `0..0`. `input` holds the unconsumed bytes.
    fn end(
        &mut self,
        dir: Dir,
        reason: EndReason,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, Self::Message),
    );
}
