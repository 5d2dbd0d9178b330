//! The audit trail in memory: the most recent events, read newest first with a cursor. At the cap the oldest event
//! of the most frequent kind goes, so a flood of one kind (11,000 bad tokens, say) evicts its own kind and never
//! the rare events an operator looks for.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::events::{EventKind, EventPage, EventSink, SecurityEvent};

use super::lock;

const EVENTS_CAP: usize = 10_000;

#[derive(Debug)]
pub struct MemoryEvents {
    ring: Mutex<Ring>,
    cap: usize,
}

/// The events in id order, and how many of each kind they hold.
#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<SecurityEvent>,
    counts: HashMap<EventKind, usize>,
}

impl Default for MemoryEvents {
    fn default() -> Self {
        Self::with_cap(EVENTS_CAP)
    }
}

impl MemoryEvents {
    pub fn with_cap(cap: usize) -> Self {
        Self { ring: Mutex::new(Ring::default()), cap: cap.max(1) }
    }
}

#[async_trait]
impl EventSink for MemoryEvents {
    async fn record(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let mut ring = lock(&self.ring);
        let Ring { events, counts } = &mut *ring;
        if events.len() >= self.cap {
            let commonest = counts.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k);
            let oldest = events.iter().position(|e| Some(e.kind) == commonest);
            if let Some(gone) = oldest.and_then(|i| events.remove(i)) {
                counts.entry(gone.kind).and_modify(|n| *n -= 1);
            }
        }
        // Keep the events ordered by id even if two events of one millisecond arrive out of order.
        let at = events.iter().rposition(|e| e.id <= event.id).map_or(0, |i| i + 1);
        events.insert(at, event.clone());
        *counts.entry(event.kind).or_default() += 1;
        Ok(())
    }

    async fn list(&self, kind: Option<EventKind>, limit: usize, cursor: Option<&str>) -> Result<EventPage, StoreError> {
        let ring = lock(&self.ring);
        let mut page: Vec<SecurityEvent> = ring
            .events
            .iter()
            .rev()
            .filter(|e| cursor.is_none_or(|c| e.id.as_str() < c))
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .take(limit + 1)
            .cloned()
            .collect();
        let next_cursor = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(EventPage { events: page, next_cursor })
    }

    async fn of_user(&self, username: &str, limit: usize) -> Result<Vec<SecurityEvent>, StoreError> {
        let ring = lock(&self.ring);
        Ok(ring.events.iter().rev().filter(|e| e.username.as_deref() == Some(username)).take(limit).cloned().collect())
    }

    async fn pseudonymize(&self, username: &str, pseudonym: &str) -> Result<u64, StoreError> {
        let mut ring = lock(&self.ring);
        let mut changed = 0;
        for event in ring.events.iter_mut().filter(|e| e.username.as_deref() == Some(username)) {
            event.username = Some(pseudonym.to_string());
            changed += 1;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_run_newest_first_and_filter_by_kind() {
        let sink = MemoryEvents::default();
        for at in 0..7 {
            let kind = if at % 2 == 0 { EventKind::LoginFail } else { EventKind::LoginSuccess };
            sink.record(&SecurityEvent::new(kind, 1_000 + at)).await.unwrap();
        }
        let first = sink.list(None, 3, None).await.unwrap();
        assert_eq!(first.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![1_006, 1_005, 1_004]);
        let second = sink.list(None, 3, first.next_cursor.as_deref()).await.unwrap();
        assert_eq!(second.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![1_003, 1_002, 1_001]);
        let last = sink.list(None, 3, second.next_cursor.as_deref()).await.unwrap();
        assert_eq!((last.events.len(), last.next_cursor), (1, None));

        let fails = sink.list(Some(EventKind::LoginFail), 10, None).await.unwrap();
        assert_eq!(fails.events.len(), 4);
    }

    #[tokio::test]
    async fn a_flood_of_one_kind_evicts_its_own_kind_not_the_others() {
        let sink = MemoryEvents::with_cap(100);
        for at in 0..5 {
            sink.record(&SecurityEvent::new(EventKind::LoginSuccess, at)).await.unwrap();
        }
        for at in 5..11_005 {
            sink.record(&SecurityEvent::new(EventKind::TokenInvalid, at)).await.unwrap();
        }
        let kept = sink.list(Some(EventKind::LoginSuccess), 10, None).await.unwrap();
        assert_eq!(kept.events.len(), 5, "the rare events survive the flood");
        let flood = sink.list(Some(EventKind::TokenInvalid), 100, None).await.unwrap();
        assert_eq!(flood.events.len(), 95);
        assert_eq!(flood.events[0].at, 11_004, "the newest of the flood are kept");
    }

    #[tokio::test]
    async fn the_ring_keeps_the_newest() {
        let sink = MemoryEvents::with_cap(3);
        for at in 0..5 {
            sink.record(&SecurityEvent::new(EventKind::AuthzFail, at)).await.unwrap();
        }
        let page = sink.list(None, 10, None).await.unwrap();
        assert_eq!(page.events.iter().map(|e| e.at).collect::<Vec<_>>(), vec![4, 3, 2]);
    }
}
