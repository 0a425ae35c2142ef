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

use crate::wire::ie::{capability, subtype, Rsn};
use crate::wire::{Frame, FrameKind, MacAddr};

use super::table::{link, role, DeltaTable, Entry, SsidKind};

const PROBE_REQUEST: u8 = subtype::PROBE_REQ;
const PROBE_RESPONSE: u8 = subtype::PROBE_RESP;
const BEACON: u8 = subtype::BEACON;
const CAP_ESS: u16 = capability::ESS;
const CAP_IBSS: u16 = capability::IBSS;

/// Roles of a data frame's transmitter and receiver by its DS bits (ToDS | FromDS << 1):
/// neither: both ad-hoc; ToDS: a client sending to its AP; FromDS: an AP sending to its client;
/// both: WDS peers.
const DS_ROLES: [[u8; 2]; 4] = [
    [role::ADHOC, role::ADHOC],
    [role::CLIENT, role::AP],
    [role::AP, role::CLIENT],
    [role::WDS, role::WDS],
];

#[inline]
fn unicast(m: Option<MacAddr>) -> Option<u64> {
    m.filter(|m| !m.is_group()).map(MacAddr::to_u64)
}

/// Applies one frame that the capture filter passed. `orig_len` is the record's length on the
/// wire (capture header included); `time` the frame's time in seconds since the epoch.
#[inline(always)]
pub fn observe(t: &mut DeltaTable, frame: &Frame<'_>, orig_len: u32, time: u32) {
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
    let (signal, freq) = frame.signal_freq();
    // Each MAC is looked up once; the rest of the rule works on its slot.
    let tx_at = t.slot(tx, time);
    if kind == FrameKind::Data {
        let fcs = if frame.has_fcs() { 4 } else { 0 };
        let on_air = (orig_len as usize).saturating_sub(frame.capture_header_len() + fcs);
        let len = on_air.max(frame.dot11().len()).min(u32::MAX as usize) as u32;
        let crypt = h.protected();
        let (to_ds, from_ds) = (h.to_ds(), h.from_ds());
        let [tx_role, rx_role] = DS_ROLES[usize::from(to_ds) | usize::from(from_ds) << 1];
        if let Some(i) = tx_at {
            let e = t.at(i);
            sent(e, signal, freq);
            e.roles |= tx_role;
            e.count_data(crypt, len);
        }
        let Some(rx) = rx else {
            return;
        };
        let rx_at = t.slot(rx, time);
        if let Some(j) = rx_at {
            let e = t.at(j);
            e.rx = e.rx.wrapping_add(1);
            e.roles |= rx_role;
            e.count_data(crypt, len);
        }
        match (to_ds, from_ds, tx_at, rx_at) {
            (true, false, Some(i), _) => t.relate_at(i, rx, link::TO_DS, time),
            (true, true, Some(i), _) => t.relate_at(i, rx, link::INTER_DS, time),
            (false, true, _, Some(j)) => t.relate_at(j, tx, link::FROM_DS, time),
            _ => {}
        }
        return;
    }
    // Management.
    if let Some(i) = tx_at {
        sent(t.at(i), signal, freq);
    }
    if let Some(rx) = rx {
        if let Some(j) = t.slot(rx, time) {
            let e = t.at(j);
            e.rx = e.rx.wrapping_add(1);
        }
    }
    let sub = h.subtype();
    if let (Some(i), true) = (tx_at, sub <= PROBE_RESPONSE || sub == BEACON) {
        management(t, i, tx, sub, h.body(), freq.unwrap_or(0), time);
    }
}

/// Counts a frame the device in `e` sent, with its signal and frequency.
#[inline]
fn sent(e: &mut Entry, signal: Option<i8>, freq: Option<u16>) {
    // The signal first: its read-modify-write must not follow the narrow store to `roles`
    // next to it (a load the store buffer cannot forward stalls the worker).
    if let Some(s) = signal {
        e.signal(s);
    }
    if let Some(f) = freq {
        e.freq_mhz = f;
    }
    e.tx = e.tx.wrapping_add(1);
}

/// Management frames with elements, sent by `tx`, the device in slot `i`: errors; beacons, probe
/// responses and probe requests: roles and SSIDs.
#[inline]
fn management(t: &mut DeltaTable, i: usize, tx: u64, sub: u8, body: &[u8], freq: u16, time: u32) {
    let m = match t.layouts.parse(tx, sub, body) {
        Ok(m) => m,
        Err(_) => {
            let e = t.at(i);
            e.errors = e.errors.wrapping_add(1);
            return;
        }
    };
    let e = t.at(i);
    if m.malformed() {
        e.errors = e.errors.wrapping_add(1);
    }
    let cap = m.capability().unwrap_or(0);
    let adhoc = cap & CAP_IBSS != 0 && cap & CAP_ESS == 0;
    let kind = match (sub, adhoc) {
        (PROBE_REQUEST, _) => {
            e.roles |= role::PROBER;
            SsidKind::ProbeRequest
        }
        (PROBE_RESPONSE | BEACON, true) => {
            e.roles |= role::ADHOC;
            if sub == BEACON {
                SsidKind::Beacon
            } else {
                SsidKind::ProbeResponse
            }
        }
        (PROBE_RESPONSE, false) => {
            e.roles |= role::AP;
            SsidKind::ProbeResponse
        }
        (BEACON, false) => {
            e.roles |= role::AP;
            SsidKind::Beacon
        }
        _ => return,
    };
    let Some(ssid) = m.ssid() else {
        return;
    };
    if kind == SsidKind::ProbeRequest && ssid.is_empty() {
        return; // a wildcard probe names no network
    }
    t.ssid_event_at(i, kind, ssid, time, |ev| {
        ev.freq_mhz = freq;
        ev.ds_channel = m.ds_channel().unwrap_or(0);
        ev.capability = cap;
        ev.beacon_interval = m.beacon_interval().unwrap_or(0);
        ev.rsn = m.rsn().and_then(|b| Rsn::parse(b).ok());
        ev.wpa = m.wpa().and_then(|b| Rsn::parse_wpa(b).ok());
    });
}
