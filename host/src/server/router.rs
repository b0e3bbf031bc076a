//! Every route in one `match (method, path)`, answered with [`super::respond`]'s
//! helpers. Before any route, every
//! request passes the `Host` check and CORS preflights are answered ([`browser`]), and
//! requests that can change an episode pass [`incident_api::guard`]'s cross-site rules;
//! every response gets [`browser::decorate`]'s headers. `HEAD` answers as `GET` (hyper
//! leaves the body out).
//!
//! The handler is generic over the request body so tests can call it in-process; the
//! server passes hyper's `Incoming`.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Body;
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HOST, HeaderName, HeaderValue, ORIGIN};
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use incident_api::{ApiError, Command, decode, guard, render, to_bytes};

use super::respond::{
    HttpResponse, api_error, detail, json_bytes, json_value, read_body, redirect,
};
use super::{Shared, assets, browser, environment, mcp, schema, ws};

/// Answer one request.
pub async fn route<B>(request: Request<B>, shared: &Arc<Shared>) -> HttpResponse
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let cors = browser::cors_origin(&request, shared);
    let mut response = match browser::check_host(&request, shared) {
        Err(error) => api_error(&error),
        Ok(()) if browser::is_preflight(&request) && is_route(request.uri().path()) => {
            browser::preflight(&request, shared).unwrap_or_else(|error| api_error(&error))
        }
        Ok(()) => match cross_site_check(&request, shared) {
            Err(error) => api_error(&error),
            Ok(()) => dispatch(request, shared).await,
        },
    };
    let granted = cors.filter(|_| response.status() != StatusCode::FORBIDDEN);
    browser::decorate(&mut response, granted);
    response
}

/// Whether `path` is one of the routes (not an asset).
fn is_route(path: &str) -> bool {
    schema::ROUTES.iter().any(|(known, _, _)| *known == path)
}

/// Answer a request that passed the checks of [`route`].
async fn dispatch<B>(request: Request<B>, shared: &Arc<Shared>) -> HttpResponse
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let head = request.method() == Method::HEAD;
    let method = if head {
        Method::GET
    } else {
        request.method().clone()
    };
    let path = request.uri().path().to_owned();
    match (&method, path.as_str()) {
        (&Method::GET, "/") if wants_html(&request) => redirect("/ui/"),
        (&Method::GET, "/" | "/manifest") => json_bytes(
            StatusCode::OK,
            to_bytes(&render::manifest(listing(&request))),
        ),
        (&Method::GET, "/health") => json_value(StatusCode::OK, &json!({"status": "healthy"})),
        (&Method::GET, "/tasks") => {
            json_bytes(StatusCode::OK, to_bytes(&render::tasks(listing(&request))))
        }
        (&Method::GET, "/state") => episode(shared, Ok(Command::State)),
        (&Method::GET, "/grader") => episode(shared, Ok(Command::Grade)),
        (&Method::GET, "/baseline" | "/sample_action") => episode(shared, Ok(Command::Baseline)),
        (&Method::GET, "/schema") => json_value(StatusCode::OK, &incident_api::schema::schema()),
        (&Method::GET, "/metadata") => json_value(StatusCode::OK, &schema::metadata()),
        (&Method::GET, "/environment") => json_value(StatusCode::OK, &environment::environment()),
        (&Method::GET, "/openapi.json") => json_value(StatusCode::OK, &schema::openapi()),
        (&Method::GET, "/ui" | "/docs/") => redirect(if path == "/ui" { "/ui/" } else { "/docs" }),
        (&Method::GET, path) if let Some(index) = assets::find(path) => {
            assets::serve(index, &request).await
        }
        (&Method::GET, "/ws") if !head => ws::upgrade(request, shared),
        (&Method::POST, "/reset") => posted(request, shared, decode::reset).await,
        (&Method::POST, "/step") => posted(request, shared, decode::step).await,
        (&Method::POST, "/mcp") => mcp::post(request, shared).await,
        (&Method::DELETE, "/mcp") => mcp::delete(&request, shared),
        (_, path) if is_route(path) => method_not_allowed(path),
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Answer a `POST` route: read the bounded body, `decode` it into a command, apply it.
async fn posted<B>(
    request: Request<B>,
    shared: &Shared,
    decode: impl FnOnce(&[u8]) -> Result<Command, ApiError>,
) -> HttpResponse
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let config = &shared.config;
    match read_body(request, config.body_limit_bytes, config.body_read_timeout).await {
        Ok(bytes) => episode(shared, decode(&bytes)),
        Err(response) => response,
    }
}

/// 405 for a route asked with a method it does not take, with the route's `Allow`.
fn method_not_allowed(path: &str) -> HttpResponse {
    let allow = schema::ROUTES
        .iter()
        .find(|(known, _, _)| *known == path)
        .map_or("GET", |(_, methods, _)| methods[0]);
    let mut response = detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// Apply [`guard`]'s rules to the requests that can change an episode: `POST /reset`,
/// `POST /step`, `/mcp` (any method) and `GET /ws` (no body, so only the origin rule).
fn cross_site_check<B>(request: &Request<B>, shared: &Shared) -> Result<(), ApiError> {
    let method = request.method();
    let path = request.uri().path();
    let writes = matches!(
        (method, path),
        (&Method::POST, "/reset" | "/step") | (_, "/mcp") | (&Method::GET, "/ws")
    );
    if !writes {
        return Ok(());
    }
    let header = |name: HeaderName| {
        let value = request.headers().get(name)?;
        Some(value.to_str().unwrap_or(guard::NOT_TEXT))
    };
    let allowed = &shared.config.allowed_origins;
    guard::origin(header(ORIGIN), header(HOST), allowed)?;
    if method == Method::POST {
        guard::content_type(header(CONTENT_TYPE))?;
    }
    Ok(())
}

/// Apply a decoded command to the default episode and answer its reply (or the refusal).
/// The command is decoded before the lock is taken and the reply rendered after it is
/// released.
fn episode(shared: &Shared, command: Result<Command, ApiError>) -> HttpResponse {
    match command {
        Ok(command) => {
            let reply = shared.session().apply(command);
            json_bytes(StatusCode::OK, reply.to_json_bytes())
        }
        Err(error) => api_error(&error),
    }
}

/// The query parameter that adds the generated tiers to `/tasks` and `/manifest`.
pub const INCLUDE_GENERATED: &str = "include=generated";

/// `/tasks` and `/manifest` list the generated tiers when the query has
/// [`INCLUDE_GENERATED`]; without it they are the original's bodies, byte for byte.
fn listing<B>(request: &Request<B>) -> render::Listing {
    let query = request.uri().query().unwrap_or("");
    if query.split('&').any(|pair| pair == INCLUDE_GENERATED) {
        render::Listing::WithGenerated
    } else {
        render::Listing::Original
    }
}

fn wants_html<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .any(|value| value.to_str().is_ok_and(|text| text.contains("text/html")))
}
