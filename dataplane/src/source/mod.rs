//! Capture backends behind one trait: TPACKET_V3 rings, AF_XDP sockets, capture files.
//!
//! A source hands out frames one batch at a time, borrowed straight from its ring (or file
//! mapping), and gives the batch back to the kernel when the worker's callback has seen every
//! frame of it. The callback style keeps the borrow inside the call, so a frame can never
//! outlive the ring slot it points into.

pub mod afxdp;
pub mod file;
pub mod tpacket;

use std::io;
use std::time::Duration;

/// One received frame, borrowed from the source until the batch is released.
#[derive(Clone, Copy, Debug)]
pub struct RxFrame<'a> {
    pub data: &'a [u8],
    /// Length on the wire; more than `data.len()` when a snapshot length cut the frame.
    pub orig_len: u32,
    /// Nanoseconds since the Unix epoch. AF_XDP has no per-frame timestamp: one per batch.
    pub ts_ns: u64,
    /// pcap link type number (radiotap 127, 802.11 105, PPI 192, Prism 119, or other).
    pub linktype: u32,
}

/// What one call to [`Source::next_batch`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// A batch of this many frames was handed to the callback and released.
    Frames(usize),
    /// Nothing arrived before the timeout.
    Idle,
    /// A finite source (a file without looping) has no more frames.
    Ended,
}

/// Counters the kernel keeps for a socket, cumulative since the source was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Frames the kernel dropped because the ring was full (or the fill ring empty).
    pub drops: u64,
    /// Descriptors the kernel found invalid (AF_XDP only).
    pub invalid: u64,
}

/// A capture backend. Each worker owns one source (one socket or fanout member).
pub trait Source: Send {
    /// Waits at most `timeout` for frames, calls `each` for every frame of one batch in
    /// order, then returns the batch to the kernel.
    fn next_batch(
        &mut self,
        timeout: Duration,
        each: &mut dyn FnMut(&RxFrame<'_>),
    ) -> io::Result<Poll>;

    /// The kernel's counters for this source.
    fn kernel_counters(&mut self) -> io::Result<KernelCounters>;

    /// What this source reads, for logs and pcapng interface descriptions
    /// (`tpacket:wlan0`, `afxdp:veth1:0`, `pcap:capture.pcap`).
    fn describe(&self) -> String;

    /// Whether frames arrive on their own time (a ring), so that a worker that waited would
    /// lose them. A file waits for its reader: its worker may wait for the sinks instead of
    /// dropping frames from them.
    fn live(&self) -> bool {
        true
    }
}
