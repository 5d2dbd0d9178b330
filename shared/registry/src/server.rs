//! The local server: every function behind one HTTP listener (default `127.0.0.1:8000`), mounting the very same
//! handlers the Lambdas run. `cloudmind serve` (`make run`) starts it; the black-box tests start it in-process on a
//! free port.
//!
//! Each HTTP request becomes the `lambda_http::Request` a Lambda would see, with the client IP taken from the
//! socket (never from `X-Forwarded-For`), and goes to the function that owns its path.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudmind_platform::config::MAX_BODY_BYTES;
use cloudmind_platform::gate::ClientAddr;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_http::{Body, Request, Response};
use tokio::net::TcpListener;

use crate::App;

/// Converts a socket request into a Lambda request: body read up to the limit (a larger one is cut at one byte
/// over it, which the gate refuses with 413), client IP from the socket.
async fn to_lambda_request(req: hyper::Request<Incoming>, peer: IpAddr) -> Request {
    let (parts, body) = req.into_parts();
    let declared_too_large = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    let bytes = if declared_too_large {
        None
    } else {
        Limited::new(body, MAX_BODY_BYTES).collect().await.ok().map(|c| c.to_bytes())
    };
    let body = match bytes {
        Some(b) if b.is_empty() => Body::Empty,
        Some(b) => match String::from_utf8(b.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        },
        None => Body::Binary(vec![0; MAX_BODY_BYTES + 1]),
    };
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(ClientAddr(peer));
    req
}

fn to_hyper_response(res: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = res.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(event = "accept_failed", error = %e);
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move {
                    let req = to_lambda_request(req, peer.ip()).await;
                    Ok::<_, Infallible>(to_hyper_response(app.dispatch(req).await))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(event = "connection_error", error = %e);
            }
        });
    }
}
