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
            // pcap header: microseconds, snaplen 65535, radiotap.
            w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
            w.write_all(&2u16.to_le_bytes())?;
            w.write_all(&4u16.to_le_bytes())?;
            w.write_all(&[0; 8])?;
            w.write_all(&65535u32.to_le_bytes())?;
            w.write_all(&127u32.to_le_bytes())?;
            let mut rng = XorShift(0x5EED);
            for i in 0..frames {
                let (frame, a2) = &t[(rng.next_u64() % t.len() as u64) as usize];
                let mut f = frame.clone();
                f[*a2..*a2 + 6].copy_from_slice(&station(rng.next_u64() % stations).octets());
                w.write_all(&((1_700_000_000 + i / 100_000) as u32).to_le_bytes())?;
                w.write_all(&((i % 100_000) as u32 * 10).to_le_bytes())?;
                w.write_all(&(f.len() as u32).to_le_bytes())?;
                w.write_all(&(f.len() as u32).to_le_bytes())?;
                w.write_all(&f)?;
            }
            w.flush()?;
            eprintln!(
                "{frames} frames from {} templates, {stations} stations",
                t.len()
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
            eprintln!("usage: synth-capture pcap OUT --frames N --stations S | filter OUT.json --terms K | bpf --terms K");
            std::process::exit(2);
        }
    }
    Ok(())
}
