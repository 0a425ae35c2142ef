//! The scan report endpoint (API.md section 3), and the helpers the datasource and device
//! endpoints share: the clock and the blocking pool. Validation and storage are
//! [`ScanService`]'s; this module maps its answers to replies and counts them for `/metrics`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::reply;
use super::AppState;
use crate::scan::{IngestError, ScanService};

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs blocking service work (SQLite writes, scans of many devices) on the blocking pool,
/// so the HTTP thread keeps serving and concurrent reports can share a commit.
pub async fn blocking<T: Send + 'static>(
    scan: &Arc<ScanService>,
    f: impl FnOnce(&ScanService) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let scan = scan.clone();
    web::block(move || f(&scan))
        .await
        .map_err(|e| ApiError::internal(format!("the scan service failed: {e}")))
}

/// `POST /phy/phy80211/scan/scan_report.cmd`: every valid report is durable before the 200;
/// invalid reports are listed by index. A bad top level is a 400 and stores nothing.
pub async fn report(state: &AppState, dict: Map<String, Value>) -> Result<HttpResponse, ApiError> {
    if dict.is_empty() {
        return Err(ApiError::bad_request(
            "empty command dictionary: a scan report needs source_uuid, source_name and reports",
        ));
    }
    let now = now();
    let r = blocking(&state.scan, move |s| s.ingest(&dict, now))
        .await?
        .map_err(|e| match e {
            IngestError::BadRequest(m) => ApiError::bad_request(m),
            IngestError::Store(e) => ApiError::internal(format!("scan report not stored: {e}")),
        })?;
    let m = &state.metrics;
    m.scan_requests.fetch_add(1, Ordering::Relaxed);
    m.scan_reports_accepted
        .fetch_add(r.accepted as u64, Ordering::Relaxed);
    m.scan_reports_rejected
        .fetch_add(r.rejected.len() as u64, Ordering::Relaxed);
    let status = if r.rejected.is_empty() {
        format!("scan report accepted: {} report(s) stored", r.accepted)
    } else {
        format!(
            "scan report accepted: {} report(s) stored, {} rejected",
            r.accepted,
            r.rejected.len()
        )
    };
    let mut extra = Map::new();
    extra.insert("accepted".into(), r.accepted.into());
    extra.insert(
        "rejected".into(),
        serde_json::to_value(&r.rejected).unwrap_or_else(|_| Value::Array(Vec::new())),
    );
    Ok(reply::command_ok(status, extra))
}
