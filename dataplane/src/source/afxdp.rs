//! AF_XDP: frames steered by an XDP program into a socket whose buffers (the UMEM) are
//! memory shared with the kernel, so receiving is reading a ring, not a system call per frame.
//!
//! This is the backend for interfaces with native XDP, where it is the fastest way in (in
//! zero-copy mode the NIC writes straight into the UMEM). On a Wi-Fi monitor interface the
//! kernel runs XDP in generic mode and copies every frame, which is still batched and
//! system-call free but no faster than TPACKET_V3.
//!
//! One [`AfXdpSource`] is one socket bound to one queue of one interface; a worker per queue
//! reads a multi-queue NIC. Each source has its own UMEM. The sockets of one process on one
//! interface share one XDP program (see `program`).
//!
//! Pieces, one job each:
//! - `rx`: UMEM, fill ring and RX ring, through the `afxdp` crate (safe code);
//! - `program`: the redirect program, its attach mode, leftovers, detaching (safe code);
//! - `bpf`, `sys`: the system calls `afxdp` does not make for us (`unsafe`, each in one small
//!   function with its reason);
//! - `errors`: libbpf's negative error codes turned into `io::Error`s with a message.
//!
//! Memory shared with the kernel (the UMEM and the rings) is touched only by `afxdp`'s code,
//! through three functions of `rx`: `Rx::take` (RX ring: `SocketRx::try_recv`),
//! `Rx::release_each` (frame bytes: `BufMmap::get_data`; fill ring: `UmemFillQueue::fill`)
//! and `Rx::wake_if_needed` (the fill ring's flag word). This module's own `unsafe` (in
//! `bpf` and `sys`) only makes system calls with pointers to local values. Nothing on the
//! per-frame path allocates or locks: the frame handles move between two containers sized
//! for every frame at open, and the timestamp is one clock read per batch.

pub(crate) mod bpf;
pub(crate) mod errors;
mod program;
mod rx;
pub mod select;
mod sys;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use program::XdpProgram;
use rx::{Geometry, Rx};

pub use program::PROGRAM_NAME;
pub use sys::{afxdp_supported, offloads, rx_queue_count, Offloads, XdpStatistics};

use super::{KernelCounters, Poll, RxFrame, Source};
use crate::kfilter::KernelPrograms;

/// Zero-copy or copy: whether the driver DMAs into the UMEM or the kernel copies into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// Zero-copy if the driver offers it, copy otherwise (with a notice naming the errno).
    Auto,
    /// Zero-copy asked for; falls back to copy like `Auto`, with a notice.
    ZeroCopy,
    /// Copy mode only.
    Copy,
}

/// Where the XDP program runs: in the driver (native) or after the kernel has built a socket
/// buffer (generic, works on every interface, Wi-Fi monitor interfaces included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAttach {
    /// Native, falling back to generic with a notice naming the errno.
    Auto,
    Native,
    Generic,
}

/// What to open.
#[derive(Clone, Debug)]
pub struct AfXdpConfig {
    pub iface: String,
    /// The NIC queue (channel) the socket binds to.
    pub queue: u32,
    /// The pcap link type reported for every frame. The interface cannot tell: a veth
    /// carrying radiotap bytes is an Ethernet device, so the caller says (127 = radiotap).
    pub linktype: u32,
    /// Frames in the UMEM, a power of two. Also the fill ring's size, so the fill ring can
    /// hold every frame and a refill never fails for want of room.
    pub frame_count: u32,
    /// Bytes per UMEM frame: 2048 or 4096 (a page). A frame carries at most this minus 256
    /// bytes (the kernel's XDP headroom); longer frames are dropped and counted.
    pub frame_size: u32,
    /// RX ring entries, a power of two, at most `frame_count`.
    pub rx_ring_size: u32,
    /// Descriptors taken per batch (1..=4096).
    pub batch_size: usize,
    pub mode: XdpMode,
    pub attach: XdpAttach,
    /// The kernel filter, whose XDP program then drops blocked frames before the socket
    /// (not with UDP ports selected).
    pub kernel_filter: Option<Arc<KernelPrograms>>,
    /// What the source takes from the interface: everything, or the payloads of UDP
    /// datagrams to given ports (the rest goes to the kernel's stack).
    pub select: select::Selector,
    /// How long to let frames gather after a batch that left the ring nearly empty (fewer
    /// than half of `batch_size`), as TPACKET_V3's block timeout does: the next wake-up then
    /// serves many frames, not a few. Zero reads the ring again at once.
    pub coalesce: Duration,
}

impl AfXdpConfig {
    /// Queue 0, radiotap, 4096 frames of 4096 bytes (16 MiB, frames up to 3840 bytes), RX
    /// ring 4096, batches of 64, automatic mode and attachment, 1 ms coalescing.
    pub fn new(iface: &str) -> AfXdpConfig {
        AfXdpConfig {
            iface: iface.to_string(),
            queue: 0,
            linktype: 127,
            frame_count: 4096,
            frame_size: 4096,
            rx_ring_size: 4096,
            batch_size: 64,
            mode: XdpMode::Auto,
            attach: XdpAttach::Auto,
            kernel_filter: None,
            select: select::Selector::All,
            coalesce: Duration::from_millis(1),
        }
    }

    fn check(&self) -> io::Result<()> {
        let bad = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if !matches!(self.frame_size, 2048 | 4096) {
            return bad(format!(
                "AF_XDP frame size {} is not 2048 or 4096",
                self.frame_size
            ));
        }
        if !self.frame_count.is_power_of_two() || !(64..=1 << 20).contains(&self.frame_count) {
            return bad(format!(
                "AF_XDP frame count {} is not a power of two in 64..=1048576",
                self.frame_count
            ));
        }
        if !self.rx_ring_size.is_power_of_two() || self.rx_ring_size > self.frame_count {
            return bad(format!(
                "AF_XDP RX ring size {} is not a power of two of at most the frame count {}",
                self.rx_ring_size, self.frame_count
            ));
        }
        if !(1..=afxdp::PENDING_LEN).contains(&self.batch_size) {
            return bad(format!(
                "AF_XDP batch size {} is not in 1..={}",
                self.batch_size,
                afxdp::PENDING_LEN
            ));
        }
        Ok(())
    }
}

/// Why `workers` sockets from queue `first` cannot be bound on `iface`, which has `queues`
/// receive queues (0..queues-1), and the two ways out.
pub fn missing_queue(iface: &str, first: u32, workers: u32, queues: u32) -> String {
    let last = first + workers.max(1) - 1;
    let asked = if workers <= 1 {
        format!("queue {first}")
    } else {
        format!("queues {first}..={last} ({workers} workers, one socket per queue)")
    };
    let fit = queues.saturating_sub(first).max(1);
    let need = last + 1;
    let plural = if queues == 1 { "" } else { "s" };
    let top = queues.saturating_sub(1);
    let fewer = if workers <= 1 {
        format!("use a queue it has (afxdp:{iface}:Q with Q < {queues})")
    } else {
        format!("use fewer workers (--workers {fit})")
    };
    format!(
        "{iface} has {queues} receive queue{plural} (0..={top}), so AF_XDP cannot bind {asked}. \
         Either {fewer}, or give the device more queues: `ethtool -L {iface} combined {need}` \
         on a NIC, or for a veth create it with `numrxqueues {need} numtxqueues {need}`"
    )
}

/// An AF_XDP socket on one queue of one interface, with airsift's XDP program attached.
pub struct AfXdpSource {
    // Field order is drop order: the socket closes (leaving the program's map) before the
    // program's link is released, which detaches the program unless another source of this
    // process on the same interface still uses it.
    rx: Rx,
    program: Arc<XdpProgram>,
    linktype: u32,
    batch_size: usize,
    coalesce: Duration,
    name: String,
    notices: Vec<String>,
    /// The interface and its index at open, to notice when it goes away: an AF_XDP socket
    /// whose device is unregistered is only unbound, and polls as merely idle.
    iface: String,
    ifindex: u32,
    checked: Instant,
}

/// How often an idle AF_XDP source checks that its interface still exists.
const PRESENCE_CHECK: Duration = Duration::from_secs(1);

impl AfXdpSource {
    /// Attaches the XDP program (removing a leftover, see [`AfXdpSource::notices`]), then
    /// binds the socket and hands the kernel every frame. If anything fails after the
    /// program was attached, it is detached again before the error returns.
    ///
    /// Call it in the network namespace of the interface; the socket stays there.
    pub fn open(config: &AfXdpConfig) -> io::Result<AfXdpSource> {
        config.check()?;
        let iface = config.iface.as_str();
        let ifindex = sys::if_index(iface)?;
        // The kernel refuses a missing queue only at bind, with a bare EINVAL: say why first,
        // before anything is attached.
        if let Some(n) = rx_queue_count(iface)? {
            if config.queue >= n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    missing_queue(iface, config.queue, 1, n),
                ));
            }
        }
        let mut notices = Vec::new();
        let filter = config
            .kernel_filter
            .as_deref()
            .map(|k| (k, config.linktype));
        let program = program::attach(
            iface,
            ifindex,
            config.queue,
            config.attach,
            filter,
            &config.select,
            &mut notices,
        )?;
        // From here on, an early return drops `program`, which detaches it.
        let geometry = Geometry {
            frame_count: config.frame_count,
            frame_size: config.frame_size,
            rx_ring_size: config.rx_ring_size,
        };
        let rx = match config.mode {
            XdpMode::Copy => Rx::open(iface, config.queue, geometry, false, &program)?,
            XdpMode::Auto | XdpMode::ZeroCopy => {
                match Rx::open(iface, config.queue, geometry, true, &program) {
                    Ok(rx) => rx,
                    Err(e) => {
                        let rx = Rx::open(iface, config.queue, geometry, false, &program)?;
                        notices.push(format!(
                            "zero-copy {}refused: {e}; using copy mode",
                            if config.mode == XdpMode::ZeroCopy {
                                "was requested but is "
                            } else {
                                ""
                            },
                        ));
                        rx
                    }
                }
            }
        };
        Ok(AfXdpSource {
            rx,
            program,
            linktype: config.linktype,
            batch_size: config.batch_size,
            coalesce: config.coalesce,
            name: format!("afxdp:{iface}:{}", config.queue),
            notices,
            iface: iface.to_string(),
            ifindex,
            checked: Instant::now(),
        })
    }

    /// What open did that the caller should tell the operator: fallbacks (with the errno
    /// that caused them) and leftover programs it removed. Empty when all went as asked.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The mode obtained: [`XdpMode::ZeroCopy`] or [`XdpMode::Copy`] (never `Auto`).
    pub fn mode(&self) -> XdpMode {
        if self.rx.zero_copy() {
            XdpMode::ZeroCopy
        } else {
            XdpMode::Copy
        }
    }

    /// The attachment obtained: [`XdpAttach::Native`] or [`XdpAttach::Generic`].
    pub fn attach_mode(&self) -> XdpAttach {
        self.program.attach_mode()
    }

    /// Whether the kernel filter's XDP program judges frames before this socket.
    pub fn kernel_filtered(&self) -> bool {
        self.program.filtered()
    }

    /// The kernel's id of the XDP program in use (`prog/xdp id N` in `ip link`).
    pub fn program_id(&self) -> u32 {
        self.program.id()
    }

    /// What the source takes from the interface.
    pub fn selector(&self) -> &select::Selector {
        self.program.selector()
    }

    /// All six kernel counters of the socket, cumulative since it was bound.
    pub fn statistics(&self) -> io::Result<XdpStatistics> {
        sys::statistics(self.rx.fd())
    }
}

// Workers move their source to their own pinned thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<AfXdpSource>();
};

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME), 0 if the clock is before 1970.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Source for AfXdpSource {
    fn next_batch(
        &mut self,
        timeout: Duration,
        each: &mut dyn FnMut(&RxFrame<'_>),
    ) -> io::Result<Poll> {
        let mut n = self.rx.take(self.batch_size);
        if n == 0 {
            // Round up so that a sub-millisecond timeout still waits rather than spins.
            let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            sys::poll_readable(self.rx.fd(), ms)?;
            n = self.rx.take(self.batch_size);
            if n == 0 {
                if self.checked.elapsed() >= PRESENCE_CHECK {
                    self.checked = Instant::now();
                    if sys::if_index(&self.iface).ok() != Some(self.ifindex) {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("interface {} went away", self.iface),
                        ));
                    }
                }
                return Ok(Poll::Idle);
            }
        }
        // AF_XDP descriptors carry no time: one stamp, taken as the batch is seen, for all.
        let ts_ns = now_ns();
        let linktype = self.linktype;
        self.rx.release_each(|data| {
            each(&RxFrame {
                data,
                orig_len: data.len() as u32,
                ts_ns,
                linktype,
            })
        })?;
        if n < self.batch_size / 2 && !self.coalesce.is_zero() {
            // The ring is nearly drained: let frames gather before the next look, instead
            // of waking for every few (one sleep per batch, not per frame).
            std::thread::sleep(self.coalesce.min(timeout));
        }
        Ok(Poll::Frames(n))
    }

    /// drops = `rx_dropped + rx_ring_full`, plus `rx_fill_ring_empty_descs` in zero-copy
    /// mode only; invalid = `rx_invalid_descs`. Cumulative since open.
    ///
    /// Why not always all three: in copy mode the kernel counts a frame it could not place
    /// because the fill ring was empty in both `rx_dropped` and `rx_fill_ring_empty_descs`
    /// (`__xsk_rcv` and `xp_alloc`), so their sum counts each such loss twice (measured: 571
    /// frames lost on a TUN device, 571 in each counter). In zero-copy mode the driver, not
    /// the socket, drops those frames, and `rx_fill_ring_empty_descs` is the only trace of
    /// them here. [`AfXdpSource::statistics`] has all six counters.
    fn kernel_counters(&mut self) -> io::Result<KernelCounters> {
        let s = self.statistics()?;
        let fill_ring_empty = if self.rx.zero_copy() {
            s.rx_fill_ring_empty_descs
        } else {
            0
        };
        Ok(KernelCounters {
            drops: s.rx_dropped + s.rx_ring_full + fill_ring_empty,
            invalid: s.rx_invalid_descs,
        })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks() {
        assert!(AfXdpConfig::new("vb").check().is_ok());
        let mut c = AfXdpConfig::new("vb");
        c.frame_size = 3000;
        assert!(c.check().is_err());
        let mut c = AfXdpConfig::new("vb");
        c.frame_count = 1000;
        assert!(c.check().is_err());
        let mut c = AfXdpConfig::new("vb");
        c.rx_ring_size = 8192;
        assert!(c.check().is_err());
        let mut c = AfXdpConfig::new("vb");
        c.batch_size = 0;
        assert!(c.check().is_err());
    }
}
