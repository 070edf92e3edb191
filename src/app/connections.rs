//! The connections, served with hyper's HTTP/1 server directly (axum's `serve` sets no limit a
//! hostile client would meet), within `state::Limits`:
//!
//! * at most `max_connections` open at once. Past it, the connection that has waited longest
//!   for a request (one that sends nothing, trickles its headers, or idles between requests)
//!   is closed to make room; when every connection has a request in progress, new ones wait in
//!   the listen backlog until one answers its request. Requests in progress are never cut, and
//!   silent or idle connections cannot keep `/health` out.
//! * a connection is closed when a request's headers take longer than `header_read_timeout`
//!   (counted from the connection's start, or from the first byte of a later request), and
//!   when it idles between requests longer than `idle_timeout` (`Activity`, watched by
//!   `watchdog`, which a request does not wake: it looks at its deadlines).
//! * a request body must arrive within `body_read_timeout` of its headers, and the bodies read
//!   by all requests together hold at most `max_body_memory` bytes: a request whose body would
//!   pass it waits for room (within its timeout). Room is reserved when a handler first reads
//!   the body, after authentication, and given back once the answer is sent (`Guarded`).
//! * on shutdown the listener is closed, connections waiting for a request are closed, the
//!   requests in progress are finished (hyper-util's `GracefulShutdown`), and what remains
//!   after `shutdown_timeout` is closed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::state::{BodyTimedOut, Limits, MAX_BODY_BYTES};

/// The most a connection buffers of what it reads: a request's headers must fit, and a body
/// passes through it in pieces of at most this size.
const READ_BUFFER: usize = 16 * 1024;

/// How long the accept loop pauses after a failed accept (the descriptors may have run out).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// How often, at the connection cap with no connection to close, the accept loop looks again
/// for one that waits for a request.
const EVICTION_RETRY: Duration = Duration::from_millis(100);

/// Serves `router` on the connections of `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        router,
        limits,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        bodies: Arc::new(Semaphore::new(limits.max_body_memory)),
        open: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    });
    let graceful = GracefulShutdown::new();
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    'accepting: loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        // At the cap, make room by closing a connection that waits for a request; if none
        // does, wait for a slot, and look again now and then: a connection that ends its
        // request waits for the next one.
        let slot = loop {
            if let Ok(slot) = shared.slots.clone().try_acquire_owned() {
                break slot;
            }
            shared.evict_the_longest_waiting();
            tokio::select! {
                () = &mut shutdown => break 'accepting,
                slot = shared.slots.clone().acquire_owned() => {
                    break slot.expect("the connection slots are never closed");
                }
                () = tokio::time::sleep(EVICTION_RETRY) => {}
            }
        };
        tasks.spawn(shared.clone().connection(stream, slot, graceful.watcher()));
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    shared.close_the_waiting();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(
                connections = tasks.len(),
                "requests still in progress at the shutdown deadline: closing their connections"
            );
            tasks.abort_all();
        }
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// What the connections share.
struct Shared {
    router: Router,
    limits: Limits,
    /// One permit per open connection.
    slots: Arc<Semaphore>,
    /// One permit per byte of request body held in memory.
    bodies: Arc<Semaphore>,
    /// The activity of every open connection, by a number of its own.
    open: Mutex<HashMap<u64, Activity>>,
    next_id: AtomicU64,
}

impl Shared {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Activity>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the connection that has waited longest for a request, if one waits.
    fn evict_the_longest_waiting(&self) {
        let open = self.open();
        let mut waiting: Vec<_> = open
            .values()
            .filter_map(|activity| {
                let since = activity.phase().waiting_since()?;
                Some((since, activity))
            })
            .collect();
        waiting.sort_by_key(|(since, _)| *since);
        // The first that still waits when told: another may have started a request meanwhile.
        let evicted = waiting
            .into_iter()
            .any(|(_, activity)| activity.close_if_waiting());
        if evicted {
            tracing::info!("connection limit reached: closed the connection idle the longest");
        }
    }

    /// Closes every connection that waits for a request (on shutdown).
    fn close_the_waiting(&self) {
        for activity in self.open().values() {
            activity.close_if_waiting();
        }
    }

    /// Serves one connection until it ends, times out or is closed.
    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        _slot: OwnedSemaphorePermit,
        graceful: Watcher,
    ) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Activity::new();
        self.open().insert(id, activity.clone());
        let io = TokioIo::new(Observed {
            inner: stream,
            activity: activity.clone(),
        });
        let shared = self.clone();
        let requests = activity.clone();
        let watched = activity.clone();
        let service =
            service_fn(move |req: Request<Incoming>| shared.clone().request(req, requests.clone()));
        let conn = http1::Builder::new()
            .max_buf_size(READ_BUFFER)
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::select! {
            result = graceful.watch(conn) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            () = watchdog(watched, self.limits) => {}
        }
        self.open().remove(&id);
    }

    /// Serves one request: its body guarded, its answer marking the connection idle when it
    /// has been sent.
    async fn request(
        self: Arc<Self>,
        req: Request<Incoming>,
        activity: Activity,
    ) -> Result<Response<Body>, Infallible> {
        activity.set(Phase::Busy);
        // A request without a body (most reads) has nothing to guard.
        let charge = (!req.body().is_end_stream()).then(|| Arc::new(Charge::default()));
        let req = req.map(|body| match &charge {
            Some(charge) => Body::new(Guarded {
                inner: body,
                deadline: Instant::now() + self.limits.body_read_timeout,
                timer: None,
                bodies: self.bodies.clone(),
                charge: charge.clone(),
                room: Room::Unreserved,
            }),
            None => Body::empty(),
        });
        let response = self.router.clone().oneshot(req).await?;
        Ok(response.map(|body| {
            Body::new(Answer {
                inner: body,
                _done: Done {
                    activity,
                    _charge: charge,
                },
            })
        }))
    }
}

/// What a connection is doing, for its timeouts and for eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the headers of a request, since the connection started or since the first
    /// byte of the request arrived.
    Head(Instant),
    /// Idle between requests since the last answer was sent.
    Idle(Instant),
    /// A request is in progress.
    Busy,
    /// To be closed.
    Closing,
}

impl Phase {
    /// Since when the connection has waited for a request, if it waits for one.
    fn waiting_since(&self) -> Option<Instant> {
        match self {
            Self::Head(since) | Self::Idle(since) => Some(*since),
            Self::Busy | Self::Closing => None,
        }
    }

    fn close_if_waiting(&mut self) -> bool {
        let waiting = self.waiting_since().is_some();
        if waiting {
            *self = Self::Closing;
        }
        waiting
    }
}

/// The activity of a connection, shared by its reader, its requests and its watchdog. Its
/// phase changes without waking anyone (a request would otherwise wake its connection's task
/// three times over); only a close wakes the watchdog.
#[derive(Clone)]
struct Activity(Arc<Watched>);

struct Watched {
    phase: Mutex<Phase>,
    closing: Notify,
}

impl Activity {
    fn new() -> Self {
        Self(Arc::new(Watched {
            phase: Mutex::new(Phase::Head(Instant::now())),
            closing: Notify::new(),
        }))
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn phase(&self) -> Phase {
        *self.current()
    }

    fn set(&self, phase: Phase) {
        let mut current = self.current();
        if *current != Phase::Closing {
            *current = phase;
        }
    }

    /// Bytes arrived: on an idle connection, they begin the headers of the next request.
    fn bytes_arrived(&self) {
        let mut current = self.current();
        if let Phase::Idle(_) = *current {
            *current = Phase::Head(Instant::now());
        }
    }

    /// Closes the connection if it waits for a request; whether it did.
    fn close_if_waiting(&self) -> bool {
        let closed = self.current().close_if_waiting();
        if closed {
            self.0.closing.notify_one();
        }
        closed
    }
}

/// Completes when the connection is to be closed: its headers or its idleness took too long,
/// or it was told to close.
///
/// Nothing tells it of a new phase: it looks at the phase at the phase's deadline and at least
/// every `recheck`, the shorter timeout. That keeps every deadline exact: a phase that began
/// after one look began at most `recheck` before the next, and its deadline is at least
/// `recheck` after its beginning, so the next look is never past it.
async fn watchdog(activity: Activity, limits: Limits) {
    let recheck = limits.header_read_timeout.min(limits.idle_timeout);
    loop {
        let current = activity.phase();
        let deadline = match current {
            Phase::Head(since) => Some(since + limits.header_read_timeout),
            Phase::Idle(since) => Some(since + limits.idle_timeout),
            Phase::Busy => None,
            Phase::Closing => return,
        };
        let now = Instant::now();
        if deadline.is_some_and(|deadline| deadline <= now) {
            tracing::debug!(?current, "connection timed out");
            return;
        }
        let look = deadline.map_or(now + recheck, |deadline| deadline.min(now + recheck));
        tokio::select! {
            () = tokio::time::sleep_until(look) => {}
            () = activity.0.closing.notified() => return,
        }
    }
}

/// The socket of a connection, telling its activity when bytes arrive.
struct Observed {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Observed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Observed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The room a request's body holds in memory (permits of `Shared::bodies`), given back when
/// both its body and its answer are gone.
#[derive(Default)]
struct Charge(Mutex<Option<OwnedSemaphorePermit>>);

impl Charge {
    fn hold(&self, permit: OwnedSemaphorePermit) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(permit);
    }
}

type Reserving = Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send>>;

/// A request body read within its deadline and within the memory all bodies share. Its room
/// is reserved whole when it is first read (its length, or `MAX_BODY_BYTES` when it has none),
/// so that bodies wait for room one after the other and never each hold a part while waiting
/// for the rest.
struct Guarded {
    inner: Incoming,
    /// From when the request came; its timer is set when the body is first read.
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    bodies: Arc<Semaphore>,
    charge: Arc<Charge>,
    room: Room,
}

enum Room {
    /// Not reserved yet: the body has not been read.
    Unreserved,
    /// Waiting for room.
    Reserving(Reserving),
    Reserved,
}

impl Guarded {
    /// Reserves the body's room; ready once it is reserved, `false` if it never can be.
    fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            match &mut self.room {
                Room::Reserved => return Poll::Ready(true),
                Room::Unreserved => {
                    let size = self.inner.size_hint().exact();
                    let len = size
                        .map_or(MAX_BODY_BYTES, |n| n as usize)
                        .min(MAX_BODY_BYTES);
                    let len = u32::try_from(len).expect("MAX_BODY_BYTES fits in u32");
                    self.room = match self.bodies.clone().try_acquire_many_owned(len) {
                        Ok(permit) => {
                            self.charge.hold(permit);
                            Room::Reserved
                        }
                        Err(_) => {
                            let bodies = self.bodies.clone();
                            Room::Reserving(Box::pin(async move {
                                bodies.acquire_many_owned(len).await.ok()
                            }))
                        }
                    };
                }
                Room::Reserving(reserving) => {
                    let Some(permit) = ready!(reserving.as_mut().poll(cx)) else {
                        return Poll::Ready(false);
                    };
                    self.charge.hold(permit);
                    self.room = Room::Reserved;
                }
            }
        }
    }
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() || !ready!(self.poll_reserve(cx)) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(|e| Box::new(e) as Self::Error)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer; when it has been sent (or dropped), its request no longer holds memory and its
/// connection waits for the next request.
struct Answer {
    inner: Body,
    _done: Done,
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

struct Done {
    activity: Activity,
    /// Held until the answer is gone (a request with a body).
    _charge: Option<Arc<Charge>>,
}

impl Drop for Done {
    fn drop(&mut self) {
        self.activity.set(Phase::Idle(Instant::now()));
    }
}
