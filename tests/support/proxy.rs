//! A TCP proxy for fault injection, put between CloudMind and Redis or the DynamoDB emulator: it forwards, delays,
//! drops, black-holes or (HTTP) answers with DynamoDB's throttling error, switchable while a test runs. Faults apply
//! to pooled connections too (each chunk looks at the current fault), as a network fault would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards everything.
    None,
    /// Delays each answer: the first chunk from the server after the client has sent something.
    Latency(Duration),
    /// Closes connections: new ones at once, open ones at their next chunk.
    Drop,
    /// Accepts connections and bytes, and never forwards or answers anything.
    Blackhole,
    /// Answers every HTTP request with DynamoDB's `ProvisionedThroughputExceededException` (400), forwarding none.
    Throttle,
}

const THROTTLE_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

struct Shared {
    fault: Mutex<Fault>,
    throttled: AtomicUsize,
}

impl Shared {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running proxy on a free port; stopped when dropped.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared { fault: Mutex::new(Fault::None), throttled: AtomicUsize::new(0) });
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, state.clone()));
            }
        });
        Self { port, shared, task }
    }

    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// HTTP requests answered with the throttling error so far.
    pub fn throttled(&self) -> usize {
        self.shared.throttled.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: u16, shared: Arc<Shared>) {
    match shared.fault() {
        Fault::Drop => {}
        Fault::Blackhole => swallow(&mut client).await,
        Fault::Throttle => throttle(&mut client, &shared).await,
        Fault::None | Fault::Latency(_) => {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let asked = Arc::new(AtomicBool::new(false));
            // Either direction ending (or a fault closing it) ends the connection.
            tokio::select! {
                _ = pump(cr, sw, shared.clone(), asked.clone(), false) => {}
                _ = pump(sr, cw, shared.clone(), asked, true) => {}
            }
            return;
        }
    }
    let _ = client.shutdown().await;
}

/// Copies one direction chunk by chunk, applying the fault current at each chunk.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
    asked: Arc<AtomicBool>,
    toward_client: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        match shared.fault() {
            Fault::None => {}
            Fault::Latency(d) => {
                // Once per answer, however many chunks the server writes it in.
                if toward_client && asked.swap(false, Ordering::SeqCst) {
                    tokio::time::sleep(d).await;
                }
            }
            Fault::Drop | Fault::Throttle => return,
            Fault::Blackhole => std::future::pending::<()>().await,
        }
        if !toward_client {
            asked.store(true, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Reads and discards until the client gives up.
async fn swallow(client: &mut TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// Answers each HTTP/1.1 request on the connection with the throttling error.
async fn throttle(client: &mut TcpStream, shared: &Shared) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // A whole request: the head, then `content-length` bytes of body.
        let request_end = loop {
            if let Some(head_end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&pending[..head_end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if pending.len() >= head_end + 4 + length {
                    break head_end + 4 + length;
                }
            }
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        };
        pending.drain(..request_end);
        if shared.fault() != Fault::Throttle {
            return; // the fault was lifted: the client retries on a connection that is forwarded
        }
        shared.throttled.fetch_add(1, Ordering::SeqCst);
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
             x-amzn-errortype: ProvisionedThroughputExceededException\r\ncontent-length: {}\r\n\r\n{THROTTLE_BODY}",
            THROTTLE_BODY.len()
        );
        if client.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
