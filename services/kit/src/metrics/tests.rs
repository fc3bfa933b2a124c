use super::rpc::code_name;
use std::net::SocketAddr;

#[test]
fn codes_have_their_canonical_names() {
    assert_eq!(code_name(0), "OK");
    assert_eq!(code_name(3), "INVALID_ARGUMENT");
    assert_eq!(code_name(16), "UNAUTHENTICATED");
    assert_eq!(code_name(99), "UNKNOWN");
    assert_eq!(code_name(-1), "UNKNOWN");
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out)
}

struct Depth;

impl super::Collect for Depth {
    fn collect(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async {
            metrics::gauge!("mynafleet_test_depth", "service" => "test").set(7.0);
        })
    }
}

#[tokio::test]
async fn the_endpoint_serves_series_and_runs_collectors_while_registered() {
    super::install().expect("first recorder in this test process");
    metrics::counter!("mynafleet_test_total", "service" => "test").increment(3);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(super::serve(listener, stop.clone().cancelled_owned()));

    let registration = super::register(std::sync::Arc::new(Depth));
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("mynafleet_test_total{service=\"test\"} 3"),
        "{body}"
    );
    assert!(
        body.contains("mynafleet_test_depth{service=\"test\"} 7"),
        "{body}"
    );
    drop(registration);
    metrics::gauge!("mynafleet_test_depth", "service" => "test").set(1.0);
    let (_, body) = get(addr, "/metrics").await;
    assert!(
        body.contains("mynafleet_test_depth{service=\"test\"} 1"),
        "a dropped collector no longer runs: {body}"
    );

    let (status, _) = get(addr, "/other").await;
    assert_eq!(status, 404);
    stop.cancel();
    server.await.unwrap();
}
