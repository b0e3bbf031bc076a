//! The browser pages, embedded in the binary: `/ui/` (play an episode over `/ws`), `/docs`
//! (Swagger UI over `/openapi.json`) and `/redoc`, with their scripts and styles.
//!
//! The sources are committed under `host/ui/` (the page's own HTML/CSS/JS, and the release
//! files of `swagger-ui-dist` with its licence under `host/ui/vendor/`); nothing is built or
//! fetched. A client that accepts gzip gets each asset compressed once, on first request,
//! on a blocking thread (the bundle takes a few hundred milliseconds: on an I/O thread it
//! would hold every connection scheduled there); every asset carries an `ETag`, so a
//! browser's revalidation (`no-cache`) costs a 304.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderValue,
    IF_NONE_MATCH, VARY,
};
use hyper::{Request, Response, StatusCode};
use tokio::sync::OnceCell;

use super::respond::HttpResponse;
use crate::constants::GZIP_MIN_BYTES;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// One embedded file: its URL path, content type and bytes.
#[derive(Debug)]
pub struct Asset {
    /// The URL path it is served at.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes as committed.
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $kind:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $kind,
            body: include_bytes!(concat!("../../ui/", $file)),
        }
    };
}

/// The version of the vendored `swagger-ui-dist` package (see its `package.json`).
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// How many files are embedded.
pub const ASSET_COUNT: usize = 11;

/// Every embedded file.
pub static ASSETS: [Asset; ASSET_COUNT] = [
    asset!("/ui/", HTML, "index.html"),
    asset!("/ui/app.js", JS, "app.js"),
    asset!("/ui/style.css", CSS, "style.css"),
    asset!("/docs", HTML, "docs.html"),
    asset!("/docs/init.js", JS, "docs-init.js"),
    asset!("/redoc", HTML, "redoc.html"),
    asset!(
        "/docs/swagger-ui-bundle.js",
        JS,
        "vendor/swagger-ui-dist/swagger-ui-bundle.js"
    ),
    asset!(
        "/docs/swagger-ui.css",
        CSS,
        "vendor/swagger-ui-dist/swagger-ui.css"
    ),
    asset!("/docs/LICENSE", TEXT, "vendor/swagger-ui-dist/LICENSE"),
    asset!("/docs/NOTICE", TEXT, "vendor/swagger-ui-dist/NOTICE"),
    asset!(
        "/docs/swagger-ui-bundle.js.LICENSE.txt",
        TEXT,
        "vendor/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt"
    ),
];

/// The gzip form of each asset, made on first request (requests that arrive meanwhile
/// wait for that one compression without holding a thread).
static GZIPPED: [OnceCell<Bytes>; ASSET_COUNT] = [const { OnceCell::const_new() }; ASSET_COUNT];

/// The gzip form of the asset at `index`, compressed on a blocking thread the first
/// time; `None` if that compression failed (the asset is then sent as it is).
async fn gzipped(index: usize) -> Option<Bytes> {
    let compress = || async move {
        tokio::task::spawn_blocking(move || gzip(ASSETS[index].body))
            .await
            .map_err(|_| ())
    };
    GZIPPED[index].get_or_try_init(compress).await.ok().cloned()
}

/// Return the index of the asset served at `path`.
#[must_use]
pub fn find(path: &str) -> Option<usize> {
    ASSETS.iter().position(|asset| asset.path == path)
}

fn accepts_gzip<B>(request: &Request<B>) -> bool {
    let listed = |part: &str| {
        let mut fields = part.split(';').map(str::trim);
        let coding = fields.next().unwrap_or("");
        let refused = fields.any(|field| {
            let weight = field.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok());
            weight == Some(0.0)
        });
        coding.eq_ignore_ascii_case("gzip") && !refused
    };
    request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .any(|value| value.to_str().is_ok_and(|text| text.split(',').any(listed)))
}

fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let written = encoder.write_all(body).and_then(|()| encoder.finish());
    written.map_or_else(|_| Bytes::new(), Bytes::from)
}

/// The weak entity tag of each asset (FNV-1a of its bytes; weak because the gzip and
/// plain forms share it), made on first request.
static ETAGS: [OnceLock<HeaderValue>; ASSET_COUNT] = [const { OnceLock::new() }; ASSET_COUNT];

fn etag(index: usize) -> &'static HeaderValue {
    ETAGS[index].get_or_init(|| {
        let hash = ASSETS[index]
            .body
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            });
        // Hex digits and quotes are always a valid header value.
        HeaderValue::from_str(&format!("W/\"{hash:016x}\""))
            .unwrap_or(HeaderValue::from_static("W/\"0\""))
    })
}

/// Whether the client's `If-None-Match` already names `tag` (then a 304 answers).
fn fresh<B>(request: &Request<B>, tag: &HeaderValue) -> bool {
    let tag = tag.to_str().unwrap_or_default();
    let bare = tag.trim_start_matches("W/");
    request
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|value| {
            value.to_str().is_ok_and(|text| {
                text.split(',')
                    .map(|part| part.trim().trim_start_matches("W/"))
                    .any(|part| part == bare || part == "*")
            })
        })
}

/// Answer a GET of the asset at `index` (see [`find`]): 304 when the client's copy is
/// current, else the bytes, gzip-compressed when the client accepts it.
pub async fn serve<B>(index: usize, request: &Request<B>) -> HttpResponse {
    let asset = &ASSETS[index];
    let tag = etag(index);
    let unchanged = fresh(request, tag);
    let wanted = !unchanged && asset.body.len() >= GZIP_MIN_BYTES && accepts_gzip(request);
    let compressed = if wanted { gzipped(index).await } else { None };
    let compress = compressed.is_some();
    let body = match compressed {
        _ if unchanged => Bytes::new(),
        Some(bytes) => bytes,
        None => Bytes::from_static(asset.body),
    };
    let mut response = Response::new(Full::new(body));
    if unchanged {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(ETAG, tag.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if !unchanged {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    }
    if compress {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}
