//! hyper answers a request it cannot parse (a bad request line or header line, a URI over 64 KiB, a header block
//! over its buffer) itself, with a bare status line: no security headers and no problem body. The local server's
//! connections are wrapped in [`ProblemOnParseError`], which recognises those answers as hyper writes them (a `400`,
//! `414` or `431` head without the headers every CloudMind response carries) and sends CloudMind's problem response
//! in their place. In AWS, API Gateway answers such requests before any function runs.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use cloudmind_security::problem::Problem;
use hyper::StatusCode;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose hyper-written parse-error answers are replaced by problem responses.
pub struct ProblemOnParseError<S> {
    inner: S,
    /// A replacement still being written, and how much of it is out.
    pending: Vec<u8>,
    written: usize,
}

impl<S> ProblemOnParseError<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, pending: Vec::new(), written: 0 }
    }
}

/// The problem response for a head hyper wrote itself, if `buf` starts with one.
fn replacement_for(buf: &[u8]) -> Option<Vec<u8>> {
    let problem = if buf.starts_with(b"HTTP/1.1 400 ") {
        Problem::new(StatusCode::BAD_REQUEST, "validation_failed", "Bad Request", "The request is not valid HTTP/1.1.")
            .member("errors", json!([{"field": "request", "message": "is not a valid HTTP/1.1 request"}]))
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "URI Too Long",
            "The request target is longer than 64 KiB.",
        )
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "Request Header Fields Too Large",
            "The request headers are too large.",
        )
    } else {
        return None;
    };
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head.contains("x-content-type-options:") {
        return None; // one of CloudMind's own responses
    }
    let request_id = cloudmind_security::ids::uuid_v4();
    let body = problem.body_for(&request_id);
    let body = body.to_string();
    let mut headers = hyper::HeaderMap::new();
    cloudmind_security::headers::apply(&mut headers);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         connection: close\r\nx-request-id: {request_id}\r\n",
        problem.status.as_u16(),
        problem.status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    tracing::info!(event = "request_unparsable", status = problem.status.as_u16());
    Some(out.into_bytes())
}

impl<S: AsyncWrite + Unpin> ProblemOnParseError<S> {
    /// Writes what is left of a replacement; ready once it is all out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` as written if it is a head to replace, starting the replacement instead.
    fn replace(&mut self, cx: &mut Context<'_>, buf: &[u8], len: usize) -> Option<Poll<io::Result<usize>>> {
        let replacement = replacement_for(buf)?;
        self.pending = replacement;
        self.written = 0;
        Some(match self.drain(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(len)),
        })
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemOnParseError<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemOnParseError<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        if let Some(done) = this.replace(cx, buf, buf.len()) {
            return done;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        let total = bufs.iter().map(|b| b.len()).sum();
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(done) = this.replace(cx, first, total)
        {
            return done;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_parse_error_heads_are_replaced() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(bare).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(replaced.contains("x-content-type-options: nosniff\r\n"), "{replaced}");
        assert!(replaced.ends_with('}') && replaced.contains(r#""code":"validation_failed""#));
        let ours = b"HTTP/1.1 400 Bad Request\r\nx-content-type-options: nosniff\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement_for(ours).is_none());
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
        assert!(replacement_for(b"{\"HTTP/1.1 400 \"}").is_none());
        for (head, code) in [
            (&b"HTTP/1.1 414 URI Too Long\r\n\r\n"[..], "uri_too_long"),
            (b"HTTP/1.1 431 x\r\n\r\n", "headers_too_large"),
        ] {
            let replaced = String::from_utf8(replacement_for(head).unwrap()).unwrap();
            assert!(replaced.contains(code), "{replaced}");
        }
    }
}
