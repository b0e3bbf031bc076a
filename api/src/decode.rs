//! Request bytes (or JSON values) into [`Command`]s, with FastAPI's error shapes when they
//! are refused: `json_invalid` for bytes that are not JSON, the validation errors of
//! [`crate::parse`] otherwise.
//!
//! FastAPI reports a decode error as `{"type": "json_invalid", "loc": ["body", <char
//! offset>], "msg": "JSON decode error", "input": {}, "ctx": {"error": <Python's json
//! message>}}`. serde_json's messages are mapped to Python's wording where one matches;
//! the offset is the character offset Python would report (best effort).

use serde_json::{Value, json};

use crate::Command;
use crate::parse::{self, ApiError, ParsedAction};

/// Decode a `/reset` body (empty: the defaults).
///
/// # Errors
/// Bytes that are not JSON, or a reset [`parse::parse_reset`] refuses.
pub fn reset(bytes: &[u8]) -> Result<Command, ApiError> {
    reset_value(parse(bytes)?.as_ref())
}

/// Decode a `/step` body (an action object, or `{"action": {...}}`).
///
/// # Errors
/// See [`step_request`].
pub fn step(bytes: &[u8]) -> Result<Command, ApiError> {
    step_request(bytes).map(Command::Step)
}

/// Decode reset arguments given as JSON (`None` or `null`: the defaults).
///
/// # Errors
/// A reset [`parse::parse_reset`] refuses.
pub fn reset_value(body: Option<&Value>) -> Result<Command, ApiError> {
    parse::parse_reset(body).map(Command::Reset)
}

/// Decode an action given as JSON (an action object, or `{"action": {...}}`).
///
/// # Errors
/// An action [`parse::parse_action`] refuses.
pub fn step_value(body: &Value) -> Result<Command, ApiError> {
    parse::parse_action(parse::step_action(body)).map(Command::Step)
}

/// Parse a request body: `Ok(None)` for an empty body, `Ok(Some(json))`, or a 422.
///
/// # Errors
/// The bytes are not one JSON value (422 `json_invalid`, as FastAPI answers).
pub fn parse(bytes: &[u8]) -> Result<Option<Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => Ok(Some(value)),
        Err(error) => Err(invalid(bytes, &error)),
    }
}

/// Parse and validate a `/step` body: a plain action object directly, anything else
/// through [`fn@parse`], [`parse::step_action`] and [`parse::parse_action`] (which word
/// every error).
///
/// # Errors
/// An empty body (422 `missing`), bytes that are not JSON, or an invalid action.
pub fn step_request(bytes: &[u8]) -> Result<ParsedAction, ApiError> {
    if let Some(parsed) = parse::parse_plain_action(bytes) {
        return Ok(parsed);
    }
    match parse(bytes)? {
        Some(body) => parse::parse_action(parse::step_action(&body)),
        None => Err(ApiError::validation(
            "missing",
            &["body"],
            "Field required",
            Value::Null,
        )),
    }
}

/// Build the 422 FastAPI answers for bytes that are not JSON.
#[must_use]
pub fn invalid(bytes: &[u8], error: &serde_json::Error) -> ApiError {
    let offset = char_offset(bytes, error.line(), error.column());
    ApiError {
        status: 422,
        body: json!({"detail": [{
            "type": "json_invalid",
            "loc": ["body", offset],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": python_message(error)},
        }]}),
    }
}

/// Return the character offset of serde_json's 1-based (line, column) position.
fn char_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut offset = 0;
    for (index, line_text) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line.max(1) {
            // serde_json counts the column in bytes, Python in characters.
            let column_bytes = column.saturating_sub(1).min(line_text.len());
            let mut boundary = column_bytes;
            while !line_text.is_char_boundary(boundary) {
                boundary -= 1;
            }
            return offset + line_text[..boundary].chars().count();
        }
        offset += line_text.chars().count();
    }
    offset
}

/// Return Python's `json` message for a serde_json error (best effort).
fn python_message(error: &serde_json::Error) -> &'static str {
    let text = error.to_string();
    let has = |needle: &str| text.contains(needle);
    if has("key must be a string") || has("EOF while parsing an object") {
        "Expecting property name enclosed in double quotes"
    } else if has("expected `:`") {
        "Expecting ':' delimiter"
    } else if has("expected `,` or `}`") || has("expected `,` or `]`") {
        "Expecting ',' delimiter"
    } else if has("trailing characters") || has("trailing comma") {
        if has("trailing comma") {
            "Illegal trailing comma before end of object"
        } else {
            "Extra data"
        }
    } else if has("EOF while parsing a string") {
        "Unterminated string starting at"
    } else if has("invalid escape") {
        "Invalid \\escape"
    } else if has("control character") {
        "Invalid control character at"
    } else if has("unicode") || has("surrogate") || has("UTF-8") {
        "Invalid \\uXXXX escape"
    } else if has("recursion limit exceeded") {
        "Maximum nesting depth exceeded"
    } else if has("number out of range") {
        "Number out of range"
    } else {
        "Expecting value"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::JSON_NESTING_MAX;

    #[test]
    fn the_recorded_decode_error_matches_fastapi() {
        // Goal: `{not json` gives exactly the body the original recorded.
        let error = parse(b"{not json").unwrap_err();
        assert_eq!(error.status, 422);
        assert_eq!(
            error.body.to_string(),
            r#"{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}"#
        );
    }

    #[test]
    fn serde_json_nests_exactly_json_nesting_max_levels() {
        // Goal: the named limit is serde_json's, counted with the outermost level.
        let nested = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
        assert!(parse(nested(JSON_NESTING_MAX).as_bytes()).is_ok());
        let over = parse(nested(JSON_NESTING_MAX + 1).as_bytes()).unwrap_err();
        assert_eq!(over.body["detail"][0]["type"], "json_invalid");
        assert_eq!(
            over.body["detail"][0]["ctx"]["error"],
            "Maximum nesting depth exceeded"
        );
    }

    #[test]
    fn other_errors_read_like_python() {
        // Goal: common breakages map to Python's wording and character offsets.
        let message = |bytes: &[u8]| parse(bytes).unwrap_err().body["detail"][0].clone();
        assert_eq!(
            message(b"{\"a\" 1}")["ctx"]["error"],
            "Expecting ':' delimiter"
        );
        assert_eq!(message(b"{\"a\": 1} x")["ctx"]["error"], "Extra data");
        assert_eq!(message(b"{\"a\": }")["ctx"]["error"], "Expecting value");
        assert_eq!(message(b"{\"\xc3\xa9\": x}")["loc"][1], 6);
        assert!(parse(b"").unwrap().is_none());
    }
}
