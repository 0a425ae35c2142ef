//! `inject`: the frame source of airsift's hardware-free capture lab.
//!
//! The lab (`scripts/lab.sh`, `scripts/bench-capture.sh`) has no Wi-Fi hardware, so this
//! program plays the radio: it reads the records of a pcap/pcapng file (real radiotap
//! captures from `testdata/captures`) with [`CaptureFile`] and sends each record's bytes as
//! one frame, at a precise rate or flat out, into one of two kinds of interface:
//!
//! * `veth`: an `AF_PACKET`/`SOCK_RAW` socket (protocol 0, so it receives nothing) bound to
//!   one end of a veth pair, with `PACKET_QDISC_BYPASS`. Frames go out in batches with
//!   `sendmmsg(2)` (default) or through a `PACKET_TX_RING` (`--method ring`) and arrive on
//!   the peer, where packet sockets and XDP see them (the link type there is Ethernet, so
//!   the capturer must be told the bytes are radiotap). Frames shorter than an Ethernet
//!   header (14 bytes) or longer than MTU + 14 cannot be sent this way: they are skipped and
//!   counted.
//! * `tun`: a TUN device whose link type is set to `ARPHRD_IEEE80211_RADIOTAP` (803), so
//!   that it looks like a monitor interface (`link/ieee802.11/radiotap`); every write of the
//!   4-byte packet-info header `00 00 00 19` followed by a frame arrives as a received
//!   radiotap frame. The device exists as long as this process holds its fd.
//!
//!   ```text
//!   inject veth --iface IF   --pcap FILE [--rate PPS] [--count N | --loop] [--duration S]
//!               [--wait-start] [--batch B] [--burst-ms MS] [--spin] [--method mmsg|ring]
//!   inject tun  --name NAME  --pcap FILE [--rate PPS] [--count N | --loop] [--duration S]
//!               [--wait-start] [--batch B] [--burst-ms MS] [--spin] [--queues Q]
//!   ```
//!
//! Without `--count` or `--loop` the file is sent once; `--count N` sends N frames cycling
//! through the file; `--loop` cycles until `--duration` expires or SIGINT/SIGTERM.
//! `--rate 0` (the default) sends flat out; any other rate is paced by a token bucket on the
//! monotonic clock that lets 250 µs of traffic through per wake-up (one frame at 1k
//! frames/s, 250 at 1M), so the achieved rate matches the requested one across that range
//! (see [`Pacer`]). With `--wait-start` the program prints `ready` once the interface is set up,
//! waits for one line on stdin, sends, prints `sent N`, and (tun) keeps the device until
//! stdin is closed; this is how the benchmark starts capturers on a device that already
//! exists. A summary always goes to stderr: frames, bytes, seconds, achieved rate, what was
//! skipped, and the CPU time spent in send calls per frame (on veth and TUN the receiving
//! side's kernel work, such as copying into capturers' rings, runs inside those calls).
//!
//! Every frame is prepared before sending starts: the file stays memory-mapped and the send
//! loop only walks prebuilt `iovec`/`mmsghdr` arrays that point into it, so nothing is
//! allocated or copied per frame (the TX ring copies each frame once into the ring, which
//! is what a ring is for). `unsafe` is confined to the small system-call wrappers in
//! [`sys`], each with its own `SAFETY` comment.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use dataplane::capfile::CaptureFile;

/// Ethernet header length: the shortest frame a veth accepts.
const ETH_HLEN: usize = 14;
/// ARPHRD_IEEE80211_RADIOTAP.
const ARPHRD_RADIOTAP: u32 = 803;
/// The TUN packet-info header: flags 0, protocol ETH_P_80211_RAW (0x0019), big-endian.
const TUN_PI: [u8; 4] = [0, 0, 0, 0x19];
/// pcap LINKTYPE_IEEE802_11_RADIOTAP.
const LINKTYPE_RADIOTAP: u32 = 127;

#[derive(Parser)]
#[command(
    name = "inject",
    about = "Sends the frames of a pcap/pcapng file into a veth or a radiotap TUN device"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send on an existing interface (one end of a veth pair) through an AF_PACKET socket.
    Veth {
        /// The interface to send on (its peer receives the frames).
        #[arg(long)]
        iface: String,
        /// sendmmsg batches, or a PACKET_TX_RING (TPACKET_V2).
        #[arg(long, value_enum, default_value_t = Method::Mmsg)]
        method: Method,
        /// Sending threads (sendmmsg only), each with a packet socket of its own, cycling
        /// through the whole file at `--rate / T`; `--wait-start` then reports
        /// `sent TOTAL N1 .. NT`.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
        threads: u64,
        #[command(flatten)]
        opts: Opts,
    },
    /// Create a TUN device posing as a radiotap monitor interface and write the frames to it.
    Tun {
        /// Name of the device to create (it must not exist yet).
        #[arg(long)]
        name: String,
        /// Queues of the device (IFF_MULTI_QUEUE), each written by a thread of its own that
        /// cycles through the whole file at `--rate / Q` (and sends `--count / Q` frames):
        /// for rates one thread's writes cannot reach. `--wait-start` then reports
        /// `sent TOTAL N1 .. NQ`, each thread's count after the total.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
        queues: u64,
        #[command(flatten)]
        opts: Opts,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Method {
    Mmsg,
    Ring,
}

#[derive(Args, Clone)]
struct Opts {
    /// The capture whose records are sent, one frame each.
    #[arg(long)]
    pcap: PathBuf,
    /// Frames per second; 0 sends flat out.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Send exactly N frames, cycling through the file.
    #[arg(long, conflicts_with = "looping")]
    count: Option<u64>,
    /// Cycle through the file until --duration expires or SIGINT/SIGTERM.
    #[arg(long = "loop", id = "looping")]
    looping: bool,
    /// Stop after this many seconds of sending.
    #[arg(long)]
    duration: Option<f64>,
    /// Print `ready`, wait for a line on stdin, send, print `sent N`; tun: keep the device
    /// until stdin is closed.
    #[arg(long)]
    wait_start: bool,
    /// Pacing: how far (in milliseconds of traffic) the sender may catch up after a stall,
    /// e.g. being preempted; schedule missed beyond that is dropped and reported.
    #[arg(long, default_value_t = 20.0)]
    burst_ms: f64,
    /// Pacing: busy-wait between wake-ups instead of sleeping. Spacing stays within a few µs
    /// even when other processes compete for the CPU, at the cost of a whole core.
    #[arg(long)]
    spin: bool,
    /// Most frames per system call (sendmmsg vector or TX-ring kick).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    batch: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("inject: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    sys::install_signal_handlers();
    sys::tighten_timer_slack();
    match cli.cmd {
        Cmd::Veth {
            iface,
            method,
            threads,
            opts,
        } => {
            let ifindex = sys::ifindex(&iface).map_err(|e| match e.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => format!(
                    "interface {iface} not found in this network namespace \
                     (run inside the lab: scripts/lab.sh up; ip netns exec ...)"
                ),
                _ => format!("interface {iface}: {e}"),
            })?;
            let mtu = sys::mtu(&iface).map_err(|e| format!("interface {iface}: MTU: {e}"))?;
            let cap = open_capture(&opts)?;
            let frames = Frames::load(&cap, ETH_HLEN, mtu as usize + ETH_HLEN, &opts, false)?;
            let label = format!("veth {iface}");
            if threads > 1 {
                if method != Method::Mmsg {
                    return Err("--threads needs --method mmsg".into());
                }
                let socks = (0..threads)
                    .map(|_| sys::packet_socket(ifindex).map_err(|e| perm(e, "AF_PACKET socket")))
                    .collect::<Result<Vec<_>, _>>()?;
                let socks: Vec<std::sync::Mutex<Option<std::os::fd::OwnedFd>>> = socks
                    .into_iter()
                    .map(|s| std::sync::Mutex::new(Some(s)))
                    .collect();
                return drive_threads(
                    threads,
                    |t| {
                        let fd = socks[t]
                            .lock()
                            .ok()
                            .and_then(|mut s| s.take())
                            .ok_or("a socket taken twice")?;
                        Ok(Box::new(MmsgTx::new(fd, &frames)))
                    },
                    &frames,
                    &opts,
                    &label,
                    None,
                );
            }
            let fd = sys::packet_socket(ifindex).map_err(|e| perm(e, "AF_PACKET socket"))?;
            match method {
                Method::Mmsg => {
                    let mut tx = MmsgTx::new(fd, &frames);
                    drive(&mut tx, &frames, &opts, &label, None)
                }
                Method::Ring => {
                    let mut tx = sys::TxRing::new(fd, frames.max_len, opts.batch as usize)
                        .map_err(|e| format!("PACKET_TX_RING: {e}"))?;
                    let mut ring = RingTx {
                        ring: &mut tx,
                        frames: &frames,
                    };
                    drive(&mut ring, &frames, &opts, &label, None)
                }
            }
        }
        Cmd::Tun { name, queues, opts } => {
            if name.is_empty() || name.len() >= libc::IFNAMSIZ {
                return Err(format!(
                    "device name {name:?} must be 1-{} bytes",
                    libc::IFNAMSIZ - 1
                ));
            }
            let cap = open_capture(&opts)?;
            let frames = Frames::load(&cap, 1, usize::MAX, &opts, true)?;
            let dev =
                sys::Tun::create(&name, queues as usize).map_err(|e| match e.raw_os_error() {
                    Some(libc::EBUSY) | Some(libc::EEXIST) => {
                        format!("TUN device {name}: an interface of that name already exists")
                    }
                    _ => perm(e, &format!("TUN device {name}")),
                })?;
            let label = format!("tun {name}");
            if queues == 1 {
                let mut tx = TunTx::new(&dev, 0, &frames);
                return drive(&mut tx, &frames, &opts, &label, Some(&dev));
            }
            drive_threads(
                queues,
                |q| Ok(Box::new(TunTx::new(&dev, q, &frames))),
                &frames,
                &opts,
                &format!("{label} ({queues} queues)"),
                Some(&dev),
            )
        }
    }
}

fn perm(e: io::Error, what: &str) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            format!("{what}: {e}: run as root (needs CAP_NET_RAW and CAP_NET_ADMIN)")
        }
        _ => format!("{what}: {e}"),
    }
}

fn open_capture(opts: &Opts) -> Result<CaptureFile, String> {
    CaptureFile::open(&opts.pcap).map_err(|e| format!("{}: {e}", opts.pcap.display()))
}

/// The frames to send, as borrowed slices of the memory-mapped capture, repeated so that a
/// batch rarely has to stop at the end of the list when the file is cycled.
struct Frames<'a> {
    slots: Vec<&'a [u8]>,
    /// Sendable frames in one pass over the file.
    per_pass: usize,
    records: usize,
    short: usize,
    oversize: usize,
    max_len: usize,
}

impl<'a> Frames<'a> {
    fn load(
        cap: &'a CaptureFile,
        min: usize,
        max: usize,
        opts: &Opts,
        want_radiotap: bool,
    ) -> Result<Frames<'a>, String> {
        let mut f = Frames {
            slots: Vec::new(),
            per_pass: 0,
            records: 0,
            short: 0,
            oversize: 0,
            max_len: 0,
        };
        let mut foreign = 0usize;
        for r in cap.records() {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    eprintln!(
                        "inject: warning: {}: {e}; sending the {} records before it",
                        opts.pcap.display(),
                        f.records
                    );
                    break;
                }
            };
            f.records += 1;
            if r.linktype != LINKTYPE_RADIOTAP {
                foreign += 1;
            }
            if r.data.len() < min {
                f.short += 1;
            } else if r.data.len() > max {
                f.oversize += 1;
            } else {
                f.max_len = f.max_len.max(r.data.len());
                f.slots.push(r.data);
            }
        }
        if want_radiotap && foreign > 0 {
            eprintln!(
                "inject: warning: {foreign} of {} records are not radiotap (link type 127) \
                 but the device claims radiotap",
                f.records
            );
        }
        f.per_pass = f.slots.len();
        if f.per_pass == 0 {
            return Err(format!(
                "{}: no sendable frames ({} records, {} shorter than {min} bytes, {} longer \
                 than {max} bytes)",
                opts.pcap.display(),
                f.records,
                f.short,
                f.oversize
            ));
        }
        let total = f.total(opts);
        if total > f.per_pass as u64 {
            // Cycle the file: repeat it until a list end cuts at most one batch in 16.
            let want = (16 * opts.batch as usize).max(1024);
            while f.slots.len() < want {
                f.slots.extend_from_within(..f.per_pass);
            }
        }
        Ok(f)
    }

    /// Frames to send (u64::MAX: until stopped).
    fn total(&self, opts: &Opts) -> u64 {
        match (opts.count, opts.looping) {
            (Some(n), _) => n,
            (None, true) => u64::MAX,
            (None, false) => self.per_pass as u64,
        }
    }
}

/// The result of one send attempt.
enum Sent {
    /// This many frames (≥ 1) left, in order from the first one offered.
    Frames(usize),
    /// The first frame offered was refused for itself (too large, invalid): skip it.
    Refused(io::Error),
    /// Nothing left this time (the interface dropped it, or a signal): try again.
    Busy(io::Error),
}

/// A way of sending frames `slots[first..first + n]`.
trait Tx {
    fn send(&mut self, first: usize, n: usize) -> Result<Sent, String>;
}

/// sendmmsg(2) over prebuilt message headers, one per slot, pointing into the capture.
struct MmsgTx {
    fd: std::os::fd::OwnedFd,
    msgs: Vec<libc::mmsghdr>,
    // Referenced by `msgs`; kept alive (and never moved: a Vec's heap buffer stays put).
    _iov: Vec<libc::iovec>,
}

impl MmsgTx {
    fn new(fd: std::os::fd::OwnedFd, frames: &Frames<'_>) -> MmsgTx {
        let mut iov: Vec<libc::iovec> = frames
            .slots
            .iter()
            .map(|s| libc::iovec {
                iov_base: s.as_ptr() as *mut libc::c_void,
                iov_len: s.len(),
            })
            .collect();
        let msgs = iov
            .iter_mut()
            .map(|v| sys::msg_for(std::slice::from_mut(v)))
            .collect();
        MmsgTx {
            fd,
            msgs,
            _iov: iov,
        }
    }
}

impl Tx for MmsgTx {
    fn send(&mut self, first: usize, n: usize) -> Result<Sent, String> {
        match sys::sendmmsg(&self.fd, &mut self.msgs[first..first + n]) {
            Ok(0) => Ok(Sent::Busy(io::Error::from_raw_os_error(libc::EAGAIN))),
            Ok(k) => Ok(Sent::Frames(k)),
            Err(e) => classify(e),
        }
    }
}

/// Sorts an error of a send call: retry, skip the frame, or give up.
fn classify(e: io::Error) -> Result<Sent, String> {
    match e.raw_os_error() {
        // ENOBUFS: the veth dropped it (peer down, or its backlog is full).
        Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(Sent::Busy(e)),
        Some(libc::EMSGSIZE) | Some(libc::EINVAL) => Ok(Sent::Refused(e)),
        Some(libc::ENETDOWN) | Some(libc::EIO) => Err(format!(
            "send: {e}: the interface is down (ip link set ... up)"
        )),
        Some(libc::ENXIO) | Some(libc::ENODEV) => {
            Err(format!("send: {e}: the interface has disappeared"))
        }
        _ => Err(format!("send: {e}")),
    }
}

/// The TX ring, filled from the slots.
struct RingTx<'r, 'a> {
    ring: &'r mut sys::TxRing,
    frames: &'r Frames<'a>,
}

impl Tx for RingTx<'_, '_> {
    fn send(&mut self, first: usize, n: usize) -> Result<Sent, String> {
        match self.ring.send(&self.frames.slots[first..first + n]) {
            Ok(0) => Ok(Sent::Busy(io::Error::from_raw_os_error(libc::EAGAIN))),
            Ok(k) => Ok(Sent::Frames(k)),
            Err(e) => classify(e),
        }
    }
}

/// One writev(2) of [packet-info header, frame] per frame, on one queue of the device.
struct TunTx<'d> {
    dev: &'d sys::Tun,
    queue: usize,
    iov: Vec<[libc::iovec; 2]>,
}

impl<'d> TunTx<'d> {
    fn new(dev: &'d sys::Tun, queue: usize, frames: &Frames<'_>) -> TunTx<'d> {
        let iov = frames
            .slots
            .iter()
            .map(|s| {
                [
                    libc::iovec {
                        iov_base: TUN_PI.as_ptr() as *mut libc::c_void,
                        iov_len: TUN_PI.len(),
                    },
                    libc::iovec {
                        iov_base: s.as_ptr() as *mut libc::c_void,
                        iov_len: s.len(),
                    },
                ]
            })
            .collect();
        TunTx { dev, queue, iov }
    }
}

impl Tx for TunTx<'_> {
    fn send(&mut self, first: usize, n: usize) -> Result<Sent, String> {
        for (i, iov) in self.iov[first..first + n].iter().enumerate() {
            if let Err(e) = self.dev.writev(self.queue, iov) {
                if i > 0 {
                    return Ok(Sent::Frames(i));
                }
                return classify(e);
            }
        }
        Ok(Sent::Frames(n))
    }
}

/// Counts of one run.
#[derive(Default)]
struct Stats {
    sent: u64,
    bytes: u64,
    refused: u64,
    busy: u64,
    late: u64,
    secs: f64,
    /// CPU time (user + system) of the send loop, and the part of it spent inside the send
    /// calls (which on veth and TUN includes the receiving side's kernel work).
    cpu: Duration,
    send_cpu: Duration,
}

/// Traffic the pacer lets through per wake-up, in nanoseconds: a sleep costs about 20 µs of
/// CPU on this VM, so waking every 250 µs keeps pacing overhead small next to the sending.
const WAKE_NS: u64 = 250_000;

/// Paces sending with a token bucket on the monotonic clock.
///
/// Tokens accrue at `rate` per second from the first send; the bucket holds at most `depth`
/// (`--burst-ms` worth, 20 ms by default): after a stall (on a loaded 2-core machine the
/// sender is preempted for milliseconds at a time) the sender catches up with a burst of at
/// most that much traffic, and schedule missed beyond it is dropped and reported, so the
/// average rate stays exact without unbounded bursts.
///
/// The loop sleeps until `target` tokens are there (250 µs of traffic: one frame per wake-up
/// up to 4k frames/s, 25 at 100k, 250 at 1M), then sends while tokens last, in batches of at
/// most `--batch`. Between wake-ups the injector sleeps (timer slack 1 ns, so it wakes within
/// tens of µs) and leaves the CPU to the capturer; lateness of a wake-up is made up by the
/// bucket, so it shifts frames but never changes the rate. On a loaded machine a sleeping
/// sender can wake milliseconds late (the bucket then sends the missed frames in a burst);
/// `--spin` busy-waits instead, for even spacing at the cost of a core.
struct Pacer {
    rate: u64,
    start: Instant,
    /// Tokens handed out, or skipped when the bucket overflowed.
    used: u64,
    /// Tokens lost to overflow: frames the schedule wanted while the sender was stalled.
    late: u64,
    depth: u64,
    target: u64,
    /// Sending the tokens of one wake-up: go on while any are left.
    draining: bool,
    spin: bool,
}

impl Pacer {
    fn new(rate: u64, batch: u64, burst_ms: f64, spin: bool, start: Instant) -> Pacer {
        let target = (rate * WAKE_NS / 1_000_000_000).max(1);
        Pacer {
            rate,
            start,
            used: 0,
            late: 0,
            depth: ((rate as f64 * burst_ms.max(0.0) / 1000.0) as u64)
                .max(target)
                .max(batch),
            target,
            draining: false,
            spin,
        }
    }

    /// Waits until frames may go; returns how many (1..=max), or 0 when told to stop.
    fn grant(&mut self, max: u64) -> u64 {
        if self.rate == 0 {
            return max;
        }
        loop {
            let ns = self.start.elapsed().as_nanos();
            let earned = (ns * self.rate as u128 / 1_000_000_000) as u64;
            let mut have = earned - self.used;
            if have > self.depth {
                self.late += have - self.depth;
                self.used = earned - self.depth;
                have = self.depth;
            }
            let need = if self.draining {
                1
            } else {
                self.target.min(max)
            };
            if have >= need {
                self.draining = true;
                return have.min(max);
            }
            self.draining = false;
            if stopping() {
                return 0;
            }
            if self.spin {
                std::hint::spin_loop();
                continue;
            }
            let wait_ns = (need - have) as u128 * 1_000_000_000 / self.rate as u128;
            std::thread::sleep(Duration::from_nanos(wait_ns.max(1) as u64));
        }
    }

    fn take(&mut self, n: u64) {
        self.used += n;
    }
}

fn stopping() -> bool {
    PHASE.load(Ordering::Relaxed) == PHASE_STOP
}

/// What a SIGINT/SIGTERM does: exit at once, except while sending, when it ends the send
/// loop so the summary is still printed.
static PHASE: AtomicU8 = AtomicU8::new(PHASE_IDLE);
const PHASE_IDLE: u8 = 0;
const PHASE_SENDING: u8 = 1;
const PHASE_STOP: u8 = 2;

/// Sets up, optionally handshakes on stdin/stdout, sends, reports.
fn drive(
    tx: &mut dyn Tx,
    frames: &Frames<'_>,
    opts: &Opts,
    label: &str,
    tun: Option<&sys::Tun>,
) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    let mut stdin = io::stdin().lock();
    if opts.wait_start {
        wait_for_start(&mut stdout, &mut stdin)?;
    }
    let total = frames.total(opts);
    PHASE.store(PHASE_SENDING, Ordering::SeqCst);
    let res = send_loop(tx, frames, opts, total);
    PHASE.store(PHASE_IDLE, Ordering::SeqCst);
    let stats = res?;
    if opts.wait_start {
        writeln!(stdout, "sent {}", stats.sent)
            .and_then(|_| stdout.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    summary(&stats, frames, opts, label);
    if let (true, Some(_dev)) = (opts.wait_start, tun) {
        hold_until_closed(&mut stdin);
    }
    Ok(())
}

/// The `--wait-start` handshake: `ready` on stdout, then one line on stdin.
fn wait_for_start(stdout: &mut impl Write, stdin: &mut impl BufRead) -> Result<(), String> {
    writeln!(stdout, "ready")
        .and_then(|_| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    let mut line = String::new();
    let n = stdin
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    if n == 0 {
        return Err("stdin closed before the start line".into());
    }
    Ok(())
}

/// Keeps a TUN device (its descriptors) until whoever started us closes stdin.
fn hold_until_closed(stdin: &mut impl BufRead) {
    let mut sink = Vec::new();
    while stdin.read_until(b'\n', &mut sink).unwrap_or(0) > 0 {
        sink.clear();
    }
}

/// [`drive`] with `threads` sending threads, each with the sender `make(i)` builds for it
/// (a TUN queue, a packet socket), at an equal share of the rate and count; the threads start
/// together and their counts are summed. `tun`: keep that device until stdin closes.
fn drive_threads<'f>(
    threads: u64,
    make: impl Fn(usize) -> Result<Box<dyn Tx + 'f>, String> + Sync,
    frames: &Frames<'f>,
    opts: &Opts,
    label: &str,
    tun: Option<&sys::Tun>,
) -> Result<(), String> {
    let queues = threads;
    let mut stdout = io::stdout().lock();
    let mut stdin = io::stdin().lock();
    if opts.wait_start {
        wait_for_start(&mut stdout, &mut stdin)?;
    }
    let share = |x: u64, q: u64| x / queues + u64::from(q < x % queues);
    let total = frames.total(opts);
    PHASE.store(PHASE_SENDING, Ordering::SeqCst);
    let results: Vec<Result<Stats, String>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..queues)
            .map(|q| {
                let make = &make;
                s.spawn(move || {
                    let mut tx = make(q as usize)?;
                    let mine = Opts {
                        rate: share(opts.rate, q),
                        ..opts.clone()
                    };
                    send_loop(tx.as_mut(), frames, &mine, share(total, q))
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a sending thread panicked".into()))
            })
            .collect()
    });
    PHASE.store(PHASE_IDLE, Ordering::SeqCst);
    let each: Vec<Stats> = results.into_iter().collect::<Result<_, _>>()?;
    let mut all = Stats::default();
    for st in &each {
        all.sent += st.sent;
        all.bytes += st.bytes;
        all.refused += st.refused;
        all.busy += st.busy;
        all.late += st.late;
        all.secs = all.secs.max(st.secs);
        all.cpu = all.cpu.max(st.cpu); // process CPU time, read by every thread
        all.send_cpu += st.send_cpu;
    }
    if opts.wait_start {
        let counts: Vec<String> = each.iter().map(|st| st.sent.to_string()).collect();
        writeln!(stdout, "sent {} {}", all.sent, counts.join(" "))
            .and_then(|_| stdout.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    summary(&all, frames, opts, label);
    if let (true, Some(_dev)) = (opts.wait_start, tun) {
        hold_until_closed(&mut stdin);
    }
    Ok(())
}

fn send_loop(
    tx: &mut dyn Tx,
    frames: &Frames<'_>,
    opts: &Opts,
    total: u64,
) -> Result<Stats, String> {
    let mut st = Stats::default();
    let nslots = frames.slots.len();
    let batch = opts.batch;
    let cpu0 = sys::cpu_time();
    let start = Instant::now();
    let deadline = opts
        .duration
        .map(|s| start + Duration::from_secs_f64(s.max(0.0)));
    let mut pacer = Pacer::new(opts.rate, batch, opts.burst_ms, opts.spin, start);
    let mut pos = 0usize;
    let mut done = 0u64; // sent + refused
    let mut busy_since: Option<Instant> = None;
    while done < total && !stopping() {
        if let Some(d) = deadline {
            if Instant::now() >= d {
                break;
            }
        }
        let max = batch.min(total - done).min((nslots - pos) as u64);
        let n = pacer.grant(max);
        if n == 0 {
            continue;
        }
        let t0 = sys::thread_cpu_time();
        let sent = tx.send(pos, n as usize)?;
        st.send_cpu += sys::thread_cpu_time().saturating_sub(t0);
        match sent {
            Sent::Frames(k) => {
                busy_since = None;
                for s in &frames.slots[pos..pos + k] {
                    st.bytes += s.len() as u64;
                }
                st.sent += k as u64;
                done += k as u64;
                pacer.take(k as u64);
                pos += k;
            }
            Sent::Refused(e) => {
                if st.refused == 0 {
                    eprintln!(
                        "inject: warning: a {}-byte frame was refused ({e}); skipping such \
                         frames",
                        frames.slots[pos].len()
                    );
                }
                st.refused += 1;
                done += 1;
                pacer.take(1);
                pos += 1;
            }
            Sent::Busy(e) => {
                st.busy += 1;
                let since = *busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    return Err(format!(
                        "the interface has refused every frame for 2 s ({e}): is the veth \
                         peer up?"
                    ));
                }
                std::thread::yield_now();
            }
        }
        if pos == nslots {
            pos = 0;
        }
    }
    st.secs = start.elapsed().as_secs_f64();
    st.late = pacer.late;
    st.cpu = sys::cpu_time().saturating_sub(cpu0);
    Ok(st)
}

fn summary(st: &Stats, frames: &Frames<'_>, opts: &Opts, label: &str) {
    let rate = if st.secs > 0.0 {
        st.sent as f64 / st.secs
    } else {
        0.0
    };
    let asked = if opts.rate == 0 {
        "flat out".to_string()
    } else {
        format!("requested {}", opts.rate)
    };
    eprintln!(
        "inject: {label}: sent {} frames ({} bytes) in {:.3} s = {:.0} frames/s ({asked}); \
         skipped {} short + {} oversize of {} records in the file; {} refused at send; {} \
         busy retries; {} frames behind schedule dropped by the bucket; CPU {:.3} s, {:.3} s of \
         it in send calls: {:.3} µs/frame",
        st.sent,
        st.bytes,
        st.secs,
        rate,
        frames.short,
        frames.oversize,
        frames.records,
        st.refused,
        st.busy,
        st.late,
        st.cpu.as_secs_f64(),
        st.send_cpu.as_secs_f64(),
        if st.sent > 0 {
            st.send_cpu.as_secs_f64() * 1e6 / st.sent as f64
        } else {
            0.0
        }
    );
}

/// The system calls, each wrapped in a small function whose `unsafe` block is justified.
mod sys {
    use std::ffi::CString;
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::mem::size_of;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;
    use std::ptr::NonNull;
    use std::sync::atomic::{fence, AtomicU32, Ordering};
    use std::time::Duration;

    use super::{PHASE, PHASE_SENDING, PHASE_STOP};

    fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    extern "C" fn on_signal(_sig: libc::c_int) {
        // Only async-signal-safe work: an atomic exchange, or _exit.
        if PHASE
            .compare_exchange(
                PHASE_SENDING,
                PHASE_STOP,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_err()
        {
            // SAFETY: _exit is async-signal-safe and ends the process without running any
            // Rust code; the kernel closes our fds (removing a TUN device we created).
            unsafe { libc::_exit(130) }
        }
    }

    /// SIGINT and SIGTERM end the send loop (summary still printed), or exit when idle.
    pub fn install_signal_handlers() {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: `sa` is a zero-initialised sigaction (a valid "no flags, empty mask"
            // value) whose handler is an `extern "C" fn(c_int)` that only touches an atomic
            // or calls _exit; passing a null old-action pointer is allowed.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }

    /// Sleeps of the pacer end within a microsecond or so of their target instead of the
    /// default 50 µs timer slack.
    pub fn tighten_timer_slack() {
        // SAFETY: PR_SET_TIMERSLACK takes an integer and touches no memory of ours.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        }
    }

    /// User + system CPU time of this process so far (the kernel's receive path that runs
    /// in our system calls included).
    pub fn cpu_time() -> Duration {
        // SAFETY: an all-zero rusage is a valid value, and getrusage only writes into the
        // struct we pass, which lives for the call.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut ru);
            ru
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }

    /// CPU time of the calling thread, to the nanosecond (a system call: call it per batch,
    /// not per frame).
    pub fn thread_cpu_time() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into `ts`, which lives for the call.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// `struct ifreq`: a name and a 24-byte union, of which we use the int/short at its start.
    #[repr(C)]
    struct IfReq {
        name: [libc::c_char; libc::IFNAMSIZ],
        data: [u8; 24],
    }

    impl IfReq {
        fn new(name: &str) -> io::Result<IfReq> {
            let b = name.as_bytes();
            if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            let mut r = IfReq {
                name: [0; libc::IFNAMSIZ],
                data: [0; 24],
            };
            for (d, s) in r.name.iter_mut().zip(b) {
                *d = *s as libc::c_char;
            }
            Ok(r)
        }
        fn short(&self) -> i16 {
            i16::from_ne_bytes([self.data[0], self.data[1]])
        }
        fn set_short(&mut self, v: i16) {
            self.data[..2].copy_from_slice(&v.to_ne_bytes());
        }
        fn int(&self) -> i32 {
            i32::from_ne_bytes(self.data[..4].try_into().unwrap())
        }
    }

    /// ioctl(fd, req, &mut ifreq).
    fn ioctl_ifreq(fd: &impl AsRawFd, req: libc::c_ulong, ifr: &mut IfReq) -> io::Result<()> {
        // SAFETY: every request passed here reads and/or writes a `struct ifreq`, which
        // `IfReq` lays out exactly (40 bytes, repr(C)); the pointer is valid for the call.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), req as _, ifr as *mut IfReq) }).map(drop)
    }

    fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
        // SAFETY: socket(2) takes plain integers; a non-negative result is a new fd that
        // nothing else owns, so OwnedFd may take it.
        let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
        // SAFETY: see above: `fd` is open and owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, val: &T) -> io::Result<()> {
        // SAFETY: `val` points to a live `T` of the size we pass; the kernel only reads it.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                val as *const T as *const libc::c_void,
                size_of::<T>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// The index of interface `name` in this namespace.
    pub fn ifindex(name: &str) -> io::Result<i32> {
        let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: `c` is a NUL-terminated string that outlives the call.
        let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if i == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(i as i32)
        }
    }

    /// The MTU of interface `name`.
    pub fn mtu(name: &str) -> io::Result<u32> {
        let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
        let mut r = IfReq::new(name)?;
        ioctl_ifreq(&s, libc::SIOCGIFMTU, &mut r)?;
        Ok(r.int() as u32)
    }

    /// An AF_PACKET raw socket, protocol 0 (receives nothing), bound to `ifindex`, bypassing
    /// the qdisc.
    pub fn packet_socket(ifindex: i32) -> io::Result<OwnedFd> {
        let fd = socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &1i32)?;
        // A bigger send buffer keeps a full batch (or ring) in flight without blocking.
        let _ = setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(8i32 << 20));
        let sll = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: 0,
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `sll` is a valid sockaddr_ll and we pass its exact size.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(fd)
    }

    /// A message header sending the single iovec `iov` on the bound socket (no address).
    pub fn msg_for(iov: &mut [libc::iovec]) -> libc::mmsghdr {
        // SAFETY: msghdr/mmsghdr are plain C structs for which all-zero is a valid value
        // (null pointers, zero lengths); the fields that matter are set below.
        let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
        m.msg_hdr.msg_iov = iov.as_mut_ptr();
        m.msg_hdr.msg_iovlen = iov.len() as _;
        m
    }

    /// sendmmsg(2) of `msgs`; returns how many messages went out.
    pub fn sendmmsg(fd: &OwnedFd, msgs: &mut [libc::mmsghdr]) -> io::Result<usize> {
        // SAFETY: `msgs` is a live, exclusively borrowed array of headers built by `msg_for`,
        // whose iovecs point into the memory-mapped capture and the iovec array, both owned
        // by the caller and alive for the call; the kernel reads them and writes msg_len.
        let r = unsafe {
            libc::sendmmsg(
                fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                msgs.len() as libc::c_uint,
                0,
            )
        };
        cvt(r).map(|n| n as usize)
    }

    /// A TUN device with the radiotap link type, up, with one descriptor per queue; it
    /// vanishes when this value is dropped.
    pub struct Tun {
        files: Vec<File>,
    }

    fn open_tun() -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open("/dev/net/tun")
    }

    impl Tun {
        pub fn create(name: &str, queues: usize) -> io::Result<Tun> {
            let file = open_tun()?;
            let fd = &file;
            let mut r = IfReq::new(name)?;
            // IFF_TUN keeps the packet-info header; IFF_TUN_EXCL refuses an existing device,
            // so we never take over an interface somebody else created.
            let multi = if queues > 1 { libc::IFF_MULTI_QUEUE } else { 0 };
            r.set_short((libc::IFF_TUN | libc::IFF_TUN_EXCL | multi) as i16);
            ioctl_ifreq(fd, libc::TUNSETIFF as libc::c_ulong, &mut r)?;
            // SAFETY: TUNSETLINK takes its argument by value (an integer), not a pointer.
            cvt(unsafe {
                libc::ioctl(
                    fd.as_raw_fd(),
                    libc::TUNSETLINK as _,
                    super::ARPHRD_RADIOTAP as libc::c_ulong,
                )
            })?;
            let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
            let mut r = IfReq::new(name)?;
            ioctl_ifreq(&s, libc::SIOCGIFFLAGS, &mut r)?;
            r.set_short(r.short() | libc::IFF_UP as i16);
            ioctl_ifreq(&s, libc::SIOCSIFFLAGS, &mut r)?;
            let mut files = vec![file];
            for _ in 1..queues {
                // Further queues attach to the device just created (no IFF_TUN_EXCL).
                let q = open_tun()?;
                let mut r = IfReq::new(name)?;
                r.set_short((libc::IFF_TUN | libc::IFF_MULTI_QUEUE) as i16);
                ioctl_ifreq(&q, libc::TUNSETIFF as libc::c_ulong, &mut r)?;
                files.push(q);
            }
            Ok(Tun { files })
        }

        /// One writev(2) on queue `queue`: one frame.
        pub fn writev(&self, queue: usize, iov: &[libc::iovec; 2]) -> io::Result<usize> {
            // SAFETY: both iovecs point to live memory (a static header and the mapped
            // capture) of the stated lengths; the kernel only reads them.
            let r = unsafe { libc::writev(self.files[queue].as_raw_fd(), iov.as_ptr(), 2) };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r as usize)
            }
        }
    }

    /// A TPACKET_V2 PACKET_TX_RING on a bound packet socket.
    pub struct TxRing {
        fd: OwnedFd,
        map: NonNull<u8>,
        map_len: usize,
        frame_size: usize,
        frames_per_block: usize,
        block_size: usize,
        nframes: usize,
        head: usize,
    }

    /// Where frame data starts in a TX frame: TPACKET2_HDRLEN - sizeof(sockaddr_ll).
    const TX_DATA: usize = 32;
    const TP_STATUS_AVAILABLE: u32 = 0;
    const TP_STATUS_SEND_REQUEST: u32 = 1;
    const TP_STATUS_WRONG_FORMAT: u32 = 4;

    impl TxRing {
        pub fn new(fd: OwnedFd, max_len: usize, batch: usize) -> io::Result<TxRing> {
            setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &1i32)?; // TPACKET_V2
                                                                             // Drop (and count) frames the kernel refuses instead of stopping the ring.
            setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_LOSS, &1i32)?;
            let frame_size = (TX_DATA + max_len).next_multiple_of(16);
            let block_size = frame_size.next_multiple_of(4096).max(1 << 16);
            let frames_per_block = block_size / frame_size;
            let want = (4 * batch).max(256);
            let blocks = want.div_ceil(frames_per_block);
            let nframes = blocks * frames_per_block;
            let req = libc::tpacket_req {
                tp_block_size: block_size as u32,
                tp_block_nr: blocks as u32,
                tp_frame_size: frame_size as u32,
                tp_frame_nr: nframes as u32,
            };
            setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_TX_RING, &req)?;
            let map_len = block_size * blocks;
            // SAFETY: mapping the ring the kernel just allocated for this socket, with the
            // exact size it was configured with; the result is checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_POPULATE,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            Ok(TxRing {
                fd,
                map: NonNull::new(p as *mut u8).expect("mmap returned null"),
                map_len,
                frame_size,
                frames_per_block,
                block_size,
                nframes,
                head: 0,
            })
        }

        fn frame(&self, i: usize) -> *mut u8 {
            let off = (i / self.frames_per_block) * self.block_size
                + (i % self.frames_per_block) * self.frame_size;
            debug_assert!(off + self.frame_size <= self.map_len);
            // In bounds of the mapping by construction (off + frame_size <= map_len).
            self.map.as_ptr().wrapping_add(off)
        }

        fn status(&self, i: usize) -> &AtomicU32 {
            // SAFETY: every frame starts with `tp_status`, a 4-byte-aligned u32 inside the
            // mapping (frames are 16-byte aligned in page-aligned blocks), which lives as
            // long as `self`. The kernel reads and writes it concurrently, so it is only
            // ever accessed atomically.
            unsafe { &*(self.frame(i) as *const AtomicU32) }
        }

        /// Copies `data` into frame `i`, which the kernel has released (AVAILABLE).
        fn fill(&mut self, i: usize, data: &[u8]) {
            let f = self.frame(i);
            debug_assert!(TX_DATA + data.len() <= self.frame_size);
            // SAFETY: frame `i` is AVAILABLE, so the kernel does not touch it until we set
            // SEND_REQUEST; tp_len (offset 4) and the data area (offset 32, at most
            // frame_size - 32 bytes, checked when the ring was sized for the largest frame)
            // lie inside the frame, and `data` does not overlap the mapping.
            unsafe {
                (f.add(4) as *mut u32).write_volatile(data.len() as u32);
                std::ptr::copy_nonoverlapping(data.as_ptr(), f.add(TX_DATA), data.len());
            }
        }

        /// Queues `frames` (as many as there are free slots), kicks the kernel, waits for them
        /// to complete; returns how many went out in order, or the error of the first one.
        pub fn send(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
            let n = frames.len().min(self.nframes);
            let mut queued = 0;
            for data in &frames[..n] {
                let i = (self.head + queued) % self.nframes;
                if self.status(i).load(Ordering::Acquire) != TP_STATUS_AVAILABLE {
                    break;
                }
                self.fill(i, data);
                fence(Ordering::Release);
                self.status(i)
                    .store(TP_STATUS_SEND_REQUEST, Ordering::Release);
                queued += 1;
            }
            if queued == 0 {
                self.kick()?;
                return Ok(0);
            }
            let r = self.kick();
            // Count, in order, the frames the kernel has released.
            let mut out = 0;
            while out < queued {
                let i = (self.head + out) % self.nframes;
                match self.status(i).load(Ordering::Acquire) {
                    TP_STATUS_AVAILABLE => out += 1,
                    TP_STATUS_WRONG_FORMAT => {
                        self.status(i).store(TP_STATUS_AVAILABLE, Ordering::Release);
                        if out == 0 {
                            self.head = (self.head + 1) % self.nframes;
                            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
                        }
                        break;
                    }
                    _ => break, // still queued: sent by the next kick
                }
            }
            self.head = (self.head + out) % self.nframes;
            match r {
                Err(e) if out == 0 => Err(e),
                _ => Ok(out),
            }
        }

        fn kick(&self) -> io::Result<()> {
            // SAFETY: send(2) with a null buffer of length 0 is the documented way to make
            // the kernel transmit the ring's SEND_REQUEST frames; it reads no user memory.
            let r = unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, 0) };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    }

    impl Drop for TxRing {
        fn drop(&mut self) {
            // SAFETY: unmapping exactly the mapping created in `new`; no reference into it
            // outlives `self`.
            unsafe {
                libc::munmap(self.map.as_ptr() as *mut libc::c_void, self.map_len);
            }
        }
    }
}
