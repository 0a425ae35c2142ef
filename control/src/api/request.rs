//! What a request carries besides its path: the reply format its extension asks for, and the
//! command dictionary in its body (API.md section 1).

use serde_json::{Map, Value};

use super::error::ApiError;

/// The extension of the last path segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    /// Compact JSON.
    Json,
    /// Indented JSON.
    PrettyJson,
    /// One JSON document per line (lists).
    ItJson,
    /// Kismet's command spelling; replies are compact JSON.
    Cmd,
}

impl Ext {
    pub fn parse(s: &str) -> Option<Ext> {
        match s {
            "json" => Some(Ext::Json),
            "prettyjson" => Some(Ext::PrettyJson),
            "itjson" => Some(Ext::ItJson),
            "cmd" => Some(Ext::Cmd),
            _ => None,
        }
    }

    /// Extensions a read endpoint answers.
    pub fn is_read(self) -> bool {
        matches!(self, Ext::Json | Ext::PrettyJson | Ext::ItJson)
    }

    /// Extensions a command endpoint accepts.
    pub fn is_command(self) -> bool {
        matches!(self, Ext::Json | Ext::Cmd)
    }
}

/// Splits `filter.json` into `("filter", Some(Ext::Json))`; no known extension gives `None`.
pub fn split_ext(segment: &str) -> (&str, Option<Ext>) {
    match segment.rsplit_once('.') {
        Some((stem, ext)) => match Ext::parse(ext) {
            Some(e) => (stem, Some(e)),
            None => (segment, None),
        },
        None => (segment, None),
    }
}

/// The media type of a Content-Type header: lowercase, parameters and spaces dropped.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads a command dictionary from a body (API.md section 1). An empty body is an empty
/// dictionary; `application/json` bodies are the dictionary; form bodies carry it in the
/// variable `json`, split on `&` first and percent-decoded after (so `%26` inside a value
/// stays inside it). Anything else with a body: 415.
pub fn command_dict(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let media = content_type.map(media_type).unwrap_or_default();
    let json_text: std::borrow::Cow<'_, [u8]> = match media.as_str() {
        "application/json" => body.into(),
        "application/x-www-form-urlencoded" => {
            let value = form_urlencoded::parse(body)
                .find(|(k, _)| k == "json")
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "form body has no variable json holding the command dictionary",
                    )
                })?;
            value.into_bytes().into()
        }
        "" => {
            return Err(ApiError::unsupported_media_type(
                "(none: send a Content-Type header)",
            ))
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let text = std::str::from_utf8(&json_text).map_err(|e| {
        ApiError::bad_request(format!("command dictionary is not valid UTF-8: {e}"))
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::bad_request(format!(
            "the command dictionary must be a JSON object, not {}",
            kind(&other)
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "malformed JSON in the command dictionary: {e}"
        ))),
    }
}

pub use crate::json_kind::kind;

/// Rejects keys a command does not know: a misspelt key must not be silently ignored.
pub fn only_keys(dict: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match dict.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "unknown key {k:?} in the command dictionary; this command takes {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Kismet's `last-time` path argument ([`crate::messages::parse_since`]) in microseconds since
/// the epoch; a 400 naming the forms it takes otherwise.
pub fn since_arg(since: &str) -> Result<u64, ApiError> {
    crate::messages::parse_since(since).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{since:?} is not a time (seconds since the epoch, sec.usec, or negative seconds)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_extensions() {
        assert_eq!(split_ext("filter.json"), ("filter", Some(Ext::Json)));
        assert_eq!(
            split_ext("set_default.cmd"),
            ("set_default", Some(Ext::Cmd))
        );
        assert_eq!(split_ext("all.prettyjson"), ("all", Some(Ext::PrettyJson)));
        assert_eq!(split_ext("a.b.itjson"), ("a.b", Some(Ext::ItJson)));
        assert_eq!(split_ext("filter.xml"), ("filter.xml", None));
        assert_eq!(split_ext("filter"), ("filter", None));
    }

    #[test]
    fn reads_both_encodings() {
        let j = command_dict(Some("Application/JSON ; charset=UTF-8"), br#"{"a": 1}"#).unwrap();
        assert_eq!(j["a"], 1);
        let f = command_dict(
            Some("application/x-www-form-urlencoded"),
            b"x=1&json=%7B%22ssid%22%3A%22a%26b%22%7D",
        )
        .unwrap();
        assert_eq!(f["ssid"], "a&b");
        assert!(command_dict(None, b"").unwrap().is_empty());
        assert!(command_dict(Some("text/plain"), b"  \n")
            .unwrap()
            .is_empty());
        let e = command_dict(Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(e.status.as_u16(), 415);
        let e = command_dict(Some("application/json"), b"[1]").unwrap_err();
        assert!(e.message.contains("an array"), "{}", e.message);
        let e = command_dict(Some("application/json"), b"{\"a\":").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let e = command_dict(Some("application/json"), b"{\"a\":\"\xff\"}").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{}", e.message);
        let e = command_dict(Some("application/x-www-form-urlencoded"), b"a=1").unwrap_err();
        assert!(e.message.contains("json"));
    }
}
