//! The TPACKET_V3 receive ring: blocks of frames in memory shared with the kernel.
//!
//! Ownership of a block passes by its status word: the kernel fills a block and sets
//! `TP_STATUS_USER` (with a release barrier); we read the block's frames, then hand it back by
//! storing `TP_STATUS_KERNEL`. While a block is ours the kernel does not write it, so its
//! frames can be lent out as plain `&[u8]`. All access to the mapping goes through the few
//! functions of this file; offsets read from the kernel's headers are checked against the
//! block before use.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

/// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then tpacket_hdr_v1).
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_PKT: usize = 16;
/// Offsets in `struct tpacket3_hdr`.
const PKT_NEXT: usize = 0;
const PKT_SEC: usize = 4;
const PKT_NSEC: usize = 8;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_MAC: usize = 24;
const PKT_HDR_LEN: usize = 48;

/// The mapped ring.
pub struct Ring {
    base: NonNull<u8>,
    len: usize,
    block_size: usize,
    blocks: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving it to another thread moves
// the only handle to it (the socket's owner uses it from one thread at a time).
unsafe impl Send for Ring {}

/// One frame as the kernel described it.
#[derive(Clone, Copy, Debug)]
pub struct RingFrame<'a> {
    pub data: &'a [u8],
    pub orig_len: u32,
    pub ts_ns: u64,
}

impl Ring {
    /// Maps `blocks * block_size` bytes of the socket's RX ring.
    pub fn map(fd: &OwnedFd, block_size: usize, blocks: usize) -> io::Result<Ring> {
        let len = block_size * blocks;
        // SAFETY: a fresh shared mapping of the socket's ring, whose size the kernel just
        // accepted in PACKET_RX_RING; no Rust reference aliases it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("mmap of the packet ring: {e}"),
            ));
        }
        Ok(Ring {
            base: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            len,
            block_size,
            blocks,
        })
    }

    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// The status word of block `i`, shared with the kernel.
    fn status(&self, i: usize) -> &AtomicU32 {
        let off = i * self.block_size + BLOCK_STATUS;
        assert!(i < self.blocks && off + 4 <= self.len);
        // SAFETY: in bounds (checked), 4-byte aligned (blocks are page-aligned, the field is
        // at offset 8), and the kernel accesses this word atomically too, so viewing it as an
        // AtomicU32 for the lifetime of `&self` is sound.
        unsafe { &*self.base.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// Whether block `i` has been handed to us.
    pub fn ready(&self, i: usize) -> bool {
        self.status(i).load(Ordering::Acquire) & TP_STATUS_USER != 0
    }

    /// The bytes of block `i`. Only call while the block is ours (`ready`), and drop the
    /// slice before [`Ring::release`].
    fn block(&self, i: usize) -> &[u8] {
        assert!(i < self.blocks);
        // SAFETY: in bounds; the block is ours (callers check `ready` first, whose Acquire
        // load pairs with the kernel's release), so the kernel does not write it while the
        // returned borrow of `self` lives, and `release` takes `&mut self`.
        unsafe {
            std::slice::from_raw_parts(self.base.as_ptr().add(i * self.block_size), self.block_size)
        }
    }

    /// Calls `each` for every frame of ready block `i`; returns how many. Headers that point
    /// outside the block end the walk (the kernel never writes such, but we do not trust it
    /// with our memory safety).
    pub fn for_each_frame(&self, i: usize, mut each: impl FnMut(RingFrame<'_>)) -> usize {
        let b = self.block(i);
        let num = u32_at(b, BLOCK_NUM_PKTS) as usize;
        let mut at = u32_at(b, BLOCK_FIRST_PKT) as usize;
        let mut n = 0;
        while n < num && at + PKT_HDR_LEN <= b.len() {
            let mac = u16_at(b, at + PKT_MAC) as usize;
            let snap = u32_at(b, at + PKT_SNAPLEN) as usize;
            let Some(data) = b.get(at + mac..at + mac + snap) else {
                break;
            };
            each(RingFrame {
                data,
                orig_len: u32_at(b, at + PKT_LEN),
                ts_ns: u64::from(u32_at(b, at + PKT_SEC)) * 1_000_000_000
                    + u64::from(u32_at(b, at + PKT_NSEC)),
            });
            n += 1;
            let next = u32_at(b, at + PKT_NEXT) as usize;
            if next == 0 {
                break;
            }
            at += next;
        }
        n
    }

    /// Hands block `i` back to the kernel.
    pub fn release(&mut self, i: usize) {
        self.status(i).store(TP_STATUS_KERNEL, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; no borrow of it can outlive
        // `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
