//! API key endpoints (API.md section 1): generate, revoke, list.

use actix_web::HttpResponse;
use serde_json::{Map, Value};

use super::auth_error;
use super::error::ApiError;
use super::reply;
use super::request::{kind, only_keys, Ext};
use crate::auth::{Auth, Role};

fn string<'a>(dict: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    match dict.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ApiError::bad_request(format!(
            "{key} must be a string, not {}",
            kind(other)
        ))),
        None => Err(ApiError::bad_request(format!("missing key {key}"))),
    }
}

/// `POST /auth/apikey/generate.cmd`: `name`, `role`, `duration` (seconds, 0 = never).
pub fn generate(auth: &Auth, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["name", "role", "duration"])?;
    let name = string(dict, "name")?;
    let role: Role = string(dict, "role")?
        .parse()
        .map_err(|e| ApiError::bad_request(format!("role: {e}")))?;
    let duration = match dict.get("duration") {
        None => 0,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "duration must be a whole number of seconds ≥ 0, not {n}"
            ))
        })?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "duration must be a number of seconds, not {}",
                kind(other)
            )))
        }
    };
    let token = auth
        .generate_key(name, role, duration)
        .map_err(auth_error)?;
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    m.insert("role".into(), role.as_str().into());
    m.insert("token".into(), token.into());
    Ok(reply::command_ok(format!("API key {name} created"), m))
}

/// `POST /auth/apikey/revoke.cmd`: `name`.
pub fn revoke(auth: &Auth, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["name"])?;
    let name = string(dict, "name")?;
    if auth.revoke_key(name).map_err(auth_error)? {
        Ok(reply::command_ok(
            format!("API key {name} revoked"),
            Map::new(),
        ))
    } else {
        Err(ApiError::not_found(format!("no API key named {name:?}")))
    }
}

/// `/auth/apikey/list.json`: names, roles and expiry; never a token.
pub fn list(auth: &Auth, ext: Ext, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    let keys: Vec<Value> = auth
        .list_keys()
        .iter()
        .map(|k| serde_json::to_value(k).unwrap_or(Value::Null))
        .collect();
    reply::list(keys, ext, dict)
}
