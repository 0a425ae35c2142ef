//! Builds the inputs of the replay benchmark: a large radiotap capture made of real frames whose
//! transmitter address (A2) is rewritten to one of S synthetic stations, and the matching
//! filters for airsift (a status document) and tcpdump (a BPF expression).
//!
//! Only frames for which tcpdump's `wlan addr2` and airsift's `source` role name the same
//! address are used (management, control, and data frames that are not FromDS), so both tools
//! must pass exactly the same frames.
//!
//!   synth-capture pcap OUT.pcap --frames N --stations S
//!   synth-capture filter OUT.json --terms K     (blocks stations 0..K as `source`)
//!   synth-capture bpf --terms K                 (prints `not (wlan addr2 .. or ..)`)
//!   synth-capture survey OUT.pcap --aps A --clients C --rounds R --rate PPS
//!       (A APs beaconing a WPA2 SSID each and C clients per AP sending it protected data,
//!        every device once per round; timestamps at PPS frames/s, for `run --pace`)

use std::io::{BufWriter, Write};

use airsift_benches::{testdata, XorShift};
use dataplane::capfile::CaptureFile;
use dataplane::filter::{Action, Block, FilterModel, PHY_80211};
use dataplane::wire::{Frame, FrameKind, LinkType, MacAddr, MacTerm};

const SOURCES: &[&str] = &[
    "rt_aircrack_test1_multins-fcs.pcap",
    "rt_wltrace_trace-bigendian-5ghz.pcap",
    "rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng",
    "rt_arkime_80211http.pcap",
    "rt_libpcap_wpa2linkup-vht.pcap",
];

/// Station `i`: a locally administered unicast address.
fn station(i: u64) -> MacAddr {
    MacAddr::from_u64(0x0200_0000_0000 | i)
}

/// Real radiotap frames that have an A2 which is also their `source`, with A2's offset.
fn templates() -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    for name in SOURCES {
        let cap = CaptureFile::open(&testdata().join("captures").join(name)).expect(name);
        for r in cap.records().flatten() {
            let Ok(f) = Frame::parse(r.data, LinkType::Radiotap) else {
                continue;
            };
            let h = f.header();
            let same = h.address(2).is_some() && h.address(2) == f.addresses().source;
            let plain = h.kind() != FrameKind::Data || !h.from_ds();
            if same && plain {
                out.push((r.data.to_vec(), f.capture_header().len() + 10));
            }
        }
    }
    out
}

/// A pcap file header: microseconds, snaplen 65535, radiotap.
fn pcap_header(w: &mut impl Write) -> std::io::Result<()> {
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0; 8])?;
    w.write_all(&65535u32.to_le_bytes())?;
    w.write_all(&127u32.to_le_bytes())
}

/// One whole pcap record.
fn pcap_record(w: &mut impl Write, secs: u32, usecs: u32, frame: &[u8]) -> std::io::Result<()> {
    for v in [secs, usecs, frame.len() as u32, frame.len() as u32] {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(frame)
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].parse().expect("a number"))
        .unwrap_or(default)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("pcap") => {
            let path = args.get(1).expect("output path");
            let frames = arg(&args, "--frames", 1_000_000);
            let stations = arg(&args, "--stations", 2_000);
            let t = templates();
            let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
            pcap_header(&mut w)?;
            let mut rng = XorShift(0x5EED);
            for i in 0..frames {
                let (frame, a2) = &t[(rng.next_u64() % t.len() as u64) as usize];
                let mut f = frame.clone();
                f[*a2..*a2 + 6].copy_from_slice(&station(rng.next_u64() % stations).octets());
                let (secs, usecs) = (1_700_000_000 + i / 100_000, i % 100_000 * 10);
                pcap_record(&mut w, secs as u32, usecs as u32, &f)?;
            }
            w.flush()?;
            eprintln!(
                "{frames} frames from {} templates, {stations} stations",
                t.len()
            );
        }
        Some("survey") => {
            let path = args.get(1).expect("output path");
            let aps = arg(&args, "--aps", 10_000);
            let clients = arg(&args, "--clients", 99);
            let rounds = arg(&args, "--rounds", 2);
            let rate = arg(&args, "--rate", 200_000).max(1);
            let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
            pcap_header(&mut w)?;
            // Radiotap (16 bytes): Flags (none), Channel 2437 MHz, antenna signal, padding.
            let radiotap = [
                0u8, 0, 16, 0, 0x2A, 0, 0, 0, 0x00, 0x00, 0x85, 0x09, 0xA0, 0x00,
            ];
            let mut n = 0u64;
            let mut f = Vec::with_capacity(256);
            let ap_mac = |a: u64| MacAddr::from_u64(0x0000_1A00_0000 | a).octets();
            let sta_mac = |a: u64, c: u64| station(a * clients + c).octets();
            for _ in 0..rounds {
                for a in 0..aps {
                    for c in 0..=clients {
                        f.clear();
                        f.extend_from_slice(&radiotap);
                        f.push((-40 - (c % 50) as i8) as u8);
                        f.push(0);
                        if c == clients {
                            // Beacon: WPA2-PSK CCMP.
                            f.extend_from_slice(&[0x80, 0, 0, 0]);
                            f.extend_from_slice(&[0xFF; 6]);
                            f.extend_from_slice(&ap_mac(a));
                            f.extend_from_slice(&ap_mac(a));
                            f.extend_from_slice(&[0, 0]);
                            f.extend_from_slice(&[0; 8]);
                            f.extend_from_slice(&[100, 0, 0x11, 0x04]);
                            let ssid = format!("net-{a}");
                            f.push(0);
                            f.push(ssid.len() as u8);
                            f.extend_from_slice(ssid.as_bytes());
                            f.extend_from_slice(&[3, 1, 6]);
                            f.extend_from_slice(&[
                                48, 20, 1, 0, 0, 0x0F, 0xAC, 4, 1, 0, 0, 0x0F, 0xAC, 4, 1, 0, 0,
                                0x0F, 0xAC, 2, 0, 0,
                            ]);
                        } else {
                            // Protected QoS data, ToDS: client → AP.
                            f.extend_from_slice(&[0x88, 0x41, 0, 0]);
                            f.extend_from_slice(&ap_mac(a));
                            f.extend_from_slice(&sta_mac(a, c));
                            f.extend_from_slice(&ap_mac(a));
                            f.extend_from_slice(&[0, 0, 0, 0]);
                            f.extend_from_slice(&[0u8; 64]);
                        }
                        let secs = 1_700_000_000 + n / rate;
                        let usecs = n % rate * 1_000_000 / rate;
                        pcap_record(&mut w, secs as u32, usecs as u32, &f)?;
                        n += 1;
                    }
                }
            }
            w.flush()?;
            eprintln!(
                "{n} frames: {aps} APs with {clients} clients each, {} devices, {rounds} rounds",
                aps * (clients + 1)
            );
        }
        Some("filter") => {
            let path = args.get(1).expect("output path");
            let terms = arg(&args, "--terms", 100);
            let mut m = FilterModel::new("capture", "replay benchmark");
            let block = (0..terms).map(|i| (MacTerm::exact(station(i)), Action::Block));
            m.set_terms(PHY_80211, Block::Source, block);
            std::fs::write(path, serde_json::to_vec_pretty(&m.to_status_doc(1))?)?;
        }
        Some("bpf") => {
            let terms = arg(&args, "--terms", 100);
            let list: Vec<String> = (0..terms)
                .map(|i| format!("wlan addr2 {}", station(i)).to_lowercase())
                .collect();
            println!("not ({})", list.join(" or "));
        }
        _ => {
            eprintln!("usage: synth-capture pcap OUT --frames N --stations S | survey OUT --aps A --clients C --rounds R --rate PPS | filter OUT.json --terms K | bpf --terms K");
            std::process::exit(2);
        }
    }
    Ok(())
}
