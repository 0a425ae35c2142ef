//! The name of a JSON value's type, for messages that say what was sent instead of what was
//! expected ("expected a number, got a string"). Shared by the REST layer and scan validation.

use serde_json::Value;

/// "null", "a boolean", "a number", "a string", "an array" or "an object".
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
