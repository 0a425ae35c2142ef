//! Replies in the format the request's extension asks for, with field simplification applied
//! the same way for every read endpoint.

use actix_web::HttpResponse;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::fields;
use super::request::Ext;

const JSON: &str = "application/json";

fn encode(v: &Value, pretty: bool) -> Vec<u8> {
    // Serialising a Value cannot fail.
    if pretty {
        serde_json::to_vec_pretty(v).unwrap_or_default()
    } else {
        serde_json::to_vec(v).unwrap_or_default()
    }
}

/// One document (a status, a record).
pub fn document(v: Value, ext: Ext, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    let v = match fields::from_dict(dict)? {
        Some(specs) => fields::simplify(&v, &specs),
        None => v,
    };
    Ok(HttpResponse::Ok()
        .content_type(JSON)
        .body(encode(&v, ext == Ext::PrettyJson)))
}

/// A list of records: a JSON array, or one document per line for `.itjson`.
pub fn list(
    records: Vec<Value>,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let specs = fields::from_dict(dict)?;
    let records: Vec<Value> = match &specs {
        Some(s) => records.iter().map(|r| fields::simplify(r, s)).collect(),
        None => records,
    };
    Ok(match ext {
        Ext::ItJson => {
            let mut body = Vec::new();
            for r in &records {
                body.extend_from_slice(&encode(r, false));
                body.push(b'\n');
            }
            HttpResponse::Ok()
                .content_type("application/x-ndjson")
                .body(body)
        }
        _ => HttpResponse::Ok()
            .content_type(JSON)
            .body(encode(&Value::Array(records), ext == Ext::PrettyJson)),
    })
}

/// A command's success: `{"success": true, "status": ..., <extra>}`.
pub fn command_ok(status: impl Into<String>, extra: Map<String, Value>) -> HttpResponse {
    let mut m = Map::new();
    m.insert("success".into(), Value::Bool(true));
    m.insert("status".into(), Value::String(status.into()));
    m.extend(extra);
    HttpResponse::Ok()
        .content_type(JSON)
        .body(encode(&Value::Object(m), false))
}
