//! Filter swaps under load: while frames stream into a TPACKET_V3 ring (two workers, fanout),
//! the capture filter changes hundreds of times. Every frame's verdict must equal the decision
//! of the table generation its worker loaded for that frame's batch — a generation that was
//! current while the batch was processed — and no frame may be lost.

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Injector, Netns};
use dataplane::capture::{Capture, CaptureConfig};
use dataplane::filter::{Action, Block, FilterHandle, FilterModel, FilterTable, PHY_80211};
use dataplane::source::tpacket::{Fanout, FanoutMode, TpacketConfig, TpacketSource};
use dataplane::source::{RxFrame, Source};
use dataplane::verdict::{judge, Verdict};
use dataplane::wire::{Frame, LayoutMemo, LinkType, MacAddr, MacTerm};
use dataplane::worker::Observer;

/// Records (frame, verdict, generation) for the check afterwards, and counts, for all
/// workers together, how often a worker moved to another generation.
struct Record(Vec<(Vec<u8>, Verdict, u64)>, Arc<AtomicU64>);

impl Observer for Record {
    fn frame(&mut self, f: &RxFrame<'_>, v: Verdict, generation: u64) {
        if self.0.last().is_none_or(|l| l.2 != generation) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
        self.0.push((f.data.to_vec(), v, generation));
    }
}

/// Generation changes the workers must have made while frames flowed.
const SWITCHES: u64 = 50;

#[test]
fn every_verdict_matches_one_current_generation() {
    if common::skip_unless_root("every_verdict_matches_one_current_generation") {
        return;
    }
    let ns = Netns::with_veth("swap");
    let cap = common::capture("rt_aircrack_test1_multins-fcs.pcap");
    // The stations of the capture, to toggle terms on.
    let file = dataplane::capfile::CaptureFile::open(&cap).unwrap();
    let mut stations: Vec<MacAddr> = file
        .records()
        .filter_map(|r| {
            Frame::parse(r.ok()?.data, LinkType::Radiotap)
                .ok()?
                .addresses()
                .source
        })
        .collect();
    stations.sort();
    stations.dedup();
    assert!(stations.len() >= 4);

    let inject = [
        "veth",
        "--iface",
        "va",
        "--pcap",
        cap.to_str().unwrap(),
        "--rate",
        "20000",
        "--count",
        "10000",
    ];

    // Open the ring from a thread inside the namespace (sockets stay in the namespace they
    // were created in; the worker threads need not be there).
    let handle = Arc::new(FilterHandle::new(FilterTable::pass_all()));
    let sources: Vec<Box<dyn Source>> = std::thread::scope(|s| {
        s.spawn(|| {
            let nsfile = File::open(format!("/run/netns/{}", ns.name)).unwrap();
            nix::sched::setns(nsfile, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let mut cfg = TpacketConfig::new("vb");
            cfg.linktype = Some(127);
            cfg.fanout = Some(Fanout {
                group: 4242,
                mode: FanoutMode::Transmitter,
            });
            (0..2)
                .map(|_| Box::new(TpacketSource::open(&cfg).unwrap()) as Box<dyn Source>)
                .collect()
        })
        .join()
        .unwrap()
    });
    let cfg = CaptureConfig {
        sources,
        cores: vec![],
        log: None,
        name: "swap".into(),
        pass_malformed: false,
    };
    let switches = Arc::new(AtomicU64::new(0));
    let capture = Capture::start_observed(
        cfg,
        handle.clone(),
        vec![
            Record(Vec::new(), switches.clone()),
            Record(Vec::new(), switches.clone()),
        ],
    )
    .unwrap();

    // Publish a new table every ~2 ms while the injector sends for ~2 s; keep each generation's
    // table to re-decide with afterwards.
    let tables: Arc<Mutex<HashMap<u64, FilterModel>>> = Arc::default();
    tables
        .lock()
        .unwrap()
        .insert(1, FilterModel::new("capture", ""));
    let done = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (handle, tables, stations, done) = (
            handle.clone(),
            tables.clone(),
            stations.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                let mut m = FilterModel::new("capture", "");
                let blocked = stations[i % stations.len()];
                m.set_terms(
                    PHY_80211,
                    Block::Source,
                    [(MacTerm::exact(blocked), Action::Block)],
                );
                if i.is_multiple_of(3) {
                    m.set_default(Action::Block);
                    m.set_terms(
                        PHY_80211,
                        Block::Any,
                        [(
                            MacTerm::exact(stations[(i + 1) % stations.len()]),
                            Action::Pass,
                        )],
                    );
                }
                let g = handle.publish(m.compile());
                tables.lock().unwrap().insert(g, m);
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    // Send rounds of 10,000 frames until the workers have switched generations often enough
    // while frames flowed, however fast this machine runs them (the bound guards a hang).
    let mut sent = 0;
    for round in 0.. {
        assert!(
            round < 100,
            "only {} generation switches",
            switches.load(Ordering::Relaxed)
        );
        let mut inj = Injector::start(&ns, &inject);
        sent += inj.send();
        inj.finish();
        if switches.load(Ordering::Relaxed) >= SWITCHES {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
    common::wait_until("every frame counted", Duration::from_secs(120), || {
        capture.totals().frames >= sent
    });
    let (report, observers) = capture.join();

    assert_eq!(report.totals.kernel_drops, 0, "{:?}", report.totals);
    assert_eq!(
        report.totals.frames, sent,
        "frames lost or duplicated: {:?}",
        report.totals
    );
    let tables = tables.lock().unwrap();
    let compiled: HashMap<u64, FilterTable> =
        tables.iter().map(|(g, m)| (*g, m.compile())).collect();
    let mut memo = LayoutMemo::default();
    let mut checked = 0;
    let mut generations_seen = std::collections::BTreeSet::new();
    for rec in &observers {
        let mut last_gen = 0;
        for (bytes, verdict, g) in &rec.0 {
            assert!(*g >= last_gen, "a worker went back to an older generation");
            last_gen = *g;
            let t = compiled
                .get(g)
                .unwrap_or_else(|| panic!("generation {g} was never published"));
            assert_eq!(
                judge(t, &mut memo, bytes, LinkType::Radiotap, true),
                *verdict,
                "generation {g}"
            );
            generations_seen.insert(*g);
            checked += 1;
        }
    }
    assert_eq!(checked, sent);
    assert!(
        generations_seen.len() as u64 >= SWITCHES / 2,
        "only {} generations seen under load",
        generations_seen.len()
    );
}
