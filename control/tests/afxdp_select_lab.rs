//! AF_XDP beside the host's own traffic (root; two network namespaces joined by a veth,
//! removed also on failure): airsift captures on `vb` with `select=udp:7000`, and
//! - ping, TCP and UDP to other ports between the namespaces keep working (the XDP program
//!   passes them to the kernel's stack);
//! - every datagram sent to port 7000 is one captured frame: its payload, a radiotap frame of a
//!   real capture, counted once and logged byte for byte;
//! - the XDP program is gone after exit.
//!
//! The traffic comes from Python's sockets and the system's `ping`, not from airsift.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Airsift, Netns, Proc};
use dataplane::capfile::CaptureFile;

/// Sends each length-prefixed record of a file as one UDP datagram, about 5,000 a second;
/// prints how many.
const SEND: &str = r#"
import socket, struct, sys, time
data = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
i = n = 0
while i < len(data):
    (l,) = struct.unpack_from("<I", data, i)
    i += 4
    s.sendto(data[i:i + l], (sys.argv[2], int(sys.argv[3])))
    i += l
    n += 1
    if n % 10 == 0:
        time.sleep(0.002)
print(n)
"#;

/// Counts UDP datagrams on a port until none came for 3 s (after "ready"); prints the count.
const UDP_COUNT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
n = 0
s.settimeout(20)
try:
    while True:
        s.recv(65535)
        n += 1
        s.settimeout(3)
except socket.timeout:
    pass
print(n, flush=True)
"#;

/// Echoes one TCP connection's first message back, after printing "ready".
const TCP_ECHO: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.sendall(c.recv(100))
c.close()
"#;

/// Connects, sends a line and prints what comes back.
const TCP_ASK: &str = r#"
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.sendall(b"airsift beside traffic")
print(c.recv(100).decode())
"#;

fn python(ns: &Netns, script: &str, args: &[&str]) -> Command {
    let mut c = ns.cmd("python3");
    c.arg("-c").arg(script).args(args);
    c
}

/// Starts a Python helper that prints "ready" once listening.
fn listener(
    ns: &Netns,
    script: &str,
    args: &[&str],
) -> (Proc, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut child = python(ns, script, args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    (Proc(child), out)
}

fn ping(peer: &Netns) {
    let out = peer
        .cmd("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"])
        .output()
        .expect("run ping");
    assert!(
        out.status.success(),
        "ping across the veth failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn tcp(ns: &Netns, peer: &Netns) {
    let (mut server, _) = listener(ns, TCP_ECHO, &["10.77.0.2", "8080"]);
    let out = python(peer, TCP_ASK, &["10.77.0.2", "8080"])
        .output()
        .expect("run the TCP client");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "airsift beside traffic",
        "TCP across the veth: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.0.wait().unwrap();
}

/// Sends `frames` as UDP datagrams from `peer` to 10.77.0.2:`port`; returns how many went.
fn send_udp(peer: &Netns, dir: &Path, frames: &[Vec<u8>], port: u16) -> usize {
    let file = dir.join(format!("udp-{port}.bin"));
    let mut f = std::fs::File::create(&file).unwrap();
    for fr in frames {
        f.write_all(&(fr.len() as u32).to_le_bytes()).unwrap();
        f.write_all(fr).unwrap();
    }
    drop(f);
    let out = python(
        peer,
        SEND,
        &[file.to_str().unwrap(), "10.77.0.2", &port.to_string()],
    )
    .output()
    .expect("run the UDP sender");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn afxdp_with_a_udp_selector_leaves_the_hosts_traffic_alone() {
    if common::skip_unless_root("afxdp_with_a_udp_selector_leaves_the_hosts_traffic_alone") {
        return;
    }
    let (ns, peer) = Netns::with_veth_peer("xsel");
    let dir = common::scratch("afxdp-select");
    // Real radiotap frames that fit one datagram on this MTU.
    let cap = CaptureFile::open(&common::capture("rt_aircrack_test1_multins-fcs.pcap")).unwrap();
    let frames: Vec<Vec<u8>> = cap
        .records()
        .map(|r| r.unwrap().data.to_vec())
        .filter(|f| (14..=8_000).contains(&f.len()))
        .collect();
    assert!(frames.len() > 100, "{} frames", frames.len());

    ping(&peer);
    let logdir = dir.join("log");
    let airsift = Airsift::start(
        &ns,
        &dir.join("state"),
        &[
            "--source",
            "afxdp:vb:select=udp:7000",
            "--link-type",
            "radiotap",
            "--log-dir",
            logdir.to_str().unwrap(),
        ],
    );
    assert!(ns.link("vb").contains("xdp"), "{}", ns.link("vb"));
    // The host's traffic, while airsift captures: ping, TCP, UDP to another port.
    ping(&peer);
    tcp(&ns, &peer);
    let (mut counter, mut counted) = listener(&ns, UDP_COUNT, &["10.77.0.2", "7001"]);
    let other = send_udp(&peer, &dir, &frames[..50], 7001);
    // The feed.
    let sent = send_udp(&peer, &dir, &frames, 7000);
    assert_eq!(sent, frames.len());
    airsift.wait_frames(sent as u64);
    // Still working after the feed.
    ping(&peer);
    use std::io::BufRead;
    let mut line = String::new();
    counted.read_line(&mut line).unwrap();
    counter.0.wait().unwrap();
    assert_eq!(
        line.trim().parse::<usize>().unwrap(),
        other,
        "datagrams to an unselected port reach the kernel's stack"
    );

    let totals = airsift.stop();
    assert_eq!(
        totals["frames"], sent as u64,
        "every selected datagram once: {totals}"
    );
    assert_eq!(totals["malformed"], 0, "{totals}");
    assert_eq!(totals["kernel_drops"], 0, "{totals}");
    let records = common::logged_records(&logdir);
    assert!(records.iter().all(|(linktype, _)| *linktype == 127));
    let log: Vec<Vec<u8>> = records.into_iter().map(|(_, data)| data).collect();
    assert!(
        log == frames,
        "the log is not the datagrams' payloads, in order ({} logged, {} sent)",
        log.len(),
        frames.len()
    );
    common::wait_until("the XDP program detached", Duration::from_secs(10), || {
        !ns.link("vb").contains("xdp")
    });
    ping(&peer);
}
