//! TPACKET_V3: an AF_PACKET socket with a memory-mapped ring of blocks, the portable way to
//! read a monitor interface. The kernel fills a block and hands it over; a worker reads all
//! its frames as one batch and hands it back.
//!
//! Several workers share one interface through `PACKET_FANOUT`. The kernel's hash fanout
//! cannot look inside 802.11 (every radiotap frame lands on one socket), so the default is a
//! classic-BPF selector keyed on the transmitter address (addr2): one station always lands on
//! the same worker. Load balancing (`lb`) spreads evenly without that property.

mod ring;
mod socket;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use crate::kfilter::KernelPrograms;

use ring::Ring;
use socket::SockFilter;

use super::{KernelCounters, Poll, RxFrame, Source};

/// How several sockets on one interface share its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanoutMode {
    /// By the last byte of the 802.11 transmitter address (after the capture header).
    Transmitter,
    /// Round robin.
    LoadBalance,
    /// By the CPU that received the frame.
    Cpu,
}

/// Fanout membership: every socket of one capture uses the same group id.
#[derive(Clone, Copy, Debug)]
pub struct Fanout {
    pub group: u16,
    pub mode: FanoutMode,
}

/// Ring geometry and socket options.
#[derive(Clone, Debug)]
pub struct TpacketConfig {
    pub iface: String,
    /// Bytes per block: a multiple of the page size.
    pub block_size: usize,
    pub block_count: usize,
    /// How long the kernel waits before handing over a partly filled block. Set explicitly:
    /// the kernel derives its default from the link speed, 8 ms on Wi-Fi.
    pub block_timeout: Duration,
    /// The link type the frames carry; `None` reads it from the interface (ARPHRD).
    pub linktype: Option<u32>,
    pub fanout: Option<Fanout>,
    /// The kernel filter to attach as the socket's filter, so that blocked frames never enter
    /// the ring. A link type it does not read (or a refusal) leaves a notice instead.
    pub kernel_filter: Option<Arc<KernelPrograms>>,
}

impl TpacketConfig {
    /// 64 blocks of 1 MiB, 2 ms block timeout.
    pub fn new(iface: &str) -> TpacketConfig {
        TpacketConfig {
            iface: iface.to_string(),
            block_size: 1 << 20,
            block_count: 64,
            block_timeout: Duration::from_millis(2),
            linktype: None,
            fanout: None,
            kernel_filter: None,
        }
    }
}

/// The pcap link type of an interface's frames from its hardware type, or `None` when they
/// are not 802.11 (an Ethernet veth carrying radiotap bytes must be told `radiotap`).
pub fn interface_linktype(iface: &str) -> io::Result<Option<u32>> {
    Ok(match socket::arphrd(iface)? {
        801 => Some(105), // ARPHRD_IEEE80211
        802 => Some(119), // ARPHRD_IEEE80211_PRISM
        803 => Some(127), // ARPHRD_IEEE80211_RADIOTAP
        _ => None,
    })
}

/// A TPACKET_V3 receive ring on one interface.
pub struct TpacketSource {
    ring: Ring,
    // Declared after `ring`: the mapping is unmapped before the socket closes.
    fd: OwnedFd,
    next: usize,
    linktype: u32,
    name: String,
    iface: String,
    ifindex: u32,
    drops: u64,
    kernel_filtered: bool,
    notices: Vec<String>,
}

/// A classic-BPF fanout selector returning the last byte of addr2. For radiotap and PPI the
/// capture header's length is the little-endian u16 at offset 2; for plain 802.11 there is no
/// header. The kernel takes the result modulo the group size; a load past the frame's end
/// returns 0 (socket 0).
fn transmitter_program(linktype: u32) -> Vec<SockFilter> {
    const LD_B_ABS: u16 = 0x30;
    const LD_B_IND: u16 = 0x50;
    const ALU_LSH_K: u16 = 0x64;
    const ALU_OR_X: u16 = 0x4c;
    const TAX: u16 = 0x07;
    const RET_A: u16 = 0x16;
    let ll = |k: i32| (libc::SKF_LL_OFF + k) as u32;
    let ins = |code, k| SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    // addr2's last byte is at offset 15 of the 802.11 header.
    match linktype {
        127 | 192 => vec![
            ins(LD_B_ABS, ll(3)),
            ins(ALU_LSH_K, 8),
            ins(TAX, 0),
            ins(LD_B_ABS, ll(2)),
            ins(ALU_OR_X, 0),
            ins(TAX, 0),
            ins(LD_B_IND, ll(15)),
            ins(RET_A, 0),
        ],
        _ => vec![ins(LD_B_ABS, ll(15)), ins(RET_A, 0)],
    }
}

impl TpacketSource {
    pub fn open(cfg: &TpacketConfig) -> io::Result<TpacketSource> {
        let ifindex = socket::if_index(&cfg.iface)?;
        let linktype = match cfg.linktype {
            Some(l) => l,
            None => interface_linktype(&cfg.iface)?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "interface {} is not an 802.11 monitor interface (radiotap, Prism or \
                         802.11); if it carries radiotap frames (a lab veth), set the link \
                         type to radiotap",
                        cfg.iface
                    ),
                )
            })?,
        };
        let fd = socket::packet_socket()?;
        // Before bind: no frame reaches the ring unjudged.
        let mut notices = Vec::new();
        let kernel_filtered = match &cfg.kernel_filter {
            Some(k) => match k.attach_socket(fd.as_fd(), linktype) {
                Ok(()) => true,
                Err(e) => {
                    notices.push(format!(
                        "kernel filter not attached to {}: {e}; its frames are filtered in \
                         user space only",
                        cfg.iface
                    ));
                    false
                }
            },
            None => false,
        };
        socket::set_option(
            &fd,
            socket::PACKET_VERSION,
            &socket::TPACKET_V3,
            "PACKET_VERSION",
        )?;
        let frame_size = 2048u32;
        let req = socket::TpacketReq3 {
            block_size: cfg.block_size as u32,
            block_nr: cfg.block_count as u32,
            frame_size,
            frame_nr: (cfg.block_size as u32 / frame_size) * cfg.block_count as u32,
            retire_blk_tov: cfg.block_timeout.as_millis().clamp(1, u32::MAX as u128) as u32,
            sizeof_priv: 0,
            feature_req_word: 0,
        };
        socket::set_option(&fd, socket::PACKET_RX_RING, &req, "PACKET_RX_RING")?;
        let ring = Ring::map(&fd, cfg.block_size, cfg.block_count)?;
        socket::set_option(
            &fd,
            socket::PACKET_IGNORE_OUTGOING,
            &1i32,
            "PACKET_IGNORE_OUTGOING",
        )?;
        socket::bind(&fd, ifindex)?;
        if let Some(f) = cfg.fanout {
            let mode: u32 = match f.mode {
                FanoutMode::Transmitter => 6, // PACKET_FANOUT_CBPF
                FanoutMode::LoadBalance => 1, // PACKET_FANOUT_LB
                FanoutMode::Cpu => 2,         // PACKET_FANOUT_CPU
            };
            let arg = u32::from(f.group) | mode << 16;
            socket::set_option(&fd, socket::PACKET_FANOUT, &arg, "PACKET_FANOUT")?;
            if f.mode == FanoutMode::Transmitter {
                socket::set_fanout_program(&fd, &transmitter_program(linktype))?;
            }
        }
        // Start from zero: frames counted before we were ready are not ours to report.
        socket::statistics(&fd)?;
        Ok(TpacketSource {
            ring,
            fd,
            next: 0,
            linktype,
            name: format!("tpacket:{}", cfg.iface),
            iface: cfg.iface.clone(),
            ifindex,
            drops: 0,
            kernel_filtered,
            notices,
        })
    }

    /// Whether the kernel filter judges this socket's frames before the ring.
    pub fn kernel_filtered(&self) -> bool {
        self.kernel_filtered
    }

    /// What open could not do as asked (the kernel filter not attached, and why).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The link type reported for every frame.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }
}

impl Source for TpacketSource {
    fn next_batch(
        &mut self,
        timeout: Duration,
        each: &mut dyn FnMut(&RxFrame<'_>),
    ) -> io::Result<Poll> {
        let i = self.next;
        if !self.ring.ready(i) {
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            match socket::poll_readable(&self.fd, ms) {
                Ok(_) => {}
                // Down (it may come back up: the kernel re-attaches the socket) or gone.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
                    if socket::if_index(&self.iface).ok() != Some(self.ifindex) {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("interface {} went away", self.iface),
                        ));
                    }
                    return Ok(Poll::Idle);
                }
                Err(e) => return Err(e),
            }
            if !self.ring.ready(i) {
                return Ok(Poll::Idle);
            }
        }
        let linktype = self.linktype;
        let n = self.ring.for_each_frame(i, |f| {
            each(&RxFrame {
                data: f.data,
                orig_len: f.orig_len,
                ts_ns: f.ts_ns,
                linktype,
            })
        });
        self.ring.release(i);
        self.next = (i + 1) % self.ring.blocks();
        Ok(Poll::Frames(n))
    }

    fn kernel_counters(&mut self) -> io::Result<KernelCounters> {
        // Reading the statistics resets them: keep the running sum.
        let st = socket::statistics(&self.fd)?;
        self.drops += u64::from(st.drops);
        Ok(KernelCounters {
            drops: self.drops,
            invalid: 0,
        })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
