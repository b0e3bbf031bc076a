//! Shared helpers of the server tests: start a server on `127.0.0.1:0` and talk raw HTTP/1.1
//! to it over a `TcpStream` (so malformed requests are possible), or WebSocket.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use incident_host::server::{self, Config, Running};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest a test waits for one response.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// One parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// Return the body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Return a header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Start a server with the default configuration on a free local port.
pub async fn start() -> Running {
    start_with(Config::local()).await
}

/// Start a server with a configuration (its address is forced to `127.0.0.1:0`).
pub async fn start_with(mut config: Config) -> Running {
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    server::bind(config).await.expect("bind 127.0.0.1:0")
}

/// Parse raw response bytes (`None` when there is no complete status line).
pub fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    })
}

/// Send raw bytes on a fresh connection and read until the server closes it.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer (and close) before it has read everything we send.
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(REPLY_TIMEOUT, stream.read_to_end(&mut out)).await;
    out
}

/// Send one request with `Connection: close` and parse the response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    let out = raw(addr, &bytes).await;
    parse_reply(&out).unwrap_or_else(|| {
        panic!(
            "no HTTP response to {method} {path}: {:?}",
            String::from_utf8_lossy(&out)
        )
    })
}

/// GET a path.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], None).await
}

/// POST a JSON body.
pub async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> Reply {
    let bytes = serde_json::to_vec(body).unwrap();
    post_raw(addr, path, &bytes).await
}

/// POST raw bytes as `application/json`.
pub async fn post_raw(addr: SocketAddr, path: &str, body: &[u8]) -> Reply {
    let headers = [("Content-Type", "application/json")];
    request(addr, "POST", path, &headers, Some(body)).await
}

/// Check `value` against the subset of JSON Schema our schemas use (type, enum, required,
/// properties, additionalProperties, items, minimum, maximum, maxLength); return the
/// first violation.
pub fn schema_violation(schema: &Value, value: &Value, at: &str) -> Option<String> {
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(name) => vec![name.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let matches = |name: &&str| match *name {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            _ => false,
        };
        if !names.iter().any(matches) {
            return Some(format!("{at}: {value} is not of type {types}"));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            return Some(format!("{at}: {value} is not in the enum"));
        }
    }
    if let Some(number) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| number < min)
        {
            return Some(format!("{at}: {number} is below the minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|max| number > max)
        {
            return Some(format!("{at}: {number} is above the maximum"));
        }
    }
    if let (Some(text), Some(max)) = (
        value.as_str(),
        schema.get("maxLength").and_then(Value::as_u64),
    ) {
        if text.chars().count() as u64 > max {
            return Some(format!("{at}: string longer than {max}"));
        }
    }
    if let Value::Object(map) = value {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(key.as_str().unwrap_or_default()) {
                return Some(format!("{at}: missing required key {key}"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in map {
            let sub = properties.and_then(|p| p.get(key));
            let sub = match (sub, schema.get("additionalProperties")) {
                (Some(sub), _) => sub,
                (None, Some(Value::Bool(false))) => {
                    return Some(format!("{at}: unexpected key {key}"));
                }
                (None, Some(extra @ Value::Object(_))) => extra,
                (None, _) => continue,
            };
            if let Some(problem) = schema_violation(sub, item, &format!("{at}.{key}")) {
                return Some(problem);
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            if let Some(problem) = schema_violation(item_schema, item, &format!("{at}[{index}]")) {
                return Some(problem);
            }
        }
    }
    None
}
