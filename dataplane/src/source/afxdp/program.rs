//! The XDP program that steers an interface's frames into airsift's AF_XDP sockets, and who
//! attaches and detaches it.
//!
//! An AF_XDP socket only receives what an XDP program on its interface redirects to it. The
//! `afxdp` crate (through libbpf 0.3) would load a default program itself, but it always
//! attaches it the legacy way with no mode flag: the kernel then picks native mode whenever
//! the driver has any XDP support, so generic mode can never be chosen, and a veth whose
//! peer has a large MTU refuses native mode outright (ERANGE), which fails the socket. The
//! program also outlives the process (libbpf never detaches it), on exit and on a crash.
//!
//! So airsift loads the same redirect program itself, named [`PROGRAM_NAME`], with an
//! XSKMAP named `xsks_map`, and attaches it through a BPF link in the mode it wants. Sockets
//! are created with libbpf's program handling off, and [`XdpProgram::add_socket`] puts each
//! into the map: libbpf would look the attached program and map up by id instead, which the
//! kernel allows only with `CAP_SYS_ADMIN`.
//! The link ties the attachment to a descriptor: dropping the [`XdpProgram`] detaches it,
//! and so does the process dying, however it dies.
//!
//! Policy for a program found on the interface at open:
//! - attached by this process for another queue of the same interface: shared (one program
//!   and map per interface, one socket per queue);
//! - an AF_XDP redirect program nobody here owns (airsift's own name, or any program with an
//!   `xsks_map`, such as the libbpf/afxdp default left behind by an earlier run that used
//!   legacy attachment): detached with a notice, since it is left over from a run that did
//!   not clean up. If a BPF link owns it, a live process does, and open fails instead. A
//!   legacy-attached program carries no owner, so one still used by another, non-airsift
//!   AF_XDP application on the same interface would be taken too: run one AF_XDP
//!   application per interface;
//! - anything else: not ours to remove; open fails and says how to remove it by hand.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, Weak};

use super::bpf::{self, Insn};
use super::errors::context;
use super::select::{self, Selector};
use super::XdpAttach;
use crate::kfilter::KernelPrograms;

/// The name airsift's XDP program carries (the kernel keeps 15 bytes).
pub const PROGRAM_NAME: &str = "airsift_xsk";
/// The map name libbpf looks for when it reuses an attached program.
const MAP_NAME: &str = "xsks_map";
/// XSKMAP size: at least this many queues, so later sources of this process on other queues
/// of the interface fit into the same map.
const MIN_MAP_ENTRIES: u32 = 256;

/// airsift's XDP program attached to one interface. Dropping the last handle detaches it.
#[derive(Debug)]
pub struct XdpProgram {
    /// The BPF link: the attachment lives exactly as long as this descriptor.
    _link: OwnedFd,
    /// The XSKMAP the program redirects through, for adding sockets.
    map: OwnedFd,
    id: u32,
    attach: XdpAttach,
    map_entries: u32,
    /// Whether this is the kernel filter's program (which drops blocked frames) rather than
    /// the plain redirect.
    filtered: bool,
    /// What the program takes.
    selector: Selector,
}

impl XdpProgram {
    /// Steers queue `queue`'s frames to the AF_XDP socket `xsk`.
    pub fn add_socket(&self, queue: u32, xsk: RawFd) -> io::Result<()> {
        bpf::xskmap_insert(&self.map, queue, xsk)
    }

    /// The kernel's id for the program (`ip link` shows it as `prog/xdp id N`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether the kernel filter judges frames here (drops blocked ones before the socket).
    pub fn filtered(&self) -> bool {
        self.filtered
    }

    /// Native or generic: the mode actually obtained.
    pub fn attach_mode(&self) -> XdpAttach {
        self.attach
    }

    /// What the program takes from the interface.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }
}

/// One network namespace, as the device and inode of its nsfs file: interface indexes are
/// only unique inside one.
type NetnsId = (u64, u64);

fn current_netns() -> io::Result<NetnsId> {
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| context(e, "reading /proc/thread-self/ns/net"))?;
    Ok((m.dev(), m.ino()))
}

struct Shared {
    netns: NetnsId,
    ifindex: u32,
    program: Weak<XdpProgram>,
}

/// The programs this process has attached, so that sources on other queues of the same
/// interface share one instead of detaching each other's. Only touched while opening.
static ATTACHED: Mutex<Vec<Shared>> = Mutex::new(Vec::new());

/// airsift's program on `ifindex`, attached in the mode `want` asks for (or shared with
/// another source of this process), after removing a leftover. Explanations of anything
/// not plain (a fallback, a removed leftover) are appended to `notices`.
pub fn attach(
    iface: &str,
    ifindex: u32,
    queue: u32,
    want: XdpAttach,
    filter: Option<(&KernelPrograms, u32)>,
    selector: &Selector,
    notices: &mut Vec<String>,
) -> io::Result<Arc<XdpProgram>> {
    let netns = current_netns()?;
    let mut attached = ATTACHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    attached.retain(|s| s.program.strong_count() > 0);
    let mine = attached
        .iter()
        .filter(|s| s.netns == netns && s.ifindex == ifindex)
        .find_map(|s| s.program.upgrade());
    if let Some(program) = mine {
        return share(iface, program, queue, want, selector);
    }
    remove_leftovers(iface, ifindex, notices)?;
    let program = Arc::new(load_and_link(
        iface, ifindex, queue, want, filter, selector, notices,
    )?);
    attached.push(Shared {
        netns,
        ifindex,
        program: Arc::downgrade(&program),
    });
    Ok(program)
}

/// Joins the program another source of this process attached to the interface.
fn share(
    iface: &str,
    program: Arc<XdpProgram>,
    queue: u32,
    want: XdpAttach,
    selector: &Selector,
) -> io::Result<Arc<XdpProgram>> {
    if *selector != program.selector {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{iface}: selector {selector} requested, but another source of this process                  attached its program with selector {}; one interface has one selector",
                program.selector
            ),
        ));
    }
    if queue >= program.map_entries {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "queue {queue} of {iface}: the XDP program this process attached has room for \
                 queues 0..{} only",
                program.map_entries
            ),
        ));
    }
    if want != XdpAttach::Auto && want != program.attach {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{iface}: {want:?} XDP requested, but another source of this process already \
                 attached it in {:?} mode; one interface has one mode",
                program.attach
            ),
        ));
    }
    Ok(program)
}

/// Whose program it is, judged by name and maps.
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    /// airsift's own program (by name).
    Airsift,
    /// Another AF_XDP redirect program (it has an `xsks_map`), e.g. libbpf's default.
    AfXdp,
    /// Something else: not ours to remove.
    Foreign,
}

fn classify(name: &str, map_names: &[(String, u32)]) -> Owner {
    if name == PROGRAM_NAME {
        Owner::Airsift
    } else if map_names
        .iter()
        .any(|(n, t)| n == MAP_NAME && *t == bpf::XSKMAP_TYPE)
    {
        Owner::AfXdp
    } else {
        Owner::Foreign
    }
}

/// Detaches AF_XDP redirect programs nobody in this process owns; refuses foreign ones.
fn remove_leftovers(iface: &str, ifindex: u32, notices: &mut Vec<String>) -> io::Result<()> {
    let ids = bpf::attached_programs(ifindex)?;
    let modes = [
        (ids.native, bpf::NATIVE, "native", "xdpdrv"),
        (ids.generic, bpf::GENERIC, "generic", "xdpgeneric"),
        (ids.offloaded, bpf::OFFLOADED, "offloaded", "xdpoffload"),
    ];
    for (id, flag, mode, ip_keyword) in modes {
        if id == 0 {
            continue;
        }
        let fd = match bpf::prog_fd_by_id(id) {
            Ok(fd) => fd,
            // Detached and freed since we looked: nothing to do.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => {
                return Err(context(
                    e,
                    &format!("opening XDP program id {id} of {iface}"),
                ))
            }
        };
        let info = bpf::prog_info(&fd)?;
        let maps: Vec<(String, u32)> = info
            .map_ids
            .iter()
            .filter_map(|&m| bpf::map_name_and_type(m).ok())
            .collect();
        let label = if info.name.is_empty() {
            format!("XDP program id {id} (unnamed)")
        } else {
            format!("XDP program id {id} ({})", info.name)
        };
        let owner = classify(&info.name, &maps);
        if owner == Owner::Foreign {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{iface} already has {label} attached in {mode} mode, which is not an \
                     AF_XDP redirect program; airsift will not replace it. If it is stale, \
                     remove it with `ip link set dev {iface} {ip_keyword} off`"
                ),
            ));
        }
        match bpf::detach_legacy(ifindex, &fd, flag) {
            Ok(()) => notices.push(format!(
                "detached a leftover {label} from {iface} ({mode} mode): an AF_XDP redirect \
                 program ({}) that no socket of this process uses, left by an earlier run \
                 that did not shut down cleanly",
                if owner == Owner::Airsift {
                    "airsift's"
                } else {
                    "libbpf/afxdp default"
                }
            )),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "{iface} has {label} attached in {mode} mode through a BPF link: a \
                         running process (another airsift?) owns it, so it is not a leftover; \
                         stop that process first"
                    ),
                ))
            }
            Err(e) => {
                return Err(context(
                    e,
                    &format!("detaching leftover {label} from {iface} ({mode} mode)"),
                ))
            }
        }
    }
    Ok(())
}

/// Creates the map, loads the program and links it in the wanted mode (Auto: native, then
/// generic with a notice).
fn load_and_link(
    iface: &str,
    ifindex: u32,
    queue: u32,
    want: XdpAttach,
    filter: Option<(&KernelPrograms, u32)>,
    selector: &Selector,
    notices: &mut Vec<String>,
) -> io::Result<XdpProgram> {
    // With UDP ports, the selecting program (its XSKMAP has MIN_MAP_ENTRIES slots).
    let selected = match selector {
        Selector::Udp(ports) if queue < MIN_MAP_ENTRIES => {
            if filter.is_some() {
                notices.push(format!(
                    "kernel filter not applied on {iface}: its XDP program takes UDP datagrams                      ({selector}); their frames are filtered in user space"
                ));
            }
            let s = select::load(ports).map_err(|e| {
                context(
                    e,
                    &format!("loading the XDP program for {selector} on {iface}"),
                )
            })?;
            Some((s.xsks_map, s.program))
        }
        Selector::Udp(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("queue {queue} of {iface}: a selector serves queues 0..{MIN_MAP_ENTRIES}"),
            ))
        }
        Selector::All => None,
    };
    // The kernel filter's program (its XSKMAP has MIN_MAP_ENTRIES slots), else the plain
    // redirect.
    let filtered = match filter {
        _ if selected.is_some() => None,
        Some((k, linktype)) if queue < MIN_MAP_ENTRIES => match k.xdp_program(linktype) {
            Ok(x) => Some(x),
            Err(e) => {
                notices.push(format!(
                    "kernel filter not loaded on {iface}: {e}; its frames are filtered in \
                     user space only"
                ));
                None
            }
        },
        _ => None,
    };
    let is_filtered = filtered.is_some();
    let (map, prog, map_entries) = match (selected, filtered) {
        (Some((map, prog)), _) => (map, prog, MIN_MAP_ENTRIES),
        (None, Some(x)) => (x.xsks_map, x.program, MIN_MAP_ENTRIES),
        (None, None) => {
            let map_entries = queue.saturating_add(1).max(MIN_MAP_ENTRIES);
            let map_name = CString::new(MAP_NAME).expect("no NUL in a constant");
            let map = bpf::create_xskmap(&map_name, map_entries)?;
            let prog_name = CString::new(PROGRAM_NAME).expect("no NUL in a constant");
            let prog = bpf::load_xdp_program(&prog_name, &redirect_program(map.as_raw_fd()))?;
            (map, prog, map_entries)
        }
    };
    let id = bpf::prog_info(&prog)?.id;
    let link_in = |flag: u32, mode: &str| {
        bpf::link_xdp(&prog, ifindex, flag)
            .map_err(|e| context(e, &format!("attaching XDP to {iface} in {mode} mode")))
    };
    let (link, attach) = match want {
        XdpAttach::Native => (link_in(bpf::NATIVE, "native")?, XdpAttach::Native),
        XdpAttach::Generic => (link_in(bpf::GENERIC, "generic")?, XdpAttach::Generic),
        XdpAttach::Auto => match bpf::link_xdp(&prog, ifindex, bpf::NATIVE) {
            Ok(link) => (link, XdpAttach::Native),
            Err(e) => {
                let link = link_in(bpf::GENERIC, "generic")?;
                notices.push(format!(
                    "native XDP refused on {iface}: {e}; attached in generic (skb) mode \
                     instead, where the program runs after the kernel has built a socket buffer"
                ));
                (link, XdpAttach::Generic)
            }
        },
    };
    // The link holds the program: our descriptor for it can close now. The map's stays, to
    // add sockets to.
    Ok(XdpProgram {
        _link: link,
        map,
        id,
        attach,
        map_entries,
        filtered: is_filtered,
        selector: selector.clone(),
    })
}

/// The redirect program, equivalent to libbpf 0.3's default without its pre-5.3 fallback:
///
/// ```text
/// r2 = *(u32 *)(r1 + 16)            // ctx->rx_queue_index
/// r1 = map_fd ll                     // the XSKMAP (two instruction slots)
/// r3 = XDP_PASS                      // what to do when no socket serves this queue
/// call bpf_redirect_map              // r0 = XDP_REDIRECT, or r3 if the slot is empty
/// exit
/// ```
///
/// Frames of queues without a socket pass to the stack untouched.
fn redirect_program(map_fd: RawFd) -> [Insn; 6] {
    const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    const LD_IMM_DW: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
    const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
    const PSEUDO_MAP_FD: u8 = 1; // BPF_PSEUDO_MAP_FD
    const RX_QUEUE_INDEX: i16 = 16; // offsetof(struct xdp_md, rx_queue_index)
    const XDP_PASS: i32 = 2;
    const REDIRECT_MAP: i32 = 51; // BPF_FUNC_redirect_map
    let insn = |code: u8, dst: u8, src: u8, off: i16, imm: i32| Insn {
        code,
        _bitfield_1: Insn::new_bitfield_1(dst, src),
        off,
        imm,
    };
    [
        insn(LDX_MEM_W, 2, 1, RX_QUEUE_INDEX, 0),
        insn(LD_IMM_DW, 1, PSEUDO_MAP_FD, 0, map_fd),
        insn(0, 0, 0, 0, 0),
        insn(MOV64_K, 3, 0, 0, XDP_PASS),
        insn(CALL, 0, 0, 0, REDIRECT_MAP),
        insn(EXIT, 0, 0, 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_encoding() {
        let p = redirect_program(7);
        // Registers are the low (dst) and high (src) nibble on little-endian hosts.
        assert_eq!(p[0].code, 0x61);
        assert_eq!((p[0].dst_reg(), p[0].src_reg(), p[0].off), (2, 1, 16));
        assert_eq!((p[1].dst_reg(), p[1].src_reg(), p[1].imm), (1, 1, 7));
        assert_eq!((p[2].code, p[2].imm), (0, 0));
        assert_eq!((p[3].dst_reg(), p[3].imm), (3, 2));
        assert_eq!((p[4].code, p[4].imm), (0x85, 51));
        assert_eq!(p[5].code, 0x95);
    }

    #[test]
    fn classification() {
        let xsk = vec![("xsks_map".to_string(), bpf::XSKMAP_TYPE)];
        assert_eq!(classify(PROGRAM_NAME, &xsk), Owner::Airsift);
        assert_eq!(classify("", &xsk), Owner::AfXdp);
        assert_eq!(classify("xdp_filter", &[]), Owner::Foreign);
        // A map of the right name but another type is not an XSKMAP.
        assert_eq!(
            classify("x", &[("xsks_map".to_string(), 1)]),
            Owner::Foreign
        );
    }
}
