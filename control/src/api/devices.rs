//! Device endpoints (API.md section 3): the views, last-time, by-mac, multimac and by-key,
//! with Kismet's command dictionary keys. Every key is checked here, before the query runs;
//! the query itself is [`ScanService::query`]'s.
//!
//! Dictionary keys:
//! - `fields`: field simplification (api/fields.rs), every endpoint.
//! - `last_time`: an integer; seconds since the epoch, or seconds before now when negative.
//!   With a `{ts}` in the URL too, a device must satisfy both (the later time wins).
//! - `regex`: an array of `[field path, pattern]` pairs; a device is kept when any pair
//!   matches. Patterns are compiled by the `regex` crate (linear time, no backtracking), with a
//!   size limit, so a hostile pattern cannot stall the server. An invalid one is a 400.
//! - `sort`: a field path (ascending) or `[path, "asc" | "desc"]`.
//! - Views only: `page` and `length` (page `page` of `length` devices, counted from 0; a
//!   missing or 0 `length` means all), or Kismet's datatable window `start` and `length`;
//!   `datatable: true` or a `draw` number asks for Kismet's datatable object
//!   `{"draw", "recordsTotal", "recordsFiltered", "data"}` instead of an array.
//!   Every view reply carries the number of matching devices before pagination in the header
//!   `X-Airsift-Total`.
//!
//! Unknown keys are a 400 naming them. The query variable `filter=ID` applies that packet filter
//! to the devices' MACs and leaves out the ones it blocks (an unknown id is a 404).
//!
//! Lists are rendered and written `CHUNK` devices at a time: a list that fits in one chunk is
//! one body; a longer one is streamed (chunked transfer), so even the whole of a million-device
//! store never sits in memory as JSON values at once.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use dataplane::filter::FilterTable;
use dataplane::wire::MacTerm;
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::fields;
use super::reply::{self, ListWriter};
use super::request::only_keys;
use super::request::{kind, Ext};
use super::routes::{KEY_KEYS, LIST_KEYS, MULTIMAC_KEYS, VIEW_KEYS};
use super::scan::{blocking, now};
use super::AppState;
use crate::scan::{DeviceQuery, ScanService, Sort, View};

/// Most `[path, pattern]` pairs one request may give.
pub const MAX_REGEX_PAIRS: usize = 32;
/// Longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;
/// Compiled size limit of one pattern (the `regex` crate refuses larger programs).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Devices rendered per step of a list: bounds a reply's memory, whatever it lists.
pub const CHUNK: usize = 2000;
/// Most MAC terms one multimac request may give.
pub const MAX_MULTIMAC_TERMS: usize = 256;

/// The header with the number of matching devices before pagination.
const TOTAL_HEADER: &str = "x-airsift-total";

fn int(dict: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{key} must be an integer, not {n}"))),
        Some(other) => Err(ApiError::bad_request(format!(
            "{key} must be an integer, not {}",
            kind(other)
        ))),
    }
}

fn uint(dict: &Map<String, Value>, key: &str) -> Result<Option<usize>, ApiError> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!("{key} must be a non-negative integer, not {n}"))
            }),
        Some(other) => Err(ApiError::bad_request(format!(
            "{key} must be a non-negative integer, not {}",
            kind(other)
        ))),
    }
}

/// An absolute time from a Kismet timestamp: negative means seconds before `now`.
fn absolute(t: i64, now: i64) -> i64 {
    if t < 0 {
        now.saturating_add(t)
    } else {
        t
    }
}

/// The `{ts}` of a last-time URL: an integer.
fn url_time(ts: &str, now: i64) -> Result<i64, ApiError> {
    ts.parse::<i64>()
        .map(|t| absolute(t, now))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "timestamp {ts:?} is not an integer (seconds since the epoch, or negative: seconds before now)"
            ))
        })
}

/// A field path as `fields` takes it: parts separated by `/`, none empty.
fn field_path(p: &str, what: &str) -> Result<String, ApiError> {
    if p.is_empty() || p.split('/').any(str::is_empty) {
        return Err(ApiError::bad_request(format!(
            "{what}: {p:?} is not a field path (parts separated by /, none empty)"
        )));
    }
    Ok(p.to_string())
}

/// `regex`: `[[field path, pattern], ...]`.
pub fn parse_regex(v: &Value) -> Result<Vec<(String, Regex)>, ApiError> {
    let Value::Array(items) = v else {
        return Err(ApiError::bad_request(format!(
            "regex must be an array of [field path, pattern] pairs, not {}",
            kind(v)
        )));
    };
    if items.len() > MAX_REGEX_PAIRS {
        return Err(ApiError::bad_request(format!(
            "regex holds {} pairs; at most {MAX_REGEX_PAIRS} are accepted",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (path, pattern) = match item {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(p), Value::String(r)] => (p, r),
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "regex[{i}]: a pair must be [\"field path\", \"pattern\"], two strings"
                        )))
                    }
                },
                other => {
                    return Err(ApiError::bad_request(format!(
                        "regex[{i}]: expected a [field path, pattern] pair, not {}",
                        kind(other)
                    )))
                }
            };
            let path = field_path(path, &format!("regex[{i}]"))?;
            if pattern.len() > MAX_PATTERN_LEN {
                return Err(ApiError::bad_request(format!(
                    "regex[{i}]: the pattern is {} bytes long; at most {MAX_PATTERN_LEN} are accepted",
                    pattern.len()
                )));
            }
            let re = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    ApiError::bad_request(format!("regex[{i}]: invalid pattern {pattern:?}: {e}"))
                })?;
            Ok((path, re))
        })
        .collect()
}

/// `sort`: `"path"` (ascending) or `["path", "asc" | "desc"]`.
pub fn parse_sort(v: &Value) -> Result<Sort, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "sort must be a field path, or a pair [field path, \"asc\" or \"desc\"]",
        )
    };
    match v {
        Value::String(p) => Ok(Sort {
            path: field_path(p, "sort")?,
            descending: false,
        }),
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(p), Value::String(dir)] => {
                let descending = match dir.to_ascii_lowercase().as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "sort: direction {dir:?} is neither \"asc\" nor \"desc\""
                        )))
                    }
                };
                Ok(Sort {
                    path: field_path(p, "sort")?,
                    descending,
                })
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// The packet filter named by the query variable `filter`, if any.
fn filter_table(state: &AppState, req: &HttpRequest) -> Result<Option<Arc<FilterTable>>, ApiError> {
    let id = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned());
    match id {
        None => Ok(None),
        Some(id) => state
            .filters
            .table(&id)
            .map(Some)
            .ok_or_else(|| ApiError::not_found(format!("no packet filter with id {id:?}"))),
    }
}

/// The query parts every list shares: `fields` (checked), `last_time`, `regex`, `sort`, and
/// the `filter` query variable. `allowed` are the keys this endpoint takes.
fn base_query(
    state: &AppState,
    req: &HttpRequest,
    dict: &Map<String, Value>,
    allowed: &[&str],
    now: i64,
) -> Result<DeviceQuery, ApiError> {
    only_keys(dict, allowed)?;
    fields::from_dict(dict)?;
    let mut q = DeviceQuery {
        last_time: int(dict, "last_time")?.map(|t| absolute(t, now)),
        ..DeviceQuery::default()
    };
    if let Some(v) = dict.get("regex") {
        q.regex = parse_regex(v)?;
    }
    if let Some(v) = dict.get("sort") {
        q.sort = Some(parse_sort(v)?);
    }
    q.filter = filter_table(state, req)?;
    Ok(q)
}

/// Both a URL time and a dictionary time: a device must satisfy both.
fn and_since(q: &mut DeviceQuery, t: i64) {
    q.last_time = Some(q.last_time.map_or(t, |d| d.max(t)));
}

fn with_total(mut resp: HttpResponse, total: Option<usize>) -> HttpResponse {
    if let Some(t) = total {
        resp.headers_mut().insert(
            HeaderName::from_static(TOTAL_HEADER),
            HeaderValue::from(t as u64),
        );
    }
    resp
}

/// A walk through the devices of one or more queries, `CHUNK` rendered records at a time,
/// with an offset and a limit over the whole: a reply never holds more than a chunk of
/// rendered records, however many devices match. Each chunk is its own selection (a sorted
/// list sorts again per chunk), so a long list read while reports arrive may show a device
/// twice or miss one that moved: in the default MAC order only devices new since the walk
/// began can, sorted by a field that changes, any device whose field changed.
struct Walk {
    scan: Arc<ScanService>,
    /// The query being walked, its next page and the page length asked of the service.
    current: Option<(DeviceQuery, usize, usize)>,
    /// Queries after the current one (multimac).
    next: VecDeque<DeviceQuery>,
    /// Records still to skip, then still to return.
    skip: usize,
    remaining: usize,
    /// Keys returned so far, when several queries may return the same device.
    seen: Option<HashSet<String>>,
    /// Matches of the first query before pagination.
    total: Option<usize>,
}

impl Walk {
    fn new(
        scan: &Arc<ScanService>,
        queries: Vec<DeviceQuery>,
        offset: usize,
        limit: usize,
    ) -> Walk {
        let dedupe = queries.len() > 1;
        let mut next: VecDeque<DeviceQuery> = queries.into();
        let len = page_len(offset, limit);
        Walk {
            scan: scan.clone(),
            current: next.pop_front().map(|q| (q, offset / len, len)),
            next,
            skip: offset % len,
            remaining: if limit == 0 { usize::MAX } else { limit },
            seen: dedupe.then(HashSet::new),
            total: None,
        }
    }

    fn finished(&self) -> bool {
        self.remaining == 0 || self.current.is_none()
    }

    /// The next records (blocking); empty only when the walk is finished.
    fn step(&mut self) -> Vec<Value> {
        while !self.finished() {
            let Some((q, page, len)) = self.current.take() else {
                break;
            };
            let q = DeviceQuery {
                page,
                length: len,
                ..q
            };
            let got = self.scan.query(&q);
            self.total.get_or_insert(got.total);
            self.current = if got.devices.len() < len {
                self.next.pop_front().map(|q| (q, 0, CHUNK))
            } else {
                Some((q, page + 1, len))
            };
            let mut devices = got.devices;
            let k = self.skip.min(devices.len());
            devices.drain(..k);
            self.skip -= k;
            if let Some(seen) = &mut self.seen {
                devices.retain(|d| {
                    seen.insert(
                        d.get("kismet.device.base.key")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    )
                });
            }
            devices.truncate(self.remaining);
            self.remaining -= devices.len();
            if !devices.is_empty() {
                return devices;
            }
        }
        Vec::new()
    }
}

/// The page length to ask the service for, so that a window of `limit` records from `offset`
/// is rendered with little waste: the smallest length from `limit` up whose page holding
/// `offset` also holds the window's end (`limit` itself for `page * length` pagination), else
/// `CHUNK`. The service renders whole pages, so rendering 2000 records to return 100 would
/// cost twenty times the work.
fn page_len(offset: usize, limit: usize) -> usize {
    if limit == 0 || limit >= CHUNK {
        return CHUNK;
    }
    (limit..CHUNK)
        .find(|&len| offset % len + limit <= len)
        .unwrap_or(CHUNK)
}

/// One step of a walk on the blocking pool.
async fn step(mut walk: Walk) -> Result<(Walk, Vec<Value>), ApiError> {
    web::block(move || {
        let b = walk.step();
        (walk, b)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the scan service failed: {e}")))
}

/// Writes a walk whose first records are `first`: one body when that was all, else a
/// chunked stream that renders and writes one chunk at a time.
fn respond(
    walk: Walk,
    first: Vec<Value>,
    mut writer: ListWriter,
    total: Option<usize>,
) -> HttpResponse {
    let mut head = writer.open();
    for d in &first {
        writer.push(&mut head, d);
    }
    drop(first);
    let ct = writer.content_type();
    if walk.finished() {
        head.extend_from_slice(&writer.close());
        return with_total(HttpResponse::Ok().content_type(ct).body(head), total);
    }
    let body = futures_util::stream::unfold(Some((walk, writer, Some(head))), |st| async move {
        let (walk, mut writer, head) = st?;
        if let Some(h) = head {
            return Some((Ok(Bytes::from(h)), Some((walk, writer, None))));
        }
        match step(walk).await {
            Ok((walk, batch)) => {
                let mut out = Vec::new();
                for d in &batch {
                    writer.push(&mut out, d);
                }
                if walk.finished() {
                    out.extend_from_slice(&writer.close());
                    return Some((Ok(Bytes::from(out)), None));
                }
                Some((Ok(Bytes::from(out)), Some((walk, writer, None))))
            }
            // The status line is sent: all that is left is to cut the reply short.
            Err(e) => Some((
                Err(actix_web::error::ErrorInternalServerError(e.message)),
                None,
            )),
        }
    });
    with_total(HttpResponse::Ok().content_type(ct).streaming(body), total)
}

/// A list of devices in the format asked, with the total before pagination in a header.
async fn list(
    state: &AppState,
    q: DeviceQuery,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let writer = ListWriter::new(ext, dict, None)?;
    let (walk, first) = step(Walk::new(&state.scan, vec![q], 0, 0)).await?;
    let total = walk.total;
    Ok(respond(walk, first, writer, total))
}

/// `/devices/views/{view}/devices` (and `.../last-time/{ts}/devices`).
pub async fn view(
    state: &AppState,
    req: &HttpRequest,
    view: View,
    since: Option<&str>,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let now = now();
    let mut q = base_query(state, req, dict, VIEW_KEYS, now)?;
    q.view = Some(view);
    if let Some(ts) = since {
        and_since(&mut q, url_time(ts, now)?);
    }
    let page = uint(dict, "page")?;
    let start = uint(dict, "start")?;
    let length = uint(dict, "length")?.unwrap_or(0);
    let draw = uint(dict, "draw")?;
    let datatable = match dict.get("datatable") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "datatable must be a boolean, not {}",
                kind(other)
            )))
        }
    };
    let wrapped = datatable || draw.is_some();
    if wrapped && ext == Ext::ItJson {
        return Err(ApiError::bad_request(
            "datatable mode (datatable or draw) answers .json or .prettyjson, not .itjson",
        ));
    }
    if page.is_some() && start.is_some() {
        return Err(ApiError::bad_request(
            "give page or start (a datatable window), not both",
        ));
    }
    if page.unwrap_or(0) > 0 && length == 0 {
        return Err(ApiError::bad_request(
            "page needs a positive length (devices per page)",
        ));
    }
    let offset = start.unwrap_or_else(|| page.unwrap_or(0).saturating_mul(length));
    let narrowed = q.last_time.is_some() || !q.regex.is_empty() || q.filter.is_some();
    let in_view = DeviceQuery {
        view: q.view,
        length: 1,
        ..DeviceQuery::default()
    };
    let (walk, first) = step(Walk::new(&state.scan, vec![q], offset, length)).await?;
    let total = walk.total.unwrap_or(0);
    let wrapper = if wrapped {
        // recordsTotal: the view before any filter (a second, cheap count when filtered).
        let records_total = if narrowed {
            blocking(&state.scan, move |s| s.query(&in_view).total).await?
        } else {
            total
        };
        let mut w = Map::new();
        w.insert("draw".into(), draw.unwrap_or(0).into());
        w.insert("recordsTotal".into(), records_total.into());
        w.insert("recordsFiltered".into(), total.into());
        Some(w)
    } else {
        None
    };
    let writer = ListWriter::new(ext, dict, wrapper)?;
    Ok(respond(walk, first, writer, Some(total)))
}

/// `/devices/last-time/{ts}/devices`.
pub async fn since(
    state: &AppState,
    req: &HttpRequest,
    ts: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let now = now();
    let mut q = base_query(state, req, dict, LIST_KEYS, now)?;
    and_since(&mut q, url_time(ts, now)?);
    list(state, q, ext, dict).await
}

fn mac_term(s: &str, what: &str) -> Result<MacTerm, ApiError> {
    s.parse::<MacTerm>()
        .map_err(|e| ApiError::bad_request(format!("{what} {s:?}: {e}")))
}

/// `/devices/by-mac/{mac}/devices`: exact or masked.
pub async fn by_mac(
    state: &AppState,
    req: &HttpRequest,
    mac: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut q = base_query(state, req, dict, LIST_KEYS, now())?;
    q.mac = Some(mac_term(mac, "MAC")?);
    list(state, q, ext, dict).await
}

/// `POST /devices/multimac/devices`: `{"devices": [MAC or masked MAC, ...]}`; each matching
/// device once, in the order of the first term that matches it.
pub async fn multimac(
    state: &AppState,
    req: &HttpRequest,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let q = base_query(state, req, dict, MULTIMAC_KEYS, now())?;
    let items = match dict.get("devices") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "devices must be an array of MACs or masked MACs, not {}",
                kind(other)
            )))
        }
        None => {
            return Err(ApiError::bad_request(
                "missing key devices (an array of MACs or masked MACs)",
            ))
        }
    };
    if items.len() > MAX_MULTIMAC_TERMS {
        return Err(ApiError::bad_request(format!(
            "devices holds {} terms; at most {MAX_MULTIMAC_TERMS} are accepted",
            items.len()
        )));
    }
    let terms = items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => mac_term(s, &format!("devices[{i}]")),
            other => Err(ApiError::bad_request(format!(
                "devices[{i}] must be a MAC string, not {}",
                kind(other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let queries = terms
        .into_iter()
        .map(|t| DeviceQuery {
            mac: Some(t),
            ..q.clone()
        })
        .collect();
    let writer = ListWriter::new(ext, dict, None)?;
    let (walk, first) = step(Walk::new(&state.scan, queries, 0, 0)).await?;
    // The count is known only when everything came in the first chunk.
    let total = walk.finished().then_some(first.len());
    Ok(respond(walk, first, writer, total))
}

/// Kismet's device key shape: `PHYKEY_DEVKEY`, two hex numbers of at most 16 digits.
fn is_device_key(key: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    key.split_once('_').is_some_and(|(a, b)| hex(a) && hex(b))
}

/// `/devices/by-key/{key}/device`: one device document; a malformed key is a 400, an unknown
/// (or filtered) one a 404.
pub async fn by_key(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    ext: Ext,
    field: &[String],
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut q = base_query(state, req, dict, KEY_KEYS, now())?;
    if !is_device_key(key) {
        return Err(not_a_key(key));
    }
    q.key = Some(key.to_string());
    let page = blocking(&state.scan, move |s| s.query(&q)).await?;
    let doc = page
        .devices
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no device with key {key:?}")))?;
    if field.is_empty() {
        return reply::document(doc, ext, dict);
    }
    // Kismet's legacy field path: the value alone, each segment a field of the one before.
    let mut at = &doc;
    for (i, name) in field.iter().enumerate() {
        at = at.get(name.as_str()).ok_or_else(|| {
            ApiError::not_found(format!(
                "device {key} has no field {}",
                field[..=i].join("/")
            ))
        })?;
    }
    reply::document(at.clone(), ext, &Map::new())
}

/// The 400 for something that is not a device key, saying what one looks like.
fn not_a_key(key: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{key:?} is not a device key (two hex numbers joined by _, as \
         kismet.device.base.key: 4202770D00000000_10000CCBBAA)"
    ))
}

/// `/phy/phy80211/clients-of/{key}/clients`: the client devices of an AP.
pub async fn clients_of(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut q = base_query(state, req, dict, LIST_KEYS, now())?;
    let mac = match crate::scan::kismet::parse_device_key(key) {
        Some(mac) if is_device_key(key) => mac,
        _ => return Err(not_a_key(key)),
    };
    let probe = DeviceQuery {
        key: Some(key.to_string()),
        fields: vec!["kismet.device.base.key".into()],
        ..DeviceQuery::default()
    };
    if blocking(&state.scan, move |s| s.query(&probe).total).await? == 0 {
        return Err(ApiError::not_found(format!("no device with key {key:?}")));
    }
    q.clients_of = Some(mac);
    list(state, q, ext, dict).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(e: ApiError) -> u16 {
        e.status.as_u16()
    }

    #[test]
    fn regex_pairs() {
        let r = parse_regex(&json!([["dot11.device/x", "^Ref"], ["a", "b|c"]])).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, "dot11.device/x");
        assert!(r[0].1.is_match("RefNet"));
        assert!(parse_regex(&json!([])).unwrap().is_empty());
        for (bad, needle) in [
            (json!("x"), "array"),
            (json!([["a"]]), "regex[0]"),
            (json!([["a", 1]]), "regex[0]"),
            (json!([["a", "("]]), "invalid pattern"),
            (json!([["a", "ok"], ["", "x"]]), "regex[1]"),
            (json!(["a", "b"]), "regex[0]"),
        ] {
            let e = parse_regex(&bad).unwrap_err();
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
            assert_eq!(code(e), 400);
        }
        // A pattern whose program is larger than the limit is refused, not compiled.
        let e = parse_regex(&json!([["a", "\\w{1000}\\w{1000}\\w{1000}"]])).unwrap_err();
        assert_eq!(code(e), 400);
        let many: Vec<Value> = (0..=MAX_REGEX_PAIRS).map(|_| json!(["a", "b"])).collect();
        assert_eq!(code(parse_regex(&Value::Array(many)).unwrap_err()), 400);
    }

    #[test]
    fn sorts() {
        assert_eq!(
            parse_sort(&json!("kismet.device.base.last_time")).unwrap(),
            Sort {
                path: "kismet.device.base.last_time".into(),
                descending: false
            }
        );
        assert!(parse_sort(&json!(["a/b", "DESC"])).unwrap().descending);
        assert!(!parse_sort(&json!(["a/b", "asc"])).unwrap().descending);
        for bad in [
            json!(1),
            json!(["a"]),
            json!(["a", "up"]),
            json!(["a//b", "asc"]),
        ] {
            assert_eq!(code(parse_sort(&bad).unwrap_err()), 400, "{bad}");
        }
    }

    #[test]
    fn page_lengths() {
        assert_eq!(page_len(0, 0), CHUNK);
        assert_eq!(page_len(12345, 0), CHUNK);
        assert_eq!(page_len(500_000, 100), 100);
        assert_eq!(page_len(0, 3), 3);
        assert_eq!(page_len(1999, 3), 6);
        assert_eq!(page_len(10, 5000), CHUNK);
        for offset in [0, 1, 7, 1999, 2000, 123_457, 999_999] {
            for limit in [1, 2, 3, 50, 100, 1999] {
                let len = page_len(offset, limit);
                assert!(len >= limit && len <= CHUNK, "{offset} {limit}");
                if len < CHUNK {
                    assert!(offset % len + limit <= len, "{offset} {limit} {len}");
                }
            }
        }
    }

    #[test]
    fn device_keys() {
        assert!(is_device_key("4202770D00000000_10000CCBBAA"));
        assert!(is_device_key("4202770d00000000_1"));
        for bad in [
            "",
            "_",
            "4202770D00000000_",
            "{key}",
            "a_b_c",
            "4202770D000000001_1",
            "x_1",
        ] {
            assert!(!is_device_key(bad), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(url_time("-10", 1000).unwrap(), 990);
        assert_eq!(url_time("1700000000", 1000).unwrap(), 1_700_000_000);
        assert_eq!(url_time("0", 1000).unwrap(), 0);
        for bad in ["1.5", "abc", "", "10s", "99999999999999999999"] {
            assert_eq!(code(url_time(bad, 1000).unwrap_err()), 400, "{bad}");
        }
        let d: Map<String, Value> =
            serde_json::from_value(json!({"a": 1.5, "b": "1", "c": -3, "d": -1})).unwrap();
        assert_eq!(code(int(&d, "a").unwrap_err()), 400);
        assert_eq!(code(int(&d, "b").unwrap_err()), 400);
        assert_eq!(int(&d, "c").unwrap(), Some(-3));
        assert_eq!(code(uint(&d, "d").unwrap_err()), 400);
        assert_eq!(uint(&d, "zz").unwrap(), None);
    }
}
