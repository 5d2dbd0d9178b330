//! In-memory implementations of every port: the embedded default of the local server and the doubles of the unit
//! tests. They are real implementations: TTLs expire on time, every operation is atomic under one lock, and each
//! map is bounded (expired entries are evicted first; a flood of unique keys cannot exhaust memory).

mod account;
mod devices;
mod events;
mod limiter;
mod links;
mod lockout;
mod mail;
mod mfa;
mod sessions;
mod users;

pub use account::MemoryAccountData;
pub use devices::MemoryDevices;
pub use events::MemoryEvents;
pub use limiter::MemoryLimiter;
pub use links::MemoryLinks;
pub use lockout::MemoryLockouts;
pub use mail::{FileOutbox, InProcessQueue, JobRunner, NoTransport, rfc5322};
pub use mfa::MemoryMfa;
pub use sessions::MemorySessionStore;
pub use users::{MemorySessions, MemoryUsers};

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering from poisoning: every critical section leaves its map consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
