//! Passed frames travel from a worker to the sink thread in batches: the worker copies each
//! passed frame into a preallocated buffer and hands the buffer over once per ring batch.
//!
//! Buffers circulate between a worker and the sink thread through two bounded channels: full
//! ones to the sink thread, emptied ones back to the worker. A worker never waits and never
//! allocates: when the sink thread is behind and no empty buffer is left, the frames are
//! dropped and counted as sink drops.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::source::RxFrame;

/// Bytes of frame data one buffer holds.
pub const BATCH_BYTES: usize = 256 << 10;
/// Frames one buffer holds.
pub const BATCH_FRAMES: usize = 1024;
/// A buffer is handed over once it holds this many frames...
const FLUSH_FRAMES: usize = 512;
/// ...or its first frame is this old. Small ring batches (AF_XDP gives a few frames per
/// poll) then share a buffer instead of each costing the sink thread a hand-over.
const FLUSH_AFTER: Duration = Duration::from_millis(5);

/// Where one frame lies in a batch buffer, and what the log needs to know of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    pub offset: u32,
    pub len: u32,
    pub orig_len: u32,
    pub linktype: u32,
    pub ts_ns: u64,
    /// The filter generation that passed it.
    pub generation: u64,
    /// The number of the capture source that saw it (one pcapng interface per source).
    pub source: u32,
}

/// Copies of passed frames, back to back.
#[derive(Debug)]
pub struct PassedBatch {
    /// Which worker filled it.
    pub worker: usize,
    pub bytes: Vec<u8>,
    pub frames: Vec<FrameMeta>,
    /// Where the sink thread returns it once written: its worker's empty-buffer queue.
    pub home: Option<Sender<PassedBatch>>,
}

impl PassedBatch {
    pub fn new(worker: usize) -> PassedBatch {
        PassedBatch {
            worker,
            bytes: Vec::with_capacity(BATCH_BYTES),
            frames: Vec::with_capacity(BATCH_FRAMES),
            home: None,
        }
    }

    /// Gives the buffer back to the worker that filled it (dropped if that worker is gone).
    pub fn go_home(mut self) {
        self.clear();
        if let Some(home) = self.home.clone() {
            let _ = home.try_send(self);
        }
    }

    /// The frames with their bytes.
    pub fn iter(&self) -> impl Iterator<Item = (&FrameMeta, &[u8])> + '_ {
        self.frames.iter().map(|m| {
            let at = m.offset as usize;
            (m, &self.bytes[at..at + m.len as usize])
        })
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
    }

    /// Whether `len` more bytes and one more frame fit without growing the buffers.
    fn fits(&self, len: usize) -> bool {
        self.frames.len() < self.frames.capacity()
            && self.bytes.len() + len <= self.bytes.capacity()
    }
}

/// A worker's end of the sink: see the module doc.
pub struct SinkPort {
    current: Option<PassedBatch>,
    full: Sender<PassedBatch>,
    empty: Receiver<PassedBatch>,
    /// Frames that could not be handed over.
    drops: u64,
    /// Wait for the sink thread instead of dropping: for sources that are not live.
    wait: bool,
    /// When the current buffer got its first frame.
    first_at: Option<Instant>,
    /// The source number written into every frame's metadata.
    source: u32,
}

impl SinkPort {
    /// A port with `buffers` preallocated batch buffers.
    pub fn new(
        worker: usize,
        buffers: usize,
        full: Sender<PassedBatch>,
        empty: (Sender<PassedBatch>, Receiver<PassedBatch>),
    ) -> SinkPort {
        let (give, take) = empty;
        for _ in 0..buffers {
            // The channel was made with room for `buffers`, so this cannot fail.
            let mut b = PassedBatch::new(worker);
            b.home = Some(give.clone());
            let _ = give.try_send(b);
        }
        SinkPort {
            current: None,
            full,
            empty: take,
            drops: 0,
            wait: false,
            first_at: None,
            source: 0,
        }
    }

    /// Tags the frames this port hands over with source number `source`.
    pub fn set_source(&mut self, source: u32) {
        self.source = source;
    }

    /// Makes the port wait for the sink thread rather than drop frames. Only for a worker
    /// whose source can wait too (a file): a live ring would overflow meanwhile.
    pub fn set_wait(&mut self, wait: bool) {
        self.wait = wait;
    }

    /// Copies a passed frame into the current batch.
    #[inline]
    pub fn offer(&mut self, frame: &RxFrame<'_>, generation: u64) {
        let len = frame.data.len();
        if len > BATCH_BYTES {
            self.drops += 1;
            return;
        }
        if self.current.as_ref().is_some_and(|b| !b.fits(len)) {
            self.flush();
        }
        if self.current.is_none() {
            self.current = if self.wait {
                self.empty.recv().ok()
            } else {
                self.empty.try_recv().ok()
            };
        }
        let Some(b) = self.current.as_mut() else {
            self.drops += 1;
            return;
        };
        if b.frames.is_empty() {
            self.first_at = Some(Instant::now());
        }
        b.frames.push(FrameMeta {
            offset: b.bytes.len() as u32,
            len: len as u32,
            orig_len: frame.orig_len,
            linktype: frame.linktype,
            ts_ns: frame.ts_ns,
            generation,
            source: self.source,
        });
        b.bytes.extend_from_slice(frame.data);
    }

    /// Hands the current buffer over if it is full enough or old enough; called after each
    /// ring batch.
    #[inline]
    pub fn flush_if_due(&mut self) {
        let due = self
            .current
            .as_ref()
            .is_some_and(|b| b.frames.len() >= FLUSH_FRAMES)
            || self.first_at.is_some_and(|t| t.elapsed() >= FLUSH_AFTER);
        if due {
            self.flush();
        }
    }

    /// Hands the current buffer to the sink thread now (when the worker goes idle or stops).
    #[inline]
    pub fn flush(&mut self) {
        self.first_at = None;
        let Some(b) = self.current.take() else {
            return;
        };
        if b.frames.is_empty() {
            self.current = Some(b);
            return;
        }
        let sent = if self.wait {
            self.full
                .send(b)
                .map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            self.full.try_send(b)
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(mut b)) | Err(TrySendError::Disconnected(mut b)) => {
                self.drops += b.frames.len() as u64;
                b.clear();
                self.current = Some(b);
            }
        }
    }

    /// Frames this port could not hand over, so far.
    pub fn drops(&self) -> u64 {
        self.drops
    }
}
