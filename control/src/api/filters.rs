//! Packet filter endpoints (API.md section 2). Both URL families end up here: the router
//! reads the id, phy and block out of either spelling and calls the same functions.

use actix_web::HttpResponse;
use dataplane::filter::{parse_action, Block, PHY_80211};
use dataplane::wire::MacTerm;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::reply;
use super::request::{kind, only_keys, Ext};
use crate::filters::{Applied, Change, FilterRegistry, RegistryError};

/// Most terms one request may add or remove: a bound on the work and memory one request
/// can ask for. Larger filters are built over several requests.
pub const MAX_TERMS_PER_REQUEST: usize = 65_536;

fn check_term_count(n: usize) -> Result<(), ApiError> {
    if n > MAX_TERMS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "too many terms in one request: {n} (at most {MAX_TERMS_PER_REQUEST}); send them in several requests"
        )));
    }
    Ok(())
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::UnknownFilter(_) => ApiError::not_found(e.to_string()),
        RegistryError::Store(_) => ApiError::internal(e.to_string()),
        RegistryError::Conflict(_) => {
            ApiError::new(actix_web::http::StatusCode::CONFLICT, e.to_string())
        }
        RegistryError::Unavailable(_) => ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            e.to_string(),
        ),
    }
}

pub fn parse_block(s: &str) -> Result<Block, ApiError> {
    s.parse::<Block>()
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

fn applied(what: String, a: Applied, extra: Option<(&str, Value)>) -> HttpResponse {
    let mut m = Map::new();
    m.insert(
        "airsift.packetfilter.generation".into(),
        a.generation.into(),
    );
    if let Some((k, v)) = extra {
        m.insert(k.into(), v);
    }
    let us = |d: std::time::Duration| Value::from(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    m.insert(
        "airsift.packetfilter.apply".into(),
        serde_json::json!({
            "store_us": us(a.cost.store),
            "table_us": us(a.cost.table),
            "kernel_us": us(a.cost.kernel),
            "kernel_writes": a.cost.kernel_writes,
        }),
    );
    reply::command_ok(what, m)
}

/// `GET/POST .../all_filters`: every filter's status document.
pub fn list(
    reg: &FilterRegistry,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    reply::list(reg.all(), ext, dict)
}

/// `GET/POST .../{id}/filter`: one status document.
pub fn status(
    reg: &FilterRegistry,
    id: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    let doc = reg
        .status(id)
        .ok_or_else(|| ApiError::not_found(format!("no packet filter with id {id:?}")))?;
    reply::document(doc, ext, dict)
}

/// `POST .../{id}/set_default`: `{"default": "reject"}` or a JSON bool.
pub fn set_default(
    reg: &FilterRegistry,
    id: &str,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["default"])?;
    let v = dict.get("default").ok_or_else(|| {
        ApiError::bad_request(
            "missing key default (a term such as \"reject\" or \"pass\", or a bool)",
        )
    })?;
    let action = parse_action(v).map_err(|e| ApiError::bad_request(format!("default: {e}")))?;
    let a = reg
        .apply(id, Change::SetDefault(action))
        .map_err(registry_error)?;
    Ok(applied(
        format!("default of filter {id} set to {}", action.as_str()),
        a,
        None,
    ))
}

/// `POST .../{id}/{block}/filter` or `.../{phy}/{block}/set_filter`: `{"filter": {MAC: term}}`.
pub fn set_terms(
    reg: &FilterRegistry,
    id: &str,
    phy: Option<&str>,
    block: &str,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let block = parse_block(block)?;
    only_keys(dict, &["filter"])?;
    let obj = match dict.get("filter") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "filter must be an object of MAC terms, not {}",
                kind(other)
            )))
        }
        None => {
            return Err(ApiError::bad_request(
                "missing key filter (an object of MAC: term)",
            ))
        }
    };
    if obj.is_empty() {
        return Err(ApiError::bad_request("filter holds no terms"));
    }
    check_term_count(obj.len())?;
    let mut terms = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        let term: MacTerm = k
            .parse()
            .map_err(|e| ApiError::bad_request(format!("filter key {k:?}: {e}")))?;
        let action =
            parse_action(v).map_err(|e| ApiError::bad_request(format!("filter[{k:?}]: {e}")))?;
        terms.push((term, action));
    }
    let n = terms.len();
    let phy = phy.unwrap_or(PHY_80211).to_string();
    let a = reg
        .apply(id, Change::SetTerms { phy, block, terms })
        .map_err(registry_error)?;
    Ok(applied(
        format!("{n} term(s) set in block {} of filter {id}", block.as_str()),
        a,
        Some(("terms", n.into())),
    ))
}

/// `POST .../{id}/{block}/remove` or `.../{phy}/{block}/remove_filter`: `{"addresses": [...]}`
/// (the seeds' key) or `{"filter": [...]}` (Kismet's).
pub fn remove_terms(
    reg: &FilterRegistry,
    id: &str,
    phy: Option<&str>,
    block: &str,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let block = parse_block(block)?;
    only_keys(dict, &["addresses", "filter"])?;
    let (key, list) = match (dict.get("addresses"), dict.get("filter")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give addresses or filter, not both"))
        }
        (Some(v), None) => ("addresses", v),
        (None, Some(v)) => ("filter", v),
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing key addresses (an array of MAC terms)",
            ))
        }
    };
    let Value::Array(items) = list else {
        return Err(ApiError::bad_request(format!(
            "{key} must be an array of MAC terms, not {}",
            kind(list)
        )));
    };
    check_term_count(items.len())?;
    let mut terms = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(s) = item else {
            return Err(ApiError::bad_request(format!(
                "{key}[{i}] must be a MAC term string, not {}",
                kind(item)
            )));
        };
        terms.push(
            s.parse::<MacTerm>()
                .map_err(|e| ApiError::bad_request(format!("{key}[{i}]: {e}")))?,
        );
    }
    let phy = phy.unwrap_or(PHY_80211).to_string();
    let a = reg
        .apply(id, Change::RemoveTerms { phy, block, terms })
        .map_err(registry_error)?;
    Ok(applied(
        format!(
            "{} term(s) removed from block {} of filter {id}",
            a.removed,
            block.as_str()
        ),
        a,
        Some(("removed", a.removed.into())),
    ))
}
