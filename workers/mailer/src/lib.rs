//! The mail worker: runs the [`MailJob`]s the requests queued. For a verification it makes a new link for the
//! user's current address; for a reset, one link for each account with the address, within each account's limits
//! (one a minute, five a day: beyond them, silently none). It renders the message and sends it through the
//! configured transport. What a request answered never depends on any of this: a transport that fails is logged and
//! recorded as `sys_dependency_degraded` (without the token), and the person can ask again.
//!
//! In AWS the `mailer` function runs it, fed by the security table's stream (`main.rs`); the local server runs it
//! in-process (`cloudmind_registry`).

use std::sync::Arc;

use cloudmind_security::clock::now_ms;
use cloudmind_security::events::{EventKind, SecurityEvent};
use cloudmind_security::links::{LinkKind, LinkRecord, LinkStore, new_token};
use cloudmind_security::mail::{LinkMessage, MailJob, MailQueue, Mailer};
use cloudmind_security::store::error_chain;
use cloudmind_security::users::{User, UserStore};
use cloudmind_serving::function::{Ports, WiringError};
use cloudmind_serving::observe::Observer;

/// The worker and its ports.
#[derive(Clone)]
pub struct MailWorker {
    users: Arc<dyn UserStore>,
    links: Arc<dyn LinkStore>,
    mailer: Arc<dyn Mailer>,
    queue: Arc<dyn MailQueue>,
    observer: Observer,
    base_url: String,
    verify_link_ms: u64,
    reset_link_ms: u64,
}

impl MailWorker {
    pub async fn build<P: Ports>(ports: &P) -> Result<Self, WiringError> {
        let settings = ports.settings();
        Ok(Self {
            users: ports.users().await?,
            links: ports.links().await?,
            mailer: ports.mailer().await?,
            queue: ports.mail_queue().await?,
            observer: ports.observer().await?,
            base_url: settings.app_base_url.clone(),
            verify_link_ms: settings.mail.verify_link_ms,
            reset_link_ms: settings.mail.reset_link_ms,
        })
    }

    /// Runs a job the queue handed over with its id, then removes it from the queue (sent or not: a failed send is
    /// logged and audited, and the person asks again).
    pub async fn run_queued(&self, id: &str, job: MailJob) {
        self.run(job).await;
        if let Err(e) = self.queue.done(id).await {
            tracing::warn!(event = "mail_job_not_removed", error = %error_chain(&e));
        }
    }

    /// Runs one job to its end (every failure is logged and recorded here).
    pub async fn run(&self, job: MailJob) {
        let now = now_ms();
        let result = match &job {
            MailJob::Verify { username } => self.verify(username, now).await,
            MailJob::Reset { email, client_ip, request_id } => self.reset(email, client_ip, request_id, now).await,
        };
        if let Err(reason) = result {
            tracing::error!(event = "mail_failed", job = job_name(&job), error = %reason);
            let event = SecurityEvent::new(EventKind::DependencyDegraded, now).detail(format!("mail: {reason}"));
            self.observer.record(event).await;
        }
    }

    async fn verify(&self, username: &str, now: u64) -> Result<(), String> {
        let Some(user) = self.users.get(username).await.map_err(|e| error_chain(&e))? else { return Ok(()) };
        if user.email_verified || user.disabled {
            return Ok(());
        }
        self.send_link(&user, LinkKind::VerifyEmail, self.verify_link_ms, now).await
    }

    async fn reset(&self, email: &str, client_ip: &str, request_id: &str, now: u64) -> Result<(), String> {
        let accounts = self.users.by_email(email).await.map_err(|e| error_chain(&e))?;
        let record = |detail: &str| {
            SecurityEvent::new(EventKind::PasswordResetRequest, now).ip(client_ip).request_id(request_id).detail(detail)
        };
        if accounts.is_empty() {
            self.observer.record(record("no account has this address: nothing sent")).await;
        }
        for user in accounts.iter().filter(|u| !u.disabled) {
            let link = self.links.get(&user.username, LinkKind::ResetPassword).await.map_err(|e| error_chain(&e))?;
            let seen = link.map(|l| l.sends).unwrap_or_default();
            let waiting = LinkRecord { sends: seen.clone(), ..LinkRecord::default() }.wait_before_send(now);
            let reserved = waiting == 0
                && self
                    .links
                    .reserve_send(&user.username, LinkKind::ResetPassword, &seen, now)
                    .await
                    .map_err(|e| error_chain(&e))?;
            if !reserved {
                let event = record("reset message limit reached: nothing sent").username(&user.username);
                self.observer.record(event).await;
                continue;
            }
            self.send_link(user, LinkKind::ResetPassword, self.reset_link_ms, now).await?;
            self.observer.record(record("reset message sent").username(&user.username)).await;
        }
        Ok(())
    }

    /// Makes the user's new link of `kind` (voiding the older one) and sends it.
    async fn send_link(&self, user: &User, kind: LinkKind, lifetime_ms: u64, now: u64) -> Result<(), String> {
        let (token, hash) = new_token(&user.username);
        let email = if kind == LinkKind::VerifyEmail { user.email.clone() } else { String::new() };
        let record = LinkRecord {
            username: user.username.clone(),
            hash,
            email,
            expires_at: now.saturating_add(lifetime_ms),
            sends: Vec::new(),
        };
        self.links.put(kind, &record).await.map_err(|e| error_chain(&e))?;
        let message = LinkMessage {
            kind,
            to: &user.email,
            username: &user.username,
            display_name: &user.display_name,
            base_url: &self.base_url,
            token: &token,
            minutes: lifetime_ms / 60_000,
        }
        .render();
        self.mailer.send(&message).await.map_err(|e| e.to_string())
    }
}

fn job_name(job: &MailJob) -> &'static str {
    match job {
        MailJob::Verify { .. } => "verify",
        MailJob::Reset { .. } => "reset",
    }
}
