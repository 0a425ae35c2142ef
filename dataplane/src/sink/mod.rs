//! Sinks: where the frames that pass the filter go.
//!
//! Whatever the destination (the on-disk log or a live stream to HTTP subscribers), passed
//! frames leave the dataplane as pcapng, so that any standard tool can open them.
//! [`PcapngWriter`] is that encoder, shared by every sink; it also offers the preamble and
//! per-packet blocks as plain byte buffers for streams that fan the same packets out to
//! subscribers joining at different times.

pub mod pcapng_writer;

pub use pcapng_writer::PcapngWriter;
