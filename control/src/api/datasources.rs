//! The virtual datasources that scan reports create (API.md section 3), with Kismet's
//! `kismet.datasource.*` field names.

use actix_web::HttpResponse;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::fields;
use super::reply;
use super::request::only_keys;
use super::request::Ext;
use super::scan::blocking;
use super::AppState;

/// `/datasource/all_sources`: every virtual datasource.
pub async fn sources(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    only_keys(dict, &["fields"])?;
    fields::from_dict(dict)?;
    let all = blocking(&state.scan, |s| s.datasources()).await?;
    reply::list(all, ext, dict)
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
