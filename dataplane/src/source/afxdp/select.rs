//! What an AF_XDP source takes from its interface ([`Selector`]): every frame (a monitor
//! interface, or the lab's veth carrying radiotap bytes), or only the UDP datagrams sent to
//! given ports, on an Ethernet NIC the host also uses for its own traffic.
//!
//! With ports, the XDP program is bpf/xsk_select.bpf.c: it passes everything else to the
//! kernel's stack, so the host's TCP, ping and the rest keep working, and hands each selected
//! datagram's payload (one frame of the source's link type, as a remote sensor sends it) to
//! the socket with the Ethernet, VLAN, IP and UDP headers stripped. IPv4 fragments and IPv6
//! datagrams with extension headers go to the stack.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::str::FromStr;

use crate::kfilter::sys::{self, Object};

/// Most ports one source selects.
pub const MAX_PORTS: usize = 64;

/// What an AF_XDP source takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selector {
    /// Every frame of the queue.
    #[default]
    All,
    /// Only UDP datagrams to these ports (sorted, distinct, at most [`MAX_PORTS`]), their
    /// payloads as the frames.
    Udp(Vec<u16>),
}

impl FromStr for Selector {
    type Err = String;

    /// `all`, or `udp:PORT[+PORT...]` (`+` because definitions separate options by commas).
    fn from_str(s: &str) -> Result<Selector, String> {
        if s == "all" {
            return Ok(Selector::All);
        }
        let Some(list) = s.strip_prefix("udp:") else {
            return Err(format!(
                "selector {s:?}: expected all or udp:PORT[+PORT...]"
            ));
        };
        let mut ports = Vec::new();
        for p in list.split('+') {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => ports.push(n),
                _ => return Err(format!("selector {s:?}: {p:?} is not a UDP port (1-65535)")),
            }
        }
        ports.sort_unstable();
        ports.dedup();
        if ports.len() > MAX_PORTS {
            return Err(format!(
                "selector {s:?}: {} ports, at most {MAX_PORTS}",
                ports.len()
            ));
        }
        Ok(Selector::Udp(ports))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => f.write_str("all"),
            Selector::Udp(ports) => {
                f.write_str("udp:")?;
                for (i, p) in ports.iter().enumerate() {
                    if i > 0 {
                        f.write_str("+")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

/// The selecting program, loaded with its ports set, not yet attached.
pub(super) struct SelectProgram {
    pub program: OwnedFd,
    pub xsks_map: OwnedFd,
}

/// Loads bpf/xsk_select.bpf.c and selects `ports`.
pub(super) fn load(ports: &[u16]) -> io::Result<SelectProgram> {
    let loaded = sys::load(
        Object::Select,
        &["xsks_map", "udp_ports"],
        &["airsift_xsk"],
        &[],
        &[],
    )?;
    for &p in ports {
        sys::set_byte(loaded.map("udp_ports")?, u32::from(p), 1)?;
    }
    // The program holds the port array; only the XSKMAP (asked for first) is kept, to add
    // sockets to.
    let xsks_map = loaded
        .maps
        .into_iter()
        .next()
        .map(|(_, fd)| fd)
        .expect("load returns the maps asked for, in order");
    let program = loaded
        .programs
        .into_iter()
        .next()
        .map(|(_, fd)| fd)
        .expect("load returns the program asked for");
    Ok(SelectProgram { program, xsks_map })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_print() {
        assert_eq!("all".parse::<Selector>(), Ok(Selector::All));
        assert_eq!(
            "udp:7000+5000+7000".parse::<Selector>(),
            Ok(Selector::Udp(vec![5000, 7000]))
        );
        assert_eq!(Selector::Udp(vec![5000, 7000]).to_string(), "udp:5000+7000");
        for bad in ["udp:", "udp:0", "udp:70000", "udp:x", "tcp:80", ""] {
            let e = bad.parse::<Selector>().unwrap_err();
            assert!(e.contains("selector"), "{bad}: {e}");
        }
        let many = (1..=65)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("+");
        assert!(format!("udp:{many}").parse::<Selector>().is_err());
    }
}
