//! The editable filter model: blocks, actions, and the terms of every phy, as the control plane
//! edits them under its mutex and persists them.
//!
//! The model is the source of truth and is kept in ordered maps so that its status document and
//! its persisted form are stable. Workers never see it: they get a compiled
//! [`FilterTable`](super::FilterTable).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::wire::MacTerm;

/// The only phy the dataplane matches; terms of other phys are stored, as in Kismet.
pub const PHY_80211: &str = "IEEE802.11";

/// Which address role of a frame a term is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Block {
    Source,
    Destination,
    Network,
    Other,
    /// Any of the four roles, consulted only after the four role blocks.
    Any,
}

impl Block {
    /// Every block, in the order the decision consults them.
    pub const ALL: [Block; 5] = [
        Block::Source,
        Block::Destination,
        Block::Network,
        Block::Other,
        Block::Any,
    ];

    /// The name used in URLs and in the status document's keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Block::Source => "source",
            Block::Destination => "destination",
            Block::Network => "network",
            Block::Other => "other",
            Block::Any => "any",
        }
    }

    /// Position in [`Block::ALL`]; also the block's bit in the compiled table.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block name that is not one of the five.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBlock(pub String);

impl fmt::Display for UnknownBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown block {:?}: expected one of source, destination, network, other, any",
            self.0
        )
    }
}

impl std::error::Error for UnknownBlock {}

impl FromStr for Block {
    type Err = UnknownBlock;
    /// Case-insensitive, so a URL typed by hand works.
    fn from_str(s: &str) -> Result<Block, UnknownBlock> {
        Block::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownBlock(s.to_string()))
    }
}

/// What a term (or the default) does with a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Action {
    #[default]
    Pass,
    Block,
}

impl Action {
    /// Kismet's encoding: `true` (and `1`) blocks.
    pub const fn from_bool(block: bool) -> Action {
        if block {
            Action::Block
        } else {
            Action::Pass
        }
    }

    pub const fn is_block(self) -> bool {
        matches!(self, Action::Block)
    }

    /// `"pass"` or `"block"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const BLOCK_WORDS: [&str; 5] = ["true", "reject", "deny", "filter", "block"];
const PASS_WORDS: [&str; 4] = ["false", "allow", "pass", "accept"];
const ACCEPTED: &str = "expected a JSON bool, 1 or 0, or one of the strings \
    true/reject/deny/filter/block (block) or false/allow/pass/accept (pass)";

/// Reads a term's value or a filter's default. Unlike Kismet, which treats any unknown string
/// as pass, a typo is an error: silently passing what the operator meant to block is the worst
/// failure a filter can have.
pub fn parse_action(v: &Value) -> Result<Action, String> {
    let word = |w: &str| {
        if BLOCK_WORDS.iter().any(|b| b.eq_ignore_ascii_case(w)) {
            Some(Action::Block)
        } else if PASS_WORDS.iter().any(|p| p.eq_ignore_ascii_case(w)) {
            Some(Action::Pass)
        } else {
            None
        }
    };
    let action = match v {
        Value::Bool(b) => Some(Action::from_bool(*b)),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(Action::Block),
            Some(0) => Some(Action::Pass),
            _ => None,
        },
        Value::String(s) => word(s),
        _ => None,
    };
    action.ok_or_else(|| format!("invalid action {}: {ACCEPTED}", describe(v)))
}

/// A JSON value as an error message quotes it, cut short so that a huge body cannot flood a
/// reply or a log line.
pub(crate) fn describe(v: &Value) -> String {
    const MAX: usize = 64;
    let s = v.to_string();
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

/// The terms of one phy, one ordered map per block (indexed by [`Block::index`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PhyTerms {
    blocks: [BTreeMap<MacTerm, Action>; 5],
}

/// A named MAC filter as the operator edits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterModel {
    pub id: String,
    pub description: String,
    /// What happens to a frame that no term matches.
    pub default: Action,
    phys: BTreeMap<String, PhyTerms>,
}

impl FilterModel {
    /// An empty filter that passes everything.
    pub fn new(id: impl Into<String>, description: impl Into<String>) -> FilterModel {
        FilterModel {
            id: id.into(),
            description: description.into(),
            default: Action::Pass,
            phys: BTreeMap::new(),
        }
    }

    pub fn set_default(&mut self, action: Action) {
        self.default = action;
    }

    /// Inserts or overwrites terms. A term set to [`Action::Pass`] stays as an explicit pass,
    /// which still decides the frame when its block is consulted first. The phy is created even
    /// when `terms` is empty, so that it shows in the status document.
    pub fn set_terms(
        &mut self,
        phy: &str,
        block: Block,
        terms: impl IntoIterator<Item = (MacTerm, Action)>,
    ) {
        let map = &mut self.phys.entry(phy.to_string()).or_default().blocks[block.index()];
        map.extend(terms);
    }

    /// Removes terms and returns how many were actually there; absent terms (and an unknown
    /// phy) are not errors, as the API promises.
    pub fn remove_terms(
        &mut self,
        phy: &str,
        block: Block,
        terms: impl IntoIterator<Item = MacTerm>,
    ) -> usize {
        let Some(p) = self.phys.get_mut(phy) else {
            return 0;
        };
        let map = &mut p.blocks[block.index()];
        terms
            .into_iter()
            .filter(|t| map.remove(t).is_some())
            .count()
    }

    /// The terms of one block of one phy, in term order; empty for an unknown phy.
    pub fn terms(&self, phy: &str, block: Block) -> impl Iterator<Item = (MacTerm, Action)> + '_ {
        self.phys
            .get(phy)
            .into_iter()
            .flat_map(move |p| p.blocks[block.index()].iter().map(|(t, a)| (*t, *a)))
    }

    /// What `term` does in one block of one phy, if the block has it.
    pub fn action(&self, phy: &str, block: Block, term: MacTerm) -> Option<Action> {
        self.phys.get(phy)?.blocks[block.index()]
            .get(&term)
            .copied()
    }

    /// Terms over every phy and block.
    pub fn term_count(&self) -> usize {
        self.phys
            .values()
            .flat_map(|p| p.blocks.iter())
            .map(BTreeMap::len)
            .sum()
    }

    /// Forgets a phy that has no terms (taking back a change that created it); false, and
    /// nothing done, when it has terms.
    pub fn drop_empty_phy(&mut self, phy: &str) -> bool {
        let empty = self
            .phys
            .get(phy)
            .is_some_and(|p| p.blocks.iter().all(BTreeMap::is_empty));
        if empty {
            self.phys.remove(phy);
        }
        empty
    }

    /// Whether the filter has this phy (it shows in the status document, maybe empty).
    pub fn has_phy(&self, phy: &str) -> bool {
        self.phys.contains_key(phy)
    }

    /// The phys that have (or had) terms, in name order.
    pub fn phys(&self) -> impl Iterator<Item = &str> + '_ {
        self.phys.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn term(s: &str) -> MacTerm {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_round_trip_their_names() {
        for (i, b) in Block::ALL.into_iter().enumerate() {
            assert_eq!(b.index(), i);
            assert_eq!(b.as_str().parse::<Block>().unwrap(), b);
        }
        assert_eq!("ANY".parse::<Block>().unwrap(), Block::Any);
        let e = "bssid".parse::<Block>().unwrap_err().to_string();
        assert!(
            e.contains("\"bssid\"") && e.contains("source, destination, network, other, any"),
            "{e}"
        );
    }

    #[test]
    fn actions_parse_from_every_accepted_spelling() {
        for v in [
            json!(true),
            json!(1),
            json!("true"),
            json!("Reject"),
            json!("DENY"),
            json!("filter"),
            json!("block"),
        ] {
            assert_eq!(parse_action(&v), Ok(Action::Block), "{v}");
        }
        for v in [
            json!(false),
            json!(0),
            json!("FALSE"),
            json!("allow"),
            json!("Pass"),
            json!("accept"),
        ] {
            assert_eq!(parse_action(&v), Ok(Action::Pass), "{v}");
        }
    }

    #[test]
    fn actions_reject_typos_and_name_them() {
        for v in [
            json!("blokc"),
            json!(2),
            json!(1.0),
            json!(-1),
            json!(null),
            json!([true]),
            json!(" true"),
        ] {
            let e = parse_action(&v).unwrap_err();
            assert!(e.contains(&v.to_string()), "{e}");
            assert!(e.contains("reject") && e.contains("accept"), "{e}");
        }
        let long = json!("x".repeat(1000));
        assert!(parse_action(&long).unwrap_err().len() < 300);
    }

    #[test]
    fn terms_are_set_overwritten_and_removed() {
        let mut m = FilterModel::new("capture", "test");
        let a = term("aa:bb:cc:dd:ee:ff");
        let oui = term("00:11:22:33:44:55/ff:ff:ff:00:00:00");
        m.set_terms(
            PHY_80211,
            Block::Source,
            [(a, Action::Block), (oui, Action::Block)],
        );
        m.set_terms(PHY_80211, Block::Source, [(a, Action::Pass)]);
        assert_eq!(
            m.terms(PHY_80211, Block::Source).collect::<Vec<_>>(),
            [(oui, Action::Block), (a, Action::Pass)]
        );
        assert_eq!(m.term_count(), 2);
        assert_eq!(m.terms(PHY_80211, Block::Any).count(), 0);
        assert_eq!(m.terms("Bluetooth", Block::Source).count(), 0);

        let same_oui = term("00:11:22:ff:ff:ff/ff:ff:ff:00:00:00");
        assert_eq!(
            m.remove_terms(
                PHY_80211,
                Block::Source,
                [same_oui, term("01:02:03:04:05:06")]
            ),
            1
        );
        assert_eq!(m.remove_terms(PHY_80211, Block::Destination, [a]), 0);
        assert_eq!(m.remove_terms("Bluetooth", Block::Source, [a]), 0);
        assert_eq!(m.remove_terms(PHY_80211, Block::Source, [a, a]), 1);
        assert_eq!(m.term_count(), 0);
        assert_eq!(m.phys().collect::<Vec<_>>(), [PHY_80211]);
    }

    #[test]
    fn all_ones_mask_is_an_exact_term() {
        let mut m = FilterModel::new("f", "");
        m.set_terms(
            PHY_80211,
            Block::Any,
            [(term("aa:bb:cc:dd:ee:ff/ff:ff:ff:ff:ff:ff"), Action::Block)],
        );
        m.set_terms(
            PHY_80211,
            Block::Any,
            [(term("AA:BB:CC:DD:EE:FF"), Action::Pass)],
        );
        assert_eq!(m.term_count(), 1);
    }
}
