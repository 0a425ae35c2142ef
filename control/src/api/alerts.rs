//! `/alerts/...`: Kismet's alert endpoints over [`crate::alerts`]. Where Kismet's own handler
//! is stricter than its Python client (which sends neither class nor severity when defining,
//! and mixed-case names when raising), airsift accepts what the client sends: class and
//! severity have defaults, names match in any case. A duplicate definition is a 409 and a
//! throttled raise a 429 (Kismet answers 503 and 400), each naming the problem.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::reply;
use super::request::{only_keys, since_arg, Ext};
use super::AppState;
use crate::alerts::rate::{self, Unit};
use crate::alerts::{AlertError, Severity, Subject};
use crate::json_kind::kind;

/// `/alerts/last-time/{ts}/alerts` (a list), its wrapped form, and `all_alerts`.
pub fn since(
    state: &AppState,
    since: &str,
    wrapped: bool,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let list: Vec<Value> = state
        .messages
        .alerts
        .since(since_arg(since)? as f64 / 1e6)
        .iter()
        .map(|a| a.render())
        .collect();
    if !wrapped {
        return reply::list(list, ext, dict);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64 / 1e6);
    reply::wrapped_list(
        list,
        ext,
        dict,
        |list| json!({"kismet.alert.list": list, "kismet.alert.timestamp": now}),
    )
}

/// `/alerts/by-id/{hash}/alert`.
pub fn by_id(
    state: &AppState,
    hash: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let h: u32 = hash.parse().map_err(|_| {
        ApiError::bad_request(format!("{hash:?} is not an alert id (kismet.alert.hash)"))
    })?;
    let alert = state
        .messages
        .alerts
        .by_hash(h)
        .ok_or_else(|| ApiError::not_found(format!("no alert {h} in the backlog")))?;
    reply::document(alert.render(), ext, dict)
}

/// `/alerts/definitions`.
pub fn definitions(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let list = state
        .messages
        .alerts
        .definitions()
        .iter()
        .map(|d| d.render())
        .collect();
    reply::list(list, ext, dict)
}

fn string<'a>(dict: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match dict.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::bad_request(format!(
            "{key} must be a string, not {}",
            kind(other)
        ))),
    }
}

fn required<'a>(dict: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    match string(dict, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!("{key} is empty"))),
        None => Err(ApiError::bad_request(format!("missing key: {key}"))),
    }
}

fn limit(
    dict: &Map<String, Value>,
    key: &str,
    default: (u64, Unit),
) -> Result<(u64, Unit), ApiError> {
    match dict.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| (n, Unit::Minute))
            .ok_or_else(|| ApiError::bad_request(format!("{key}: {n} is not a whole number"))),
        Some(Value::String(s)) => {
            rate::parse(s).map_err(|m| ApiError::bad_request(format!("{key}: {m}")))
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "{key} must be a rate such as \"10/min\", not {}",
            kind(other)
        ))),
    }
}

fn error(e: AlertError) -> ApiError {
    let status = match e {
        AlertError::Exists(_) => StatusCode::CONFLICT,
        AlertError::Unknown(_) => StatusCode::NOT_FOUND,
        AlertError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AlertError::BadLimits(_) => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

/// `POST /alerts/definitions/define_alert.cmd`.
pub fn define(state: &AppState, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(
        dict,
        &[
            "name",
            "description",
            "class",
            "severity",
            "throttle",
            "burst",
            "phyname",
        ],
    )?;
    let name = required(dict, "name")?;
    let description = required(dict, "description")?;
    let class = string(dict, "class")?.unwrap_or("OTHER");
    let severity = match dict.get("severity") {
        None | Some(Value::Null) => Severity::Info,
        Some(v) => Severity::from_json(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "severity {v} is not one of 0, 5, 10, 15, 20 (INFO, LOW, MEDIUM, HIGH, CRITICAL)"
            ))
        })?,
    };
    let throttle = limit(dict, "throttle", (10, Unit::Minute))?;
    let burst = limit(dict, "burst", (1, Unit::Second))?;
    match string(dict, "phyname")? {
        None | Some("") => {}
        Some(p) if p.eq_ignore_ascii_case("any") || p == "IEEE802.11" => {}
        Some(p) => {
            return Err(ApiError::bad_request(format!(
                "phyname {p:?}: airsift's only phy is IEEE802.11 (or \"any\")"
            )))
        }
    }
    let alerts = &state.messages.alerts;
    alerts
        .define(name, class, severity, description, throttle, burst)
        .map_err(error)?;
    let header = name.trim().to_ascii_uppercase();
    let def = alerts
        .definitions()
        .into_iter()
        .find(|d| d.header == header)
        .map(|d| d.render())
        .unwrap_or(Value::Null);
    let mut extra = Map::new();
    extra.insert("kismet.alert.definition".into(), def);
    Ok(reply::command_ok(format!("alert {header} defined"), extra))
}

fn mac(dict: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    string(dict, key)?
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<dataplane::wire::MacAddr>()
                .map(|m| m.to_u64())
                .map_err(|e| {
                    ApiError::bad_request(format!("{key}: {s:?} is not a MAC address: {e}"))
                })
        })
        .transpose()
}

/// `POST /alerts/raise_alerts.cmd` (and `raise_alert.cmd`).
pub fn raise(state: &AppState, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(
        dict,
        &[
            "name", "text", "bssid", "source", "dest", "other", "channel",
        ],
    )?;
    let name = required(dict, "name")?;
    let text = string(dict, "text")?.ok_or_else(|| ApiError::bad_request("missing key: text"))?;
    let subject = Subject {
        transmitter: mac(dict, "bssid")?,
        source: mac(dict, "source")?,
        dest: mac(dict, "dest")?,
        other: mac(dict, "other")?,
        channel: match dict.get("channel") {
            Some(Value::Number(n)) => n.to_string(),
            _ => string(dict, "channel")?.unwrap_or("").to_string(),
        },
    };
    let alert = state.messages.raise(name, text, subject).map_err(error)?;
    let mut extra = Map::new();
    extra.insert("kismet.alert.alert".into(), alert.render());
    Ok(reply::command_ok(
        format!("alert {} raised", alert.header),
        extra,
    ))
}
