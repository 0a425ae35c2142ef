//! The compiled filter table against a plain reference implementation of API.md section 2.
//!
//! The reference is deliberately naive (a list of terms scanned in full for every block and
//! address) so that it can be checked by reading. Addresses and masks come from small pools so
//! that random terms overlap, tie and match, and the precedence rules are actually exercised.

use dataplane::filter::{Action, Block, FilterModel, PHY_80211};
use dataplane::wire::{Addresses, MacAddr, MacTerm};
use proptest::prelude::*;
use proptest::sample::select;

#[path = "support/pools.rs"]
mod pools;
use pools::{MASKS, POOL};

const OTHER_PHY: &str = "Bluetooth";

/// The rules, read straight off API.md: blocks and addresses in order, the first block with
/// a matching term decides; within a block exact, else most mask bits, else larger mask.
fn reference(terms: &[(Block, MacTerm, Action)], default: Action, a: &Addresses) -> Action {
    let roles = [
        (Block::Source, a.source),
        (Block::Destination, a.destination),
        (Block::Network, a.network),
        (Block::Other, a.other),
    ];
    let any = roles.map(|(_, addr)| (Block::Any, addr));
    for (block, addr) in roles.into_iter().chain(any) {
        let Some(addr) = addr else { continue };
        let matching: Vec<&(Block, MacTerm, Action)> = terms
            .iter()
            .filter(|(b, t, _)| *b == block && t.matches(addr))
            .collect();
        let best = matching.iter().find(|(_, t, _)| t.is_exact()).or_else(|| {
            matching
                .iter()
                .max_by_key(|(_, t, _)| (t.mask().count_ones(), t.mask().to_u64()))
        });
        if let Some((_, _, action)) = best {
            return *action;
        }
    }
    default
}

#[derive(Clone, Debug)]
enum Op {
    Set(&'static str, Block, MacTerm, Action),
    Remove(&'static str, Block, Vec<MacTerm>),
}

fn addr() -> impl Strategy<Value = MacAddr> {
    prop_oneof![
        4 => select(POOL.to_vec()),
        3 => (select(POOL.to_vec()), 0u64..16).prop_map(|(a, x)| a ^ x),
        1 => (select(POOL.to_vec()), 0u32..48).prop_map(|(a, b)| a ^ (1 << b)),
        1 => any::<u64>(),
    ]
    .prop_map(MacAddr::from_u64)
}

fn term() -> impl Strategy<Value = MacTerm> {
    prop_oneof![
        2 => addr().prop_map(MacTerm::exact),
        3 => (addr(), select(MASKS.to_vec()))
            .prop_map(|(v, m)| MacTerm::masked(v, MacAddr::from_u64(m))),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    select(Block::ALL.to_vec())
}

fn action() -> impl Strategy<Value = Action> {
    any::<bool>().prop_map(Action::from_bool)
}

fn phy() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just(PHY_80211), 1 => Just(OTHER_PHY)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (phy(), block(), term(), action()).prop_map(|(p, b, t, a)| Op::Set(p, b, t, a)),
        1 => (phy(), block(), prop::collection::vec(term(), 1..3))
            .prop_map(|(p, b, ts)| Op::Remove(p, b, ts)),
    ]
}

fn addresses() -> impl Strategy<Value = Addresses> {
    let role = || prop::option::weighted(0.8, addr());
    (role(), role(), role(), role()).prop_map(|(source, destination, network, other)| Addresses {
        source,
        destination,
        network,
        other,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn table_matches_reference(
        ops in prop::collection::vec(op(), 0..=40),
        default in action(),
        frames in prop::collection::vec(addresses(), 8..16),
    ) {
        let mut model = FilterModel::new("capture", "reference check");
        model.set_default(default);
        // Terms of every phy, as (phy, block, term, action); a later set replaces an earlier one.
        let mut terms: Vec<(&str, Block, MacTerm, Action)> = Vec::new();
        for op in ops {
            match op {
                Op::Set(phy, block, term, action) => {
                    model.set_terms(phy, block, [(term, action)]);
                    terms.retain(|&(p, b, t, _)| (p, b, t) != (phy, block, term));
                    terms.push((phy, block, term, action));
                }
                Op::Remove(phy, block, removed) => {
                    let before = terms.len();
                    for term in &removed {
                        terms.retain(|&(p, b, t, _)| (p, b, t) != (phy, block, *term));
                    }
                    prop_assert_eq!(model.remove_terms(phy, block, removed), before - terms.len());
                }
            }
        }
        prop_assert_eq!(model.term_count(), terms.len());

        let wifi: Vec<(Block, MacTerm, Action)> = terms
            .iter()
            .filter(|(p, ..)| *p == PHY_80211)
            .map(|&(_, b, t, a)| (b, t, a))
            .collect();
        let table = model.compile();
        prop_assert_eq!(table.term_count(), wifi.len());
        for frame in &frames {
            let expected = reference(&wifi, default, frame);
            prop_assert_eq!(table.decide(frame), expected, "frame {:?}", frame);
        }

        let text = serde_json::to_string(&model.to_status_doc(5)).unwrap();
        let back = FilterModel::from_status_doc(&serde_json::from_str(&text).unwrap());
        prop_assert_eq!(back.as_ref(), Ok(&model));
    }
}

/// The reference itself, on the examples API.md spells out, so a bug in it cannot hide a bug
/// in the table.
#[test]
fn reference_follows_the_documented_examples() {
    let mac = |s: &str| s.parse::<MacAddr>().unwrap();
    let term = |s: &str| s.parse::<MacTerm>().unwrap();
    let frame = Addresses {
        source: Some(mac("aa:bb:cc:dd:ee:01")),
        destination: Some(mac("aa:bb:cc:dd:ee:02")),
        network: None,
        other: None,
    };
    let terms = [
        (Block::Source, term("aa:bb:cc:dd:ee:01"), Action::Pass),
        (Block::Destination, term("aa:bb:cc:dd:ee:02"), Action::Block),
    ];
    assert_eq!(reference(&terms, Action::Block, &frame), Action::Pass);
    let terms = [
        (
            Block::Any,
            term("aa:bb:cc:00:00:00/ff:ff:ff:00:00:00"),
            Action::Pass,
        ),
        (
            Block::Any,
            term("aa:bb:cc:dd:00:00/ff:ff:ff:ff:00:00"),
            Action::Block,
        ),
        (
            Block::Network,
            term("00:00:00:00:00:00/00:00:00:00:00:00"),
            Action::Pass,
        ),
    ];
    assert_eq!(reference(&terms, Action::Pass, &frame), Action::Block);
    let terms = [(Block::Other, term("00:00:00:00:00:00"), Action::Block)];
    assert_eq!(reference(&terms, Action::Pass, &frame), Action::Pass);
}
