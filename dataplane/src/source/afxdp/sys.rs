//! The system calls an AF_XDP socket needs beyond what the `afxdp` crate offers: the socket's
//! descriptor, `poll`, the need-wakeup kick, and the `SOL_XDP` read-outs.
//!
//! Memory shared with the kernel is not touched here: every call passes either no pointer or a
//! pointer to a plain local value whose size is passed with it. Each `unsafe` block sits in a
//! small function that says why it holds.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;

use afxdp::umem::Umem;

use super::errors::context;

/// `struct xdp_statistics` (linux/if_xdp.h), read with `getsockopt(SOL_XDP, XDP_STATISTICS)`.
/// Every field counts since the socket was bound; reading does not reset them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStatistics {
    /// Frames dropped for any reason other than a full RX ring: too long for a UMEM frame,
    /// or (copy mode) no free frame because the fill ring was empty.
    pub rx_dropped: u64,
    /// RX descriptors the kernel found invalid.
    pub rx_invalid_descs: u64,
    /// TX descriptors found invalid (always 0 here: the socket has no TX ring).
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full (userspace too slow).
    pub rx_ring_full: u64,
    /// Times the kernel wanted a frame and found the fill ring empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the TX ring was empty when the kernel looked (unused here).
    pub tx_ring_empty_descs: u64,
}

/// The descriptor of the AF_XDP socket built on `umem`.
///
/// `afxdp` keeps the socket's descriptor private, but libbpf (which it wraps) creates the
/// UMEM's socket first and hands that same descriptor to the first socket created on the
/// UMEM (`xsk_socket__create_shared`: `xsk->fd = umem->fd` when the UMEM's refcount was 0).
/// Each source creates exactly one socket per UMEM, so this is the socket's descriptor. It
/// stays owned by libbpf: valid until the `Umem` is dropped, closed by it.
pub fn umem_fd<T: Default + Copy>(umem: &Umem<'_, T>) -> RawFd {
    // SAFETY: `get_ptr` returns the live `xsk_umem` the `Umem` owns (it is freed only in
    // `Umem`'s Drop, and `umem` is borrowed for this call); `xsk_umem__fd` only reads its
    // `fd` field.
    unsafe { libbpf_sys::xsk_umem__fd(umem.get_ptr()) }
}

/// Waits until the socket is readable or `timeout_ms` passes (0: just look). An interrupted
/// wait counts as a timeout: the caller asks again.
pub fn poll_readable(fd: RawFd, timeout_ms: i32) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid, writable pollfd and we pass a count of 1.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(context(e, "poll(AF_XDP socket)"));
    }
    Ok(())
}

/// Tells the driver that the fill ring has frames again (the `need_wakeup` protocol: the
/// kernel sets a flag on the fill ring when it has stopped looking at it). A zero-length
/// non-blocking `recvfrom` is the documented kick. The errors the kernel's own sample treats
/// as harmless (ring momentarily busy, device going down) are ignored.
pub fn kick_rx(fd: RawFd) -> io::Result<()> {
    // SAFETY: a null buffer of length 0 and a null address are valid arguments to
    // recvfrom(2); nothing is written.
    let r = unsafe {
        libc::recvfrom(
            fd,
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN | libc::EINTR) => {}
            _ => return Err(context(e, "recvfrom(AF_XDP wakeup)")),
        }
    }
    Ok(())
}

/// `getsockopt(SOL_XDP, opt)` into a plain value; the kernel may fill less than all of it
/// (older layouts), which leaves the rest at its default.
fn get_xdp_option<T: Copy + Default>(fd: RawFd, opt: libc::c_int, what: &str) -> io::Result<T> {
    let mut value = T::default();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a writable local of exactly `len` bytes and `len` is a writable
    // socklen_t; the kernel writes at most `len` bytes. T is only instantiated with
    // `#[repr(C)]` integer structs from libbpf-sys's kernel headers, for which every byte pattern is valid.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_XDP,
            opt,
            (&mut value as *mut T).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(context(io::Error::last_os_error(), what));
    }
    Ok(value)
}

/// The socket's counters (`XDP_STATISTICS`).
pub fn statistics(fd: RawFd) -> io::Result<XdpStatistics> {
    let s: libbpf_sys::xdp_statistics =
        get_xdp_option(fd, libc::XDP_STATISTICS, "getsockopt(XDP_STATISTICS)")?;
    Ok(XdpStatistics {
        rx_dropped: s.rx_dropped,
        rx_invalid_descs: s.rx_invalid_descs,
        tx_invalid_descs: s.tx_invalid_descs,
        rx_ring_full: s.rx_ring_full,
        rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
        tx_ring_empty_descs: s.tx_ring_empty_descs,
    })
}

/// Whether the bound socket really runs in zero-copy mode (`XDP_OPTIONS`), as opposed to
/// what was asked for.
pub fn is_zero_copy(fd: RawFd) -> io::Result<bool> {
    let o: libbpf_sys::xdp_options =
        get_xdp_option(fd, libc::XDP_OPTIONS, "getsockopt(XDP_OPTIONS)")?;
    Ok(o.flags & libc::XDP_OPTIONS_ZEROCOPY != 0)
}

/// The interface index of `iface` in the calling thread's network namespace.
pub fn if_index(iface: &str) -> io::Result<u32> {
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {iface:?} is empty or longer than 15 bytes"),
        ));
    }
    let name = CString::new(iface).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {iface:?} contains a NUL byte"),
        )
    })?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        let e = io::Error::last_os_error();
        let missing = e.raw_os_error() == Some(libc::ENODEV);
        let e = context(e, &format!("interface {iface}"));
        // As for TPACKET: a missing interface is NotFound, not an uncategorised errno.
        return Err(if missing {
            io::Error::new(io::ErrorKind::NotFound, e.to_string())
        } else {
            e
        });
    }
    Ok(index)
}

/// Issues the `SIOCETHTOOL` request whose command and reply are `data` (an ethtool
/// structure beginning with its `cmd`) for `iface` (checked by [`if_index`]): `Ok(0)` when
/// the driver answered, else the ioctl's -1 (a driver without that operation).
fn ethtool<T>(iface: &str, data: &mut T) -> io::Result<i32> {
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(iface.bytes()) {
        *d = s as libc::c_char; // if_index checked: at most 15 bytes, no NUL
    }
    req.ifr_ifru.ifru_data = (data as *mut T).cast();
    // SAFETY: a plain datagram socket, owned below and closed on every path.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(context(io::Error::last_os_error(), "socket for ethtool"));
    }
    // SAFETY: `fd` is a descriptor we just created and own exclusively.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: SIOCETHTOOL reads `req` (a valid ifreq naming the device) and writes through
    // `ifru_data` into `data`, a live ethtool structure of the size its command uses (the
    // callers pass the structure linux/ethtool.h defines for the command they set).
    Ok(unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            libc::SIOCETHTOOL as _,
            &mut req,
        )
    })
}

/// `struct ethtool_value` (linux/ethtool.h).
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

const ETHTOOL_GFLAGS: u32 = 0x25;
const ETHTOOL_GGRO: u32 = 0x2b;
const ETH_FLAG_LRO: u32 = 1 << 15;

/// Receive offloads that merge frames before a capture socket sees them; `None` where the
/// driver does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offloads {
    pub gro: Option<bool>,
    pub lro: Option<bool>,
}

/// Whether generic receive offload and large receive offload are on for `iface` (in the
/// calling thread's network namespace), as `ethtool -k` reports them.
pub fn offloads(iface: &str) -> io::Result<Offloads> {
    if_index(iface)?;
    let mut gro = EthtoolValue {
        cmd: ETHTOOL_GGRO,
        data: 0,
    };
    let gro = (ethtool(iface, &mut gro)? == 0).then_some(gro.data != 0);
    let mut flags = EthtoolValue {
        cmd: ETHTOOL_GFLAGS,
        data: 0,
    };
    let lro = (ethtool(iface, &mut flags)? == 0).then_some(flags.data & ETH_FLAG_LRO != 0);
    Ok(Offloads { gro, lro })
}

/// Whether the running kernel offers AF_XDP sockets (`CONFIG_XDP_SOCKETS`).
pub fn afxdp_supported() -> io::Result<bool> {
    // SAFETY: creates a socket, owned below and closed on every path.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd >= 0 {
        // SAFETY: `fd` is a descriptor we just created and own exclusively.
        drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        return Ok(true);
    }
    match io::Error::last_os_error() {
        e if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => Ok(false),
        e => Err(e),
    }
}

/// `struct ethtool_channels` (linux/ethtool.h), read with `ETHTOOL_GCHANNELS`.
#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

const ETHTOOL_GCHANNELS: u32 = 0x3c;

/// How many receive queues `iface` has now, as the kernel's AF_XDP bind checks them
/// (`real_num_rx_queues`), in the calling thread's network namespace: the driver's
/// combined + RX-only channels from `ETHTOOL_GCHANNELS`, or where the driver does not
/// report channels, the `rx-N` entries sysfs lists for the device (used only when sysfs
/// shows this namespace's device: same index). `None` when neither can tell.
pub fn rx_queue_count(iface: &str) -> io::Result<Option<u32>> {
    let index = if_index(iface)?;
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..EthtoolChannels::default()
    };
    let r = ethtool(iface, &mut ch)?;
    if r == 0 {
        let n = ch.combined_count + ch.rx_count;
        if n > 0 {
            return Ok(Some(n));
        }
    }
    let dir = std::path::Path::new("/sys/class/net").join(iface);
    let same = std::fs::read_to_string(dir.join("ifindex"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        == Some(index);
    if !same {
        return Ok(None);
    }
    let n = std::fs::read_dir(dir.join("queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(0);
    Ok((n > 0).then_some(n))
}
