//! The Linux capabilities capture needs, checked before a source is opened, so that a missing
//! one is named with its fix at start (or in `add_source`'s reply) rather than surfacing as
//! EPERM from deep inside a socket, BPF or netlink call.
//!
//! airsift runs as an unprivileged user with exactly these (the packaged unit's
//! `AmbientCapabilities=`): `CAP_NET_RAW` for packet and AF_XDP sockets, `CAP_NET_ADMIN` for
//! attaching XDP programs and tuning channels over nl80211, `CAP_BPF` for loading the XDP
//! program and its socket map, `CAP_IPC_LOCK` because the kernel charges an AF_XDP UMEM to the
//! user's locked memory. A capture file needs none.

use std::fmt::Write as _;

/// A capability airsift may need, with its bit number in the kernel's sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    NetBindService = 10,
    NetAdmin = 12,
    NetRaw = 13,
    IpcLock = 14,
    SysAdmin = 21,
    Bpf = 39,
}

impl Cap {
    /// The name `capabilities(7)` and systemd use (`CAP_NET_RAW`).
    pub fn name(self) -> &'static str {
        match self {
            Cap::NetBindService => "CAP_NET_BIND_SERVICE",
            Cap::NetAdmin => "CAP_NET_ADMIN",
            Cap::NetRaw => "CAP_NET_RAW",
            Cap::IpcLock => "CAP_IPC_LOCK",
            Cap::SysAdmin => "CAP_SYS_ADMIN",
            Cap::Bpf => "CAP_BPF",
        }
    }

    /// The lower-case name `setcap` and `setpriv` take (`net_raw`).
    pub fn short(self) -> String {
        self.name()["CAP_".len()..].to_ascii_lowercase()
    }
}

/// Every capability the packaged service grants, in the unit's order.
pub const SERVICE_CAPS: [Cap; 4] = [Cap::NetRaw, Cap::NetAdmin, Cap::Bpf, Cap::IpcLock];

/// A process's effective capability set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps(u64);

impl Caps {
    /// This process's effective set (from `/proc/self/status`); all when it cannot be read,
    /// so that a missing procfs never stops a capture the kernel would allow.
    pub fn current() -> Caps {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| Caps::from_status(&s))
            .unwrap_or(Caps(u64::MAX))
    }

    /// The `CapEff:` line of a `/proc/PID/status` text.
    pub fn from_status(status: &str) -> Option<Caps> {
        let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
        u64::from_str_radix(hex.trim(), 16).ok().map(Caps)
    }

    /// Whether the set holds `cap`. `CAP_SYS_ADMIN` stands in for `CAP_BPF`, as it does in the
    /// kernel (and on kernels older than 5.8, which have no `CAP_BPF`).
    pub fn has(self, cap: Cap) -> bool {
        let bit = |c: Cap| self.0 & (1u64 << c as u32) != 0;
        bit(cap) || (cap == Cap::Bpf && bit(Cap::SysAdmin))
    }

    /// The set as `setcap` would print the ones airsift cares about ("none" when empty).
    fn describe(self) -> String {
        let held: Vec<String> = [
            Cap::NetRaw,
            Cap::NetAdmin,
            Cap::Bpf,
            Cap::IpcLock,
            Cap::SysAdmin,
            Cap::NetBindService,
        ]
        .iter()
        .filter(|&&c| self.0 & (1u64 << c as u32) != 0)
        .map(|c| c.short())
        .collect();
        if held.is_empty() {
            "none of them".into()
        } else {
            held.join(",")
        }
    }
}

/// What a source does that needs a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub cap: Cap,
    /// "to open packet sockets".
    pub why: &'static str,
}

/// The kind of capture, as far as privileges go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    File,
    Tpacket,
    /// AF_XDP with this many sockets (one UMEM each).
    AfXdp {
        sockets: usize,
    },
}

/// Bytes of locked memory one AF_XDP socket's UMEM is charged, as airsift sizes it.
pub fn umem_bytes() -> u64 {
    let c = dataplane::source::afxdp::AfXdpConfig::new("");
    u64::from(c.frame_count) * u64::from(c.frame_size)
}

/// What `access` needs; `tunes` when the source sets channels over nl80211. `memlock` is the
/// soft `RLIMIT_MEMLOCK` in bytes (`None`: unlimited): a UMEM that fits under it needs no
/// `CAP_IPC_LOCK`.
pub fn needs(access: Access, tunes: bool, memlock: Option<u64>) -> Vec<Need> {
    let mut out = Vec::new();
    let raw = Need {
        cap: Cap::NetRaw,
        why: "to open capture sockets",
    };
    match access {
        Access::File => {}
        Access::Tpacket => out.push(raw),
        Access::AfXdp { sockets } => {
            out.push(raw);
            out.push(Need {
                cap: Cap::NetAdmin,
                why: "to attach the XDP program",
            });
            out.push(Need {
                cap: Cap::Bpf,
                why: "to load the XDP program and its socket map",
            });
            let umem = umem_bytes() * sockets as u64;
            if memlock.is_some_and(|limit| umem > limit) {
                out.push(Need {
                    cap: Cap::IpcLock,
                    why: "because the kernel charges the AF_XDP UMEM to locked memory, over \
                          the locked-memory limit",
                });
            }
        }
    }
    if tunes && !out.iter().any(|n| n.cap == Cap::NetAdmin) {
        out.push(Need {
            cap: Cap::NetAdmin,
            why: "to set the radio's channel over nl80211",
        });
    }
    out
}

/// The soft `RLIMIT_MEMLOCK` in bytes, `None` when unlimited (or unreadable: then the kernel
/// has the last word).
pub fn memlock_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| crate::doctor::memlock_limit(&l))
        .flatten()
}

/// `None` when `have` covers `needs`; otherwise the message that names what `subject` lacks
/// and how to grant it.
pub fn check(subject: &str, needs: &[Need], have: Caps) -> Option<String> {
    let missing: Vec<&Need> = needs.iter().filter(|n| !have.has(n.cap)).collect();
    if missing.is_empty() {
        return None;
    }
    let mut msg = format!("{subject} needs ");
    for (i, n) in missing.iter().enumerate() {
        if i > 0 {
            msg.push_str(", ");
        }
        let _ = write!(msg, "{} ({})", n.cap.name(), n.why);
    }
    let shorts: Vec<String> = missing.iter().map(|n| n.cap.short()).collect();
    let plus: Vec<String> = shorts.iter().map(|s| format!("+{s}")).collect();
    let _ = write!(
        msg,
        ", which this airsift process lacks (it holds {}). Run it as the packaged service, whose \
         unit grants {} (`systemctl cat airsift`: AmbientCapabilities=), or give the binary \
         the capability (`setcap {}+ep $(command -v airsift)`), or start it with `setpriv \
         --inh-caps {} --ambient-caps {} -- airsift ...`, or as root",
        have.describe(),
        SERVICE_CAPS.map(Cap::name).join(" "),
        shorts.join(","),
        plus.join(","),
        plus.join(","),
    );
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "Name:\tairsift\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
    const NET_RAW_ONLY: &str = "CapEff:\t0000000000002000\n";

    #[test]
    fn effective_set_from_status() {
        let root = Caps::from_status(ROOT).unwrap();
        for c in SERVICE_CAPS {
            assert!(root.has(c), "{c:?}");
        }
        let raw = Caps::from_status(NET_RAW_ONLY).unwrap();
        assert!(raw.has(Cap::NetRaw));
        assert!(!raw.has(Cap::NetAdmin));
        assert!(!raw.has(Cap::Bpf));
        assert_eq!(Caps::from_status("Name: x\n"), None);
    }

    #[test]
    fn sys_admin_stands_in_for_bpf() {
        let sys_admin = Caps(1 << Cap::SysAdmin as u32);
        assert!(sys_admin.has(Cap::Bpf));
        assert!(!Caps(0).has(Cap::Bpf));
    }

    #[test]
    fn each_access_needs_its_capabilities() {
        assert!(needs(Access::File, false, Some(0)).is_empty());
        let caps = |v: Vec<Need>| v.into_iter().map(|n| n.cap).collect::<Vec<_>>();
        assert_eq!(caps(needs(Access::Tpacket, false, None)), [Cap::NetRaw]);
        assert_eq!(
            caps(needs(Access::Tpacket, true, None)),
            [Cap::NetRaw, Cap::NetAdmin]
        );
        let xdp = Access::AfXdp { sockets: 2 };
        assert_eq!(
            caps(needs(xdp, true, None)),
            [Cap::NetRaw, Cap::NetAdmin, Cap::Bpf]
        );
        // 8 MiB of locked memory does not hold two 16 MiB UMEMs; 64 MiB does.
        assert_eq!(
            caps(needs(xdp, false, Some(8 << 20))),
            [Cap::NetRaw, Cap::NetAdmin, Cap::Bpf, Cap::IpcLock]
        );
        assert!(!caps(needs(xdp, false, Some(64 << 20))).contains(&Cap::IpcLock));
    }

    #[test]
    fn the_message_names_what_is_missing_and_the_fixes() {
        let have = Caps::from_status(NET_RAW_ONLY).unwrap();
        let n = needs(Access::AfXdp { sockets: 1 }, false, None);
        let m = check("afxdp:veth0", &n, have).unwrap();
        assert!(
            m.starts_with("afxdp:veth0 needs CAP_NET_ADMIN (to attach"),
            "{m}"
        );
        assert!(m.contains("CAP_BPF (to load"), "{m}");
        assert!(!m.contains("CAP_NET_RAW ("), "{m}");
        assert!(m.contains("it holds net_raw"), "{m}");
        assert!(m.contains("setcap net_admin,bpf+ep"), "{m}");
        assert!(m.contains("--ambient-caps +net_admin,+bpf"), "{m}");
        assert!(m.contains("systemctl cat airsift"), "{m}");
        assert_eq!(
            check("tpacket:wlan0", &needs(Access::Tpacket, false, None), have),
            None
        );
    }
}
