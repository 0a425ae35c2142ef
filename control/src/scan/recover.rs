//! Rebuilding the model at start: the checkpointed datasource and device records, then every
//! journal row after them, in sequence order, through the same `State::apply` the writer uses.

use rusqlite::Transaction;

use super::codec;
use super::model::State;
use crate::store::{Store, StoreError};

/// What recovery found.
pub struct Recovered {
    pub state: State,
    /// The next journal sequence number.
    pub next_seq: u64,
    /// Journal rows and reports replayed (not yet covered by a checkpoint).
    pub rows: u64,
    pub reports: u64,
}

fn damaged(table: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(format!(
        "{table} row {key}: {e}; the scan data in the state database is damaged (move the \
         database aside to start empty, or restore a backup)"
    ))
}

pub fn load(store: &Store) -> Result<Recovered, StoreError> {
    store.transaction(load_in)
}

fn load_in(tx: &Transaction<'_>) -> Result<Recovered, StoreError> {
    let mut st = State::default();

    let mut sources = Vec::new();
    {
        let mut q = tx.prepare("SELECT uuid, rec FROM scan_sources")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let uuid: Vec<u8> = r.get(0)?;
            let rec: Vec<u8> = r.get(1)?;
            let s = codec::decode_source(&rec)
                .map_err(|e| damaged("scan_sources", &format!("{uuid:02X?}"), e))?;
            sources.push(s);
        }
    }
    sources.sort_by_key(|s| s.number);
    for s in sources {
        st.load_source(s)
            .map_err(|e| damaged("scan_sources", "order", e))?;
    }

    {
        let mut q = tx.prepare("SELECT mac, rec FROM scan_devices ORDER BY mac")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let mac: i64 = r.get(0)?;
            let rec: Vec<u8> = r.get(1)?;
            let key = format!("{mac:012X}");
            let dec = codec::decode_device(mac as u64, &rec)
                .map_err(|e| damaged("scan_devices", &key, e))?;
            let mut d = dec.device;
            d.channel = st.channels.intern(&dec.channel);
            // Datasource number n is index n - 1. A record written by an unfinished
            // checkpoint may name a datasource whose own record was not written yet: the
            // journal (not trimmed) recreates it below with the same number; checked after.
            for s in d.seen.iter_mut() {
                if s.source == 0 {
                    return Err(damaged("scan_devices", &key, "datasource number 0"));
                }
                s.source -= 1;
            }
            st.load_device(d);
        }
    }

    let (mut rows_n, mut reports) = (0u64, 0u64);
    let mut last = st.seq;
    {
        let mut q = tx.prepare("SELECT seq, batch FROM scan_journal ORDER BY seq")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let blob: Vec<u8> = r.get(1)?;
            let b = codec::decode_batch(&blob)
                .map_err(|e| damaged("scan_journal", &seq.to_string(), e))?;
            let seq = seq as u64;
            st.apply(seq, &b, true);
            last = last.max(seq);
            rows_n += 1;
            reports += b.reports.len() as u64;
        }
    }
    let n = st.sources.len() as u32;
    if let Some(d) = st
        .devices
        .iter()
        .find(|d| d.seen.iter().any(|s| s.source >= n))
    {
        return Err(damaged(
            "scan_devices",
            &format!("{:012X}", d.mac),
            "unknown datasource",
        ));
    }
    st.rebuild_once();
    Ok(Recovered {
        state: st,
        next_seq: last + 1,
        rows: rows_n,
        reports,
    })
}
