//! Asking the kernel (nl80211, over generic netlink) what an interface is, and tuning it.
//!
//! `radio_of` is how the control plane tells a cfg80211 radio from any other interface: it
//! answers `Ok(None)` both when the kernel has no nl80211 at all (no cfg80211) and when nl80211
//! says the interface is not one of its devices, and an error only for a missing interface or a
//! failed conversation. `set_channel` tunes an interface the way iw and Kismet do
//! (`NL80211_CMD_SET_WIPHY` with the interface index) and reports the kernel's errno and
//! extended-ack text on refusal.
//!
//! The socket is neli's; the message bytes are built and parsed by `wire`'s pure functions.

#[cfg(test)]
mod tests;
pub mod wire;

use std::fmt;
use std::io;

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::errno::Errno;

use super::channel::Channel;
pub use wire::RadioInfo;
use wire::{EncodeError, Reply, WireError};

/// Why a conversation with nl80211 failed.
#[derive(Debug)]
pub enum Error {
    /// Not a usable interface name (empty, too long, or with `/`, NUL or whitespace).
    BadInterfaceName(String),
    /// No interface has that name.
    NoSuchInterface(String),
    /// The kernel has no nl80211 family (no cfg80211).
    NoNl80211,
    /// Opening, sending on or receiving from the netlink socket failed.
    Socket(&'static str, io::Error),
    /// The kernel refused the request.
    Kernel {
        request: &'static str,
        errno: i32,
        message: Option<String>,
    },
    /// The kernel's answer was not well-formed.
    Wire(&'static str, WireError),
    /// A request could not be encoded.
    Encode(EncodeError),
    /// No answer to the request arrived among the datagrams read.
    NoReply(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadInterfaceName(n) => write!(f, "{n:?} is not a valid interface name"),
            Error::NoSuchInterface(n) => write!(f, "no interface named {n:?}"),
            Error::NoNl80211 => write!(f, "the kernel has no nl80211 (cfg80211 is not loaded)"),
            Error::Socket(what, e) => write!(f, "netlink socket {what}: {e}"),
            Error::Kernel {
                request,
                errno,
                message,
            } => {
                write!(
                    f,
                    "nl80211 {request} refused: {}",
                    Errno::from_raw(*errno).desc()
                )?;
                write!(f, " (errno {errno})")?;
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            Error::Wire(request, e) => write!(f, "nl80211 {request}: {e}"),
            Error::Encode(e) => write!(f, "{e}"),
            Error::NoReply(request) => write!(f, "nl80211 {request}: no reply from the kernel"),
        }
    }
}

impl std::error::Error for Error {}

/// Receive buffer: replies here are well under a page; a larger datagram is cut and then
/// rejected by the parser rather than misread.
const RECV_BUF: usize = 16 * 1024;

/// Datagrams read for one answer before giving up (stale answers to earlier requests on the
/// same socket are skipped).
const MAX_DATAGRAMS: usize = 16;

/// `IFNAMSIZ - 1`: the longest interface name.
const IFNAME_MAX: usize = 15;

/// A generic netlink socket with the nl80211 family resolved, for several requests in a row
/// (a hopping loop tunes every few hundred milliseconds).
pub struct Session {
    sock: NlSocket,
    /// The socket's netlink port id, which the kernel's answers are addressed to.
    port: u32,
    family: u16,
    seq: u32,
}

impl Session {
    /// Opens a socket and resolves nl80211's family id. `Ok(None)` when the kernel has no
    /// nl80211 family.
    pub fn open() -> Result<Option<Session>, Error> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::Socket("open", e))?;
        // Extended acks only add the kernel's error text; older kernels lack the option.
        let _ = sock.enable_ext_ack(true);
        let port = sock.pid().map_err(|e| Error::Socket("address", e))?;
        let mut s = Session {
            sock,
            port,
            family: 0,
            seq: 0,
        };
        let request = "CTRL_CMD_GETFAMILY";
        match s.exchange(request, wire::get_family_request)? {
            Reply::Genl { attrs, .. } => {
                s.family = wire::parse_family_id(&attrs).map_err(|e| Error::Wire(request, e))?;
                Ok(Some(s))
            }
            Reply::Error { errno, .. } if errno == Errno::ENOENT as i32 => Ok(None),
            other => Err(unexpected(request, other)),
        }
    }

    /// The resolved nl80211 family id.
    pub fn family(&self) -> u16 {
        self.family
    }

    /// `NL80211_CMD_GET_INTERFACE` for `ifindex`; `Ok(None)` when nl80211 does not know the
    /// interface (ENODEV: not a cfg80211 device; EOPNOTSUPP).
    pub fn interface(&mut self, ifindex: u32) -> Result<Option<RadioInfo>, Error> {
        let request = "GET_INTERFACE";
        let family = self.family;
        match self.exchange(request, |seq| {
            wire::get_interface_request(family, seq, ifindex)
        })? {
            Reply::Genl {
                cmd: wire::NL80211_CMD_NEW_INTERFACE,
                attrs,
            } => wire::parse_interface(&attrs)
                .map(Some)
                .map_err(|e| Error::Wire(request, e)),
            Reply::Genl { cmd, .. } => Err(Error::Wire(request, WireError::UnexpectedCommand(cmd))),
            Reply::Error { errno, .. }
                if errno == Errno::ENODEV as i32 || errno == Errno::EOPNOTSUPP as i32 =>
            {
                Ok(None)
            }
            other => Err(unexpected(request, other)),
        }
    }

    /// Tunes interface `ifindex` to `ch` and waits for the kernel's ack.
    pub fn set_channel(&mut self, ifindex: u32, ch: &Channel) -> Result<(), Error> {
        let request = "SET_WIPHY";
        let family = self.family;
        match self.exchange(request, |seq| {
            wire::set_channel_request(family, seq, ifindex, ch)
        })? {
            Reply::Ack => Ok(()),
            other => Err(unexpected(request, other)),
        }
    }

    /// Sends the request built for the next sequence number and returns the kernel's answer
    /// to it.
    ///
    /// The kernel handles a generic netlink request inside the `send` call and queues its
    /// answer on this socket before `send` returns (none of these requests is a dump), so the
    /// answer is read without waiting: a missing one is reported instead of blocking the
    /// caller forever.
    fn exchange(
        &mut self,
        request: &'static str,
        build: impl FnOnce(u32) -> Result<Vec<u8>, EncodeError>,
    ) -> Result<Reply, Error> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = build(self.seq).map_err(Error::Encode)?;
        self.sock
            .send(&bytes, Msg::empty())
            .map_err(|e| Error::Socket("send", e))?;
        let mut buf = vec![0u8; RECV_BUF];
        for _ in 0..MAX_DATAGRAMS {
            let (n, _) = match self.sock.recv(&mut buf[..], Msg::DONTWAIT) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(Error::Socket("receive", e)),
            };
            let data = buf.get(..n).unwrap_or(&buf[..]);
            if let Some(reply) =
                wire::parse_reply(data, self.seq, self.port).map_err(|e| Error::Wire(request, e))?
            {
                return Ok(reply);
            }
        }
        Err(Error::NoReply(request))
    }
}

/// An answer that is not the one the request expects: the kernel's refusal, or a message of
/// the wrong kind.
fn unexpected(request: &'static str, reply: Reply) -> Error {
    match reply {
        Reply::Error { errno, message } => Error::Kernel {
            request,
            errno,
            message,
        },
        Reply::Ack => Error::Wire(request, WireError::Missing("reply (got a bare ack)")),
        Reply::Genl { cmd, .. } => Error::Wire(request, WireError::UnexpectedCommand(cmd)),
    }
}

/// The interface index of `ifname`.
pub fn ifindex_of(ifname: &str) -> Result<u32, Error> {
    let bad = ifname.is_empty()
        || ifname.len() > IFNAME_MAX
        || ifname
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace());
    if bad {
        return Err(Error::BadInterfaceName(ifname.chars().take(40).collect()));
    }
    nix::net::if_::if_nametoindex(ifname).map_err(|e| match e {
        Errno::ENODEV | Errno::ENXIO => Error::NoSuchInterface(ifname.to_string()),
        e => Error::Socket("interface lookup", io::Error::from(e)),
    })
}

/// What nl80211 says about interface `ifname`; `Ok(None)` when it is not a cfg80211 radio
/// (including on a kernel without cfg80211).
pub fn radio_of(ifname: &str) -> Result<Option<RadioInfo>, Error> {
    let ifindex = ifindex_of(ifname)?;
    match Session::open()? {
        Some(mut s) => s.interface(ifindex),
        None => Ok(None),
    }
}

/// Tunes interface `ifindex` to `ch` over a fresh socket.
pub fn set_channel(ifindex: u32, ch: &Channel) -> Result<(), Error> {
    Session::open()?
        .ok_or(Error::NoNl80211)?
        .set_channel(ifindex, ch)
}
