//! The browser pages and their assets (`/ui/`, `/docs`, `/redoc`), `/environment`, and the
//! OpenAPI document's descriptions of them: content types, embedded bytes, gzip, redirects.

mod support;

use std::io::Read;
use std::path::PathBuf;

use incident_host::server::{assets, schema};
use serde_json::Value;
use support::{get, request, start};

fn ui_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../host/ui")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_asset_is_served_as_committed_with_its_content_type() {
    // Goal: each page, script and style answers 200 with the committed file's bytes and a
    // browser content type (never application/json), and the vendored licence is served.
    let server = start().await;
    let addr = server.local_addr();
    let expected = [
        ("/ui/", "text/html", "index.html"),
        ("/ui/app.js", "text/javascript", "app.js"),
        ("/ui/style.css", "text/css", "style.css"),
        ("/docs", "text/html", "docs.html"),
        ("/docs/init.js", "text/javascript", "docs-init.js"),
        ("/redoc", "text/html", "redoc.html"),
        (
            "/docs/swagger-ui-bundle.js",
            "text/javascript",
            "vendor/swagger-ui-dist/swagger-ui-bundle.js",
        ),
        (
            "/docs/swagger-ui.css",
            "text/css",
            "vendor/swagger-ui-dist/swagger-ui.css",
        ),
        (
            "/docs/LICENSE",
            "text/plain",
            "vendor/swagger-ui-dist/LICENSE",
        ),
    ];
    for (path, kind, file) in expected {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 200, "{path}");
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert_eq!(
            reply.header("content-encoding"),
            None,
            "{path}: no gzip unasked"
        );
        assert_eq!(reply.body, ui_file(file), "{path} is {file}");
    }
    assert!(
        String::from_utf8_lossy(&get(addr, "/docs/LICENSE").await.body).contains("Apache License")
    );
    assert_eq!(assets::ASSETS.len(), assets::ASSET_COUNT);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_assets_are_gzipped_for_clients_that_accept_it() {
    // Goal: with Accept-Encoding gzip the Swagger UI bundle comes compressed (much smaller)
    // and decompresses to the committed bytes; q=0 refuses gzip; its ETag revalidates to a
    // 304 with no body.
    let server = start().await;
    let addr = server.local_addr();
    let path = "/docs/swagger-ui-bundle.js";
    let gzip = [("Accept-Encoding", "gzip, deflate, br")];
    let reply = request(addr, "GET", path, &gzip, None).await;
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
    let original = ui_file("vendor/swagger-ui-dist/swagger-ui-bundle.js");
    assert!(
        reply.body.len() * 3 < original.len(),
        "{} bytes",
        reply.body.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(reply.body.as_slice())
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, original);
    let tag = reply.header("etag").expect("an ETag").to_owned();
    let again = request(addr, "GET", path, &[("If-None-Match", tag.as_str())], None).await;
    assert_eq!(
        (again.status, again.body.len()),
        (304, 0),
        "revalidation is a 304"
    );
    let other = request(
        addr,
        "GET",
        "/ui/app.js",
        &[("If-None-Match", tag.as_str())],
        None,
    )
    .await;
    assert_eq!(other.status, 200, "another asset's tag does not match");
    let refused = request(addr, "GET", path, &[("Accept-Encoding", "gzip;q=0")], None).await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, original);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_are_redirected_and_api_clients_get_json() {
    // Goal: GET / is JSON for API clients and a 307 to /ui/ for browsers; /ui and /docs/
    // redirect to the canonical page paths.
    let server = start().await;
    let addr = server.local_addr();
    let api = get(addr, "/").await;
    assert_eq!(api.status, 200);
    assert_eq!(api.header("content-type"), Some("application/json"));
    let browser = request(addr, "GET", "/", &[("Accept", "text/html,*/*")], None).await;
    assert_eq!(
        (browser.status, browser.header("location")),
        (307, Some("/ui/"))
    );
    for (path, location) in [("/ui", "/ui/"), ("/docs/", "/docs")] {
        let reply = get(addr, path).await;
        assert_eq!(
            (reply.status, reply.header("location")),
            (307, Some(location))
        );
    }
    assert_eq!(get(addr, "/ui/nope.js").await.status, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_what_the_routes_really_answer() {
    // Goal: the OpenAPI fixes: /step requires its body, HTML routes claim text/html and not
    // JSON, /ws documents 101 and its 400, every route is listed, and a plain GET /ws is
    // really that 400.
    let server = start().await;
    let addr = server.local_addr();
    let openapi = get(addr, "/openapi.json").await.json();
    let paths = openapi["paths"].as_object().unwrap();
    for (path, methods, _) in schema::ROUTES {
        for method in methods {
            assert!(
                paths[path][method.to_lowercase()].is_object(),
                "{method} {path}"
            );
        }
    }
    assert_eq!(paths.len(), schema::ROUTES.len());
    assert_eq!(paths["/step"]["post"]["requestBody"]["required"], true);
    assert_eq!(paths["/mcp"]["post"]["requestBody"]["required"], true);
    assert_eq!(paths["/reset"]["post"]["requestBody"]["required"], false);
    for path in schema::HTML_ROUTES {
        let content = &paths[path]["get"]["responses"]["200"]["content"];
        assert!(content["text/html"].is_object(), "{path}");
        assert!(content.get("application/json").is_none(), "{path}");
        let reply = get(addr, path).await;
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
    let ws = &paths["/ws"]["get"]["responses"];
    assert!(ws["101"].is_object() && ws["400"].is_object());
    assert!(ws.get("200").is_none());
    let plain = get(addr, "/ws").await;
    assert_eq!(plain.status, 400);
    assert!(plain.json()["detail"].is_string());
    assert!(paths["/"]["get"]["responses"]["307"].is_object());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_lists_the_cores_vocabulary() {
    // Goal: /environment is generated from the core's constants (the UI's menus and the
    // Environment view read it), its reward table and grader weights included.
    let server = start().await;
    let addr = server.local_addr();
    let environment = get(addr, "/environment").await.json();
    let names = |values: &[&str]| Value::from(values.to_vec());
    let diagnoses: Vec<&str> = incident_core::Mode::DIAGNOSES
        .iter()
        .map(|m| m.name())
        .collect();
    let fixes: Vec<&str> = incident_core::Fix::ALL.iter().map(|f| f.name()).collect();
    let services: Vec<&str> = incident_core::Service::ALL
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(environment["diagnoses"], names(&diagnoses));
    assert_eq!(environment["fixes"], names(&fixes));
    assert_eq!(environment["services"], names(&services));
    assert_eq!(
        environment["dependency_graph"]["order_service"],
        names(&["payment_service", "database"])
    );
    assert_eq!(environment["dependency_graph"]["database"], names(&[]));
    assert_eq!(environment["reward"]["step_min"], 0.05);
    assert_eq!(environment["reward"]["step_max"], 0.95);
    // The reward table and grader weights are the core's named rules, not retyped.
    use incident_core::{env, grader};
    let units = |milli: i32| f64::from(milli) / 1000.0;
    let table = &environment["reward_table"];
    assert_eq!(
        table["original"]["correct_root_diagnosis"],
        units(env::REWARD_ROOT_DIAGNOSIS_MILLI)
    );
    assert_eq!(
        table["original"]["successful_fix"],
        units(env::REWARD_FIX_MILLI)
    );
    assert_eq!(
        table["v1"]["terminal_step_adds"],
        units(grader::V1_RESET_SCORE_MILLI)
    );
    let weights = &environment["grader_weights"]["weights"];
    let parts = [
        "root_cause_identification",
        "resolution",
        "efficiency",
        "safety",
    ];
    for (part, percent) in parts.iter().zip(grader::WEIGHTS_PERCENT) {
        assert_eq!(weights[part], f64::from(percent) / 100.0, "{part}");
    }
    assert_eq!(
        environment["grader_weights"]["destructive_penalty"]["v1"],
        0.25
    );
    assert_eq!(
        environment["grader_weights"]["v2"]["error_budget_steps"],
        incident_core::grader::ERROR_BUDGET_STEPS
    );
    assert!(table["v2"]["sum_of_rewards"].is_string());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_csp_and_every_response_nosniff() {
    // Goal: the HTML pages may be framed only by this server (CSP frame-ancestors 'self')
    // and load nothing from elsewhere (default-src 'self'); every response, JSON too,
    // says X-Content-Type-Options: nosniff.
    let server = start().await;
    let addr = server.local_addr();
    for path in ["/ui/", "/docs", "/redoc"] {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 200, "{path}");
        let csp = reply.header("content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    for path in ["/health", "/state", "/docs/swagger-ui-bundle.js", "/nope"] {
        let reply = get(addr, path).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_every_get_route_without_a_body() {
    // Goal: HEAD on a GET route answers what GET would, headers and length, without the
    // body; HEAD on a POST-only route is 405.
    let server = start().await;
    let addr = server.local_addr();
    for path in [
        "/health",
        "/tasks",
        "/state",
        "/docs",
        "/ui/",
        "/openapi.json",
    ] {
        let full = get(addr, path).await;
        let head = request(addr, "HEAD", path, &[], None).await;
        assert_eq!(head.status, full.status, "{path}");
        assert!(head.body.is_empty(), "{path}: a body");
        assert_eq!(
            head.header("content-type"),
            full.header("content-type"),
            "{path}"
        );
        let length = full.body.len().to_string();
        assert_eq!(
            head.header("content-length"),
            Some(length.as_str()),
            "{path}"
        );
    }
    assert_eq!(request(addr, "HEAD", "/reset", &[], None).await.status, 405);
    server.shutdown().await;
}
