//! `/openapi.json`: an OpenAPI 3.1 description generated from the route table, so it cannot
//! drift from what the dispatcher serves.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::routes::{query_params, Access, ROUTES};

/// The `{name}`s of a documented path, in order.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

fn security(access: Access) -> Value {
    match access {
        Access::Public => json!([]),
        _ => json!([{"basic": []}, {"kismetCookie": []}, {"kismetQuery": []}]),
    }
}

fn roles(access: Access) -> &'static str {
    match access {
        Access::Public => "anyone",
        Access::AnyRole => "any valid credential",
        Access::Read => "readonly or admin",
        Access::Admin => "admin",
        Access::ScanReport => "scanreport or admin",
    }
}

fn error_response(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The description as a JSON value.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let mut item = Map::new();
        let mut params: Vec<Value> = path_params(r.path)
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(query_params(r.path).iter().map(|(name, desc)| {
            json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "string"}})
        }));
        for m in r.methods {
            let mut op = json!({
                "summary": r.summary,
                "description": format!("Role: {}.", roles(r.access)),
                "security": security(r.access),
                "parameters": params,
                "responses": {
                    "200": {"description": "success"},
                    "400": error_response("malformed input, naming the bad key or value"),
                    "401": error_response("no or bad credentials"),
                    "403": error_response("role not allowed"),
                    "404": error_response("unknown filter, datasource, device or route"),
                    "405": error_response("wrong method"),
                    "413": error_response("body larger than the limit"),
                    "415": error_response("unsupported content type"),
                }
            });
            if *m == "POST" {
                let props: Map<String, Value> =
                    r.keys.iter().map(|k| (k.to_string(), json!({}))).collect();
                op["requestBody"] = json!({
                    "required": false,
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": props, "additionalProperties": false}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"json": {"type": "string", "description": "the command dictionary as JSON"}}}}
                    }
                });
            }
            item.insert(m.to_ascii_lowercase(), op);
        }
        paths.insert(r.path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "airsift REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Kismet-compatible packet filters, dataplane observation and scan reports. Read endpoints also answer .prettyjson and, for lists, .itjson; command endpoints accept .json and .cmd."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "kismetCookie": {"type": "apiKey", "in": "cookie", "name": "KISMET"},
                "kismetQuery": {"type": "apiKey", "in": "query", "name": "KISMET"}
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"success": {"const": false}, "status": {"type": "string"}}, "required": ["success", "status"]}
            }
        }
    })
}

pub fn reply() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(serde_json::to_vec(&document()).unwrap_or_default())
}
