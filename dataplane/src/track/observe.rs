//! What one passed frame tells about the devices in it: the pure rule, applied to a
//! [`DeltaTable`]. No allocation, no lock, no clock: the caller gives the time.
//!
//! The rule (README "Devices from frames" states it for users):
//! - frames with a bad FCS, control and extension frames tell nothing;
//! - the transmitter (A2) counts a frame sent, the receiver (A1, when unicast and not the
//!   transmitter) a frame received; data frames also count as data (and as encrypted when
//!   protected) and add their length on the air (802.11 header to payload end, FCS excluded,
//!   whatever a snapshot length cut) to both;
//! - signal and frequency are the transmitter's;
//! - beacons and probe responses make their transmitter an AP (an IBSS beacon: ad-hoc) and
//!   carry an advertised SSID, probe requests a probed SSID; the elements of every management
//!   frame that has them (association, reassociation, probes, beacons) are walked, and a
//!   malformed element or a fixed part cut short counts an error for the transmitter;
//! - data frames relate stations to APs by their DS bits: ToDS A2 → AP A1, FromDS A1 ← AP A2,
//!   both bits: a WDS link between A2 and A1, neither: both ad-hoc.

use crate::wire::ie::{capability, subtype, Mgmt, Rsn};
use crate::wire::{Frame, FrameKind, LayoutMemo, MacAddr};

use super::table::{link, role, DeltaTable, SsidKind};

const PROBE_REQUEST: u8 = subtype::PROBE_REQ;
const PROBE_RESPONSE: u8 = subtype::PROBE_RESP;
const BEACON: u8 = subtype::BEACON;
const CAP_ESS: u16 = capability::ESS;
const CAP_IBSS: u16 = capability::IBSS;

fn unicast(m: Option<MacAddr>) -> Option<u64> {
    m.filter(|m| !m.is_group()).map(MacAddr::to_u64)
}

/// Applies one frame that the capture filter passed. `memo` is the one the frame was parsed
/// with; `orig_len` the record's length on the wire (capture header included); `time` the
/// frame's time in seconds since the epoch.
#[inline]
pub fn observe(t: &mut DeltaTable, frame: &Frame<'_>, memo: &LayoutMemo, orig_len: u32, time: u32) {
    if frame.bad_fcs() {
        return;
    }
    let h = frame.header();
    let kind = h.kind();
    if !matches!(kind, FrameKind::Management | FrameKind::Data) {
        return;
    }
    let Some(tx) = h.address(2).map(MacAddr::to_u64) else {
        return;
    };
    let rx = unicast(h.address(1)).filter(|&r| r != tx);
    let fcs = if frame.has_fcs() { 4 } else { 0 };
    let on_air = (orig_len as usize).saturating_sub(frame.capture_header().len() + fcs);
    let len = on_air.max(frame.dot11().len()).min(u32::MAX as usize) as u32;
    let (signal, freq) = frame.signal_freq(memo);
    let data = kind == FrameKind::Data;
    let crypt = data && h.protected();
    let (to_ds, from_ds) = (h.to_ds(), h.from_ds());
    // Roles of the two ends from a data frame's DS bits.
    let (tx_role, rx_role) = match (data, to_ds, from_ds) {
        (false, ..) => (0, 0),
        (true, true, false) => (role::CLIENT, role::AP),
        (true, false, true) => (role::AP, role::CLIENT),
        (true, true, true) => (role::WDS, role::WDS),
        (true, false, false) => (role::ADHOC, role::ADHOC),
    };
    if let Some(e) = t.entry(tx, time) {
        // The signal first: its read-modify-write must not follow the narrow store to
        // `roles` next to it (a load the store buffer cannot forward stalls the worker).
        if let Some(s) = signal {
            e.signal(s);
        }
        if let Some(f) = freq {
            e.freq_mhz = f;
        }
        e.tx = e.tx.saturating_add(1);
        e.roles |= tx_role;
        if data {
            e.count_data(crypt, len);
        }
    }
    if let Some(rx) = rx {
        if let Some(e) = t.entry(rx, time) {
            e.rx = e.rx.saturating_add(1);
            e.roles |= rx_role;
            if data {
                e.count_data(crypt, len);
            }
        }
    }
    if data {
        match (to_ds, from_ds, rx) {
            (true, false, Some(ap)) => t.relate(tx, ap, link::TO_DS, time),
            (true, true, Some(peer)) => t.relate(tx, peer, link::INTER_DS, time),
            (false, true, Some(sta)) => t.relate(sta, tx, link::FROM_DS, time),
            _ => {}
        }
    }
    if kind == FrameKind::Management {
        let sub = h.subtype();
        if sub <= PROBE_RESPONSE || sub == BEACON {
            management(t, tx, sub, h.body(), freq.unwrap_or(0), time);
        }
    }
}

/// Management frames with elements: errors; beacons, probe responses and probe requests:
/// roles and SSIDs.
#[inline]
fn management(t: &mut DeltaTable, tx: u64, sub: u8, body: &[u8], freq: u16, time: u32) {
    // The transmitter's entry exists unless the table was full (then it is counted).
    let m = match Mgmt::parse(sub, body) {
        Ok(m) => m,
        Err(_) => {
            if let Some(e) = t.get_mut(tx) {
                e.errors = e.errors.saturating_add(1);
            }
            return;
        }
    };
    let cap = m.capability().unwrap_or(0);
    let adhoc = cap & CAP_IBSS != 0 && cap & CAP_ESS == 0;
    if let Some(e) = t.get_mut(tx) {
        if m.malformed() {
            e.errors = e.errors.saturating_add(1);
        }
        e.roles |= match (sub, adhoc) {
            (PROBE_REQUEST, _) => role::PROBER,
            (PROBE_RESPONSE | BEACON, true) => role::ADHOC,
            (PROBE_RESPONSE | BEACON, false) => role::AP,
            _ => 0,
        };
    }
    if !matches!(sub, PROBE_REQUEST | PROBE_RESPONSE | BEACON) {
        return;
    }
    let Some(ssid) = m.ssid() else {
        return;
    };
    let kind = match sub {
        PROBE_REQUEST if ssid.is_empty() => return, // a wildcard probe names no network
        PROBE_REQUEST => SsidKind::ProbeRequest,
        PROBE_RESPONSE => SsidKind::ProbeResponse,
        _ => SsidKind::Beacon,
    };
    t.ssid_event(tx, kind, ssid, time, |ev| {
        ev.freq_mhz = freq;
        ev.ds_channel = m.ds_channel().unwrap_or(0);
        ev.capability = cap;
        ev.beacon_interval = m.beacon_interval().unwrap_or(0);
        ev.rsn = m.rsn().and_then(|b| Rsn::parse(b).ok());
        ev.wpa = m.wpa().and_then(|b| Rsn::parse_wpa(b).ok());
    });
}
