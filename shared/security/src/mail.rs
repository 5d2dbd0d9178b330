//! Mail: the messages CloudMind sends (e-mail verification, password reset), the port they leave through, and the
//! queue between a request and the sending.
//!
//! A request never sends mail itself: it queues a [`MailJob`] and answers; the mail worker (the `mailer` function in
//! AWS, a task of the local server) makes the link, renders the message and sends it. So a password-reset request
//! costs the same whether the address belongs to no account, one or several (nothing about the accounts is read on
//! the request's path), and a slow or failing transport never slows or changes an answer. Messages are plain text
//! from the templates in `shared/security/mail/`, with the link and the token on a line of its own.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::links::LinkKind;

/// A message ready to leave.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    /// The `text/plain` body (it holds a token: never logged).
    pub text: String,
    /// What the message is, for file names and logs: `verify` or `reset`.
    pub kind: &'static str,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("kind", &self.kind).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Why a message did not leave. Never holds the message.
#[derive(Debug, thiserror::Error)]
#[error("mail transport {transport}: {reason}")]
pub struct MailError {
    pub transport: &'static str,
    pub reason: String,
}

/// Where messages leave through: Amazon SES v2, or a folder of RFC 5322 files.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

/// Work for the mail worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum MailJob {
    /// A verification link for the user's current address (its send was reserved by the request).
    Verify { username: String },
    /// A reset link for every account with this address (the worker applies the per-account limits, silently).
    Reset { email: String, client_ip: String, request_id: String },
}

/// The queue between requests and the mail worker.
#[async_trait]
pub trait MailQueue: Send + Sync {
    async fn enqueue(&self, job: &MailJob) -> Result<(), crate::store::StoreError>;

    /// Removes a job the worker ran (by the id the queue gave it): a job names a user or an address, so it is not
    /// kept longer than it takes to run. Queues that hold nothing once a job is handed over do nothing.
    async fn done(&self, _id: &str) -> Result<(), crate::store::StoreError> {
        Ok(())
    }
}

/// Queues a verification message for `username`'s current address if its limits allow one now (one a minute,
/// five a day): `Ok(Ok(()))` when queued, `Ok(Err(wait))` with the milliseconds to wait otherwise.
pub async fn queue_verification(
    links: &dyn crate::links::LinkStore,
    queue: &dyn MailQueue,
    username: &str,
    now: crate::clock::Millis,
) -> Result<Result<(), crate::clock::Millis>, crate::store::StoreError> {
    let seen = links.get(username, LinkKind::VerifyEmail).await?.map(|r| r.sends).unwrap_or_default();
    let wait = crate::links::LinkRecord { sends: seen.clone(), ..Default::default() }.wait_before_send(now);
    if wait > 0 {
        return Ok(Err(wait));
    }
    if !links.reserve_send(username, LinkKind::VerifyEmail, &seen, now).await? {
        // Another request reserved this minute's message.
        return Ok(Err(crate::links::SEND_GAP_MS));
    }
    queue.enqueue(&MailJob::Verify { username: username.to_string() }).await?;
    Ok(Ok(()))
}

const VERIFY: &str = include_str!("../mail/verify.txt");
const RESET: &str = include_str!("../mail/reset.txt");

/// What a link message is about.
pub struct LinkMessage<'a> {
    pub kind: LinkKind,
    pub to: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    /// `APP_BASE_URL`.
    pub base_url: &'a str,
    pub token: &'a str,
    pub minutes: u64,
}

impl LinkMessage<'_> {
    /// The link: `<APP_BASE_URL><path>?token=<token>` (the page or client that posts the token to the API).
    pub fn link(&self) -> String {
        let path = match self.kind {
            LinkKind::VerifyEmail => "/account/verify-email",
            LinkKind::ResetPassword => "/account/reset-password",
        };
        format!("{}{path}?token={}", self.base_url.trim_end_matches('/'), self.token)
    }

    pub fn render(&self) -> Message {
        let (template, subject, kind) = match self.kind {
            LinkKind::VerifyEmail => (VERIFY, "Confirm your e-mail address", "verify"),
            LinkKind::ResetPassword => (RESET, "Reset your password", "reset"),
        };
        // One pass over the template, so a value that looks like a placeholder is never expanded.
        let mut text = String::with_capacity(template.len() + 256);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            text.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                rest = &rest[start..];
                break;
            };
            let name = &rest[start + 1..start + end];
            match name {
                "name" => text.push_str(one_line(self.display_name)),
                "email" => text.push_str(one_line(self.to)),
                "username" => text.push_str(self.username),
                "link" => text.push_str(&self.link()),
                "token" => text.push_str(self.token),
                "minutes" => text.push_str(&self.minutes.to_string()),
                _ => text.push_str(&rest[start..=start + end]),
            }
            rest = &rest[start + end + 1..];
        }
        text.push_str(rest);
        Message { to: self.to.to_string(), subject: subject.to_string(), text, kind }
    }
}

/// The first line of a value (a display name never adds lines to a message).
fn one_line(value: &str) -> &str {
    value.split(['\r', '\n']).next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: LinkKind) -> Message {
        LinkMessage {
            kind,
            to: "ada@example.com",
            username: "ada",
            display_name: "Ada {token}\nBcc: x@evil",
            base_url: "http://127.0.0.1:8000/",
            token: "TOKEN123",
            minutes: 30,
        }
        .render()
    }

    #[test]
    fn a_message_has_the_link_and_the_token_on_a_line_of_its_own() {
        let m = message(LinkKind::ResetPassword);
        assert!(m.text.contains("http://127.0.0.1:8000/account/reset-password?token=TOKEN123\n"), "{}", m.text);
        assert!(m.text.lines().any(|l| l == "Token: TOKEN123"));
        assert!(m.text.contains("expires in 30 minutes"));
        assert_eq!(m.subject, "Reset your password");
        let v = message(LinkKind::VerifyEmail);
        assert!(v.text.contains("/account/verify-email?token=TOKEN123") && v.text.contains("ada@example.com"));
    }

    #[test]
    fn values_are_never_expanded_nor_add_lines() {
        let m = message(LinkKind::VerifyEmail);
        assert!(m.text.contains("Hello Ada {token},"), "{}", m.text);
        assert!(!m.text.contains("Bcc"));
        assert!(!format!("{m:?}").contains("TOKEN123"), "Debug never shows the token");
    }

    #[test]
    fn jobs_travel_as_json() {
        let job = MailJob::Reset { email: "a@b.c".into(), client_ip: "203.0.113.9".into(), request_id: "r".into() };
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains(r#""job":"reset""#), "{text}");
        assert_eq!(serde_json::from_str::<MailJob>(&text).unwrap(), job);
    }
}
