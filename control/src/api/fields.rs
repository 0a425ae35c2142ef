//! Field simplification (API.md section 1): a read endpoint asked for `fields` answers one flat
//! object per record with just those fields, keyed by their rename or their path's last part,
//! in the order asked. One implementation for every read endpoint.

use serde_json::{Map, Value};

use super::error::ApiError;
use super::request::kind;

/// One requested field: the path's parts and the key it is reported under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    path: Vec<String>,
    key: String,
}

/// Parses the `fields` value of a command dictionary: an array of `"a/b/c"` or
/// `["a/b/c", "rename"]`.
pub fn parse(v: &Value) -> Result<Vec<FieldSpec>, ApiError> {
    let Value::Array(items) = v else {
        return Err(ApiError::bad_request(format!(
            "fields must be an array of paths, not {}",
            kind(v)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (path, rename) = match item {
                Value::String(p) => (p.as_str(), None),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(p), Value::String(r)] => (p.as_str(), Some(r.as_str())),
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "fields[{i}]: a pair must be [\"path\", \"rename\"], two strings"
                        )))
                    }
                },
                other => {
                    return Err(ApiError::bad_request(format!(
                        "fields[{i}]: expected a path string or a [path, rename] pair, not {}",
                        kind(other)
                    )))
                }
            };
            let parts: Vec<String> = path.split('/').map(str::to_string).collect();
            if parts.iter().any(String::is_empty) {
                return Err(ApiError::bad_request(format!(
                    "fields[{i}]: {path:?} has an empty part"
                )));
            }
            let key = rename
                .map(str::to_string)
                .unwrap_or_else(|| parts.last().cloned().unwrap_or_default());
            Ok(FieldSpec { path: parts, key })
        })
        .collect()
}

/// Follows a path through objects (and arrays, by index); `None` when it does not resolve.
fn resolve<'a>(record: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(record, |v, part| match v {
        Value::Object(m) => m.get(part),
        Value::Array(a) => a.get(part.parse::<usize>().ok()?),
        _ => None,
    })
}

/// One flat object with the requested fields; unresolved paths give 0 (Kismet's behaviour).
pub fn simplify(record: &Value, specs: &[FieldSpec]) -> Value {
    let mut out = Map::with_capacity(specs.len());
    for s in specs {
        let v = resolve(record, &s.path).cloned().unwrap_or(Value::from(0));
        out.insert(s.key.clone(), v);
    }
    Value::Object(out)
}

/// The field specs of a dictionary, if it asks for any.
pub fn from_dict(dict: &Map<String, Value>) -> Result<Option<Vec<FieldSpec>>, ApiError> {
    dict.get("fields").map(parse).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simplifies_in_request_order() {
        let rec = json!({"a": {"b": {"c": 3}}, "x": [10, 20], "z": "zz"});
        let specs = parse(&json!(["z", ["a/b/c", "depth"], "x/1", "missing/path"])).unwrap();
        let out = simplify(&rec, &specs);
        assert_eq!(out, json!({"z": "zz", "depth": 3, "1": 20, "path": 0}));
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "depth", "1", "path"]);
    }

    #[test]
    fn rejects_malformed_items() {
        for bad in [
            json!("a"),
            json!([1]),
            json!([["a"]]),
            json!([["a", 1]]),
            json!(["a//b"]),
        ] {
            let e = parse(&bad).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
        }
    }
}
