//! Device queries: pick candidates from the narrowest index, keep those every predicate
//! accepts, order, paginate. Runs under the model's read lock and returns copies of the
//! selected records, so rendering happens after the lock is released.
//!
//! Candidates: a key or an exact MAC is one lookup; a `last_time` bound is a range of the
//! `(last_time, id)` index (cost in proportion to the devices returned, not to the store); a
//! masked MAC is a range of the MAC index; otherwise every device, in MAC order.
//!
//! Packet filter: a device is hidden when the filter blocks a frame it would send as its own
//! network, source = network = its MAC (no destination, no fourth address):
//! `table.decide(&Addresses { source: Some(mac), destination: None, network: Some(mac),
//! other: None })`. For an access point that is exactly its beacon; for a station it means
//! terms in the source, network or any block hide it, destination terms do not.

use std::cmp::Ordering;

use dataplane::wire::{Addresses, MacAddr};
use serde_json::Value;

use super::datasource::Source;
use super::device::Device;
use super::kismet;
use super::model::State;
use super::render::{self, Ctx};
use super::{DeviceQuery, View};

const MAC_MAX: u64 = 0xFFFF_FFFF_FFFF;

/// What a query selected: copies of the page's records with their channel names, the
/// datasources, and the number of matches before pagination.
pub struct Selection {
    pub devices: Vec<(Device, Box<str>)>,
    pub sources: Vec<Source>,
    pub total: usize,
    /// Candidates examined (the cost of the query).
    pub examined: usize,
}

/// A sort key: absent < numbers (numerically) < strings (lexically) < other JSON (by text).
#[derive(Debug, PartialEq, PartialOrd)]
enum Key {
    Missing,
    Num(f64),
    Str(String),
    Other(String),
}

fn key_of(v: Option<Value>) -> Key {
    match v {
        None | Some(Value::Null) => Key::Missing,
        Some(Value::Number(n)) => n.as_f64().map_or(Key::Missing, Key::Num),
        Some(Value::Bool(b)) => Key::Num(f64::from(u8::from(b))),
        Some(Value::String(s)) => Key::Str(s),
        Some(v) => Key::Other(v.to_string()),
    }
}

pub fn select(st: &State, q: &DeviceQuery, server_uuid: &str) -> Selection {
    let cx = Ctx::new(&st.sources, server_uuid);
    let key_mac = q.key.as_deref().map(kismet::parse_device_key);
    let since = q.last_time.map(|t| t.clamp(0, u32::MAX as i64 + 1));
    // A seen-by view of an unknown datasource selects nothing.
    let seen_by: Option<Option<u32>> = match q.view {
        Some(View::SeenBy(u)) => Some(st.source_ix.get(&u).copied()),
        _ => None,
    };
    let clients: Option<&[u64]> = q.clients_of.map(|ap| {
        st.by_mac
            .get(&ap)
            .and_then(|&id| st.devices[id as usize].dot11())
            .map_or(&[][..], |x| &x.clients[..])
    });

    // Candidates, and whether they come in MAC order.
    let (cands, mac_ordered): (Box<dyn Iterator<Item = u32> + '_>, bool) = match (key_mac, q.mac) {
        _ if matches!(seen_by, Some(None)) => (Box::new(std::iter::empty()), true),
        _ if clients.is_some() => (
            Box::new(
                clients
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|m| st.by_mac.get(m).copied()),
            ),
            true,
        ),
        (Some(None), _) => (Box::new(std::iter::empty()), true),
        (Some(Some(mac)), _) => (Box::new(st.by_mac.get(&mac).copied().into_iter()), true),
        (None, Some(t)) if t.is_exact() => (
            Box::new(st.by_mac.get(&t.value().to_u64()).copied().into_iter()),
            true,
        ),
        (None, _) if since.is_some() => {
            let t = since.unwrap_or(0);
            if t > u32::MAX as i64 {
                (Box::new(std::iter::empty()), true)
            } else {
                (
                    Box::new(st.by_time.range((t as u32, 0)..).map(|&(_, id)| id)),
                    false,
                )
            }
        }
        (None, Some(t)) => {
            let lo = t.value().to_u64();
            let hi = lo | (!t.mask().to_u64() & MAC_MAX);
            (Box::new(st.by_mac.range(lo..=hi).map(|(_, &id)| id)), true)
        }
        (None, None) => (Box::new(st.by_mac.values().copied()), true),
    };

    let keep = |d: &Device| -> bool {
        match (q.view, seen_by) {
            (Some(View::AccessPoints), _) if !d.is_ap() => return false,
            (_, Some(Some(src))) if !d.seen.iter().any(|s| s.source == src) => return false,
            _ => {}
        }
        if let Some(Some(mac)) = key_mac {
            if d.mac != mac {
                return false;
            }
        }
        if let Some(t) = q.mac {
            if !t.matches(MacAddr::from_u64(d.mac)) {
                return false;
            }
        }
        if let Some(t) = since {
            if (d.last as i64) < t {
                return false;
            }
        }
        if let Some(f) = &q.filter {
            let mac = Some(MacAddr::from_u64(d.mac));
            let a = Addresses {
                source: mac,
                destination: None,
                network: mac,
                other: None,
            };
            if f.decide(&a).is_block() {
                return false;
            }
        }
        if !q.regex.is_empty() {
            let ch = st.channels.name(d.channel);
            return q.regex.iter().any(|(path, re)| {
                matches!(render::lookup(d, ch, &cx, path), Some(Value::String(s)) if re.is_match(&s))
            });
        }
        true
    };
    let mut examined = 0usize;
    let mut ids: Vec<u32> = cands
        .inspect(|_| examined += 1)
        .filter(|&id| keep(&st.devices[id as usize]))
        .collect();

    let mac_of = |id: &u32| st.devices[*id as usize].mac;
    match &q.sort {
        Some(sort) => {
            let mut keyed: Vec<(Key, u64, u32)> = ids
                .iter()
                .map(|&id| {
                    let d = &st.devices[id as usize];
                    let v = render::lookup(d, st.channels.name(d.channel), &cx, &sort.path);
                    (key_of(v), d.mac, id)
                })
                .collect();
            keyed.sort_by(|a, b| {
                let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
                let o = if sort.descending { o.reverse() } else { o };
                o.then(a.1.cmp(&b.1))
            });
            ids = keyed.into_iter().map(|k| k.2).collect();
        }
        None if !mac_ordered => ids.sort_unstable_by_key(mac_of),
        None => {}
    }

    let total = ids.len();
    let skip = q.page.saturating_mul(q.length);
    let take = if q.length == 0 { usize::MAX } else { q.length };
    let devices = ids
        .iter()
        .skip(skip)
        .take(take)
        .map(|&id| {
            let d = &st.devices[id as usize];
            (d.clone(), st.channels.name(d.channel).into())
        })
        .collect();
    Selection {
        devices,
        sources: st.sources.clone(),
        total,
        examined,
    }
}
