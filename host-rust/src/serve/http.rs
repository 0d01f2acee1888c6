//! The HTTP side of `cu serve`: connections, the health endpoint, the body limit, the workers'
//! permits, one log line per request, and a graceful stop.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::pool::{Failure, Pool};

/// What every connection's requests share.
pub(super) struct Service {
    pub(super) pool: Arc<Pool>,
    /// One permit per worker: a request waits for one before it runs.
    pub(super) permits: Arc<Semaphore>,
    pub(super) health_path: String,
    pub(super) max_body: u64,
    pub(super) log: bool,
    /// Set once the server stops taking requests; the health endpoint then says so.
    pub(super) stopping: AtomicBool,
}

/// Serves connections from `listener` until `stop` resolves, then lets every open connection
/// finish the requests it has begun and closes it.
pub(super) async fn serve(listener: TcpListener, service: Arc<Service>, stop: impl Future<Output = ()>) {
    let (stopping, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, or a connection reset before it was taken: keep serving.
                Err(_) => continue,
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let handler = service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(service.respond(request).await) }
            });
            let connection = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), handler);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    service.stopping.store(true, Ordering::SeqCst);
    let _ = stopping.send(true);
    if !connections.is_empty() {
        eprintln!("cu serve: stopping: finishing the requests of {} open connections", connections.len());
    }
    while connections.join_next().await.is_some() {}
}

impl Service {
    /// The response to one request, and its log line.
    async fn respond(&self, request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        let response = self.route(request).await;
        if self.log {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            eprintln!("{method} {path} {} {ms:.2}ms", response.status().as_u16());
        }
        response
    }

    async fn route(&self, request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        if request.uri().path() == self.health_path {
            return match self.stopping.load(Ordering::SeqCst) {
                false => text(StatusCode::OK, "ok"),
                true => text(StatusCode::SERVICE_UNAVAILABLE, "stopping"),
            };
        }
        let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if self.max_body > 0 && declared.is_some_and(|length| length > self.max_body) {
            drain(request.into_body()).await;
            let message = format!("the request body is larger than {} bytes", self.max_body);
            let mut response = text(StatusCode::PAYLOAD_TOO_LARGE, &message);
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return text(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping");
        };
        let (answer, answered) = oneshot::channel();
        let pool = self.pool.clone();
        let run = tokio::task::spawn_blocking(move || {
            let ran = pool.handle(request, answer);
            drop(permit);
            ran
        });
        match answered.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("the handler failed: {code:?}")),
            // The handler never answered: it trapped, or returned without a response.
            Err(_) => match run.await {
                Ok(Err(Failure::Time)) => text(StatusCode::SERVICE_UNAVAILABLE, "the request ran past its time limit"),
                Ok(Err(Failure::Memory)) => text(StatusCode::SERVICE_UNAVAILABLE, "the request ran out of memory"),
                Ok(Err(Failure::Request(message))) => text(StatusCode::BAD_REQUEST, &message),
                Ok(Err(Failure::Engine(message))) => {
                    text(StatusCode::INTERNAL_SERVER_ERROR, &format!("the handler failed: {message}"))
                }
                Ok(Ok(())) => text(StatusCode::INTERNAL_SERVER_ERROR, "the handler returned without a response"),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("the handler failed: {e}")),
            },
        }
    }
}

/// How much of a refused body is read and dropped, and for how long, before the 413 goes out.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads and drops (some of) a body that will not be used: a connection closed with unread data
/// is reset, and a client still sending would see the reset rather than the 413.
async fn drain(mut body: Incoming) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0;
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, Bytes::len);
            if read > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

/// A plain-text response of the server's own (the app's errors come from cu-http).
fn text(status: StatusCode, message: &str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(format!("{message}\n"))).map_err(|never| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("health_path", &self.health_path).finish_non_exhaustive()
    }
}
