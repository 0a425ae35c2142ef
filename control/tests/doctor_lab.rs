//! `airsift doctor` on lab interfaces in a namespace: its findings are true for each (a veth
//! is not a monitor interface, a radiotap TUN is; a missing interface; a veth taken down), its
//! offload findings follow `ethtool -k` (an oracle airsift shares no code with) as GRO is
//! switched on and off, and the exit status says whether anything is wrong. The IRQ, RPS and
//! XDP findings for a veth, a TUN and loopback follow sysfs as the test writes it and what the
//! kernel does when asked to attach native XDP and bind AF_XDP zero-copy (`xdp_oracle`).

mod common;

use std::process::Command;

use common::{Injector, Netns};
use serde_json::Value;

fn doctor(ns: &Netns, args: &[&str]) -> (i32, Value) {
    let out = ns
        .cmd(env!("CARGO_BIN_EXE_airsift"))
        .arg("doctor")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn finding<'a>(v: &'a Value, check: &str, subject: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check} finding for {subject}: {v}"))
}

/// `ethtool -k DEV` in the namespace says generic-receive-offload is on.
fn ethtool_gro(ns: &Netns, dev: &str) -> Option<bool> {
    let out = ns.cmd("ethtool").args(["-k", dev]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("generic-receive-offload:"))?;
    Some(line.split_whitespace().nth(1) == Some("on"))
}

fn have_ethtool() -> bool {
    Command::new("ethtool").arg("--version").output().is_ok()
}

#[test]
fn findings_are_true_for_lab_interfaces() {
    if common::skip_unless_root("findings_are_true_for_lab_interfaces") {
        return;
    }
    let ns = Netns::with_veth("doctor");
    let tun = Injector::tun(&ns, "rt_aircrack_test1_multins-fcs.pcap", &[]);
    let dir = common::scratch("doctor");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, v) = doctor(
        &ns,
        &["va", "rt0", "nosuch0", "--log-dir", dir.to_str().unwrap()],
    );
    assert_eq!(code, 1, "something is wrong: {v}");
    assert_eq!(v["healthy"], false);
    let va = finding(&v, "link", "va");
    assert_eq!(va["level"], "fail", "{va}");
    assert!(va["detail"].as_str().unwrap().contains("Ethernet"), "{va}");
    assert!(va["fix"]
        .as_str()
        .unwrap()
        .contains("iw dev va set type monitor"));
    let rt0 = finding(&v, "link", "rt0");
    assert_eq!(rt0["level"], "ok", "{rt0}");
    assert!(
        rt0["detail"].as_str().unwrap().contains("radiotap"),
        "{rt0}"
    );
    let missing = finding(&v, "link", "nosuch0");
    assert_eq!(missing["level"], "fail");
    assert_eq!(missing["detail"], "no such interface");
    assert_eq!(finding(&v, "up", "va")["level"], "ok");
    for check in ["governor", "af-xdp", "bpf-jit", "memlock", "clocksource"] {
        let f = finding(&v, check, "host");
        assert!(["ok", "warn", "fail"].contains(&f["level"].as_str().unwrap()));
    }
    assert_eq!(
        finding(&v, "af-xdp", "host")["level"],
        "ok",
        "this kernel has AF_XDP (the afxdp tests use it)"
    );
    // The BPF JIT setting is the host's: inside the namespace it cannot be read and says so;
    // in the host's namespace the finding follows sysctl's own reading.
    let f = finding(&v, "bpf-jit", "host");
    assert_eq!(f["level"], "ok", "{f}");
    assert!(
        f["detail"].as_str().unwrap().contains("network namespace"),
        "{f}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let host: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jit = Command::new("sysctl")
        .args(["-n", "net.core.bpf_jit_enable"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(jit) = jit.ok().filter(|j| !j.is_empty()) {
        let jit = jit.as_str();
        let f = finding(&host, "bpf-jit", "host");
        let on = jit == "1" || jit == "2";
        assert_eq!(f["level"], if on { "ok" } else { "warn" }, "{jit}: {f}");
        assert!(
            f["detail"].as_str().unwrap().contains(&format!("= {jit}")),
            "{f}"
        );
    }
    let disk = finding(&v, "disk", dir.to_str().unwrap());
    assert_eq!(disk["level"], "ok", "{disk}");
    // Rings against the memory the kernel says is available (read here from /proc/meminfo):
    // the defaults fit this machine; a million blocks of 1 MiB per worker cannot.
    let avail_mib = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap()
        >> 10;
    let ring = finding(&v, "ring-memory", "host");
    assert_eq!(ring["level"], "ok", "{ring}");
    // Three interfaces, one worker, 64 blocks of 1 MiB.
    assert!(
        ring["detail"]
            .as_str()
            .unwrap()
            .starts_with("TPACKET rings 192 MiB (3 ring(s)"),
        "{ring}"
    );
    let (_, big) = doctor(&ns, &["rt0", "--blocks", "1000000"]);
    let ring = finding(&big, "ring-memory", "host");
    assert_eq!(ring["level"], "warn", "{ring}");
    let fix = ring["fix"].as_str().unwrap();
    let fit: u64 = fix
        .strip_prefix("run with --blocks ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{fix}"));
    // Within 5 % of half of it: other processes move MemAvailable between the two reads.
    let half = avail_mib / 2;
    assert!(fit.abs_diff(half) <= half / 20, "{fit} for {avail_mib} MiB");

    // A veth taken down: found, with the command that brings it up.
    ns.ip(&["link", "set", "vb", "down"]);
    let (_, v) = doctor(&ns, &["vb"]);
    let down = finding(&v, "up", "vb");
    assert_eq!(down["level"], "fail", "{down}");
    assert_eq!(down["fix"], "ip link set vb up");
    ns.ip(&["link", "set", "vb", "up"]);

    // Offloads follow ethtool's own reading as GRO is switched on and off.
    if have_ethtool() {
        for (setting, want) in [("on", "warn"), ("off", "ok")] {
            let r = ns
                .cmd("ethtool")
                .args(["-K", "va", "gro", setting])
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            assert_eq!(ethtool_gro(&ns, "va"), Some(setting == "on"));
            let (_, v) = doctor(&ns, &["va"]);
            let off = finding(&v, "offloads", "va");
            assert_eq!(off["level"], want, "gro {setting}: {off}");
            if setting == "on" {
                assert_eq!(off["fix"], "ethtool -K va gro off");
            }
        }
    } else {
        eprintln!(
            "findings_are_true_for_lab_interfaces: ethtool not installed, offloads unchecked"
        );
    }

    // Only the radiotap TUN, and enough of everything on the host: nothing wrong there (it
    // has no native XDP, which is no fault: see xdp_irq_and_rps_findings_are_true).
    let (_, v) = doctor(&ns, &["rt0"]);
    let rt0: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"] == "rt0")
        .collect();
    assert!(
        rt0.iter().all(|f| f["level"] == "ok"),
        "a radiotap TUN, up, one queue for one worker: {rt0:?}"
    );
    tun.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The oracle for `xdp-modes`. Debian 12's iproute2 (6.1) and ethtool print no XDP features
/// and no other installed tool does, so the test asks the kernel to do the two things the
/// finding is about, with raw system calls (no clang, no BPF object file, nothing to install),
/// from a thread that has entered the lab namespace (a thread's network namespace is its
/// own; the test's other threads stay where they are):
///
/// - native XDP: load a two-instruction XDP program (`r0 = XDP_PASS; exit`) with
///   `bpf(BPF_PROG_LOAD)` and attach it in driver mode with `bpf(BPF_LINK_CREATE, BPF_XDP,
///   XDP_FLAGS_DRV_MODE)`. The kernel attaches a driver-mode program only through the
///   driver's own XDP hook and refuses with EOPNOTSUPP when the driver has none; it does not
///   look at the feature bits airsift reads. The program is loaded with
///   `BPF_F_XDP_HAS_FRAGS`, so the lab veth's 9000-byte MTU does not refuse it. The link and
///   the program go away when their fds close (also when the test panics).
/// - AF_XDP zero-copy: bind an AF_XDP socket (4 KiB x 16 UMEM, 16-entry rings) to queue 0
///   with `XDP_ZEROCOPY`; EOPNOTSUPP when the device cannot do zero-copy.
///
/// Any other error makes the oracle inconclusive, and the test fails saying so.
mod xdp_oracle {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use nix::errno::Errno;

    /// Runs `f` on a thread inside network namespace `ns` (a name under /run/netns).
    pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(move || {
                let file = std::fs::File::open(format!("/run/netns/{ns}"))
                    .unwrap_or_else(|e| panic!("open namespace {ns}: {e}"));
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("enter namespace {ns}: {e}"));
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    fn ifindex(dev: &str) -> u32 {
        nix::net::if_::if_nametoindex(dev).unwrap_or_else(|e| panic!("{dev}: {e}"))
    }

    // include/uapi/linux/bpf.h
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_LINK_CREATE: libc::c_long = 28;
    const BPF_PROG_TYPE_XDP: u32 = 6;
    const BPF_XDP: u32 = 37;
    const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
    // include/uapi/linux/if_link.h
    const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

    /// `union bpf_attr`, as far as these two commands use it (the kernel zero-fills the rest).
    #[repr(C, align(8))]
    struct Attr([u8; 128]);

    impl Attr {
        fn put(&mut self, at: usize, bytes: &[u8]) {
            self.0[at..at + bytes.len()].copy_from_slice(bytes);
        }
    }

    fn bpf(cmd: libc::c_long, attr: &mut Attr) -> Result<OwnedFd, Errno> {
        // SAFETY: `attr` is a live, writable buffer of the size passed; the pointers inside
        // it (instructions, license) point at data that outlives the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                attr.0.as_mut_ptr(),
                attr.0.len() as libc::c_uint,
            )
        };
        if r < 0 {
            return Err(Errno::last());
        }
        // SAFETY: the kernel returned a new file descriptor, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
    }

    /// Whether a native (driver-mode) XDP program attaches to `dev`.
    pub fn native(dev: &str) -> Result<bool, Errno> {
        let ifindex = ifindex(dev);
        // struct bpf_insn {code, dst:4 src:4, off: s16, imm: s32}: r0 = 2; exit.
        let insns: [[u8; 8]; 2] = [[0xb7, 0, 0, 0, 2, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]];
        let license = b"GPL\0";
        let mut attr = Attr([0; 128]);
        attr.put(0, &BPF_PROG_TYPE_XDP.to_ne_bytes()); // prog_type
        attr.put(4, &(insns.len() as u32).to_ne_bytes()); // insn_cnt
        attr.put(8, &(insns.as_ptr() as u64).to_ne_bytes()); // insns
        attr.put(16, &(license.as_ptr() as u64).to_ne_bytes()); // license
        attr.put(44, &BPF_F_XDP_HAS_FRAGS.to_ne_bytes()); // prog_flags
        attr.put(68, &BPF_XDP.to_ne_bytes()); // expected_attach_type
        let prog = bpf(BPF_PROG_LOAD, &mut attr)?;
        let mut attr = Attr([0; 128]);
        attr.put(0, &(prog.as_raw_fd() as u32).to_ne_bytes()); // prog_fd
        attr.put(4, &ifindex.to_ne_bytes()); // target_ifindex
        attr.put(8, &BPF_XDP.to_ne_bytes()); // attach_type
        attr.put(12, &XDP_FLAGS_DRV_MODE.to_ne_bytes()); // flags
        match bpf(BPF_LINK_CREATE, &mut attr) {
            Ok(_link) => Ok(true),
            Err(Errno::EOPNOTSUPP) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Anonymous memory unmapped on drop.
    struct Mapping(*mut libc::c_void, usize);

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: the mapping was made by mmap with this address and length.
            unsafe { libc::munmap(self.0, self.1) };
        }
    }

    fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, value: &T) -> Result<(), Errno> {
        // SAFETY: `value` is a live `T` and the length passed is its size.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_XDP,
                opt,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// Whether an AF_XDP socket binds to `dev`'s queue 0 in zero-copy mode.
    pub fn zerocopy(dev: &str) -> Result<bool, Errno> {
        let ifindex = ifindex(dev);
        const FRAME: usize = 4096;
        const FRAMES: usize = 16;
        // SAFETY: socket() takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: a new descriptor, owned by nobody else.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an anonymous private mapping, no address asked for.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                FRAME * FRAMES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let umem = Mapping(addr, FRAME * FRAMES);
        let reg = libc::xdp_umem_reg_v1 {
            addr: umem.0 as u64,
            len: umem.1 as u64,
            chunk_size: FRAME as u32,
            headroom: 0,
        };
        setsockopt(&sock, libc::XDP_UMEM_REG, &reg)?;
        let entries: libc::c_int = FRAMES as libc::c_int;
        setsockopt(&sock, libc::XDP_UMEM_FILL_RING, &entries)?;
        setsockopt(&sock, libc::XDP_UMEM_COMPLETION_RING, &entries)?;
        setsockopt(&sock, libc::XDP_RX_RING, &entries)?;
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: libc::XDP_ZEROCOPY,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: 0,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: `sa` is a live sockaddr_xdp and the length passed is its size.
        let r = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&sa as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        let result = if r == 0 {
            Ok(true)
        } else {
            match Errno::last() {
                Errno::EOPNOTSUPP => Ok(false),
                e => Err(e),
            }
        };
        // The socket holds the UMEM pinned: close it before unmapping.
        drop(sock);
        drop(umem);
        result
    }
}

/// `cat` of a sysfs file inside the namespace (its own sysfs: `ip netns exec` mounts it).
fn ns_read(ns: &Netns, path: &str) -> Option<String> {
    let out = ns.cmd("cat").arg(path).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn ns_write(ns: &Netns, path: &str, value: &str) {
    let out = ns
        .cmd("sh")
        .args(["-c", &format!("echo {value} > {path}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "echo {value} > {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The kernel's version as (major, minor), from `uname -r`.
fn kernel_version() -> (u32, u32) {
    let out = Command::new("uname").arg("-r").output().unwrap();
    let r = String::from_utf8_lossy(&out.stdout);
    let mut parts = r.trim().split(['.', '-']);
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

#[test]
fn xdp_irq_and_rps_findings_are_true() {
    if common::skip_unless_root("xdp_irq_and_rps_findings_are_true") {
        return;
    }
    let ns = Netns::with_veth("doctor-xdp");
    let tun = Injector::tun(&ns, "rt_aircrack_test1_multins-fcs.pcap", &[]);
    let devs = ["va", "rt0", "lo"];
    let (_, v) = doctor(&ns, &devs);
    for dev in devs {
        // A virtual interface: sysfs has it, but no device behind it, so no IRQs.
        let class = format!("/sys/class/net/{dev}");
        assert!(ns_read(&ns, &format!("{class}/ifindex")).is_some(), "{dev}");
        let device = ns
            .cmd("test")
            .args(["-e", &format!("{class}/device")])
            .status()
            .unwrap();
        assert!(!device.success(), "{dev} has a device in sysfs");
        let irq = finding(&v, "irq-affinity", dev);
        assert_eq!(irq["level"], "ok", "{irq}");
        assert_eq!(
            irq["detail"], "no device IRQs: a virtual interface receives in the sender's context",
            "{irq}"
        );

        // RPS as sysfs has it (off unless net.core.rps_default_mask says otherwise).
        let mask = ns_read(&ns, &format!("{class}/queues/rx-0/rps_cpus")).unwrap();
        let off = mask.chars().all(|c| c == '0' || c == ',');
        let rps = finding(&v, "rps", dev);
        if off {
            assert_eq!(rps["level"], "ok", "{mask}: {rps}");
            assert!(
                rps["detail"].as_str().unwrap().starts_with("RPS off"),
                "{mask}: {rps}"
            );
        }

        // XDP as the kernel behaves.
        let xdp = finding(&v, "xdp-modes", dev);
        let detail = xdp["detail"].as_str().unwrap();
        if detail.starts_with("the kernel does not report XDP features") {
            assert!(
                kernel_version() < (6, 3),
                "the netdev family is in 6.3: {xdp}"
            );
            continue;
        }
        let native = xdp_oracle::in_netns(&ns.name, || xdp_oracle::native(dev))
            .unwrap_or_else(|e| panic!("native XDP attach on {dev}: {e} (oracle inconclusive)"));
        let zerocopy =
            xdp_oracle::in_netns(&ns.name, || xdp_oracle::zerocopy(dev)).unwrap_or_else(|e| {
                panic!("AF_XDP zero-copy bind on {dev}: {e} (oracle inconclusive)")
            });
        assert_eq!(xdp["level"], "ok", "generic XDP only is no fault: {xdp}");
        assert_eq!(
            detail.starts_with("native XDP available"),
            native,
            "native attach {native}: {xdp}"
        );
        assert_eq!(
            detail.contains("AF_XDP zero-copy available"),
            zerocopy,
            "zero-copy bind {zerocopy}: {xdp}"
        );
        assert_eq!(
            detail.contains("AF_XDP copy mode only"),
            !zerocopy,
            "zero-copy bind {zerocopy}: {xdp}"
        );
        assert_eq!(xdp["fix"], Value::Null, "{xdp}");
        assert_eq!(
            detail.contains("only generic (an afxdp source attaches in generic mode"),
            !native,
            "native attach {native}: {xdp}"
        );
    }
    // What these kernels' drivers do (veth: native since 4.19; TUN: native only in TAP
    // mode; loopback: none): the oracle agrees, or the test would say which is wrong above.
    let starts = |dev: &str, text: &str| {
        finding(&v, "xdp-modes", dev)["detail"]
            .as_str()
            .unwrap()
            .starts_with(text)
    };
    assert!(starts("va", "native XDP available"));
    assert!(starts("lo", "no native XDP, only generic"));

    // RPS on va as the test writes it, against worker core 0 (--workers 1): a mask with CPU 1
    // warns with the workers' mask as the fix; off is right.
    let rps_cpus = "/sys/class/net/va/queues/rx-0/rps_cpus";
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus >= 2 {
        ns_write(&ns, rps_cpus, "2");
        let mask = ns_read(&ns, rps_cpus).unwrap();
        assert!(
            u64::from_str_radix(&mask.replace(',', ""), 16).unwrap() == 2,
            "{mask}"
        );
        let (code, v) = doctor(&ns, &["va", "--workers", "1"]);
        assert_eq!(code, 1);
        let rps = finding(&v, "rps", "va");
        assert_eq!(rps["level"], "warn", "{rps}");
        assert!(
            rps["detail"].as_str().unwrap().contains("rx-0 to CPUs 1,"),
            "{rps}"
        );
        assert_eq!(
            rps["fix"], "echo 1 > /sys/class/net/va/queues/rx-0/rps_cpus",
            "{rps}"
        );
        // With two workers CPU 1 is a worker core.
        let (_, v) = doctor(&ns, &["va", "--workers", "2"]);
        let rps = finding(&v, "rps", "va");
        assert_eq!(rps["level"], "ok", "{rps}");
        assert!(rps["detail"].as_str().unwrap().contains("within"), "{rps}");
    } else {
        eprintln!("xdp_irq_and_rps_findings_are_true: one CPU, no CPU outside the workers");
    }
    ns_write(&ns, rps_cpus, "0");
    let (_, v) = doctor(&ns, &["va", "--workers", "1"]);
    let rps = finding(&v, "rps", "va");
    assert_eq!(rps["level"], "ok", "{rps}");
    assert_eq!(rps["detail"], "RPS off on its 1 receive queue(s)", "{rps}");
    assert_eq!(rps["fix"], Value::Null);
    tun.finish();
}
