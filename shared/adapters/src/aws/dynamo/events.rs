//! `EVENT#<day>` audit events, kept 90 days, read newest first a page at a time.

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::events::{EventKind, EventPage, EventSink, SecurityEvent};

use super::DynamoStore;
use super::items::{DAY_MS, EVENT_RETENTION_DAYS, Item, day_of, get_n, get_s, n, s, ttl_seconds, unavailable};

fn parse_event(item: &Item) -> Option<SecurityEvent> {
    Some(SecurityEvent {
        id: get_s(item, "sk")?,
        kind: EventKind::parse(&get_s(item, "type")?)?,
        at: get_n(item, "at")?,
        ip: get_s(item, "ip"),
        username: get_s(item, "username"),
        detail: get_s(item, "detail").unwrap_or_default(),
        request_id: get_s(item, "request_id"),
    })
}

#[async_trait]
impl EventSink for DynamoStore {
    async fn record(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("pk".into(), s(format!("EVENT#{}", day_of(event.at)))),
            ("sk".into(), s(&event.id)),
            ("type".into(), s(event.kind.as_str())),
            ("at".into(), n(event.at)),
            ("detail".into(), s(&event.detail)),
            ("expires_at".into(), n(ttl_seconds(event.at + EVENT_RETENTION_DAYS * DAY_MS))),
        ]);
        for (name, value) in [("ip", &event.ip), ("username", &event.username), ("request_id", &event.request_id)] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        self.put_security(item).await
    }

    async fn list(&self, kind: Option<EventKind>, limit: usize, cursor: Option<&str>) -> Result<EventPage, StoreError> {
        let now = cloudmind_security::clock::now_ms();
        let start = cursor.and_then(|c| c.split('-').next()?.parse::<u64>().ok()).unwrap_or(now);
        let mut events = Vec::with_capacity(limit + 1);
        'days: for days_back in 0..=EVENT_RETENTION_DAYS {
            let Some(day_ms) = start.checked_sub(days_back * DAY_MS) else { break };
            let day = day_of(day_ms);
            let mut exclusive_start = None;
            loop {
                let mut query = self
                    .client
                    .query()
                    .table_name(&self.security)
                    .expression_attribute_values(":pk", s(format!("EVENT#{day}")))
                    .scan_index_forward(false)
                    .limit(100)
                    .set_exclusive_start_key(exclusive_start.take());
                query = match cursor.filter(|_| days_back == 0) {
                    Some(c) => {
                        query.key_condition_expression("pk = :pk AND sk < :c").expression_attribute_values(":c", s(c))
                    }
                    None => query.key_condition_expression("pk = :pk"),
                };
                if let Some(k) = kind {
                    query = query
                        .filter_expression("#t = :t")
                        .expression_attribute_names("#t", "type")
                        .expression_attribute_values(":t", s(k.as_str()));
                }
                let out = query.send().await.map_err(|e| unavailable("dynamodb Query", e))?;
                for item in out.items() {
                    if let Some(e) = parse_event(item) {
                        events.push(e);
                        if events.len() > limit {
                            break 'days;
                        }
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => exclusive_start = Some(k),
                    _ => break,
                }
            }
        }
        let next_cursor = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(EventPage { events, next_cursor })
    }
}
