//! Shared inputs of airsift's benchmarks: a mix of real frames and filter tables of a chosen
//! size, built the same way by every bench so their figures compare.

use std::path::{Path, PathBuf};

use dataplane::capfile::CaptureFile;
use dataplane::filter::{Action, Block, FilterModel, FilterTable, PHY_80211};
use dataplane::track::{observe, DeltaTable};
use dataplane::verdict::{judge_frame, Verdict};
use dataplane::wire::{Frame, LayoutMemo, LinkType, MacAddr, MacTerm};

/// The repository's test data folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Real captures whose frames make up the benchmark mix: radiotap from several drivers
/// (1-3 presence words, FCS or not), plain 802.11, PPI.
pub const MIX: &[&str] = &[
    "rt_aircrack_test1_multins-fcs.pcap",
    "rt_wltrace_trace-bigendian-5ghz.pcap",
    "rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng",
    "rt_arkime_80211http.pcap",
    "rt_tcpdump_exthdr-89byte-hdr.pcap",
    "rt_libpcap_wpa2linkup-vht.pcap",
    "80211_aircrack_n-02.cap",
    "80211_aircrack_capture-wds.cap",
    "ppi_libpcap_http.pcap",
];

/// Frames laid back to back in one buffer, as a ring block holds them.
pub struct FrameBlock {
    pub bytes: Vec<u8>,
    /// (offset, length, link type) of each frame.
    pub index: Vec<(usize, usize, LinkType)>,
}

impl FrameBlock {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], LinkType)> + '_ {
        self.index
            .iter()
            .map(|&(at, len, lt)| (&self.bytes[at..at + len], lt))
    }
}

/// Every record of the mix, with its link type, in file order, each aligned to 16 bytes like
/// TPACKET_V3 frames.
pub fn frame_mix() -> FrameBlock {
    let mut block = FrameBlock {
        bytes: Vec::new(),
        index: Vec::new(),
    };
    for name in MIX {
        let cap = CaptureFile::open(&testdata().join("captures").join(name)).expect(name);
        for r in cap.records().flatten() {
            if let Some(lt) = LinkType::from_dlt(r.linktype) {
                let at = block.bytes.len();
                block.bytes.extend_from_slice(r.data);
                block.index.push((at, r.data.len(), lt));
                block
                    .bytes
                    .resize(block.bytes.len().next_multiple_of(16), 0);
            }
        }
    }
    block
}

/// A deterministic xorshift generator: benches must not depend on a random seed.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const MASKS: [u64; 4] = [
    0xFFFF_FF00_0000,
    0xFFFF_FFF0_0000,
    0xFFFF_FFFF_0000,
    0xFFFF_FFFF_F000,
];

/// A filter with `exact` random exact terms spread over the five blocks, plus 64 masked terms
/// under `masks` distinct masks (1-4 of OUI /24, /28, /32, /36), and `hits` of the exact terms
/// taken from `seen` addresses so that some frames really match. Random terms almost never
/// match.
pub fn model(exact: usize, masks: usize, seen: &[MacAddr], hits: usize) -> FilterModel {
    let mut m = FilterModel::new("bench", "benchmark filter");
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ exact as u64);
    let blocks = Block::ALL;
    for i in 0..exact {
        let addr = if i < hits && !seen.is_empty() {
            seen[i % seen.len()]
        } else {
            MacAddr::from_u64(rng.next_u64() & !0x0100_0000_0000)
        };
        let block = blocks[i % blocks.len()];
        let action = if i % 3 == 0 {
            Action::Pass
        } else {
            Action::Block
        };
        m.set_terms(PHY_80211, block, [(MacTerm::exact(addr), action)]);
    }
    if exact > 0 {
        for i in 0..64 {
            let value = MacAddr::from_u64(rng.next_u64());
            let mask = MASKS[i % masks.clamp(1, MASKS.len())];
            let term = MacTerm::masked(value, MacAddr::from_u64(mask));
            m.set_terms(PHY_80211, blocks[i % 5], [(term, Action::Block)]);
        }
    }
    m
}

/// The distinct transmitters (source role) of `frames`, sorted: what the filter tables give
/// terms to, so that lookups hit as well as miss.
pub fn seen_addresses(frames: &FrameBlock) -> Vec<MacAddr> {
    let mut seen: Vec<MacAddr> = frames
        .iter()
        .filter_map(|(f, lt)| Frame::parse(f, lt).ok()?.addresses().source)
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

/// One pass of a worker with tracking off: parse, decide and keep each frame. Returns the
/// frames passed.
pub fn tracking_off(table: &FilterTable, frames: &FrameBlock) -> u64 {
    let mut passed = 0u64;
    let mut memo = LayoutMemo::default();
    for (f, lt) in frames.iter() {
        let (v, frame) = judge_frame(table, &mut memo, f, lt.dlt(), true);
        passed += (v == Verdict::Pass && frame.is_some()) as u64;
    }
    passed
}

/// [`tracking_off`] plus the delta-table update of every passed frame; the table is emptied
/// when nearly full, as a hand-over would.
pub fn tracking_on(table: &FilterTable, frames: &FrameBlock, delta: &mut DeltaTable) -> u64 {
    let mut passed = 0u64;
    let mut memo = LayoutMemo::default();
    for (f, lt) in frames.iter() {
        if let (Verdict::Pass, Some(frame)) = judge_frame(table, &mut memo, f, lt.dlt(), true) {
            observe(delta, &frame, f.len() as u32, 1_700_000_000);
            passed += 1;
        }
    }
    if delta.nearly_full() {
        delta.clear();
    }
    passed
}
