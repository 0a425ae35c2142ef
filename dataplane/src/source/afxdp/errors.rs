//! Turning libbpf's and `afxdp`'s error codes into `io::Error`s that say what failed and why.
//!
//! libbpf reports errors two ways: its netlink and `xsk_*` functions return `-errno`, while
//! its thin `bpf(2)` wrappers return -1 and leave the code in `errno`. `afxdp` passes the
//! `xsk_*` results straight to `io::Error::from_raw_os_error`, so its errors carry negative
//! codes ("Unknown error -95"); [`from_afxdp`] flips them back.

use std::io;

/// `e` with `what` in front of its message, and for an OS error its symbolic name and what
/// it usually means here ("…: Operation not supported (os error 95) [EOPNOTSUPP]: the
/// driver …"). The kind is kept so callers can still match on it.
pub fn context(e: io::Error, what: &str) -> io::Error {
    let detail = match e.raw_os_error() {
        Some(code) => format!(" [{}]{}", errno_name(code), hint(code)),
        None => String::new(),
    };
    io::Error::new(e.kind(), format!("{what}: {e}{detail}"))
}

/// An error from a libbpf function that returns `-errno`.
pub fn from_neg_errno(ret: i32, what: &str) -> io::Error {
    context(io::Error::from_raw_os_error(ret.saturating_neg()), what)
}

/// An error from a libbpf `bpf(2)` wrapper: -1 means "look at errno", anything below is a
/// `-errno` from libbpf's own argument checks.
pub fn from_syscall_ret(ret: i32, what: &str) -> io::Error {
    if ret == -1 {
        context(io::Error::last_os_error(), what)
    } else {
        from_neg_errno(ret, what)
    }
}

/// An error `afxdp` built from a libbpf return value (a negative "OS error").
pub fn from_afxdp(e: io::Error, what: &str) -> io::Error {
    match e.raw_os_error() {
        Some(code) if code < 0 => from_neg_errno(code, what),
        _ => context(e, what),
    }
}

/// The symbolic name of the errnos these calls return ("EOPNOTSUPP"), or "errno N".
fn errno_name(code: i32) -> String {
    let name = match code {
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ERANGE => "ERANGE",
        libc::EINVAL => "EINVAL",
        libc::EBUSY => "EBUSY",
        libc::EPERM => "EPERM",
        libc::ENODEV => "ENODEV",
        libc::ENOENT => "ENOENT",
        libc::ENOMEM => "ENOMEM",
        libc::ENXIO => "ENXIO",
        libc::EEXIST => "EEXIST",
        libc::E2BIG => "E2BIG",
        _ => return format!("errno {code}"),
    };
    name.to_string()
}

/// What an errno usually means in the AF_XDP / XDP calls made here.
fn hint(errno: i32) -> &'static str {
    match errno {
        libc::EOPNOTSUPP => ": the driver does not offer this XDP or AF_XDP mode",
        libc::ERANGE => {
            ": the MTU is too large for native XDP (a veth refuses it when its peer's MTU \
             exceeds a page minus XDP headroom)"
        }
        libc::EBUSY => ": another AF_XDP socket, or a BPF link, already holds it",
        libc::EPERM => ": needs root (CAP_NET_ADMIN, CAP_BPF, CAP_IPC_LOCK)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_codes_from_afxdp_become_real_errnos() {
        let e = from_afxdp(io::Error::from_raw_os_error(-95), "bind");
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        let msg = e.to_string();
        assert!(msg.starts_with("bind: "), "{msg}");
        assert!(!msg.contains("-95"), "{msg}");
        assert!(msg.contains("os error 95"), "{msg}");
    }

    #[test]
    fn syscall_style_and_neg_errno_style_agree() {
        let a = from_neg_errno(-libc::ERANGE, "attach");
        assert!(a.to_string().contains("os error 34"), "{a}");
        let b = from_syscall_ret(-libc::EINVAL, "link");
        assert_eq!(b.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn messages_name_the_errno() {
        let e = from_neg_errno(-libc::EOPNOTSUPP, "bind");
        assert!(e.to_string().contains("[EOPNOTSUPP]: the driver"), "{e}");
        let e = from_neg_errno(-libc::ENOTTY, "ioctl");
        assert!(
            e.to_string()
                .ends_with(&format!("[errno {}]", libc::ENOTTY)),
            "{e}"
        );
    }
}
