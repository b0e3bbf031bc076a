//! What browsers need around the routes, applied once in [`super::router::route`]: the
//! `Host` check against DNS rebinding ([`incident_api::guard::host`]), CORS for the
//! `--allowed-origin` origins (preflights and response headers), and the security
//! headers: `X-Content-Type-Options: nosniff` on every response, a Content Security
//! Policy on the HTML pages.

use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, ORIGIN, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, StatusCode};
use incident_api::{ApiError, guard};

use super::respond::HttpResponse;
use super::{Peer, Shared};
use crate::constants::CORS_MAX_AGE_SECS;

/// The policy of the HTML pages (`/ui/`, `/docs`, `/redoc`): everything from this server
/// only (scripts, styles, images, fetches and the `/ws` socket), inline styles allowed
/// (Swagger UI sets them, `/docs` has one block), `data:` images (Swagger UI's icons),
/// no plugins, and no framing by another site.
pub const CONTENT_SECURITY_POLICY_PAGES: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'self'";

/// Methods a preflight may be granted.
pub const CORS_ALLOW_METHODS: &str = "GET, POST, DELETE";
/// Request headers a preflight may be granted (JSON bodies and MCP's headers).
pub const CORS_ALLOW_HEADERS: &str = "Content-Type, Mcp-Session-Id, Mcp-Protocol-Version";
/// Response headers an allowed origin's script may read.
pub const CORS_EXPOSE_HEADERS: &str = "Mcp-Session-Id";

fn header<B>(request: &Request<B>, name: hyper::header::HeaderName) -> Option<&str> {
    let value = request.headers().get(name)?;
    Some(value.to_str().unwrap_or(guard::NOT_TEXT))
}

/// Refuse a request that arrived on a loopback address naming another host in `Host`.
///
/// # Errors
/// The 403 [`guard::host`] words.
pub fn check_host<B>(request: &Request<B>, shared: &Shared) -> Result<(), ApiError> {
    let loopback = request
        .extensions()
        .get::<Peer>()
        .is_some_and(|peer| peer.local.is_loopback());
    guard::host(
        header(request, HOST),
        loopback,
        &shared.config.allowed_hosts,
    )
}

/// Whether the request is a CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`).
#[must_use]
pub fn is_preflight<B>(request: &Request<B>) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(ORIGIN)
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The request's `Origin` when it is one of the `--allowed-origin` origins (the server's
/// own needs no CORS): the value its responses grant.
#[must_use]
pub fn cors_origin<B>(request: &Request<B>, shared: &Shared) -> Option<HeaderValue> {
    let value = request.headers().get(ORIGIN)?;
    let origin = value.to_str().ok()?;
    guard::is_allowed_origin(origin, &shared.config.allowed_origins).then(|| value.clone())
}

/// Answer a preflight: 204 with the grants for an allowed origin, the guard's 403 for
/// any other.
///
/// # Errors
/// The 403 for an origin that is neither this server nor allowed.
pub fn preflight<B>(request: &Request<B>, shared: &Shared) -> Result<HttpResponse, ApiError> {
    let allowed = &shared.config.allowed_origins;
    guard::origin(header(request, ORIGIN), header(request, HOST), allowed)?;
    let mut response = HttpResponse::new(http_body_util::Full::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(CORS_ALLOW_METHODS),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(CORS_ALLOW_HEADERS),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(CORS_MAX_AGE_SECS));
    Ok(response)
}

/// Add the security headers to a response, and the CORS grant for `cors` (an allowed
/// origin, from [`cors_origin`]).
pub fn decorate(response: &mut HttpResponse, cors: Option<HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_html(headers) {
        let policy = HeaderValue::from_static(CONTENT_SECURITY_POLICY_PAGES);
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    if let Some(origin) = cors {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(CORS_EXPOSE_HEADERS),
        );
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|text| text.starts_with("text/html"))
}
