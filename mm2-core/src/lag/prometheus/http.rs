//! `GET` from a plain-HTTP Prometheus, with hyper's client (already in the tree through kube):
//! HTTP/1.1 framing, chunked bodies and keep-alive are hyper's job, not ours.

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Largest response body read from a plain-HTTP Prometheus.
const MAX_BODY: usize = 64 << 20;

/// `GET target` from `host:port` within `timeout`. Returns the status and the body.
pub async fn get(host: &str, port: u16, target: &str, timeout: Duration) -> Result<(u16, String), String> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let uri: http::Uri = format!("http://{authority}{target}")
        .parse()
        .map_err(|e| format!("bad address http://{authority}{target}: {e}"))?;
    let request = http::Request::get(uri)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "kubectl-mm2")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the query: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach {authority}: {}", cause(&e)))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no answer from {authority} within {}",
            crate::error::humantime(timeout)
        )),
    }
}

/// The innermost cause of a client error ("Connection refused (os error 111)"), which is what
/// a user can act on; hyper's outer layers only say "client error (Connect)".
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot server answering `answer` raw; returns the request it read.
    async fn serve_once(answer: &'static [u8]) -> (u16, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(answer).await.unwrap();
            s.shutdown().await.ok();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (port, server)
    }

    #[tokio::test]
    async fn a_query_goes_out_as_http_1_1_with_its_host() {
        let (port, server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody").await;
        let (status, body) = get(
            "127.0.0.1",
            port,
            "/api/v1/query?query=up",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!((status, body.as_str()), (200, "body"));
        let req = server.await.unwrap();
        assert!(
            req.starts_with("GET /api/v1/query?query=up HTTP/1.1\r\n"),
            "{req}"
        );
        assert!(
            req.to_ascii_lowercase()
                .contains(&format!("host: 127.0.0.1:{port}\r\n")),
            "{req}"
        );
    }

    #[tokio::test]
    async fn chunked_and_error_answers_are_read() {
        let (port, _s) =
            serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n").await;
        let (status, body) = get("127.0.0.1", port, "/", Duration::from_secs(5)).await.unwrap();
        assert_eq!((status, body.as_str()), (200, "hello world"));
        let (port, _s) =
            serve_once(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown").await;
        let (status, body) = get("127.0.0.1", port, "/", Duration::from_secs(5)).await.unwrap();
        assert_eq!((status, body.as_str()), (503, "down"));
        // Not HTTP at all: an error, never a made-up status.
        let (port, _s) = serve_once(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        assert!(get("127.0.0.1", port, "/", Duration::from_secs(5)).await.is_err());
    }

    #[tokio::test]
    async fn silence_hits_the_deadline_and_a_closed_port_names_the_cause() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let e = get("127.0.0.1", port, "/", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(e.contains("no answer from 127.0.0.1"), "{e}");
        drop(silent);
        let e = get("127.0.0.1", port, "/", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.contains("cannot reach") && e.to_lowercase().contains("refused"),
            "{e}"
        );
    }
}
