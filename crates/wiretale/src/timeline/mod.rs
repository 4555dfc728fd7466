//! The timeline: one ordered stream of typed events, each tied to the frame that completed it.
//!
//! Every decoded fact becomes an [`Event`]: a connection event from the TCP layer, a TLS
//! handshake message, an HTTP request or response, an NTLM message. Events are produced while
//! the capture is read and handed to an [`EventSink`]; the JSON form of an event is its serde
//! serialization, documented in `docs/json-schema.md` ([`Event::write_json`] writes the same
//! text faster).

mod event;
mod fields;
mod frame;
mod frames;
mod json;
mod sink;
pub(crate) mod summary;

pub use event::{Detail, Event, NtlmEvent};
pub use fields::{EventFields, EventFilter, FrameFields, FrameFilter, MAX_EVENTS_PER_FRAME};
pub use frame::FrameSummary;
pub use frames::{Frames, FramesIntoIter};
pub use sink::{Collector, EventSink};
