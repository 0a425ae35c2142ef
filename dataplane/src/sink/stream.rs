//! The live stream fan-out: every subscriber (an HTTP client of `/pcap/all_packets.pcapng`)
//! gets the passed frames as pcapng through its own bounded queue. A subscriber that reads too
//! slowly loses frames from its own stream, counted; nobody else waits for it.
//!
//! Only the sink thread publishes, so the workers never touch the subscriber list.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::batch::PassedBatch;
use super::pcapng_writer::{encode_packet, encode_preamble, InterfaceDesc};

/// What a new subscriber gets: the pcapng preamble to send first, then chunks of packets.
pub struct Subscription {
    pub preamble: Vec<u8>,
    pub chunks: Receiver<Arc<[u8]>>,
    /// Frames this subscriber lost because its queue was full.
    pub drops: Arc<AtomicU64>,
}

struct Subscriber {
    tx: Sender<Arc<[u8]>>,
    drops: Arc<AtomicU64>,
}

/// The subscriber list and the stream's fixed interface table.
pub struct StreamHub {
    /// Link types in interface order: interface `i` of every stream has `linktypes[i]`.
    linktypes: Vec<u32>,
    name: String,
    subscribers: Mutex<Vec<Subscriber>>,
    count: AtomicUsize,
    /// Frames whose link type is not in the table, so no stream can carry them.
    unstreamable: AtomicU64,
    scratch: Mutex<Vec<u8>>,
}

impl StreamHub {
    /// A hub whose streams describe one interface per link type, all named `name`.
    pub fn new(name: &str, linktypes: &[u32]) -> StreamHub {
        StreamHub {
            linktypes: linktypes.to_vec(),
            name: name.to_string(),
            subscribers: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            unstreamable: AtomicU64::new(0),
            scratch: Mutex::new(Vec::new()),
        }
    }

    /// A new subscriber with room for `queue` chunks (one chunk per worker batch).
    pub fn subscribe(&self, queue: usize) -> std::io::Result<Subscription> {
        let ifaces: Vec<InterfaceDesc<'_>> = self
            .linktypes
            .iter()
            .map(|&linktype| InterfaceDesc {
                linktype,
                snaplen: 0,
                name: Some(&self.name),
            })
            .collect();
        let preamble = encode_preamble(concat!("airsift ", env!("CARGO_PKG_VERSION")), &ifaces)?;
        let (tx, rx) = bounded(queue.max(1));
        let drops = Arc::new(AtomicU64::new(0));
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subs.push(Subscriber {
            tx,
            drops: drops.clone(),
        });
        self.count.store(subs.len(), Ordering::Relaxed);
        Ok(Subscription {
            preamble,
            chunks: rx,
            drops,
        })
    }

    /// Current number of subscribers.
    pub fn subscribers(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Frames no stream could carry (link type outside the interface table).
    pub fn unstreamable(&self) -> u64 {
        self.unstreamable.load(Ordering::Relaxed)
    }

    /// Encodes a batch once and offers it to every subscriber (sink thread only).
    pub fn publish(&self, batch: &PassedBatch) {
        if self.subscribers() == 0 || batch.frames.is_empty() {
            return;
        }
        let mut buf = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        buf.clear();
        let mut frames = 0u64;
        for (m, data) in batch.iter() {
            let Some(iface) = self.linktypes.iter().position(|&l| l == m.linktype) else {
                self.unstreamable.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if encode_packet(&mut buf, iface as u32, m.ts_ns, data, m.orig_len).is_ok() {
                frames += 1;
            }
        }
        if frames == 0 {
            return;
        }
        let chunk: Arc<[u8]> = Arc::from(buf.as_slice());
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subs.retain(|s| match s.tx.try_send(chunk.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.drops.fetch_add(frames, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
        self.count.store(subs.len(), Ordering::Relaxed);
    }
}
