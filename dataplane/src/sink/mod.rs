//! Sinks: where passed frames go, without ever making a worker wait.
//!
//! A worker copies each passed frame into a batch buffer ([`batch`]) and hands it over once
//! per ring batch to the sink thread ([`thread`]), which writes the rotating pcapng log
//! ([`log`]) and offers the frames to live stream subscribers ([`stream`]). The pcapng encoder
//! ([`pcapng_writer`]) serves both.

pub mod batch;
pub mod log;
pub mod names;
pub mod pcapng_writer;
pub mod stream;
pub mod thread;

pub use names::SourceNames;
pub use pcapng_writer::PcapngWriter;
