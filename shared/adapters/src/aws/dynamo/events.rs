//! The audit trail in the security table, written over `AUDIT_SHARDS` partitions so that no partition takes every
//! event (DynamoDB allows about 1,000 writes a second per partition key; an attack is when the trail matters most).
//!
//! An event is `pk = EVENT#<shard>`, `sk = <event id>` (ids sort by time), with `tpk = EVTYPE#<type>#<shard>` (the
//! `by_type` index). An event that names a user is also written as `pk = EVUSER#<username>#<shard>` (the same
//! attributes, and `home`, the event's own `pk`), in the same `BatchWriteItem`: the user's export reads those, and an
//! erasure rewrites the events and deletes the copies. (A copy rather than a second index: CloudFormation adds one
//! index to a table per deploy, and an existing stack upgrades in one.) A page is one query per shard, newest first
//! from the cursor (an event id), merged: the same few queries whether the page is of every event or of one type,
//! and whatever the age of the events. An item expires 90 days after its event (TTL); a read ignores one past it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use cloudmind_security::StoreError;
use cloudmind_security::clock::now_ms;
use cloudmind_security::events::{EventKind, EventPage, EventSink, SecurityEvent};

use super::DynamoStore;
use super::items::{
    DAY_MS, EVENT_RETENTION_DAYS, Item, condition_failed, get_n, get_s, n, s, ttl_seconds, unavailable,
};

/// The index of events by type and shard.
pub const BY_TYPE: &str = "by_type";

fn parse_event(item: &Item, now: u64) -> Option<SecurityEvent> {
    if get_n(item, "expires_at").is_some_and(|exp| exp * 1_000 <= now) {
        return None;
    }
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

/// Where a listing reads: the table by shard, or an index by shard.
#[derive(Clone, Copy)]
enum Partition<'a> {
    All,
    Kind(EventKind),
    User(&'a str),
}

impl Partition<'_> {
    fn index_and_key(self, shard: usize) -> (Option<&'static str>, &'static str, String) {
        match self {
            Self::All => (None, "pk", format!("EVENT#{shard}")),
            Self::Kind(kind) => (Some(BY_TYPE), "tpk", format!("EVTYPE#{}#{shard}", kind.as_str())),
            Self::User(username) => (None, "pk", format!("EVUSER#{username}#{shard}")),
        }
    }
}

/// One shard's part of a listing: what it returned and not yet merged (newest first), and where it goes on.
struct ShardCursor {
    shard: usize,
    buffered: std::collections::VecDeque<SecurityEvent>,
    next: Option<HashMap<String, AttributeValue>>,
    /// Nothing more to read from this shard.
    done: bool,
}

impl DynamoStore {
    /// One page of one shard of `partition`, newest first, before `cursor` (or from `start`).
    async fn shard_page(
        &self,
        partition: Partition<'_>,
        shard: &mut ShardCursor,
        cursor: Option<&str>,
        batch: usize,
    ) -> Result<(), StoreError> {
        let (index, key, value) = partition.index_and_key(shard.shard);
        let mut query = self
            .client
            .query()
            .table_name(&self.security)
            .set_index_name(index.map(str::to_string))
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":k", s(value))
            .scan_index_forward(false)
            .limit(batch as i32)
            .set_exclusive_start_key(shard.next.take())
            // The table can be read consistently; an index cannot (it trails the table by a moment).
            .set_consistent_read(index.is_none().then_some(true));
        query = match cursor {
            Some(c) => query.key_condition_expression("#k = :k AND sk < :c").expression_attribute_values(":c", s(c)),
            None => query.key_condition_expression("#k = :k"),
        };
        let out = query.send().await.map_err(|e| unavailable("dynamodb Query", e))?;
        let now = now_ms();
        shard.buffered.extend(out.items().iter().filter_map(|item| parse_event(item, now)));
        shard.next = out.last_evaluated_key.filter(|k| !k.is_empty());
        shard.done = shard.next.is_none();
        Ok(())
    }

    /// The newest `limit` events of `partition` before `cursor`, merged from every shard: each shard is asked for
    /// about its share of the page at once (they are written at random, so the newest events spread evenly), and
    /// asked again only while its oldest returned event could still be on the page. A page reads about `limit`
    /// items plus a few per shard, not `limit` per shard.
    async fn newest(
        &self,
        partition: Partition<'_>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let batch = (limit.div_ceil(self.audit_shards) + 4).min(1_000);
        let mut shards: Vec<ShardCursor> = (0..self.audit_shards)
            .map(|shard| ShardCursor { shard, buffered: Default::default(), next: None, done: false })
            .collect();
        let mut first = true;
        let mut page = Vec::with_capacity(limit);
        loop {
            // Every shard that has run dry but may hold more is read (all of them the first time), at once.
            let reads = shards
                .iter_mut()
                .filter(|c| first || (c.buffered.is_empty() && !c.done))
                .map(|c| self.shard_page(partition, c, cursor, batch));
            futures_util::future::try_join_all(reads).await?;
            first = false;
            // Take the newest head while no shard that may hold a newer event has run dry.
            while page.len() < limit {
                if shards.iter().any(|c| c.buffered.is_empty() && !c.done) {
                    break;
                }
                let newest = shards
                    .iter_mut()
                    .filter(|c| !c.buffered.is_empty())
                    .max_by(|a, b| a.buffered[0].id.cmp(&b.buffered[0].id));
                match newest.and_then(|c| c.buffered.pop_front()) {
                    Some(event) => page.push(event),
                    None => return Ok(page),
                }
            }
            if page.len() >= limit {
                return Ok(page);
            }
        }
    }
}

/// The owner of the copies of events whose username is no account's (see `record`).
const NO_ACCOUNT: &str = "~";

#[async_trait]
impl EventSink for DynamoStore {
    async fn record(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let shard = usize::from(u16::from_le_bytes(cloudmind_security::ids::random_bytes::<2>())) % self.audit_shards;
        let mut item = Item::from([
            ("pk".into(), s(format!("EVENT#{shard}"))),
            ("sk".into(), s(&event.id)),
            ("tpk".into(), s(format!("EVTYPE#{}#{shard}", event.kind.as_str()))),
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
        // An account's name gets a copy under the account (its own trail, found again at erasure). So does the
        // placeholder of a name that is no account's (a failed login), under a partition no account can have (`~`
        // starts no username) that nothing reads: the record is then one BatchWriteItem of two items either way, so
        // its time does not tell whether a name is an account's (the probe's enumeration.timing on DynamoDB).
        let account = event.username.as_ref().filter(|u| {
            cloudmind_security::validation::Username::parse(u).is_ok_and(|parsed| parsed.as_str() == u.as_str())
        });
        let owner = match (account, &event.username) {
            (Some(username), _) => username.as_str(),
            (None, Some(_)) => NO_ACCOUNT,
            (None, None) => return self.put_security(item).await,
        };
        let mut copy = item.clone();
        copy.insert("pk".into(), s(format!("EVUSER#{owner}#{shard}")));
        copy.insert("home".into(), s(format!("EVENT#{shard}")));
        copy.remove("tpk");
        self.put_security_items(vec![item, copy]).await
    }

    async fn list(&self, kind: Option<EventKind>, limit: usize, cursor: Option<&str>) -> Result<EventPage, StoreError> {
        let partition = kind.map_or(Partition::All, Partition::Kind);
        let mut events = self.newest(partition, limit + 1, cursor).await?;
        let next_cursor = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(EventPage { events, next_cursor })
    }

    async fn of_user(&self, username: &str, limit: usize) -> Result<Vec<SecurityEvent>, StoreError> {
        self.newest(Partition::User(username), limit, None).await
    }

    async fn pseudonymize(&self, username: &str, pseudonym: &str) -> Result<u64, StoreError> {
        let mut changed = 0;
        for shard in 0..self.audit_shards {
            let mut start: Option<HashMap<String, AttributeValue>> = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.security)
                    .key_condition_expression("pk = :k")
                    .expression_attribute_values(":k", s(format!("EVUSER#{username}#{shard}")))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| unavailable("dynamodb Query", e))?;
                for copy in out.items() {
                    let (Some(home), Some(sk)) = (get_s(copy, "home"), get_s(copy, "sk")) else { continue };
                    let result = self
                        .client
                        .update_item()
                        .table_name(&self.security)
                        .key("pk", s(home))
                        .key("sk", s(&sk))
                        .update_expression("SET username = :p")
                        .condition_expression("username = :u")
                        .expression_attribute_values(":p", s(pseudonym))
                        .expression_attribute_values(":u", s(username))
                        .send()
                        .await;
                    match result {
                        Ok(_) => changed += 1,
                        // Gone (expired), or changed by a concurrent erasure: nothing left to do for it.
                        Err(e) if condition_failed(&e) => {}
                        Err(e) => return Err(unavailable("dynamodb UpdateItem", e)),
                    }
                    let key = Item::from([("pk".into(), copy["pk"].clone()), ("sk".into(), s(sk))]);
                    self.client
                        .delete_item()
                        .table_name(&self.security)
                        .set_key(Some(key))
                        .send()
                        .await
                        .map_err(|e| unavailable("dynamodb DeleteItem", e))?;
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok(changed)
    }
}
