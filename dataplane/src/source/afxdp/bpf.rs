//! The `bpf(2)` and rtnetlink calls behind airsift's XDP program, through the `libbpf-sys`
//! bindings that `afxdp` itself is built on (same crate, same vendored libbpf 0.3).
//!
//! No memory here is shared with the kernel beyond the duration of one call: every pointer
//! passed is to a local value or slice that outlives the call, with its true size. Each
//! descriptor the kernel returns is wrapped in an `OwnedFd` at once, so it is closed on
//! every path.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libbpf_sys as sys;

use super::errors::{from_neg_errno, from_syscall_ret};

pub use sys::bpf_insn as Insn;

/// Wraps a descriptor returned by a libbpf `bpf(2)` wrapper.
fn owned_fd(ret: i32, what: &str) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(from_syscall_ret(ret, what));
    }
    // SAFETY: a non-negative return of these calls is a new descriptor that nothing else
    // owns or closes, so OwnedFd may take it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// A `BPF_MAP_TYPE_XSKMAP` (queue index → AF_XDP socket) with room for `entries` queues.
pub fn create_xskmap(name: &CStr, entries: u32) -> io::Result<OwnedFd> {
    let entries = i32::try_from(entries).unwrap_or(i32::MAX);
    let int = size_of::<i32>() as i32;
    // SAFETY: `name` is NUL-terminated and outlives the call; the other arguments are plain
    // integers.
    let ret = unsafe {
        sys::bpf_create_map_name(
            sys::BPF_MAP_TYPE_XSKMAP,
            name.as_ptr(),
            int,
            int,
            entries,
            0,
        )
    };
    owned_fd(ret, "creating the XSKMAP")
}

/// Puts the AF_XDP socket `xsk` into the XSKMAP `map` at `queue`: the redirect program
/// sends that queue's frames to it. The kernel takes the entry out when the socket closes.
pub fn xskmap_insert(map: &OwnedFd, queue: u32, xsk: RawFd) -> io::Result<()> {
    let key: u32 = queue;
    let value: i32 = xsk;
    // SAFETY: `key` and `value` are live 4-byte integers, the key and value sizes the map was
    // created with; the call only reads them during the call.
    let ret = unsafe {
        sys::bpf_map_update_elem(
            map.as_raw_fd(),
            (&key as *const u32).cast(),
            (&value as *const i32).cast(),
            0,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(from_syscall_ret(
            ret,
            "adding the AF_XDP socket to the XDP program's XSKMAP",
        ))
    }
}

/// Loads an XDP program; a verifier rejection carries the verifier's log in the error.
pub fn load_xdp_program(name: &CStr, insns: &[Insn]) -> io::Result<OwnedFd> {
    let license = CString::new("MIT OR Apache-2.0").expect("no NUL in a literal");
    let mut log = vec![0u8; 16 * 1024];
    let attr = sys::bpf_load_program_attr {
        prog_type: sys::BPF_PROG_TYPE_XDP,
        name: name.as_ptr(),
        insns: insns.as_ptr(),
        insns_cnt: insns.len() as sys::size_t,
        license: license.as_ptr(),
        ..Default::default()
    };
    // SAFETY: `attr` points at `name`, `insns` and `license`, all alive for the call, and
    // `insns_cnt` is the slice's length; `log` is writable for the length passed.
    let ret = unsafe {
        sys::bpf_load_program_xattr(&attr, log.as_mut_ptr().cast(), log.len() as sys::size_t)
    };
    owned_fd(ret, "loading the XDP program").map_err(|e| {
        let log = CStr::from_bytes_until_nul(&log)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if log.trim().is_empty() {
            e
        } else {
            io::Error::new(e.kind(), format!("{e}; verifier log:\n{log}"))
        }
    })
}

/// Attaches `prog` to `ifindex` through a BPF link (`BPF_LINK_CREATE`, `BPF_XDP`) in the
/// mode `mode_flags` asks for (`XDP_FLAGS_DRV_MODE` or `XDP_FLAGS_SKB_MODE`). The program
/// stays attached exactly as long as the returned descriptor is open: closing it, or the
/// process dying, detaches it.
pub fn link_xdp(prog: &OwnedFd, ifindex: u32, mode_flags: u32) -> io::Result<OwnedFd> {
    let opts = sys::bpf_link_create_opts {
        sz: size_of::<sys::bpf_link_create_opts>() as sys::size_t,
        flags: mode_flags,
        ..Default::default()
    };
    // SAFETY: `opts` is a valid, fully initialised options struct whose `sz` is its size;
    // it outlives the call. `prog` is an open descriptor.
    let ret =
        unsafe { sys::bpf_link_create(prog.as_raw_fd(), ifindex as i32, sys::BPF_XDP, &opts) };
    owned_fd(ret, "BPF_LINK_CREATE(XDP)")
}

/// The ids of the XDP programs attached to an interface, one per attach mode (0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttachedIds {
    pub native: u32,
    pub generic: u32,
    pub offloaded: u32,
}

/// Which XDP programs `ifindex` has, in each mode (rtnetlink `IFLA_XDP`).
pub fn attached_programs(ifindex: u32) -> io::Result<AttachedIds> {
    let mut info = sys::xdp_link_info::default();
    // SAFETY: `info` is a writable local of exactly the size passed.
    let ret = unsafe {
        sys::bpf_get_link_xdp_info(
            ifindex as i32,
            &mut info,
            size_of::<sys::xdp_link_info>() as sys::size_t,
            0,
        )
    };
    if ret < 0 {
        return Err(from_neg_errno(ret, "querying the interface's XDP programs"));
    }
    Ok(AttachedIds {
        native: info.drv_prog_id,
        generic: info.skb_prog_id,
        offloaded: info.hw_prog_id,
    })
}

/// A descriptor for the loaded program with this id. The error is the bare errno (ENOENT:
/// the program is gone), for the caller to match and describe.
pub fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain integer argument.
    let ret = unsafe { sys::bpf_prog_get_fd_by_id(id) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nothing else owns (as in `owned_fd`).
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// A loaded program's id, what it calls itself and which maps it uses.
#[derive(Clone, Debug, Default)]
pub struct ProgInfo {
    pub id: u32,
    pub name: String,
    pub map_ids: Vec<u32>,
}

/// Reads a program's id, name and (up to 32) map ids.
pub fn prog_info(prog: &OwnedFd) -> io::Result<ProgInfo> {
    let mut map_ids = [0u32; 32];
    let mut info = sys::bpf_prog_info {
        nr_map_ids: map_ids.len() as u32,
        map_ids: map_ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut len = size_of::<sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a writable local of `len` bytes; the kernel writes at most
    // `nr_map_ids` ids into `map_ids`, a writable array of that many u32 alive for the call.
    let ret = unsafe {
        sys::bpf_obj_get_info_by_fd(
            prog.as_raw_fd(),
            (&mut info as *mut sys::bpf_prog_info).cast(),
            &mut len,
        )
    };
    if ret != 0 {
        return Err(from_syscall_ret(ret, "BPF_OBJ_GET_INFO_BY_FD(program)"));
    }
    let n = (info.nr_map_ids as usize).min(map_ids.len());
    Ok(ProgInfo {
        id: info.id,
        name: c_name(&info.name),
        map_ids: map_ids[..n].to_vec(),
    })
}

/// A map's name and type, by id.
pub fn map_name_and_type(id: u32) -> io::Result<(String, u32)> {
    // SAFETY: plain integer argument.
    let fd = owned_fd(
        unsafe { sys::bpf_map_get_fd_by_id(id) },
        "BPF_MAP_GET_FD_BY_ID",
    )?;
    let mut info = sys::bpf_map_info::default();
    let mut len = size_of::<sys::bpf_map_info>() as u32;
    // SAFETY: `info` is a writable local of `len` bytes.
    let ret = unsafe {
        sys::bpf_obj_get_info_by_fd(
            fd.as_raw_fd(),
            (&mut info as *mut sys::bpf_map_info).cast(),
            &mut len,
        )
    };
    if ret != 0 {
        return Err(from_syscall_ret(ret, "BPF_OBJ_GET_INFO_BY_FD(map)"));
    }
    Ok((c_name(&info.name), info.type_))
}

/// Detaches the program attached the legacy (rtnetlink) way in the mode `mode_flags`
/// names, but only if it is still `expected` (`XDP_FLAGS_REPLACE`), so a program someone
/// attached in the meantime is never removed. Fails with `EBUSY` when a BPF link owns the
/// attachment: a running process holds it and the kernel will not let it be replaced. The
/// error is the bare errno, for the caller to match and describe.
pub fn detach_legacy(ifindex: u32, expected: &OwnedFd, mode_flags: u32) -> io::Result<()> {
    // `sz` covers the fields only: libbpf rejects a size whose bytes past its last field
    // (here the struct's tail padding, which Rust leaves undefined) are not zero.
    let opts = sys::bpf_xdp_set_link_opts {
        sz: (offset_of!(sys::bpf_xdp_set_link_opts, old_fd) + size_of::<i32>()) as sys::size_t,
        old_fd: expected.as_raw_fd(),
    };
    // SAFETY: `opts` is a valid options struct whose `sz` is its size, alive for the call.
    let ret = unsafe {
        sys::bpf_set_link_xdp_fd_opts(
            ifindex as i32,
            -1,
            mode_flags | sys::XDP_FLAGS_REPLACE,
            &opts,
        )
    };
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(ret.saturating_neg()));
    }
    Ok(())
}

/// A fixed-size, NUL-padded kernel object name as a String.
fn c_name(raw: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `XDP_FLAGS_*` for the two attach modes airsift asks for, and the one it can find.
pub const NATIVE: u32 = sys::XDP_FLAGS_DRV_MODE;
pub const GENERIC: u32 = sys::XDP_FLAGS_SKB_MODE;
pub const OFFLOADED: u32 = sys::XDP_FLAGS_HW_MODE;
pub const XSKMAP_TYPE: u32 = sys::BPF_MAP_TYPE_XSKMAP;
