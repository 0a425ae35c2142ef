//! Scanning-mode reports (API.md section 3): phones and ESP32 boards that cannot capture post
//! what they scanned; airsift keeps a virtual datasource per reporting device and an
//! access-point record per BSSID, durable before the reply, queryable like Kismet's.
//!
//! Interface shared by the ingestion core (this module's files) and the REST endpoints
//! (`api::scan`, `api::devices`). Bodies marked `todo!()` are being written.

use std::sync::Arc;

use dataplane::filter::FilterTable;
use dataplane::wire::MacTerm;
use regex::Regex;
use serde_json::{Map, Value};

use crate::store::{Store, StoreError};

/// A report the validation rejected, by its index in `reports`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

/// What an accepted request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestReply {
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
}

/// Why a whole request was refused.
#[derive(Debug)]
pub enum IngestError {
    /// A bad top level: 400 with this message, nothing stored.
    BadRequest(String),
    /// The store failed: 500, nothing acknowledged.
    Store(StoreError),
}

/// Which device view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `all`
    All,
    /// `phydot11_accesspoints`
    AccessPoints,
}

/// How to order device lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    /// A field path (`kismet.device.base.last_time`), as `fields` paths.
    pub path: String,
    pub descending: bool,
}

/// A device query; every present part must hold.
#[derive(Clone, Debug, Default)]
pub struct DeviceQuery {
    pub view: Option<View>,
    /// Only devices seen at or after this absolute time (seconds since the epoch).
    pub last_time: Option<i64>,
    /// Only devices whose MAC falls under this term.
    pub mac: Option<MacTerm>,
    /// Only the device with this key (`kismet.device.base.key`).
    pub key: Option<String>,
    /// Any pair matching (field path, pattern) keeps the device; empty: no regex filter.
    pub regex: Vec<(String, Regex)>,
    /// Hide devices this packet filter blocks (decided on the device's MAC as source,
    /// destination... see `ScanService::query`).
    pub filter: Option<Arc<FilterTable>>,
    pub sort: Option<Sort>,
    /// Pagination: skip `page * length`, return at most `length` (0: all).
    pub page: usize,
    pub length: usize,
}

/// A page of devices and the total before pagination.
#[derive(Clone, Debug)]
pub struct DevicePage {
    pub devices: Vec<Value>,
    pub total: usize,
}

/// The scan-report service.
pub struct ScanService {
    _store: Arc<Store>,
}

impl ScanService {
    /// Opens over the store (creating its tables) and recovers every stored report.
    pub fn open(store: Arc<Store>) -> Result<ScanService, StoreError> {
        let _ = store;
        todo!()
    }

    /// Validates and stores one request's dictionary; returns once every accepted report is
    /// durable. `now` is the time used for reports without a timestamp.
    pub fn ingest(&self, dict: &Map<String, Value>, now: i64) -> Result<IngestReply, IngestError> {
        let _ = (dict, now);
        todo!()
    }

    /// Every virtual datasource, as Kismet's `kismet.datasource.*` records.
    pub fn datasources(&self) -> Vec<Value> {
        todo!()
    }

    /// One datasource by UUID (case-insensitive).
    pub fn datasource(&self, uuid: &str) -> Option<Value> {
        let _ = uuid;
        todo!()
    }

    /// Devices matching `q`, rendered with Kismet's field names.
    pub fn query(&self, q: &DeviceQuery) -> DevicePage {
        let _ = q;
        todo!()
    }

    /// Number of devices stored.
    pub fn device_count(&self) -> usize {
        todo!()
    }
}
