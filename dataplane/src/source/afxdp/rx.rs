//! One AF_XDP socket's receive side, built from the `afxdp` crate: the UMEM (frames shared
//! with the kernel), its fill ring (empty frames given to the kernel) and the socket's RX
//! ring (filled frames given back).
//!
//! Every frame is always in exactly one place: in the kernel (fill ring, in flight, RX
//! ring), in `received` (taken from the RX ring, being read), or in `free` (read, waiting to
//! go back on the fill ring). `afxdp` represents a frame we hold as a `BufMmap`, a slice of
//! the UMEM; the fill ring consumes the handle and the RX ring produces a new one, so no
//! handle exists for a frame the kernel may write to. The fill ring is sized to hold every
//! frame, which makes each refill succeed whole (libbpf reserves all-or-nothing).
//!
//! This file needs no `unsafe`: `afxdp` owns the ring and UMEM pointers. The one raw
//! descriptor it hides is read in [`super::sys::umem_fd`].

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use afxdp::buf::Buf;
use afxdp::buf_mmap::BufMmap;
use afxdp::mmap_area::{MmapArea, MmapAreaOptions};
use afxdp::socket::{Socket, SocketNewError, SocketOptions, SocketRx};
use afxdp::umem::{Umem, UmemCompletionQueue, UmemFillQueue, UmemNewError};
use afxdp::PENDING_LEN;
use arraydeque::{ArrayDeque, Wrapping};

use super::errors::{context, from_afxdp};
use super::program::XdpProgram;
use super::sys;

/// The UMEM is private to this source; `()` is `afxdp`'s per-frame user data, unused.
///
/// `'static` is the lifetime `afxdp` gives its frame slices; the real bound is the UMEM
/// mapping, which [`Rx`]'s field order makes outlive every handle (see there).
type Frame = BufMmap<'static, ()>;

/// The completion ring serves transmission only; the kernel still wants one per UMEM.
const COMPLETION_RING_SIZE: u32 = 64;

/// UMEM and ring sizes.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub frame_count: u32,
    pub frame_size: u32,
    pub rx_ring_size: u32,
}

/// A bound AF_XDP socket with its own UMEM, receiving.
pub struct Rx {
    // Field order is drop order. The frame handles (`received`, `free`) point into the UMEM
    // mapping and go first; the socket (`rx`, `_socket`) must close before the UMEM is
    // deleted, which its own `Arc<Umem>` already guarantees; `umem` owns the mapping.
    received: Box<ArrayDeque<[Frame; PENDING_LEN], Wrapping>>,
    free: Vec<Frame>,
    rx: SocketRx<'static, ()>,
    fill: UmemFillQueue<'static, ()>,
    _completion: UmemCompletionQueue<'static, ()>,
    _socket: Arc<Socket<'static, ()>>,
    _umem: Arc<Umem<'static, ()>>,
    /// The socket's descriptor, owned by libbpf through `_umem`.
    fd: RawFd,
    zero_copy: bool,
}

impl Rx {
    /// Maps a UMEM, binds a socket to `iface`/`queue` asking for zero-copy or copy mode, adds
    /// it to `program`'s map (the program attached to `iface`), and gives every frame to the
    /// kernel.
    pub fn open(
        iface: &str,
        queue: u32,
        geometry: Geometry,
        zero_copy: bool,
        program: &XdpProgram,
    ) -> io::Result<Rx> {
        // Declared first, dropped last: on an early return the frame handles (dropped in
        // reverse order of declaration) go while the mapping they point into still exists.
        let _mapping: Arc<MmapArea<'static, ()>>;
        let (area, frames) = MmapArea::<()>::new(
            geometry.frame_count as usize,
            geometry.frame_size as usize,
            MmapAreaOptions { huge_tlb: false },
        )
        .map_err(|_| {
            // afxdp drops the errno; it is still the one mmap(2) set.
            context(io::Error::last_os_error(), "mapping the UMEM")
        })?;
        _mapping = Arc::clone(&area);
        let (umem, completion, fill) =
            Umem::new(area, COMPLETION_RING_SIZE, geometry.frame_count).map_err(umem_error)?;
        let options = SocketOptions {
            zero_copy_mode: zero_copy,
            copy_mode: !zero_copy,
            tx_ring_size: 0,
            rx_ring_size: geometry.rx_ring_size,
            inhibit_prog_load: true,
        };
        let (socket, rx) = Socket::new_rx(
            umem.clone(),
            iface,
            queue as usize,
            geometry.rx_ring_size,
            options,
        )
        .map_err(|e| socket_error(e, iface, queue, zero_copy))?;
        // The UMEM's first socket takes over its descriptor.
        let fd = sys::umem_fd(&umem);
        program.add_socket(queue, fd)?;
        // Into the struct first, so that any error below drops the parts in order.
        let mut rx = Rx {
            received: Box::new(ArrayDeque::new()),
            free: frames,
            rx,
            fill,
            _completion: completion,
            _socket: socket,
            _umem: umem,
            fd,
            zero_copy: false,
        };
        rx.zero_copy = sys::is_zero_copy(fd)?;
        // Every frame goes to the kernel; `free` keeps its capacity for every frame, so the
        // pushes in `release_each` never allocate.
        let count = rx.free.len();
        let given = rx.fill.fill(&mut rx.free, count).unwrap_or(0);
        if given != count {
            return Err(io::Error::other(format!(
                "the fill ring took {given} of {count} frames"
            )));
        }
        rx.wake_if_needed()?;
        Ok(rx)
    }

    /// The socket's descriptor, for `poll` and `getsockopt`.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Whether the kernel runs this socket in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Takes up to `max` filled frames off the RX ring; returns how many.
    pub fn take(&mut self, max: usize) -> usize {
        // `try_recv` never fails (its error type has no use yet); it caps `max` at the
        // room in `received`, which is empty here.
        self.rx.try_recv(&mut self.received, max, ()).unwrap_or(0)
    }

    /// Shows every taken frame to `each`, in ring order, then gives them all back to the
    /// kernel through the fill ring and wakes the driver if it asked to be.
    pub fn release_each(&mut self, mut each: impl FnMut(&[u8])) -> io::Result<()> {
        while let Some(frame) = self.received.pop_front() {
            let data = frame.get_data();
            let len = usize::from(frame.get_len()).min(data.len());
            each(&data[..len]);
            self.free.push(frame);
        }
        // Give every free frame back to the kernel. A reservation is all or nothing, and the
        // kernel may not have released fill-ring slots yet under load: ask for less until it
        // fits; what does not fit stays in `free` for the next call (never lost).
        let mut want = self.free.len();
        while want > 0 {
            match self.fill.fill(&mut self.free, want).unwrap_or(0) {
                0 => want /= 2,
                _ => want = want.min(self.free.len()),
            }
        }
        self.wake_if_needed()
    }

    fn wake_if_needed(&mut self) -> io::Result<()> {
        if self.fill.needs_wakeup() {
            sys::kick_rx(self.fd)?;
        }
        Ok(())
    }
}

fn umem_error(e: UmemNewError) -> io::Error {
    match e {
        UmemNewError::Create(e) => from_afxdp(e, "registering the UMEM (XDP_UMEM_REG)"),
        UmemNewError::RingNotPowerOfTwo => io::Error::new(
            io::ErrorKind::InvalidInput,
            "UMEM ring sizes must be powers of two",
        ),
    }
}

fn socket_error(e: SocketNewError, iface: &str, queue: u32, zero_copy: bool) -> io::Error {
    match e {
        SocketNewError::Create(e) => from_afxdp(
            e,
            &format!(
                "AF_XDP socket on {iface} queue {queue} ({} mode)",
                if zero_copy { "zero-copy" } else { "copy" }
            ),
        ),
        SocketNewError::RingNotPowerOfTwo => io::Error::new(
            io::ErrorKind::InvalidInput,
            "the RX ring size must be a power of two",
        ),
    }
}
