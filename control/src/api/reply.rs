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

/// A list of records in Kismet's wrapper object (`wrap` puts the list in it, beside a
/// timestamp): `.itjson` gives the records one per line without the wrapper; otherwise the
/// dictionary's `fields` simplify each record inside it.
pub fn wrapped_list(
    records: Vec<Value>,
    ext: Ext,
    dict: &Map<String, Value>,
    wrap: impl FnOnce(Vec<Value>) -> Value,
) -> Result<HttpResponse, ApiError> {
    if ext == Ext::ItJson {
        return list(records, ext, dict);
    }
    let records = match fields::from_dict(dict)? {
        Some(f) => records.iter().map(|v| fields::simplify(v, &f)).collect(),
        None => records,
    };
    document(wrap(records), ext, &Map::new())
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

/// Writes a list record by record, byte for byte as [`list`] would (and, with a wrapper, as
/// [`document`] would write Kismet's datatable object `{<wrapper keys>, "data": [...]}`), so a
/// long list can be streamed without holding every record in memory at once.
pub struct ListWriter {
    ext: Ext,
    specs: Option<Vec<fields::FieldSpec>>,
    wrapper: Option<Map<String, Value>>,
    count: usize,
}

impl ListWriter {
    /// `dict` gives the `fields` to simplify records with (checked here).
    pub fn new(
        ext: Ext,
        dict: &Map<String, Value>,
        wrapper: Option<Map<String, Value>>,
    ) -> Result<ListWriter, ApiError> {
        Ok(ListWriter {
            ext,
            specs: fields::from_dict(dict)?,
            wrapper,
            count: 0,
        })
    }

    pub fn content_type(&self) -> &'static str {
        match (self.ext, &self.wrapper) {
            (Ext::ItJson, None) => "application/x-ndjson",
            _ => JSON,
        }
    }

    fn pretty(&self) -> bool {
        self.ext == Ext::PrettyJson
    }

    fn lines(&self) -> bool {
        self.ext == Ext::ItJson && self.wrapper.is_none()
    }

    /// What comes before the first record.
    pub fn open(&self) -> Vec<u8> {
        if self.lines() {
            return Vec::new();
        }
        let Some(w) = &self.wrapper else {
            return b"[".to_vec();
        };
        let mut head = encode(&Value::Object(w.clone()), self.pretty());
        if self.pretty() {
            // "{\n  \"k\": v\n}" → "{\n  \"k\": v,\n  \"data\": ["
            if w.is_empty() {
                head = b"{\n  \"data\": [".to_vec();
            } else {
                head.truncate(head.len() - 2);
                head.extend_from_slice(b",\n  \"data\": [");
            }
        } else {
            head.pop();
            if !w.is_empty() {
                head.push(b',');
            }
            head.extend_from_slice(b"\"data\":[");
        }
        head
    }

    /// Appends one record (simplified when `fields` was asked for).
    pub fn push(&mut self, out: &mut Vec<u8>, record: &Value) {
        let simplified;
        let record = match &self.specs {
            Some(s) => {
                simplified = fields::simplify(record, s);
                &simplified
            }
            None => record,
        };
        if self.lines() {
            out.extend_from_slice(&encode(record, false));
            out.push(b'\n');
        } else if self.pretty() {
            let indent: &[u8] = if self.wrapper.is_some() {
                b"\n    "
            } else {
                b"\n  "
            };
            if self.count > 0 {
                out.push(b',');
            }
            out.extend_from_slice(indent);
            // JSON strings hold no raw newline, so every newline is one of the layout's.
            for &b in &encode(record, true) {
                if b == b'\n' {
                    out.extend_from_slice(indent);
                } else {
                    out.push(b);
                }
            }
        } else {
            if self.count > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&encode(record, false));
        }
        self.count += 1;
    }

    /// What comes after the last record.
    pub fn close(&self) -> Vec<u8> {
        match (
            self.lines(),
            self.pretty(),
            self.wrapper.is_some(),
            self.count,
        ) {
            (true, ..) => Vec::new(),
            (false, false, false, _) => b"]".to_vec(),
            (false, false, true, _) => b"]}".to_vec(),
            (false, true, false, 0) => b"]".to_vec(),
            (false, true, false, _) => b"\n]".to_vec(),
            (false, true, true, 0) => b"]\n}".to_vec(),
            (false, true, true, _) => b"\n  ]\n}".to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use serde_json::json;

    fn body(r: HttpResponse) -> Vec<u8> {
        r.into_body().try_into_bytes().unwrap().to_vec()
    }

    fn written(
        ext: Ext,
        dict: &Map<String, Value>,
        w: Option<Map<String, Value>>,
        recs: &[Value],
    ) -> Vec<u8> {
        let mut lw = ListWriter::new(ext, dict, w).unwrap();
        let mut out = lw.open();
        for r in recs {
            lw.push(&mut out, r);
        }
        out.extend_from_slice(&lw.close());
        out
    }

    #[test]
    fn the_list_writer_writes_what_list_and_document_write() {
        let recs = [
            json!({"a": {"b": [1, 2, {"c": "x\ny"}]}, "d": "e", "f": []}),
            json!({"a": 2, "g": {}}),
            json!([]),
        ];
        let none = Map::new();
        let fields: Map<String, Value> =
            serde_json::from_value(json!({"fields": ["a/b/1", ["d", "dd"]]})).unwrap();
        let wrapper: Map<String, Value> =
            serde_json::from_value(json!({"draw": 3, "recordsTotal": 10, "recordsFiltered": 2}))
                .unwrap();
        for ext in [Ext::Json, Ext::PrettyJson, Ext::ItJson] {
            for dict in [&none, &fields] {
                for n in [0, 1, 3] {
                    let recs = &recs[..n];
                    assert_eq!(
                        written(ext, dict, None, recs),
                        body(list(recs.to_vec(), ext, dict).unwrap()),
                        "{ext:?} {dict:?} {n}"
                    );
                    if ext == Ext::ItJson {
                        continue;
                    }
                    for w in [wrapper.clone(), Map::new()] {
                        let specs = fields::from_dict(dict).unwrap();
                        let data: Vec<Value> = recs
                            .iter()
                            .map(|r| match &specs {
                                Some(s) => fields::simplify(r, s),
                                None => r.clone(),
                            })
                            .collect();
                        let mut doc = w.clone();
                        doc.insert("data".into(), Value::Array(data));
                        assert_eq!(
                            String::from_utf8(written(ext, dict, Some(w.clone()), recs)).unwrap(),
                            String::from_utf8(body(
                                document(Value::Object(doc), ext, &none).unwrap()
                            ))
                            .unwrap(),
                            "{ext:?} {dict:?} {n} {w:?}"
                        );
                    }
                }
            }
        }
    }
}
