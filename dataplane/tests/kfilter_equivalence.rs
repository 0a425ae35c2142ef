//! The kernel filter's programs against `FilterTable::decide`, frame by frame, in the kernel
//! (`BPF_PROG_TEST_RUN`; needs root, skipped with a message otherwise).
//!
//! Frames: every radiotap and 802.11 record of the real captures in testdata/captures, and
//! generated frames of every type, subtype and DS combination, with radiotap headers of
//! several shapes (Flags with and without FCS, several presence words, repeated radiotap
//! namespaces, a vendor namespace, fields past the header) and cut at every address boundary.
//! Filters: random exact and masked terms in every block over a small address pool, applied
//! one after the other through `KernelFilter::sync`, so the maps go through deltas, mask
//! moves and full rewrites.
//!
//! The oracle is `dataplane::verdict::judge_dlt`, the function every user-space driver uses.
//! For every frame and filter: the kernel drops a frame only if user space blocks it; and for
//! every frame user space reads and that carries no radiotap vendor namespace or reserved
//! control subtype (which the program passes up by design), it drops exactly the frames user
//! space blocks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::capfile::CaptureFile;
use dataplane::filter::{Action, Block, FilterModel, FilterTable, PHY_80211};
use dataplane::kfilter::{Capacity, KernelFilter, KernelPrograms, XdpFilterProgram};
use dataplane::verdict::{judge_dlt, Verdict};
use dataplane::wire::{LayoutMemo, MacAddr, MacTerm};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/captures");

fn root() -> bool {
    // The effective uid, from /proc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

macro_rules! need_root {
    () => {
        if !root() {
            eprintln!("skipped: loading BPF programs needs root");
            return;
        }
    };
}

/// xorshift64*: deterministic, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

#[path = "support/pools.rs"]
mod pools;
use pools::{MASKS, POOL};

fn addr(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 | 1 => rng.pick(&POOL),
        2 => rng.pick(&POOL) ^ rng.below(16),
        _ => rng.next() & 0xFFFF_FFFF_FFFF,
    }
}

fn random_table(rng: &mut Rng, terms: usize) -> FilterTable {
    let mut m = FilterModel::new("k", "");
    m.set_default(Action::from_bool(rng.below(2) == 0));
    for _ in 0..terms {
        let block = rng.pick(&Block::ALL);
        let value = MacAddr::from_u64(addr(rng));
        let term = if rng.below(3) == 0 {
            MacTerm::exact(value)
        } else {
            MacTerm::masked(value, MacAddr::from_u64(rng.pick(&MASKS)))
        };
        let mut all: Vec<_> = m.terms(PHY_80211, block).collect();
        all.push((term, Action::from_bool(rng.below(2) == 0)));
        m.set_terms(PHY_80211, block, all);
    }
    m.compile()
}

fn push_mac(f: &mut Vec<u8>, a: u64) {
    f.extend_from_slice(&a.to_be_bytes()[2..]);
}

/// Radiotap headers of several shapes; `fcs` sets the Flags field's FCS bit where there is
/// one. The second value says whether the header has a vendor namespace.
fn radiotap_header(shape: u64, fcs: bool) -> (Vec<u8>, bool) {
    let flags = if fcs { 0x10u8 } else { 0 };
    let hdr = |present: &[u32], fields: &[u8]| {
        let len = 4 + 4 * present.len() + fields.len();
        let mut h = vec![0u8, 0, len as u8, (len >> 8) as u8];
        for p in present {
            h.extend_from_slice(&p.to_le_bytes());
        }
        h.extend_from_slice(fields);
        h
    };
    let ext = 1u32 << 31;
    let rt_ns = 1u32 << 29;
    let vendor_ns = 1u32 << 30;
    match shape {
        // No fields.
        0 => (hdr(&[0], &[]), false),
        // Flags only.
        1 => (hdr(&[1 << 1], &[flags]), false),
        // TSFT (aligned to 8 at offset 8), Flags, Rate, Channel (aligned 2), signal.
        2 => {
            let mut f = vec![1, 2, 3, 4, 5, 6, 7, 8, flags, 2];
            f.extend_from_slice(&[0x6c, 0x09, 0xa0, 0x00]);
            f.push(0xc4);
            (hdr(&[0b10_1111], &f), false)
        }
        // Two radiotap namespaces (Flags in the first, signal and antenna in the second).
        3 => (
            hdr(
                &[(1 << 1) | rt_ns | ext, (1 << 5) | (1 << 11)],
                &[flags, 0xc0, 1],
            ),
            false,
        ),
        // A vendor namespace after Flags: OUI, sub-namespace, skip length 2, then data.
        4 => (
            hdr(
                &[(1 << 1) | vendor_ns | ext, 1],
                &[flags, 0, 0x00, 0x11, 0x22, 0, 2, 0, 0xab, 0xcd],
            ),
            true,
        ),
        // A plain second word whose field is past the known ones: the walk stops there.
        5 => (hdr(&[(1 << 1) | ext, 1 << 3], &[flags, 0, 0, 0]), false),
        // TSFT announced but the header ends first: malformed.
        6 => (hdr(&[1], &[1, 2, 3]), false),
        // Flags, MCS (3 bytes) then VHT (aligned 2, 12 bytes).
        7 => {
            let mut f = vec![flags, 0x07, 0x00, 0x07];
            f.extend_from_slice(&[0u8; 12]);
            (hdr(&[(1 << 1) | (1 << 19) | (1 << 21)], &f), false)
        }
        // Version 1: malformed.
        _ => {
            let (mut h, _) = radiotap_header(1, fcs);
            h[0] = 1;
            (h, false)
        }
    }
}

const RADIOTAP_SHAPES: u64 = 9;

/// An 802.11 frame of type/subtype/DS from `fc`, addresses from the pool, cut to `len`.
fn dot11(rng: &mut Rng, fc0: u8, fc1: u8, len: usize) -> Vec<u8> {
    let mut f = vec![fc0, fc1, 0, 0];
    for _ in 0..3 {
        push_mac(&mut f, addr(rng));
    }
    f.extend_from_slice(&[0x10, 0x00]);
    push_mac(&mut f, addr(rng));
    f.extend_from_slice(&[0x55; 12]);
    f.truncate(len);
    f
}

struct Case {
    frame: Vec<u8>,
    dlt: u32,
    /// The program is expected to judge it exactly (no vendor namespace, no reserved control
    /// subtype); otherwise it may pass it up unjudged.
    judged: bool,
}

fn reserved_control(dot11: &[u8]) -> bool {
    dot11.len() >= 2 && (dot11[0] >> 2) & 3 == 1 && matches!(dot11[0] >> 4, 0 | 1 | 6)
}

fn generated(rng: &mut Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    for fc0 in (0u8..=255).filter(|b| b & 3 == 0).chain([0x01, 0x82]) {
        for ds in 0u8..4 {
            for &len in &[2usize, 9, 10, 16, 21, 22, 24, 29, 30, 40] {
                let fc1 = ds | (rng.below(2) as u8) << 6;
                let body = dot11(rng, fc0, fc1, len);
                // Plain 802.11.
                cases.push(Case {
                    judged: !reserved_control(&body),
                    frame: body.clone(),
                    dlt: 105,
                });
                let shape = rng.below(RADIOTAP_SHAPES);
                let fcs = rng.below(2) == 0;
                let (mut frame, vendor) = radiotap_header(shape, fcs);
                frame.extend_from_slice(&body);
                if fcs {
                    frame.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
                }
                cases.push(Case {
                    judged: !vendor && !reserved_control(&body),
                    frame,
                    dlt: 127,
                });
            }
        }
    }
    cases
}

/// Whether a radiotap header has a vendor namespace bit in any presence word.
fn has_vendor_namespace(frame: &[u8]) -> bool {
    let mut at = 4;
    while at + 4 <= frame.len() {
        let w = u32::from_le_bytes(frame[at..at + 4].try_into().unwrap());
        if w & (1 << 30) != 0 && w & (1 << 31) != 0 {
            return true;
        }
        if w & (1 << 31) == 0 {
            return false;
        }
        at += 4;
    }
    false
}

fn captured() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(CAPTURES)
        .expect("testdata/captures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    names.sort();
    for path in names {
        let file = CaptureFile::open(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        for record in file.records() {
            let Ok(record) = record else { break };
            if record.linktype != 127 && record.linktype != 105 {
                continue;
            }
            let frame = record.data.to_vec();
            let dot11 = if record.linktype == 127 {
                let rlen = if frame.len() >= 4 {
                    u16::from_le_bytes([frame[2], frame[3]]) as usize
                } else {
                    0
                };
                frame.get(rlen..).unwrap_or(&[]).to_vec()
            } else {
                frame.clone()
            };
            let vendor = record.linktype == 127 && has_vendor_namespace(&frame);
            cases.push(Case {
                judged: !vendor && !reserved_control(&dot11),
                frame,
                dlt: record.linktype,
            });
        }
    }
    assert!(cases.len() > 1500, "{} captured frames", cases.len());
    cases
}

struct Programs {
    kf: KernelFilter,
    progs: Arc<KernelPrograms>,
    xdp_rt: XdpFilterProgram,
    xdp_wl: XdpFilterProgram,
}

impl Programs {
    fn load() -> Programs {
        let kf = KernelFilter::load(Capacity::DEFAULT).expect("loading the kernel filter");
        let progs = Arc::clone(kf.programs());
        let xdp_rt = progs.xdp_program(127).expect("XDP program (radiotap)");
        let xdp_wl = progs.xdp_program(105).expect("XDP program (802.11)");
        Programs {
            kf,
            progs,
            xdp_rt,
            xdp_wl,
        }
    }

    /// (socket filter dropped, XDP dropped or None when the frame is too short for XDP).
    fn run(&self, case: &Case) -> (bool, Option<bool>) {
        let sock = self
            .progs
            .test_socket(case.dlt, &case.frame)
            .expect("socket test run");
        let xdp = (case.frame.len() >= 14).then(|| {
            let p = if case.dlt == 127 {
                &self.xdp_rt
            } else {
                &self.xdp_wl
            };
            self.progs.test_xdp(p, &case.frame).expect("XDP test run")
        });
        (sock, xdp)
    }
}

/// Checks every case against `table`; returns (frames judged exactly, kernel drops).
fn check_all(p: &Programs, table: &FilterTable, cases: &[Case], what: &str) -> (usize, u64) {
    let mut memo = LayoutMemo::default();
    let mut exact = 0;
    let mut drops = 0u64;
    for (i, case) in cases.iter().enumerate() {
        let user = judge_dlt(table, &mut memo, &case.frame, case.dlt, true);
        let blocked = user == Verdict::Block;
        let (sock, xdp) = p.run(case);
        for (prog, dropped) in [("socket", Some(sock)), ("xdp", xdp)] {
            let Some(dropped) = dropped else { continue };
            drops += u64::from(dropped);
            assert!(
                !dropped || blocked,
                "{what}: case {i} ({prog}): the kernel dropped a frame user space judges {user:?}: {:02x?}",
                case.frame
            );
            if case.judged && !matches!(user, Verdict::Malformed(_)) {
                assert_eq!(
                    dropped, blocked,
                    "{what}: case {i} ({prog}): kernel dropped={dropped}, user space {user:?}: {:02x?}",
                    case.frame
                );
            }
        }
        if case.judged && !matches!(user, Verdict::Malformed(_)) {
            exact += 1;
        }
    }
    (exact, drops)
}

#[test]
fn kernel_decision_equals_user_space_across_swaps() {
    need_root!();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut cases = generated(&mut rng);
    let gen = cases.len();
    cases.extend(captured());
    let mut p = Programs::load();

    // Before any table: nothing is dropped.
    for case in cases.iter().take(500) {
        assert!(!p.run(case).0);
    }
    let c = p.progs.counters().unwrap();
    assert_eq!(c.dropped, 0);
    assert!(c.unusable > 0 && c.seen >= 500);

    let mut total_exact = 0;
    let mut total_drops = 0;
    for round in 0..24 {
        let terms = [0usize, 1, 3, 8, 20, 60][round % 6];
        let table = Arc::new(random_table(&mut rng, terms));
        let report = p.kf.sync(&table).expect("sync");
        assert!(report.usable, "round {round}: {:?}", p.kf.state());
        let c0 = p.progs.counters().unwrap();
        let (exact, drops) = check_all(
            &p,
            &table,
            &cases,
            &format!("round {round} ({terms} terms)"),
        );
        let c1 = p.progs.counters().unwrap();
        assert_eq!(
            c1.dropped - c0.dropped,
            drops,
            "round {round}: drop counter"
        );
        assert_eq!(c1.raced, c0.raced, "round {round}: nothing raced");
        total_exact += exact;
        total_drops += drops;
    }
    eprintln!(
        "{} cases ({gen} generated): {total_exact} exact judgements, {total_drops} kernel drops",
        cases.len()
    );
    // The comparison was not vacuous: most frames were judged exactly, and many dropped.
    assert!(total_exact > 24 * gen / 2, "{total_exact} exact judgements");
    assert!(total_drops > 10_000, "{total_drops} kernel drops");
}

#[test]
fn more_masks_than_maps_pass_everything_up_and_recover() {
    need_root!();
    let mut rng = Rng(0x5eed_0000_0000_0002);
    let cases: Vec<Case> = generated(&mut rng)
        .into_iter()
        .filter(|c| c.judged)
        .collect();
    let mut p = Programs::load();
    // Block everything with nine distinct masks: the maps cannot hold it.
    let mut m = FilterModel::new("k", "");
    m.set_default(Action::Block);
    let terms: Vec<_> = (1..=9u32)
        .map(|bits| {
            let mask = (0xFFFF_FFFF_FFFFu64 << (48 - bits)) & 0xFFFF_FFFF_FFFF;
            (
                MacTerm::masked(MacAddr::from_u64(0x1234_5678_9abc), MacAddr::from_u64(mask)),
                Action::Block,
            )
        })
        .collect();
    m.set_terms(PHY_80211, Block::Source, terms.clone());
    let nine = Arc::new(m.compile());
    let report = p.kf.sync(&nine).unwrap();
    assert!(!report.usable);
    let state = p.kf.state();
    assert!(!state.usable);
    assert!(state.reason.unwrap().contains("9 masks"));
    let c0 = p.progs.counters().unwrap();
    for case in &cases {
        assert_eq!(
            p.run(case),
            (false, (case.frame.len() >= 14).then_some(false))
        );
    }
    let c1 = p.progs.counters().unwrap();
    assert_eq!(c1.dropped, c0.dropped);
    assert!(c1.unusable - c0.unusable >= cases.len() as u64);
    // Eight masks fit again: exact judgements resume.
    let mut m = FilterModel::new("k", "");
    m.set_default(Action::Block);
    m.set_terms(PHY_80211, Block::Source, terms[..8].to_vec());
    let eight = Arc::new(m.compile());
    let report = p.kf.sync(&eight).unwrap();
    assert!(report.usable, "{:?} {:?}", p.kf.state(), eight);
    let (exact, drops) = check_all(&p, &eight, &cases, "eight masks");
    assert!(exact > 1000 && drops > 1000, "{exact} exact, {drops} drops");
}

/// A data frame (no DS) from `src` to `dst`, behind an 8-byte radiotap header.
fn data_frame(src: u64, dst: u64) -> Vec<u8> {
    let mut frame = vec![0u8, 0, 8, 0, 0, 0, 0, 0];
    frame.extend_from_slice(&[0x08, 0x00, 0, 0]); // data, no DS: A1 dst, A2 src, A3 bssid
    push_mac(&mut frame, dst);
    push_mac(&mut frame, src);
    push_mac(&mut frame, 0x0200_0000_0001);
    frame.extend_from_slice(&[0; 2]);
    frame
}

/// A filter larger than the maps' default size: the maps are sized from the table, and each
/// one-term change (made with `FilterModel::recompile`, as the control plane makes them)
/// writes one key, after which the program judges the changed address and its neighbours
/// exactly as user space does. A filter past the capacity is refused with a reason and
/// leaves the program passing everything up.
#[test]
fn one_term_changes_to_a_large_filter_write_one_key() {
    need_root!();
    const TERMS: u64 = 300_000;
    let base = 0x02a5_0000_0000u64;
    let mut m = FilterModel::new("k", "");
    m.set_terms(
        PHY_80211,
        Block::Source,
        (0..TERMS).map(|i| {
            (
                MacTerm::exact(MacAddr::from_u64(base + i * 2)),
                Action::Block,
            )
        }),
    );
    m.set_terms(
        PHY_80211,
        Block::Any,
        [(
            MacTerm::masked(
                MacAddr::from_u64(0x0bb0_0000_0000),
                MacAddr::from_u64(0xffff_0000_0000),
            ),
            Action::Block,
        )],
    );
    let mut table = Arc::new(m.compile());
    assert!(Capacity::for_table(&table, Capacity::DEFAULT).exact >= 2 * TERMS as u32);
    let mut kf = KernelFilter::load(Capacity::for_table(&table, Capacity::DEFAULT)).unwrap();
    let progs = Arc::clone(kf.programs());
    let first = kf.sync(&table).unwrap();
    assert!(first.usable, "{:?}", kf.state());
    assert_eq!(first.writes, TERMS as usize + 1);
    let judged = |table: &FilterTable, src: u64| {
        let f = data_frame(src, 0x0011_2233_4455);
        let user = judge_dlt(table, &mut LayoutMemo::default(), &f, 127, true);
        (progs.test_socket(127, &f).unwrap(), user == Verdict::Block)
    };
    let mut rng = Rng(0x5eed_0fc4_a6e5);
    for i in 0..200u64 {
        // Alternately add an odd address (never in the filter) and remove an even one.
        let (term, add) = if i % 2 == 0 {
            (base + 2 * rng.below(TERMS) + 1, true)
        } else {
            (base + 2 * rng.below(TERMS), false)
        };
        let t = MacTerm::exact(MacAddr::from_u64(term));
        if add {
            m.set_terms(PHY_80211, Block::Source, [(t, Action::Block)]);
        } else {
            m.remove_terms(PHY_80211, Block::Source, [t]);
        }
        let next = Arc::new(m.recompile(&table, &[t]));
        let report = kf.sync(&next).unwrap();
        assert_eq!((report.writes, report.usable), (1, true), "change {i}");
        for a in [term, term + 1, term.wrapping_sub(1), 0x0bb0_1234_5678] {
            let (kernel, user) = judged(&next, a);
            assert_eq!(kernel, user, "change {i}, address {a:012x}");
            if a == term || a == 0x0bb0_1234_5678 {
                assert_eq!(user, add || a != term, "change {i}, address {a:012x}");
            }
        }
        table = next;
    }
    // Past the capacity: refused, and the program passes everything up, saying why.
    let cap = kf.capacity().exact as u64;
    m.set_terms(
        PHY_80211,
        Block::Destination,
        (0..cap).map(|i| {
            (
                MacTerm::exact(MacAddr::from_u64(0x0c00_0000_0000 + i)),
                Action::Block,
            )
        }),
    );
    let over = Arc::new(m.compile());
    let report = kf.sync(&over).unwrap();
    assert!(!report.usable);
    let reason = kf.state().reason.unwrap();
    assert!(
        reason.contains("exact terms") && reason.contains("--kernel-filter-capacity"),
        "{reason}"
    );
    assert!(!judged(&over, base).0, "the program passes everything up");
    // Back under it: the maps still hold the last table that fitted, so this is a delta.
    let report = kf.sync(&table).unwrap();
    assert_eq!((report.writes, report.usable), (0, true));
    assert!(judged(&table, base).0);
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A change is never seen half-made: two tables that each block one frame through a different
/// term (and keep other terms under a second mask) are swapped back and forth while the frame
/// is judged over and over. A frame judged against half a change (one term removed, the other
/// not yet written) would pass; every judgement must be a drop, or a pass-up counted as raced.
#[test]
fn swaps_are_atomic_for_the_program() {
    need_root!();
    let src = 0xAABB_CC00_0001u64;
    let dst = 0x0011_2233_4455u64;
    let frame = data_frame(src, dst);
    let table = |block: Block, a: u64| {
        let mut m = FilterModel::new("k", "");
        m.set_terms(
            PHY_80211,
            block,
            [(MacTerm::exact(MacAddr::from_u64(a)), Action::Block)],
        );
        m.set_terms(
            PHY_80211,
            Block::Other,
            [(
                MacTerm::masked(MacAddr::from_u64(a), MacAddr::from_u64(0xFFFF_FF00_0000)),
                Action::Pass,
            )],
        );
        Arc::new(m.compile())
    };
    let a = table(Block::Source, src);
    let b = table(Block::Destination, dst);
    let mut kf = KernelFilter::load(Capacity::DEFAULT).unwrap();
    let progs = Arc::clone(kf.programs());
    kf.sync(&a).unwrap();
    let stop = AtomicBool::new(false);
    let (mut dropped, mut raced, mut swaps) = (0u64, 0u64, 0u64);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                kf.sync(if n.is_multiple_of(2) { &b } else { &a }).unwrap();
                n += 1;
                // A short pause between changes (spun: a sleep lasts far longer), so that
                // judgements both fall inside changes (passed up) and between them (judged).
                let t = std::time::Instant::now();
                while t.elapsed() < std::time::Duration::from_micros(5) {
                    std::hint::spin_loop();
                }
            }
            n
        });
        // Stops the writer however this loop ends, so a failed assertion cannot hang the scope.
        let _stop = StopOnDrop(&stop);
        for i in 0..30_000 {
            let c0 = progs.counters().unwrap();
            let drop = progs.test_socket(127, &frame).unwrap();
            let c1 = progs.counters().unwrap();
            assert_eq!(c1.seen - c0.seen, 1);
            if drop {
                assert_eq!(c1.dropped - c0.dropped, 1);
                dropped += 1;
            } else {
                assert_eq!(
                    c1.raced - c0.raced,
                    1,
                    "judgement {i} passed the frame without a race: {c0:?} -> {c1:?}"
                );
                raced += 1;
            }
        }
        drop(_stop);
        swaps = writer.join().unwrap();
    });
    eprintln!("{swaps} swaps: {dropped} drops, {raced} raced");
    // Both kinds happened: the check above ran on judgements that overlapped a change.
    assert!(
        swaps > 100 && dropped > 300 && raced > 300,
        "{swaps} swaps, {dropped} drops, {raced} raced"
    );
}

/// The socket filter's own run time per frame, in the kernel (`BPF_PROG_TEST_RUN` with
/// repeats): `cargo test -p dataplane --test kfilter_equivalence -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn socket_filter_run_time() {
    need_root!();
    let mut kf = KernelFilter::load(Capacity::DEFAULT).unwrap();
    let progs = Arc::clone(kf.programs());
    let file = CaptureFile::open(
        &std::path::Path::new(CAPTURES).join("rt_aircrack_test1_multins-fcs.pcap"),
    )
    .unwrap();
    let frames: Vec<Vec<u8>> = file
        .records()
        .take(20)
        .map(|r| r.unwrap().data.to_vec())
        .collect();
    for terms in [0usize, 100, 1000] {
        let mut m = FilterModel::new("k", "");
        let list: Vec<_> = (0..terms as u64)
            .map(|i| {
                (
                    MacTerm::exact(MacAddr::from_u64(0x02a5_0000_0000 + i)),
                    Action::Block,
                )
            })
            .collect();
        m.set_terms(PHY_80211, Block::Source, list);
        kf.sync(&Arc::new(m.compile())).unwrap();
        let ns: Vec<u32> = frames
            .iter()
            .map(|f| progs.time_socket(127, f, 100_000).unwrap())
            .collect();
        eprintln!("{terms} terms: socket filter {:?} ns per run", ns);
    }
}
