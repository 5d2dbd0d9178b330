//! The mail queue in AWS: a job is a `MAILJOB#<id>` item of the security table; the table's stream hands each new
//! job to the `mailer` function, which sends its messages and then deletes the item (a job names a user or an
//! address: an erasure must not find it lingering; the TTL of a day removes one whose worker crashed). A request
//! that queues a job makes one `PutItem`, whatever the job turns out to be (a reset for an address no account has
//! included).

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::clock::now_ms;
use cloudmind_security::mail::{MailJob, MailQueue};

use super::DynamoStore;
use super::items::{Item, n, s, ttl_seconds};

/// The partition prefix of jobs (the stream's filter selects it).
pub const JOB_PREFIX: &str = "MAILJOB#";

#[async_trait]
impl MailQueue for DynamoStore {
    async fn enqueue(&self, job: &MailJob) -> Result<(), StoreError> {
        let body = serde_json::to_string(job).map_err(|e| StoreError::unavailable("mail job", e))?;
        let item = Item::from([
            ("pk".into(), s(format!("{JOB_PREFIX}{}", cloudmind_security::ids::uuid_v4()))),
            ("sk".into(), s("MAILJOB")),
            ("job".into(), s(body)),
            ("expires_at".into(), n(ttl_seconds(now_ms() + 86_400_000))),
        ]);
        self.put_security(item).await
    }

    async fn done(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.security)
            .key("pk", s(format!("{JOB_PREFIX}{id}")))
            .key("sk", s("MAILJOB"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| super::items::unavailable("dynamodb DeleteItem", e))
    }
}

/// The jobs of a DynamoDB stream event (the JSON Lambda receives), with their ids: the new image of every inserted
/// job item; other records (the table's other items, modifications, removals by TTL) are not jobs.
pub fn jobs_of_stream_event(event: &serde_json::Value) -> Vec<(String, MailJob)> {
    let records = event["Records"].as_array().map(Vec::as_slice).unwrap_or_default();
    records
        .iter()
        .filter(|r| r["eventName"] == "INSERT")
        .filter_map(|r| {
            let image = &r["dynamodb"]["NewImage"];
            let id = image["pk"]["S"].as_str()?.strip_prefix(JOB_PREFIX)?;
            Some((id.to_string(), serde_json::from_str(image["job"]["S"].as_str()?).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_come_from_inserted_job_items_only() {
        let job = MailJob::Verify { username: "ada".into() };
        let image = |pk: &str| serde_json::json!({"pk": {"S": pk}, "sk": {"S": "MAILJOB"}, "job": {"S": serde_json::to_string(&job).unwrap()}});
        let event = serde_json::json!({"Records": [
            {"eventName": "INSERT", "dynamodb": {"NewImage": image("MAILJOB#1")}},
            {"eventName": "REMOVE", "dynamodb": {"OldImage": image("MAILJOB#2")}},
            {"eventName": "INSERT", "dynamodb": {"NewImage": image("USER#ada")}},
            {"eventName": "INSERT", "dynamodb": {"NewImage": {"pk": {"S": "MAILJOB#3"}, "job": {"S": "not json"}}}},
        ]});
        assert_eq!(jobs_of_stream_event(&event), vec![("1".to_string(), job)]);
        assert!(jobs_of_stream_event(&serde_json::json!({})).is_empty());
    }
}
