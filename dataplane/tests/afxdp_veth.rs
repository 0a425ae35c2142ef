//! The AF_XDP source against a veth pair in a private network namespace (needs root; skipped
//! with a message otherwise).
//!
//! Each test makes its own namespace `airsift-xdp-<pid>-<tag>` with a veth pair `va` → `vb`
//! (IPv6 off first, so the kernel sends nothing of its own; both ends up), opens the source
//! on `vb` from a thread that has entered the namespace, and injects real radiotap frames
//! from `testdata/captures/` on `va` with an AF_PACKET socket created in the namespace. No
//! traffic leaves the namespace, and a guard deletes it however the test ends.
//!
//! What is checked: every frame arrives exactly once, byte for byte, in order, as link type
//! 127, one timestamp per batch, with zero kernel drops and no allocation inside
//! `next_batch`; under overload every frame is either received or counted as a drop, once;
//! the XDP program is gone after the source is dropped, after a failed open, and after the
//! process holding it is killed (not before: a live holder is not a leftover); a program
//! left by an earlier run (libbpf's default, which `afxdp` never detaches) is removed on
//! open, with a notice; sockets on two queues of one interface share one program.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dataplane::capfile::CaptureFile;
use dataplane::source::afxdp::{AfXdpConfig, AfXdpSource, XdpAttach, XdpMode};
use dataplane::source::{Poll, Source};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/captures/");
const RADIOTAP_FILES: [&str; 2] = [
    "rt_aircrack_test1_multins-fcs.pcap",
    "rt_wltrace_trace-bigendian-5ghz.pcap",
];
/// Set in the child process of `crashed_process_leaves_no_program`.
const CRASH_CHILD_ENV: &str = "AIRSIFT_AFXDP_CRASH_CHILD_NS";

/// Counts the allocations of a thread while it is armed: `receive` arms it around
/// `next_batch` (and disarms it inside the callback, whose copies are the test's own), so
/// the source's per-batch work must show zero. Other test threads are never armed.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

macro_rules! require_root {
    () => {
        if !is_root() {
            println!("skipped: AF_XDP on a veth pair needs root (namespaces, XDP, AF_PACKET)");
            return;
        }
    };
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace with a veth pair `va` → `vb`; deleted on drop, failure or not.
struct Lab {
    ns: String,
}

impl Lab {
    /// Follows LAB.md: IPv6 off in the namespace before the pair exists, MTU set, both up.
    fn new(tag: &str, mtu: u32) -> Lab {
        Lab::with_queues(tag, mtu, 1)
    }

    /// The same with `queues` RX/TX queues on each end.
    fn with_queues(tag: &str, mtu: u32, queues: u32) -> Lab {
        let ns = format!("airsift-xdp-{}-{tag}", std::process::id());
        run("ip", &["netns", "add", &ns]);
        let lab = Lab { ns }; // from here on, Drop cleans up
        let ns = lab.ns.as_str();
        run(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        );
        let q = queues.to_string();
        let queue_args = ["numtxqueues", q.as_str(), "numrxqueues", q.as_str()];
        let mut add = vec!["-n", ns, "link", "add", "va"];
        add.extend(queue_args);
        add.extend(["type", "veth", "peer", "name", "vb"]);
        add.extend(queue_args);
        run("ip", &add);
        for dev in ["va", "vb"] {
            run(
                "ip",
                &["-n", ns, "link", "set", dev, "mtu", &mtu.to_string()],
            );
            run("ip", &["-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    /// `ip -n NS link show dev vb`, which names an attached program (`xdp`, `prog/xdp id N`).
    fn vb_link(&self) -> String {
        run("ip", &["-n", &self.ns, "link", "show", "dev", "vb"])
    }

    fn vb_has_xdp(&self) -> bool {
        let show = self.vb_link();
        show.contains("prog/xdp") || show.split_whitespace().any(|w| w.starts_with("xdp"))
    }

    /// Runs `f` on a thread that has entered the namespace: sockets it creates live there.
    fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        thread::scope(|s| {
            s.spawn(|| {
                enter_netns(&self.ns);
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// Moves the calling thread into the named namespace (`/run/netns/NAME`).
fn enter_netns(ns: &str) {
    let file = File::open(format!("/run/netns/{ns}")).expect("namespace file");
    // SAFETY: setns(2) with a valid namespace descriptor; it affects only this thread.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

/// The radiotap frames of the test captures, 14 bytes or longer (shorter ones cannot be
/// sent on an Ethernet device).
fn radiotap_frames() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for name in RADIOTAP_FILES {
        let file = CaptureFile::open(&Path::new(CAPTURES).join(name)).expect(name);
        for record in file.records() {
            let record = record.expect(name);
            assert_eq!(record.linktype, 127, "{name}");
            if record.data.len() >= 14 {
                frames.push(record.data.to_vec());
            }
        }
    }
    // The default UMEM frame carries 4096 - 256 bytes.
    assert!(frames.iter().all(|f| f.len() <= 3840));
    frames
}

/// A raw AF_PACKET socket on one interface: protocol 0 (receives nothing), qdisc bypassed.
struct Injector {
    fd: OwnedFd,
}

impl Injector {
    fn new(iface: &str) -> Injector {
        const PACKET_QDISC_BYPASS: libc::c_int = 20;
        let name = CString::new(iface).unwrap();
        // SAFETY: `name` is NUL-terminated and outlives the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert_ne!(ifindex, 0, "{iface}: {}", std::io::Error::last_os_error());
        // SAFETY: socket(2) takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let one: libc::c_int = 1;
        // SAFETY: `one` is a readable c_int of the size passed.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_QDISC_BYPASS,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(
            r,
            0,
            "PACKET_QDISC_BYPASS: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: an all-zero sockaddr_ll is a valid value, filled in below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
        Injector { fd }
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: `frame` is readable for its length.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(
            r,
            frame.len() as isize,
            "send: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Sends `frames` in bursts of 32 with a 1 ms pause (~25k frames/s): far below what the
    /// socket sustains, and never more than the receive backlog (1000) in flight. With
    /// `received`, it also never gets more than 256 frames ahead of the receiver, so a
    /// receiver starved of CPU by a loaded machine slows the sender instead of overflowing
    /// its ring.
    fn send_paced(&self, frames: &[Vec<u8>], received: Option<&AtomicUsize>) {
        let hang = Instant::now() + Duration::from_secs(60);
        for (i, burst) in frames.chunks(32).enumerate() {
            if let Some(r) = received {
                while i * 32 > r.load(Ordering::Relaxed) + 256 {
                    assert!(Instant::now() < hang, "the receiver stopped receiving");
                    thread::sleep(Duration::from_millis(1));
                }
            }
            for f in burst {
                self.send(f);
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// What a receiver saw.
struct Received {
    frames: Vec<Vec<u8>>,
    drops: u64,
    invalid: u64,
    /// Allocations made by the source inside `next_batch`.
    allocations: u64,
}

/// Reads from `source` until `expected` frames arrived (or 20 s passed), then 300 ms more
/// to catch duplicates or strays. Checks each frame's link type and timestamp on the way.
fn receive(source: &mut AfXdpSource, expected: usize, progress: &AtomicUsize) -> Received {
    let start = now_ns();
    let mut frames: Vec<Vec<u8>> = Vec::with_capacity(expected);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now > deadline || quiet_until.is_some_and(|q| now > q) {
            break;
        }
        let mut seen = 0;
        let mut batch_ts = None;
        counting_alloc::arm(true);
        let poll = source
            .next_batch(Duration::from_millis(50), &mut |f| {
                assert_eq!(f.linktype, 127);
                assert_eq!(f.orig_len as usize, f.data.len());
                // One timestamp per batch, taken while the test runs.
                assert_eq!(*batch_ts.get_or_insert(f.ts_ns), f.ts_ns);
                assert!(
                    f.ts_ns >= start && f.ts_ns <= now_ns(),
                    "timestamp {}",
                    f.ts_ns
                );
                counting_alloc::arm(false);
                frames.push(f.data.to_vec());
                progress.fetch_add(1, Ordering::Relaxed);
                counting_alloc::arm(true);
                seen += 1;
            })
            .expect("next_batch");
        counting_alloc::arm(false);
        match poll {
            Poll::Frames(n) => {
                assert_eq!(n, seen);
                assert!(n <= 64, "batch of {n}");
            }
            Poll::Idle => assert_eq!(seen, 0),
            Poll::Ended => panic!("an AF_XDP source never ends"),
        }
        if frames.len() >= expected && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_millis(300));
        }
    }
    let counters = source.kernel_counters().expect("kernel counters");
    Received {
        frames,
        drops: counters.drops,
        invalid: counters.invalid,
        allocations: counting_alloc::allocations(),
    }
}

/// The first index where two frame sequences differ, for a readable failure.
fn first_difference(got: &[Vec<u8>], want: &[Vec<u8>]) -> Option<usize> {
    (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i))
}

fn open_in_lab(config: &AfXdpConfig) -> AfXdpSource {
    let source = AfXdpSource::open(config).expect("open the AF_XDP source");
    for n in source.notices() {
        println!("notice: {n}");
    }
    println!(
        "{}: {:?} mode, {:?} attach, program id {}",
        source.describe(),
        source.mode(),
        source.attach_mode(),
        source.program_id()
    );
    source
}

/// How the source came up.
struct Opened {
    notices: Vec<String>,
    mode: XdpMode,
    attach: XdpAttach,
}

/// Opens the source in the lab on `vb`, injects `frames` on `va` once it is ready, and
/// returns what it received; the source is dropped (in the namespace) before this returns.
fn capture(lab: &Lab, config: &AfXdpConfig, frames: &[Vec<u8>]) -> (Received, Opened) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let progress = AtomicUsize::new(0);
    thread::scope(|s| {
        let receiver = s.spawn(|| {
            enter_netns(&lab.ns);
            let mut source = open_in_lab(config);
            assert_eq!(source.describe(), format!("afxdp:vb:{}", config.queue));
            ready_tx.send(()).unwrap();
            let received = receive(&mut source, frames.len(), &progress);
            let opened = Opened {
                notices: source.notices().to_vec(),
                mode: source.mode(),
                attach: source.attach_mode(),
            };
            (received, opened)
        });
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_ok() {
            lab.run_in(|| Injector::new("va").send_paced(frames, Some(&progress)));
        }
        receiver
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn assert_received_exactly(received: &Received, sent: &[Vec<u8>]) {
    assert_eq!(
        first_difference(&received.frames, sent),
        None,
        "received {} frames, sent {}",
        received.frames.len(),
        sent.len()
    );
    assert_eq!(received.drops, 0, "kernel drops");
    assert_eq!(received.invalid, 0, "invalid descriptors");
    assert_eq!(received.allocations, 0, "allocations in next_batch");
}

#[test]
fn every_frame_arrives_once_in_order() {
    require_root!();
    let lab = Lab::new("order", 9000);
    let once = radiotap_frames();
    // The two captures four times over: 2040 frames, enough for many full batches.
    let sent: Vec<Vec<u8>> = (0..4).flat_map(|_| once.iter().cloned()).collect();
    let config = AfXdpConfig::new("vb");
    let (received, opened) = capture(&lab, &config, &sent);
    assert_received_exactly(&received, &sent);
    println!(
        "received {} of {} frames, {} drops",
        received.frames.len(),
        sent.len(),
        received.drops
    );
    // Automatic mode and attachment: whatever fell back (on a veth: no zero-copy, and no
    // native XDP at MTU 9000) must say so and name the errno.
    let notices = &opened.notices;
    assert!(matches!(opened.mode, XdpMode::Copy | XdpMode::ZeroCopy));
    assert!(matches!(
        opened.attach,
        XdpAttach::Native | XdpAttach::Generic
    ));
    if opened.mode == XdpMode::Copy {
        assert!(
            notices
                .iter()
                .any(|n| n.starts_with("zero-copy refused") && n.contains("[E")),
            "{notices:?}"
        );
    }
    if opened.attach == XdpAttach::Generic {
        assert!(
            notices
                .iter()
                .any(|n| n.starts_with("native XDP refused") && n.contains("[E")),
            "{notices:?}"
        );
    }
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

#[test]
fn explicit_copy_and_generic_modes() {
    require_root!();
    let lab = Lab::new("generic", 1500);
    let sent = radiotap_frames();
    let mut config = AfXdpConfig::new("vb");
    config.mode = XdpMode::Copy;
    config.attach = XdpAttach::Generic;
    config.frame_size = 2048;
    config.frame_count = 1024;
    config.rx_ring_size = 512;
    config.batch_size = 16;
    let (received, opened) = capture(&lab, &config, &sent);
    assert_received_exactly(&received, &sent);
    assert!(opened.notices.is_empty(), "{:?}", opened.notices);
    assert_eq!(
        (opened.mode, opened.attach),
        (XdpMode::Copy, XdpAttach::Generic)
    );
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

#[test]
fn leftover_program_is_detached_on_open() {
    require_root!();
    // MTU 1500: libbpf's default program can only attach in native mode, which a veth
    // refuses at MTU 9000.
    let lab = Lab::new("leftover", 1500);
    // An earlier run through afxdp's own default path, exiting without detaching (afxdp
    // never does): its program stays on vb.
    lab.run_in(|| {
        use afxdp::mmap_area::{MmapArea, MmapAreaOptions};
        use afxdp::socket::{Socket, SocketOptions};
        use afxdp::umem::Umem;
        let (area, _frames) =
            MmapArea::<()>::new(64, 2048, MmapAreaOptions { huge_tlb: false }).unwrap();
        let (umem, _cq, _fq) = Umem::new(area, 64, 64).unwrap();
        let options = SocketOptions {
            copy_mode: true,
            rx_ring_size: 64,
            ..SocketOptions::default()
        };
        let socket = Socket::new_rx(umem, "vb", 0, 64, options).expect("afxdp default socket");
        drop(socket);
    });
    let before = lab.vb_link();
    assert!(
        lab.vb_has_xdp(),
        "the earlier run left no program:\n{before}"
    );

    let sent = radiotap_frames();
    let config = AfXdpConfig::new("vb");
    let (received, opened) = capture(&lab, &config, &sent);
    assert!(
        opened
            .notices
            .iter()
            .any(|n| n.contains("detached a leftover")),
        "no detach notice in {:?}",
        opened.notices
    );
    assert_received_exactly(&received, &sent);
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

/// A source that does not read while frames arrive: its 64 frames fill up, the rest are
/// dropped, and every frame sent is either received or counted as a drop, exactly once.
#[test]
fn overload_drops_are_counted_once() {
    require_root!();
    let lab = Lab::new("overload", 9000);
    let sent = radiotap_frames();
    let mut config = AfXdpConfig::new("vb");
    config.frame_count = 64;
    config.rx_ring_size = 64;
    let (ready_tx, ready_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel::<()>();
    let (received, stats) = thread::scope(|s| {
        let receiver = s.spawn(|| {
            enter_netns(&lab.ns);
            let mut source = open_in_lab(&config);
            ready_tx.send(()).unwrap();
            // Not reading until everything has been sent. (Moved in: a Receiver is not Sync.)
            let sent_rx = sent_rx;
            let _ = sent_rx.recv_timeout(Duration::from_secs(30));
            let received = receive(&mut source, 64, &AtomicUsize::new(0));
            (received, source.statistics().unwrap())
        });
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_ok() {
            lab.run_in(|| Injector::new("va").send_paced(&sent, None));
            thread::sleep(Duration::from_millis(100));
            sent_tx.send(()).unwrap();
        }
        receiver
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    println!(
        "received {}, drops {} of {} sent; {stats:?}",
        received.frames.len(),
        received.drops,
        sent.len()
    );
    assert_eq!(received.allocations, 0, "allocations in next_batch");
    assert_eq!(received.frames.len(), 64, "one UMEM's worth arrives");
    assert_eq!(
        received.frames[..],
        sent[..64],
        "the first frames, in order"
    );
    assert_eq!(
        received.frames.len() as u64 + received.drops,
        sent.len() as u64
    );
    assert!(stats.rx_fill_ring_empty_descs > 0, "{stats:?}");
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

#[test]
fn failed_open_detaches_the_program() {
    require_root!();
    let lab = Lab::new("failed", 9000);
    lab.run_in(|| {
        let mut config = AfXdpConfig::new("vb");
        config.queue = 5; // a veth has one queue
        let err = AfXdpSource::open(&config)
            .err()
            .expect("bind to a missing queue");
        println!("open failed as expected: {err}");
        assert!(err.to_string().contains("queue 5"), "{err}");
        assert!(!err.to_string().contains("Unknown error -"), "{err}");
        assert!(!err.to_string().contains("os error 22"), "{err}");
    });
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

/// A queue the device does not have is refused before anything is attached, with a message
/// that names the device's queue count and both ways out.
#[test]
fn a_missing_queue_is_explained() {
    require_root!();
    let one = Lab::new("q1", 1500);
    one.run_in(|| {
        assert_eq!(
            dataplane::source::afxdp::rx_queue_count("vb").unwrap(),
            Some(1)
        );
        let mut config = AfXdpConfig::new("vb");
        config.queue = 1;
        let err = AfXdpSource::open(&config)
            .err()
            .expect("queue 1 of 1")
            .to_string();
        for part in [
            "vb has 1 receive queue (0..=0)",
            "cannot bind queue 1",
            "afxdp:vb:Q with Q < 1",
            "ethtool -L vb combined 2",
            "numrxqueues 2 numtxqueues 2",
        ] {
            assert!(err.contains(part), "{part:?} missing from: {err}");
        }
    });
    assert!(
        !one.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        one.vb_link()
    );
    let four = Lab::with_queues("q4", 1500, 4);
    four.run_in(|| {
        assert_eq!(
            dataplane::source::afxdp::rx_queue_count("vb").unwrap(),
            Some(4)
        );
        let mut config = AfXdpConfig::new("vb");
        config.queue = 3;
        drop(AfXdpSource::open(&config).expect("queue 3 of 4"));
        config.queue = 4;
        let err = AfXdpSource::open(&config)
            .err()
            .expect("queue 4 of 4")
            .to_string();
        assert!(err.contains("vb has 4 receive queues (0..=3)"), "{err}");
    });
}

#[test]
fn queues_of_one_interface_share_one_program() {
    require_root!();
    let lab = Lab::with_queues("queues", 1500, 2);
    lab.run_in(|| {
        let mut config = AfXdpConfig::new("vb");
        let first = open_in_lab(&config);
        config.queue = 1;
        let second = open_in_lab(&config);
        assert_eq!(first.program_id(), second.program_id());
        assert!(second.notices().iter().all(|n| !n.contains("leftover")));
        // The same queue twice is refused by the kernel, and must not disturb the others.
        config.queue = 0;
        let busy = AfXdpSource::open(&config).err().expect("queue 0 is taken");
        println!("second socket on queue 0 refused as expected: {busy}");
        drop(first);
        assert!(
            lab.vb_has_xdp(),
            "the program went while queue 1 still uses it"
        );
        drop(second);
    });
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

/// A crash: a process opens the source, leaks it (`mem::forget`: no destructor will ever
/// run) and is killed with SIGKILL. The program is attached through a BPF link owned by the
/// process's descriptor table, so the kernel detaches it when the process dies; a new source
/// then opens normally and receives.
#[test]
fn crashed_process_leaves_no_program() {
    require_root!();
    let lab = Lab::new("crash", 9000);
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CRASH_CHILD_ENV, &lab.ns)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the crash child");
    // libtest prints our line after its own "test crash_child ... ": look inside lines, and
    // on a reader thread, so that a child that never opens cannot hang the test.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (line_tx, line_rx) = mpsc::channel();
    thread::spawn(move || {
        let opened = stdout
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("CHILD-OPENED"));
        let _ = line_tx.send(opened);
    });
    let opened = line_rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
    let attached_while_alive = lab.vb_has_xdp();
    // While the child lives its program is not a leftover: another process must not take it.
    let refused = opened
        .as_ref()
        .map(|_| lab.run_in(|| AfXdpSource::open(&AfXdpConfig::new("vb")).err()));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(opened.is_some(), "the child did not open its source");
    assert!(attached_while_alive, "no program while the child ran");
    let refused = refused
        .flatten()
        .expect("opened while another process held vb");
    println!("refused while the child lived, as expected: {refused}");
    assert!(refused.to_string().contains("running process"), "{refused}");
    // Process teardown releases the link; give the kernel a moment.
    let gone_by = Instant::now() + Duration::from_secs(5);
    while lab.vb_has_xdp() && Instant::now() < gone_by {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !lab.vb_has_xdp(),
        "the killed process left:\n{}",
        lab.vb_link()
    );

    let sent = radiotap_frames();
    let (received, opened) = capture(&lab, &AfXdpConfig::new("vb"), &sent);
    let notices = &opened.notices;
    assert!(
        notices.iter().all(|n| !n.contains("leftover")),
        "{notices:?}"
    );
    assert_received_exactly(&received, &sent);
    assert!(
        !lab.vb_has_xdp(),
        "XDP program left on vb:\n{}",
        lab.vb_link()
    );
}

/// The child half of `crashed_process_leaves_no_program`; does nothing when run normally.
#[test]
#[ignore = "run by crashed_process_leaves_no_program in a child process"]
fn crash_child() {
    let Ok(ns) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    enter_netns(&ns);
    let source = AfXdpSource::open(&AfXdpConfig::new("vb")).expect("child open");
    println!("CHILD-OPENED program {}", source.program_id());
    std::mem::forget(source);
    loop {
        thread::sleep(Duration::from_secs(1)); // until SIGKILL
    }
}
