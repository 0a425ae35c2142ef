//! The live stream fan-out: every subscriber (an HTTP client of `/pcap/all_packets.pcapng`)
//! gets the passed frames as pcapng through its own bounded queue. A subscriber that reads too
//! slowly loses frames from its own stream, counted; nobody else waits for it.
//!
//! Only the sink thread publishes, so the workers never touch the subscriber list.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::batch::PassedBatch;
use super::pcapng_writer::{encode_interfaces, encode_packet, encode_preamble, InterfaceDesc};
use super::SourceNames;

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
    /// Interfaces of the table this subscriber has been sent descriptions of.
    known: usize,
}

/// The subscriber list and the streams' interface table.
///
/// Every (source, link type) pair met becomes one interface, named after its source, in the
/// order met; the table only grows, so interface ids never change. A subscriber gets the
/// whole table in its preamble; an interface added later is described to each subscriber in
/// front of the first chunk it receives after that (pcapng allows descriptions anywhere
/// before their first packet), so a subscriber that lost chunks still gets it.
pub struct StreamHub {
    table: Mutex<Vec<(u32, u32)>>,
    names: SourceNames,
    subscribers: Mutex<Vec<Subscriber>>,
    count: AtomicUsize,
    /// Frames no stream could carry (a link type that does not fit pcapng's 16 bits).
    unstreamable: AtomicU64,
    scratch: Mutex<Vec<u8>>,
}

impl StreamHub {
    /// A hub whose interfaces are named from `names`.
    pub fn new(names: SourceNames) -> StreamHub {
        StreamHub {
            table: Mutex::new(Vec::new()),
            names,
            subscribers: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            unstreamable: AtomicU64::new(0),
            scratch: Mutex::new(Vec::new()),
        }
    }

    /// Interface descriptions of `table[from..]`.
    fn descriptions(&self, table: &[(u32, u32)], from: usize) -> std::io::Result<Vec<u8>> {
        let names: Vec<String> = table[from..]
            .iter()
            .map(|&(src, _)| self.names.get(src))
            .collect();
        let ifaces: Vec<InterfaceDesc<'_>> = table[from..]
            .iter()
            .zip(&names)
            .map(|(&(_, linktype), name)| InterfaceDesc {
                linktype,
                snaplen: 0,
                name: Some(name),
            })
            .collect();
        encode_interfaces(&ifaces)
    }

    /// A new subscriber with room for `queue` chunks (one chunk per worker batch).
    pub fn subscribe(&self, queue: usize) -> std::io::Result<Subscription> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut preamble = encode_preamble(concat!("airsift ", env!("CARGO_PKG_VERSION")), &[])?;
        preamble.extend_from_slice(&self.descriptions(&table, 0)?);
        let (tx, rx) = bounded(queue.max(1));
        let drops = Arc::new(AtomicU64::new(0));
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subs.push(Subscriber {
            tx,
            drops: drops.clone(),
            known: table.len(),
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

    /// Frames no stream could carry.
    pub fn unstreamable(&self) -> u64 {
        self.unstreamable.load(Ordering::Relaxed)
    }

    /// Encodes a batch once and offers it to every subscriber (sink thread only).
    pub fn publish(&self, batch: &PassedBatch) {
        if self.subscribers() == 0 || batch.frames.is_empty() {
            return;
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut buf = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        buf.clear();
        let mut frames = 0u64;
        for (m, data) in batch.iter() {
            if m.linktype > u32::from(u16::MAX) {
                self.unstreamable.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let key = (m.source, m.linktype);
            let iface = match table.iter().position(|&k| k == key) {
                Some(i) => i,
                None => {
                    table.push(key);
                    table.len() - 1
                }
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
        subs.retain_mut(|s| {
            let mine = if s.known < table.len() {
                match self.descriptions(&table, s.known) {
                    Ok(mut d) => {
                        d.extend_from_slice(&chunk);
                        Arc::from(d)
                    }
                    Err(_) => return true,
                }
            } else {
                chunk.clone()
            };
            match s.tx.try_send(mine) {
                Ok(()) => {
                    s.known = table.len();
                    true
                }
                Err(TrySendError::Full(_)) => {
                    s.drops.fetch_add(frames, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
        self.count.store(subs.len(), Ordering::Relaxed);
    }
}
