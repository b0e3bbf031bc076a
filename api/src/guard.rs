//! No cross-site writes: the two rules a server applies to every request that can change
//! an episode (`POST /reset`, `POST /step`, `/mcp`, the WebSocket upgrade), written once.
//!
//! 1. [`content_type`]: a body must be declared JSON. Like FastAPI, a missing (or empty)
//!    `Content-Type` is read as JSON, and so are `application/json` and any
//!    `application/*+json` (parameters such as `charset` allowed); anything else
//!    (`text/plain`, forms, ...) is refused with 415, because it is what a web page can
//!    send to another site without a CORS preflight. The original answered 422 to such
//!    bodies, so its clients never relied on them.
//! 2. [`origin`]: a browser names the page's origin in `Origin`; a request from any
//!    origin but the server's own (`http://` or `https://` + the request's `Host`) or one
//!    of the configured allowed origins (`*` allows every origin) is refused with 403.
//!    Non-browser clients send no `Origin` and are unaffected.
//!
//! Before both, for every request, [`host`] refuses a request that arrived on a loopback
//! address naming another host (DNS rebinding: a page on `evil.example` whose name now
//! resolves to 127.0.0.1 sends `Host: evil.example`, and its `Origin` matches that `Host`).
//!
//! A header value that is not valid text should be passed as [`NOT_TEXT`], which no rule
//! accepts.

use crate::ApiError;

/// What to pass for a header value that is not valid text (neither rule accepts it).
pub const NOT_TEXT: &str = "\u{fffd}";

/// HTTP status for a body that is not declared JSON.
pub const UNSUPPORTED_MEDIA_TYPE: u16 = 415;
/// HTTP status for a request from a foreign origin.
pub const FORBIDDEN: u16 = 403;

/// Whether a `Content-Type` value declares JSON (FastAPI's rule: main type `application`,
/// subtype `json` or ending in `+json`, case-insensitive).
#[must_use]
pub fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some((main, sub)) = media.split_once('/') else {
        return false;
    };
    // Compared without lowercasing a copy: this runs on every `POST /step`.
    let sub = sub.as_bytes();
    let suffix = sub.len().checked_sub(5).map(|start| &sub[start..]);
    main.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case(b"json")
            || suffix.is_some_and(|tail| tail.eq_ignore_ascii_case(b"+json")))
}

/// Check the `Content-Type` of a state-changing request (`None`: the header is absent).
///
/// # Errors
/// A declared type that is not JSON (415, `{"detail": ...}`).
pub fn content_type(value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(text) if !text.trim().is_empty() && !is_json(text) => Err(ApiError {
            status: UNSUPPORTED_MEDIA_TYPE,
            body: serde_json::json!({"detail": format!(
                "Unsupported Media Type: the body must be JSON (Content-Type: \
                 application/json), got {text:?}"
            )}),
        }),
        _ => Ok(()),
    }
}

/// Check the `Origin` of a state-changing request against the request's `Host` and the
/// allowed origins (exact, case-insensitive; `*` allows any).
///
/// # Errors
/// An `Origin` that is neither this server nor allowed (403, `{"detail": ...}`).
pub fn origin(
    origin: Option<&str>,
    host: Option<&str>,
    allowed: &[String],
) -> Result<(), ApiError> {
    let Some(origin) = origin else {
        return Ok(());
    };
    let own = |scheme: &str| {
        host.is_some_and(|host| {
            origin
                .strip_prefix(scheme)
                .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        })
    };
    if own("http://") || own("https://") || is_allowed_origin(origin, allowed) {
        Ok(())
    } else {
        Err(ApiError {
            status: FORBIDDEN,
            body: serde_json::json!({"detail": format!(
                "Forbidden: cross-origin request from {origin:?} refused (this server is \
                 {}; allow other origins with serve --allowed-origin)",
                host.unwrap_or("unknown")
            )}),
        })
    }
}

/// Whether `origin` is one of the configured allowed origins (exact, case-insensitive;
/// `*` allows any). The server's own origin is not among them.
#[must_use]
pub fn is_allowed_origin(origin: &str, allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|entry| entry == "*" || entry.eq_ignore_ascii_case(origin))
}

/// Check the `Host` of a request that arrived on a loopback address (`loopback`; other
/// requests pass: a deployment is reached by names the server cannot know). It must name
/// the server by an IP address, `localhost` or a `*.localhost` name (which browsers
/// resolve to loopback themselves), or one of `allowed_hosts`; the port is not checked.
/// No `Host` (not a browser) passes.
///
/// # Errors
/// Any other name (403, `{"detail": ...}`).
pub fn host(host: Option<&str>, loopback: bool, allowed_hosts: &[String]) -> Result<(), ApiError> {
    let Some(value) = host.filter(|_| loopback) else {
        return Ok(());
    };
    let name = host_name(value);
    let local = name.eq_ignore_ascii_case("localhost")
        || name.len() > ".localhost".len()
            && name.as_bytes()[name.len() - ".localhost".len()..]
                .eq_ignore_ascii_case(b".localhost");
    let listed = allowed_hosts
        .iter()
        .any(|entry| host_name(entry).eq_ignore_ascii_case(name));
    if local || listed || name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    Err(ApiError {
        status: FORBIDDEN,
        body: serde_json::json!({"detail": format!(
            "Forbidden: Host {value:?} does not name this server (on a loopback address a \
             request must name it by an IP address, localhost, or a name given with serve \
             --allowed-host: a guard against DNS rebinding)"
        )}),
    })
}

/// The name in a `Host` value: without the port, brackets or a trailing dot.
fn host_name(value: &str) -> &str {
    let value = value.trim();
    let name = match value.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => value.rsplit_once(':').map_or(value, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                value
            }
        }),
    };
    name.strip_suffix('.').unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_requests_must_name_this_server() {
        // Goal: on loopback, IP literals, localhost names and allowed names pass (any
        // port); another name is refused; off loopback, or without Host, anything passes.
        let allowed = ["incident.internal".to_owned()];
        for ok in [
            "127.0.0.1:8000",
            "[::1]:8000",
            "10.1.2.3",
            "localhost",
            "LocalHost:1",
            "localhost.:8000",
            "app.localhost:8000",
            "incident.internal:9",
        ] {
            assert!(host(Some(ok), true, &allowed).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example:8000",
            "evil.example",
            "localhost.evil.example",
            "notlocalhost",
            NOT_TEXT,
            "",
        ] {
            assert_eq!(
                host(Some(bad), true, &allowed).unwrap_err().status,
                403,
                "{bad:?}"
            );
        }
        assert!(host(Some("evil.example"), false, &allowed).is_ok());
        assert!(host(None, true, &allowed).is_ok());
    }

    #[test]
    fn only_json_media_types_pass() {
        // Goal: FastAPI's JSON media types pass; what a page sends without a preflight fails.
        for ok in [
            None,
            Some(""),
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/merge-patch+json"),
            Some("application/vnd.api+JSON"),
        ] {
            assert!(content_type(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
            "application/json+",
            "application/son",
            "json",
            "text/json",
        ] {
            let error = content_type(Some(bad)).unwrap_err();
            assert_eq!(error.status, 415, "{bad}");
            assert!(error.body["detail"].is_string());
        }
    }

    #[test]
    fn only_the_own_or_an_allowed_origin_passes() {
        // Goal: no Origin (non-browser) and the server's own origin pass; others are 403.
        let host = Some("127.0.0.1:8000");
        let none: &[String] = &[];
        assert!(origin(None, host, none).is_ok());
        assert!(origin(Some("http://127.0.0.1:8000"), host, none).is_ok());
        assert!(origin(Some("https://127.0.0.1:8000"), host, none).is_ok());
        for bad in [
            "http://evil.example",
            "http://127.0.0.1:8001",
            "null",
            "http://127.0.0.1:8000.evil.example",
            "ftp://127.0.0.1:8000",
        ] {
            assert_eq!(
                origin(Some(bad), host, none).unwrap_err().status,
                403,
                "{bad}"
            );
        }
        assert!(origin(Some("http://x"), None, none).is_err());
        let allowed = ["https://notebook.example".to_owned()];
        assert!(origin(Some("https://NOTEBOOK.example"), host, &allowed).is_ok());
        assert!(origin(Some("https://other.example"), host, &allowed).is_err());
        assert!(origin(Some("https://any.example"), host, &["*".to_owned()]).is_ok());
    }
}
