//! The response helpers every route module uses: JSON bodies, `{"detail": ...}` refusals,
//! redirects and the bounded body read (200, 307, 400, 408, 413, 422). A leaf: it knows
//! hyper and the api crate's error type, nothing of the server's state.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use incident_api::{ApiError, to_bytes};

/// The response type of every route.
pub type HttpResponse = Response<Full<Bytes>>;

/// Build a JSON response from bytes.
#[must_use]
pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Build a JSON response from a value.
#[must_use]
pub fn json_value(status: StatusCode, body: &Value) -> HttpResponse {
    json_bytes(status, to_bytes(body))
}

/// Build `{"detail": message}` with a status.
#[must_use]
pub fn detail(status: StatusCode, message: &str) -> HttpResponse {
    json_value(status, &json!({ "detail": message }))
}

/// Answer an api refusal with its status and body.
#[must_use]
pub fn api_error(error: &ApiError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    json_value(status, &error.body)
}

/// A 307 redirect to `location`.
#[must_use]
pub fn redirect(location: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(location));
    response
}

fn too_large(limit: usize) -> HttpResponse {
    detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body is larger than {limit} bytes"),
    )
}

/// Read a body of at most `limit` bytes within `timeout`.
///
/// # Errors
/// The ready-made 413 (too large), 408 (too slow) or 400 (broken stream) response.
pub async fn read_body<B>(
    request: Request<B>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, HttpResponse>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    let body = Limited::new(request.into_body(), limit);
    match tokio::time::timeout(timeout, body.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(too_large(limit))
        }
        Ok(Err(_)) => Err(detail(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )),
        Err(_) => Err(detail(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )),
    }
}
