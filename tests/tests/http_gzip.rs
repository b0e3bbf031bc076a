//! The first gzip of a large asset runs off the server's I/O threads: on a runtime with a
//! single thread, `/health` is answered while the Swagger UI bundle is still being
//! compressed. (Its own test binary: the compressed bytes are cached per process.)

mod support;

use std::time::{Duration, Instant};

use support::{get, request, start};

#[tokio::test(flavor = "current_thread")]
async fn health_answers_while_the_bundle_is_first_compressed() {
    // Goal: with one runtime thread for the server and the client, a /health sent 20 ms
    // after the first gzip request of the bundle is answered in less than half the time
    // the bundle takes; compressing on the I/O thread would hold /health until it is done.
    let server = start().await;
    let addr = server.local_addr();
    let started = Instant::now();
    let bundle = tokio::spawn(async move {
        let gzip = [("Accept-Encoding", "gzip")];
        let reply = request(addr, "GET", "/docs/swagger-ui-bundle.js", &gzip, None).await;
        assert_eq!(reply.header("content-encoding"), Some("gzip"));
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(get(addr, "/health").await.status, 200);
    let health = started.elapsed();
    let bundle = bundle.await.unwrap();
    println!("first gzip of the bundle: {bundle:?}; /health answered after {health:?}");
    assert!(health < bundle / 2, "/health {health:?}, bundle {bundle:?}");
    server.shutdown().await;
}
