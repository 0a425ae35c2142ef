//! The filter's status document (API.md section 2, Kismet's shape) in both directions.
//!
//! The same document is what a client reads and what the store persists, so reading accepts
//! everything writing produces (an exact round trip), plus Kismet's own spellings: its empty
//! document with type `mac_addr`, and term values as bools or the string words. Errors name the
//! key path and the value, because they go back to the client as a 400.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use super::model::{describe, parse_action, Action, Block, FilterModel};
use crate::wire::MacTerm;

const ID: &str = "kismet.packetfilter.id";
const DESCRIPTION: &str = "kismet.packetfilter.description";
const TYPE: &str = "kismet.packetfilter.type";
const DEFAULT: &str = "kismet.packetfilter.default";
const BLOCKS_BY_PHY: &str = "kismet.packetfilter.macaddr.blocks_by_phy";
const BLOCK_PREFIX: &str = "kismet.packetfilter.macaddr.";
/// The status document's generation key (a fleet shares documents without it).
pub const GENERATION: &str = "airsift.packetfilter.generation";

/// The type airsift writes; Kismet writes `mac_addr`, which is read as the same thing.
const TYPE_NAME: &str = "mac_filter";
const KISMET_TYPE_NAME: &str = "mac_addr";

/// Kismet encodes actions as numbers in its documents.
fn action_number(a: Action) -> Value {
    Value::from(u8::from(a.is_block()))
}

fn block_key(b: Block) -> String {
    format!("{BLOCK_PREFIX}{}", b.as_str())
}

/// A status document that does not describe a filter: where, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocError {
    path: String,
    message: String,
}

impl DocError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> DocError {
        DocError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The `/`-separated key path of the bad value; empty for the document itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DocError {}

fn expect_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, DocError> {
    v.as_object()
        .ok_or_else(|| DocError::new(path, format!("expected a JSON object, got {}", describe(v))))
}

fn optional_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, DocError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(DocError::new(
            key,
            format!("expected a string, got {}", describe(v)),
        )),
    }
}

impl FilterModel {
    /// The status document, with the generation the workers apply. Every phy shows all five
    /// blocks, even empty ones, as Kismet does.
    pub fn to_status_doc(&self, generation: u64) -> Value {
        self.document(Some(generation))
    }

    /// The status document with every block empty and no generation: what the store keeps
    /// beside one row per term (and the generation in a column of its own), so that a change
    /// to one term does not rewrite the whole filter. Reading it back gives the filter's id,
    /// description, default and phys.
    pub fn to_header_doc(&self) -> Value {
        self.document(None)
    }

    /// The status document, or with `None` the header document.
    fn document(&self, generation: Option<u64>) -> Value {
        let with_terms = generation.is_some();
        let phys: Map<String, Value> = self
            .phys()
            .map(|phy| {
                let blocks: Map<String, Value> = Block::ALL
                    .into_iter()
                    .map(|b| {
                        let terms: Map<String, Value> = self
                            .terms(phy, b)
                            .take(if with_terms { usize::MAX } else { 0 })
                            .map(|(t, a)| (t.to_string(), action_number(a)))
                            .collect();
                        (block_key(b), Value::Object(terms))
                    })
                    .collect();
                (phy.to_string(), Value::Object(blocks))
            })
            .collect();
        let mut doc = Map::new();
        doc.insert(ID.into(), Value::from(self.id.as_str()));
        doc.insert(DESCRIPTION.into(), Value::from(self.description.as_str()));
        doc.insert(TYPE.into(), Value::from(TYPE_NAME));
        doc.insert(DEFAULT.into(), action_number(self.default));
        doc.insert(BLOCKS_BY_PHY.into(), Value::Object(phys));
        if let Some(generation) = generation {
            doc.insert(GENERATION.into(), Value::from(generation));
        }
        Value::Object(doc)
    }

    /// Reads a status document. A missing id is an error (a filter is known by it); a missing
    /// description is empty, a missing default passes, missing blocks are empty. The generation
    /// is ignored: it belongs to the handle that publishes the table, not to the model.
    pub fn from_status_doc(v: &Value) -> Result<FilterModel, DocError> {
        let doc = v.as_object().ok_or_else(|| {
            DocError::new(
                "",
                format!(
                    "a filter status document must be a JSON object, got {}",
                    describe(v)
                ),
            )
        })?;
        let id = optional_string(doc, ID)?
            .ok_or_else(|| DocError::new(ID, "missing: every filter needs an id"))?;
        let description = optional_string(doc, DESCRIPTION)?.unwrap_or_default();
        match optional_string(doc, TYPE)? {
            None | Some(TYPE_NAME | KISMET_TYPE_NAME) => {}
            Some(other) => {
                return Err(DocError::new(
                    TYPE,
                    format!(
                        "unsupported filter type {other:?}: \
                         expected {TYPE_NAME:?} (or Kismet's {KISMET_TYPE_NAME:?})"
                    ),
                ))
            }
        }
        let mut model = FilterModel::new(id, description);
        if let Some(d) = doc.get(DEFAULT) {
            model.default = parse_action(d).map_err(|m| DocError::new(DEFAULT, m))?;
        }
        if let Some(phys) = doc.get(BLOCKS_BY_PHY) {
            for (phy, blocks) in expect_object(phys, BLOCKS_BY_PHY)? {
                read_phy(&mut model, phy, blocks, &format!("{BLOCKS_BY_PHY}/{phy}"))?;
            }
        }
        Ok(model)
    }
}

/// Reads one phy's block objects into `model`. Unknown block keys are all named at once, so a
/// client fixes them in one go.
fn read_phy(
    model: &mut FilterModel,
    phy: &str,
    blocks: &Value,
    path: &str,
) -> Result<(), DocError> {
    let blocks = expect_object(blocks, path)?;
    let unknown: Vec<String> = blocks
        .keys()
        .filter(|k| !Block::ALL.into_iter().any(|b| block_key(b) == **k))
        .map(|k| format!("{k:?}"))
        .collect();
    if !unknown.is_empty() {
        let expected: Vec<String> = Block::ALL.into_iter().map(block_key).collect();
        return Err(DocError::new(
            path,
            format!(
                "unknown block key{} {}: expected {}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", "),
                expected.join(", ")
            ),
        ));
    }
    for block in Block::ALL {
        let key = block_key(block);
        // A missing block is empty; the phy is still created, so it shows when written back.
        let terms = match blocks.get(&key) {
            Some(terms) => read_terms(terms, &format!("{path}/{key}"))?,
            None => Vec::new(),
        };
        model.set_terms(phy, block, terms);
    }
    Ok(())
}

/// Reads one block's `{"TERM": action}` object. Two keys that are the same term once
/// normalised (case, host bits) are an error: which one wins would depend on key order.
fn read_terms(terms: &Value, path: &str) -> Result<Vec<(MacTerm, Action)>, DocError> {
    let mut seen = BTreeSet::new();
    expect_object(terms, path)?
        .iter()
        .map(|(key, value)| {
            let term: MacTerm = key
                .parse()
                .map_err(|e| DocError::new(path, format!("invalid MAC term {key:?}: {e}")))?;
            if !seen.insert(term) {
                return Err(DocError::new(
                    path,
                    format!("term {key:?} repeats {term}, which another key already sets"),
                ));
            }
            let action =
                parse_action(value).map_err(|m| DocError::new(format!("{path}/{key}"), m))?;
            Ok((term, action))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::PHY_80211;
    use serde_json::json;

    fn sample() -> FilterModel {
        let mut m = FilterModel::new("capture", "Frames delivered to the capture sinks");
        m.set_terms(
            PHY_80211,
            Block::Source,
            [("AA:BB:CC:DD:EE:FF".parse().unwrap(), Action::Block)],
        );
        m.set_terms(
            PHY_80211,
            Block::Any,
            [(
                "00:11:22:33:44:55/FF:FF:FF:00:00:00".parse().unwrap(),
                Action::Pass,
            )],
        );
        m
    }

    #[test]
    fn writes_the_documented_shape() {
        let doc = sample().to_status_doc(7);
        let expected = json!({
            "kismet.packetfilter.id": "capture",
            "kismet.packetfilter.description": "Frames delivered to the capture sinks",
            "kismet.packetfilter.type": "mac_filter",
            "kismet.packetfilter.default": 0,
            "kismet.packetfilter.macaddr.blocks_by_phy": {
                "IEEE802.11": {
                    "kismet.packetfilter.macaddr.source": {"AA:BB:CC:DD:EE:FF": 1},
                    "kismet.packetfilter.macaddr.destination": {},
                    "kismet.packetfilter.macaddr.network": {},
                    "kismet.packetfilter.macaddr.other": {},
                    "kismet.packetfilter.macaddr.any": {"00:11:22:00:00:00/FF:FF:FF:00:00:00": 0}}},
            "airsift.packetfilter.generation": 7
        });
        assert_eq!(doc, expected);
    }

    #[test]
    fn round_trips_exactly() {
        let mut m = sample();
        m.set_default(Action::Block);
        m.set_terms("Bluetooth", Block::Other, []);
        let text = serde_json::to_string(&m.to_status_doc(3)).unwrap();
        let back = FilterModel::from_status_doc(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_status_doc(3), m.to_status_doc(3));
    }

    #[test]
    fn reads_kismets_empty_document() {
        let doc = json!({
            "kismet.packetfilter.id": "kismetdb_packets",
            "kismet.packetfilter.description": "Kismetdb packet MAC filtering",
            "kismet.packetfilter.type": "mac_addr",
            "kismet.packetfilter.default": 0,
            "kismet.packetfilter.macaddr.blocks_by_phy": {}
        });
        let m = FilterModel::from_status_doc(&doc).unwrap();
        assert_eq!(
            m,
            FilterModel::new("kismetdb_packets", "Kismetdb packet MAC filtering")
        );
    }

    #[test]
    fn fills_missing_optional_keys() {
        let m = FilterModel::from_status_doc(&json!({"kismet.packetfilter.id": "f"})).unwrap();
        assert_eq!(m, FilterModel::new("f", ""));
        let e =
            FilterModel::from_status_doc(&json!({"kismet.packetfilter.default": 1})).unwrap_err();
        assert_eq!(e.path(), "kismet.packetfilter.id");
        let e = FilterModel::from_status_doc(&json!([1])).unwrap_err();
        assert!(e.to_string().contains("JSON object, got [1]"), "{e}");
    }

    #[test]
    fn accepts_bools_and_words_as_term_values() {
        let doc = json!({
            "kismet.packetfilter.id": "f",
            "kismet.packetfilter.default": "Reject",
            "kismet.packetfilter.macaddr.blocks_by_phy": {"IEEE802.11": {
                "kismet.packetfilter.macaddr.network": {
                    "aa:bb:cc:dd:ee:01": true, "aa:bb:cc:dd:ee:02": "allow", "aa:bb:cc:dd:ee:03": "DENY"}}}
        });
        let m = FilterModel::from_status_doc(&doc).unwrap();
        assert_eq!(m.default, Action::Block);
        let actions: Vec<_> = m.terms(PHY_80211, Block::Network).map(|(_, a)| a).collect();
        assert_eq!(actions, [Action::Block, Action::Pass, Action::Block]);
    }

    fn with_blocks(blocks: Value) -> Value {
        json!({"kismet.packetfilter.id": "f",
               "kismet.packetfilter.macaddr.blocks_by_phy": {"IEEE802.11": blocks}})
    }

    #[test]
    fn errors_name_the_key_path_and_value() {
        let e = FilterModel::from_status_doc(&with_blocks(json!({
            "kismet.packetfilter.macaddr.source": {"zz": 1}})))
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "kismet.packetfilter.macaddr.blocks_by_phy/IEEE802.11/kismet.packetfilter.macaddr.source: invalid MAC term \"zz\": "
            ),
            "{e}"
        );

        let e = FilterModel::from_status_doc(&with_blocks(json!({
            "kismet.packetfilter.macaddr.any": {"AA:BB:CC:DD:EE:FF": "maybe"}})))
        .unwrap_err();
        assert_eq!(
            e.path(),
            "kismet.packetfilter.macaddr.blocks_by_phy/IEEE802.11/kismet.packetfilter.macaddr.any/AA:BB:CC:DD:EE:FF"
        );
        assert!(e.message().contains("\"maybe\""), "{e}");

        let e = FilterModel::from_status_doc(&with_blocks(json!({
            "kismet.packetfilter.macaddr.bssid": {}, "source": {}})))
        .unwrap_err();
        assert_eq!(
            e.path(),
            "kismet.packetfilter.macaddr.blocks_by_phy/IEEE802.11"
        );
        assert!(
            e.message()
                .contains("\"kismet.packetfilter.macaddr.bssid\", \"source\""),
            "{e}"
        );
        assert!(
            e.message()
                .contains("kismet.packetfilter.macaddr.destination"),
            "{e}"
        );

        let e = FilterModel::from_status_doc(&with_blocks(json!({
            "kismet.packetfilter.macaddr.other": {"AA:BB:CC:00:00:01/FF:FF:FF:00:00:00": 1,
                                                  "aa:bb:cc:00:00:02/ff:ff:ff:00:00:00": 0}})))
        .unwrap_err();
        assert!(
            e.message().contains("AA:BB:CC:00:00:00/FF:FF:FF:00:00:00"),
            "{e}"
        );

        let e = FilterModel::from_status_doc(&json!({"kismet.packetfilter.id": "f",
            "kismet.packetfilter.type": "ssid"}))
        .unwrap_err();
        assert_eq!(e.path(), "kismet.packetfilter.type");
        let e = FilterModel::from_status_doc(&json!({"kismet.packetfilter.id": 3})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kismet.packetfilter.id: expected a string, got 3"
        );
        let e = FilterModel::from_status_doc(&with_blocks(json!([]))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kismet.packetfilter.macaddr.blocks_by_phy/IEEE802.11: expected a JSON object, got []"
        );
    }
}
