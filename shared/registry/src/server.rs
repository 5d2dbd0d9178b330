//! The local server: every function behind one HTTP listener (default `127.0.0.1:8000`), mounting the very same
//! handlers the Lambdas run. `cloudmind serve` (`make run`) starts it; the black-box tests start it in-process on a
//! free port.
//!
//! Each HTTP request becomes the `lambda_http::Request` a Lambda would see, with the client IP taken from the
//! socket (never from `X-Forwarded-For`), and goes to the function that owns its path.
//!
//! What API Gateway and Lambda bound in AWS, the server bounds itself ([`Limits`]): the time to send the headers
//! and the body (408 after it), the time a request may take (503), connections in all and per client address
//! (beyond them a connection is closed at once), and a failing `accept` (out of file descriptors) backs off instead
//! of spinning, with one log line when it starts and one when it ends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use cloudmind_security::problem::Problem;
use cloudmind_serving::config::MAX_BODY_BYTES;
use cloudmind_serving::gate::ClientAddr;
use http_body_util::{BodyExt, Full, Limited};
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_http::{Body, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::App;
use crate::parse_errors::ProblemOnParseError;

/// The local server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send the request headers, and then the whole body.
    pub read_timeout: Duration,
    /// Time from a request's headers to its answer, the functions' work included.
    pub request_timeout: Duration,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1_024,
            max_connections_per_ip: 64,
        }
    }
}

/// A problem response the server writes itself (the functions never saw the request), with the security headers.
fn server_problem(problem: &Problem) -> hyper::Response<Full<Bytes>> {
    let request_id = cloudmind_security::ids::uuid_v4();
    let body = problem.body_for(&request_id);
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = problem.status;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/problem+json"));
    headers.insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    if let Ok(id) = hyper::header::HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", id);
    }
    cloudmind_security::headers::apply(headers);
    response
}

/// A connection's place under the bounds, given back when the connection ends.
struct ConnectionSlot {
    _total: OwnedSemaphorePermit,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ConnectionSlot {
    fn take(
        total: &Arc<Semaphore>,
        per_ip: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        limit: usize,
    ) -> Option<Self> {
        let permit = total.clone().try_acquire_owned().ok()?;
        let mut counts = per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Self { _total: permit, per_ip: per_ip.clone(), ip })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Converts a socket request into a Lambda request: body read up to the limit (a larger one is cut at one byte
/// over it, which the gate refuses with 413) within the read timeout (`None` after it), client IP from the socket.
async fn to_lambda_request(req: hyper::Request<Incoming>, peer: IpAddr, read_timeout: Duration) -> Option<Request> {
    let (parts, body) = req.into_parts();
    let declared_too_large = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    let bytes = if declared_too_large {
        None
    } else {
        let collected = tokio::time::timeout(read_timeout, Limited::new(body, MAX_BODY_BYTES).collect()).await.ok()?;
        collected.ok().map(|c| c.to_bytes())
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
    Some(req)
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

/// Serves `app` on `listener` until `shutdown` completes, within the default [`Limits`].
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    serve_with(listener, app, Limits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes.
pub async fn serve_with(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let (mut failing_accepts, mut refusing) = (0u32, false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return Ok(()),
        };
        let (stream, peer): (_, SocketAddr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (EMFILE) and the like: back off, and say so once per episode.
                if failing_accepts == 0 {
                    tracing::warn!(event = "accept_failed", error = %e, detail = "backing off until accepts succeed");
                }
                failing_accepts += 1;
                let pause = Duration::from_millis(10 << failing_accepts.min(7));
                tokio::select! {
                    () = tokio::time::sleep(pause) => continue,
                    () = &mut shutdown => return Ok(()),
                }
            }
        };
        if failing_accepts > 0 {
            tracing::info!(event = "accept_recovered", failed_accepts = failing_accepts);
            failing_accepts = 0;
        }
        let Some(slot) = ConnectionSlot::take(&total, &per_ip, peer.ip(), limits.max_connections_per_ip) else {
            if !refusing {
                tracing::warn!(event = "connection_refused", client_ip = %peer.ip(), detail = "connection limit reached");
                refusing = true;
            }
            drop(stream);
            continue;
        };
        refusing = false;
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move {
                    let Some(req) = to_lambda_request(req, peer.ip(), limits.read_timeout).await else {
                        let detail = "The request body did not arrive in time.";
                        return Ok::<_, Infallible>(server_problem(&Problem::new(
                            StatusCode::REQUEST_TIMEOUT,
                            "request_timeout",
                            "Request timeout",
                            detail,
                        )));
                    };
                    match tokio::time::timeout(limits.request_timeout, app.dispatch(req)).await {
                        Ok(response) => Ok(to_hyper_response(response)),
                        Err(_) => {
                            tracing::error!(event = "request_timed_out", client_ip = %peer.ip());
                            let detail = "The request took too long; try again shortly.";
                            Ok(server_problem(&Problem::new(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "service_unavailable",
                                "Service unavailable",
                                detail,
                            )))
                        }
                    }
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.read_timeout)
                .serve_connection(TokioIo::new(ProblemOnParseError::new(stream)), service);
            if let Err(e) = connection.await {
                tracing::debug!(event = "connection_error", error = %e);
            }
        });
    }
}
