//! The doubles' tiny HTTP/1.1 server: one request per connection, `Connection: close`.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Handler, HttpResponse, RecordedRequest};

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = if b[i] == b'%' && i + 2 < b.len() {
            std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        } else {
            None
        };
        if let Some(v) = hex {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

pub(super) async fn handle_conn(
    mut sock: tokio::net::TcpStream,
    port: u16,
    handler: Handler,
) -> io::Result<()> {
    let Some(req) = read_request(&mut sock, port).await? else {
        return Ok(());
    };
    let resp = handler(&req);
    write_response(&mut sock, &req, &resp).await
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body) from `sock`; `None` when the
/// peer closed the connection or sent an absurdly long head. Shared with the kubelet double,
/// which reads it from a TLS stream.
pub(crate) async fn read_request<S>(sock: &mut S, port: u16) -> io::Result<Option<RecordedRequest>>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Ok(Some(RecordedRequest {
        port,
        method,
        target,
        headers,
        body,
    }))
}

/// Writes `resp` as the answer to `req` and closes the connection (one request per connection).
pub(crate) async fn write_response<S>(
    sock: &mut S,
    req: &RecordedRequest,
    resp: &HttpResponse,
) -> io::Result<()>
where
    S: tokio::io::AsyncWrite + Unpin,
{
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    )
    .into_bytes();
    if req.method != "HEAD" {
        out.extend_from_slice(&resp.body);
    }
    sock.write_all(&out).await?;
    sock.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("/connectors/proxmox%2D%3Eaws.MirrorSourceConnector/status"),
            "/connectors/proxmox->aws.MirrorSourceConnector/status"
        );
        assert_eq!(percent_decode("a%3e"), "a>");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
