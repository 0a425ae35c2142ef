//! Datasources (API.md sections 3 and 5): the capture sources of the source registry and the
//! virtual sources that scan reports create, listed together with Kismet's
//! `kismet.datasource.*` field names; and the commands that manage capture sources.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::fields;
use super::reply;
use super::request::only_keys;
use super::request::Ext;
use super::routes::SourceCommand;
use super::scan::blocking;
use super::AppState;
use crate::datasource::channel::Channel;
use crate::datasource::registry::{SourceError, SourceRegistry};
use crate::datasource::tuning::{parse_channels, ChannelRequest};
use crate::json_kind::kind;

/// `/datasource/all_sources`: every capture datasource, then every virtual one.
pub async fn sources(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    fields::from_dict(dict)?;
    let mut all = state.dataplane.sources.records();
    all.extend(blocking(&state.scan, |s| s.datasources()).await?);
    reply::list(all, ext, dict)
}

fn source_error(e: SourceError) -> ApiError {
    match e {
        SourceError::Invalid(m) => ApiError::bad_request(m),
        SourceError::NotFound(m) => ApiError::not_found(m),
        SourceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        SourceError::Internal(m) => ApiError::internal(m),
    }
}

/// Runs a registry operation on the blocking pool: opening and closing rings (joining
/// workers, detaching XDP programs, a database write) must not stall the HTTP thread.
async fn on_registry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&SourceRegistry) -> Result<T, SourceError> + Send + 'static,
) -> Result<T, ApiError> {
    let reg = state.dataplane.sources.clone();
    web::block(move || f(&reg))
        .await
        .map_err(|e| ApiError::internal(format!("the source registry failed: {e}")))?
        .map_err(source_error)
}

/// `POST /datasource/add_source.cmd`: the new source's record.
pub async fn add(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["definition"])?;
    let def = match dict.get("definition") {
        Some(Value::String(d)) => d.clone(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "definition must be a string, not {}",
                kind(other)
            )))
        }
        None => return Err(ApiError::bad_request("missing key: definition")),
    };
    let rec = on_registry(state, move |r| r.add(&def)).await?;
    reply::document(rec, ext, &Map::new())
}

/// `/datasource/by-uuid/{uuid}/{command}.cmd`.
pub async fn command(
    state: &AppState,
    uuid: &str,
    command: SourceCommand,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    if !is_uuid(uuid) {
        return Err(ApiError::bad_request(format!(
            "{uuid:?} is not a UUID (8-4-4-4-12 hex digits)"
        )));
    }
    let keys: &[&str] = match command {
        SourceCommand::SetChannel => &["channel", "rate", "channels", "shuffle"],
        SourceCommand::SetHop => &["hop"],
        _ => &[],
    };
    only_keys(dict, keys)?;
    let id = uuid.to_string();
    let (status, rec) = match command {
        SourceCommand::Close => (
            "Source closed",
            on_registry(state, move |r| r.close(&id)).await?,
        ),
        SourceCommand::Open => (
            "Source opened",
            on_registry(state, move |r| r.open(&id)).await?,
        ),
        SourceCommand::Pause => (
            "Source paused",
            on_registry(state, move |r| r.set_paused(&id, true)).await?,
        ),
        SourceCommand::Resume => (
            "Source resumed",
            on_registry(state, move |r| r.set_paused(&id, false)).await?,
        ),
        SourceCommand::SetChannel | SourceCommand::SetHop => {
            let req = channel_request(command, dict)?;
            let rec = on_registry(state, move |r| r.set_channel(&id, req)).await?;
            ("Channel set", rec)
        }
    };
    let mut extra = Map::new();
    extra.insert("kismet.datasource".into(), rec);
    Ok(reply::command_ok(status, extra))
}

/// Reads a `set_channel` (`{"channel": "6"}`, or `{"rate": 5, "channels": [...]}`, or
/// `{"rate": 5}`, with Kismet's optional `shuffle`) or `set_hop` (`{"hop": true}`) dictionary.
fn channel_request(
    command: SourceCommand,
    dict: &Map<String, Value>,
) -> Result<ChannelRequest, ApiError> {
    let bad = |m: String| ApiError::bad_request(m);
    if command == SourceCommand::SetHop {
        return match dict.get("hop") {
            None | Some(Value::Bool(true)) => Ok(ChannelRequest::Hop {
                rate: None,
                channels: None,
                shuffle: None,
            }),
            Some(v) => Err(bad(format!("hop must be true, not {v}"))),
        };
    }
    let rate = match dict.get("rate") {
        None => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(r) if r.is_finite() && r > 0.0 => Some(r),
            _ => return Err(bad(format!("rate {n} is not a number above 0"))),
        },
        Some(Value::String(t)) => Some(
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .map_or_else(|| crate::datasource::channel::parse_rate(t), Ok)
                .map_err(|e| bad(e.to_string()))?,
        ),
        Some(v) => return Err(bad(format!("rate must be a number, not {}", kind(v)))),
    };
    let channels = match dict.get("channels") {
        None => None,
        Some(Value::Array(a)) => {
            let names: Vec<String> = a
                .iter()
                .map(|c| match c {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    v => Err(bad(format!("channels holds {}, not a channel", kind(v)))),
                })
                .collect::<Result<_, _>>()?;
            if names.is_empty() {
                return Err(bad("channels is empty".into()));
            }
            Some(parse_channels(&names).map_err(bad)?)
        }
        Some(v) => return Err(bad(format!("channels must be a list, not {}", kind(v)))),
    };
    let shuffle = match dict.get("shuffle") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) => Some(n.as_f64() != Some(0.0)),
        Some(v) => return Err(bad(format!("shuffle must be true or false, not {v}"))),
    };
    match dict.get("channel") {
        Some(_) if rate.is_some() || channels.is_some() => Err(bad(
            "give either channel (lock) or rate/channels (hop), not both".into(),
        )),
        Some(Value::String(c)) => Channel::parse(c)
            .map(ChannelRequest::Lock)
            .map_err(|e| bad(e.to_string())),
        Some(Value::Number(n)) => Channel::parse(&n.to_string())
            .map(ChannelRequest::Lock)
            .map_err(|e| bad(e.to_string())),
        Some(v) => Err(bad(format!("channel must be a string, not {}", kind(v)))),
        None if rate.is_none() && channels.is_none() => Err(bad(
            "give channel (lock), or rate and/or channels (hop)".into(),
        )),
        None => Ok(ChannelRequest::Hop {
            rate,
            channels,
            shuffle,
        }),
    }
}

/// `/datasource/types.json`: the driver types with Kismet's capability flags.
pub fn types(ext: Ext, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    fields::from_dict(dict)?;
    reply::list(crate::datasource::types::all(), ext, dict)
}

/// `/datasource/list_interfaces.json`: the interfaces of this network namespace, each with
/// the UUID of the capture source using it (all zeroes when none).
pub fn interfaces(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    fields::from_dict(dict)?;
    let list = crate::datasource::interfaces::list()
        .map_err(|e| ApiError::internal(format!("cannot list the interfaces: {e}")))?;
    let reg = &state.dataplane.sources;
    let records = list
        .iter()
        .map(|i| i.render(reg.user_of_interface(&i.name).as_deref()))
        .collect();
    reply::list(records, ext, dict)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `/datasource/by-uuid/{uuid}/source`: one datasource; 400 for a malformed UUID, 404 for an
/// unknown one.
pub async fn source(
    state: &AppState,
    uuid: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    fields::from_dict(dict)?;
    if !is_uuid(uuid) {
        return Err(ApiError::bad_request(format!(
            "{uuid:?} is not a UUID (8-4-4-4-12 hex digits)"
        )));
    }
    if let Some(rec) = state.dataplane.sources.record(uuid) {
        return reply::document(rec, ext, dict);
    }
    let id = uuid.to_string();
    let doc = blocking(&state.scan, move |s| s.datasource(&id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no datasource with UUID {uuid}")))?;
    reply::document(doc, ext, dict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("11111111-2222-3333-4444-555555555555"));
        assert!(is_uuid("abcdefAB-2222-3333-4444-555555555555"));
        assert!(!is_uuid("11111111-2222-3333-4444-55555555555"));
        assert!(!is_uuid("11111111222233334444555555555555"));
        assert!(!is_uuid("1111111g-2222-3333-4444-555555555555"));
        assert!(!is_uuid(""));
    }
}
