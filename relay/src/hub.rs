//! Glue between the pure room state machine and the connection tasks: one
//! lock around [`Relay`], and a bounded outbound queue per connection. The
//! lock is held only to run the state machine and to hand out messages
//! without waiting, never across I/O.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use confide_shared::wire::ErrorCode;
use tokio::sync::{Notify, mpsc, watch};

use crate::limits::Limits;
use crate::room::{Close, ConnId, Output, Relay};

/// What a connection task writes to its socket.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Close(Close),
}

/// Lets the hub close a connection whose queue is full (out of band).
#[derive(Default)]
pub struct Kill {
    notify: Notify,
    close: Mutex<Option<Close>>,
}

impl Kill {
    fn fire(&self, close: Close) {
        if let Ok(mut slot) = self.close.lock() {
            slot.get_or_insert(close);
        }
        self.notify.notify_one();
    }

    /// Waits until the connection must be closed.
    pub async fn fired(&self) -> Close {
        self.notify.notified().await;
        self.close
            .lock()
            .ok()
            .and_then(|slot| *slot)
            .unwrap_or(Close::error(ErrorCode::SlowConsumer))
    }
}

struct Handle {
    tx: mpsc::Sender<Outbound>,
    kill: Arc<Kill>,
}

struct Inner {
    relay: Relay,
    handles: HashMap<ConnId, Handle>,
}

/// Shared by every connection task.
pub struct Hub {
    inner: Mutex<Inner>,
    limits: Limits,
    next_conn: AtomicU64,
    /// Open WebSocket connections (counted from upgrade to task end).
    open: AtomicUsize,
    shutdown: watch::Sender<bool>,
}

/// A registered connection; unregisters itself when dropped.
pub struct Registration {
    pub id: ConnId,
    pub rx: mpsc::Receiver<Outbound>,
    pub kill: Arc<Kill>,
    hub: Arc<Hub>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub
            .run(|relay| relay.disconnect(self.id, Instant::now()));
        self.hub.lock().handles.remove(&self.id);
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    pub fn new(limits: Limits) -> Arc<Hub> {
        let seed = rand::random();
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                relay: Relay::new(limits.clone(), seed),
                handles: HashMap::new(),
            }),
            limits,
            next_conn: AtomicU64::new(1),
            open: AtomicUsize::new(0),
            shutdown: watch::Sender::new(false),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug; keep serving the other rooms.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves a connection slot, or `None` when the relay is full.
    pub fn try_open(self: &Arc<Self>) -> Option<Registration> {
        let max = self.limits.max_connections;
        if self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            self.run(|relay| {
                relay.record_error(ErrorCode::ServerFull);
                Vec::new()
            });
            return None;
        }
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.limits.send_queue.max(1));
        let kill = Arc::new(Kill::default());
        let mut inner = self.lock();
        inner.relay.connect(id, Instant::now());
        inner.handles.insert(
            id,
            Handle {
                tx,
                kill: kill.clone(),
            },
        );
        drop(inner);
        Some(Registration {
            id,
            rx,
            kill,
            hub: self.clone(),
        })
    }

    /// Runs the state machine and hands its outputs to the connection queues.
    pub fn run(&self, step: impl FnOnce(&mut Relay) -> Vec<Output>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let mut outputs = step(&mut inner.relay);
        let mut round = 0;
        while !outputs.is_empty() && round < 4 {
            round += 1;
            let mut slow = Vec::new();
            for output in outputs {
                let (conn, item) = match output {
                    Output::Send(conn, msg) => (conn, Outbound::Text(msg.to_json())),
                    Output::Close(conn, close) => (conn, Outbound::Close(close)),
                };
                let Some(handle) = inner.handles.get(&conn) else {
                    continue;
                };
                match handle.tx.try_send(item) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(Outbound::Close(close))) => {
                        handle.kill.fire(close)
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => slow.push(conn),
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
            // A connection that does not read its messages is closed; that may notify others.
            outputs = Vec::new();
            let now = Instant::now();
            for conn in slow {
                if let Some(handle) = inner.handles.get(&conn) {
                    handle.kill.fire(Close::error(ErrorCode::SlowConsumer));
                }
                outputs.extend(inner.relay.kick(conn, ErrorCode::SlowConsumer, now));
            }
        }
    }

    /// Reads from the state machine under the lock.
    pub fn with_relay<T>(&self, read: impl FnOnce(&Relay) -> T) -> T {
        read(&self.lock().relay)
    }

    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Tells every connection task to say goodbye.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
