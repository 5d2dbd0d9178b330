//! Mail without a provider: a folder of RFC 5322 files (the local server's transport), and the in-process queue
//! between requests and the mail worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use cloudmind_security::StoreError;
use cloudmind_security::mail::{MailError, MailJob, MailQueue, Mailer, Message};

/// One message a file in a folder (`MAIL_OUTBOX_DIR`), named so that `ls` sorts them oldest first:
/// `<UTC time>-<sequence>-<kind>.eml`. The files hold tokens: the folder is made readable by its owner only.
#[derive(Debug)]
pub struct FileOutbox {
    dir: PathBuf,
    from: String,
    sequence: AtomicU64,
}

impl FileOutbox {
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self { dir: dir.into(), from: from.into(), sequence: AtomicU64::new(0) }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

/// No transport (`MAIL_TRANSPORT=none`): every message fails with the reason, so the worker logs and audits it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTransport;

#[async_trait]
impl Mailer for NoTransport {
    async fn send(&self, _: &Message) -> Result<(), MailError> {
        Err(MailError { transport: "none", reason: "no sender is configured (MAIL_FROM; the stack's MailFrom)".into() })
    }
}

/// The message as an RFC 5322 document (CRLF line ends, a `text/plain` UTF-8 part).
pub fn rfc5322(from: &str, message: &Message, date: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    let headers = [
        format!("From: {from}"),
        format!("To: {}", message.to),
        format!("Subject: {}", message.subject),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{id}@cloudmind>"),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8".into(),
        "Content-Transfer-Encoding: 8bit".into(),
    ];
    let body = message.text.replace("\r\n", "\n").replace('\n', "\r\n");
    format!("{}\r\n\r\n{body}", headers.join("\r\n"))
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let failed = |e: std::io::Error| MailError { transport: "file", reason: e.to_string() };
        std::fs::create_dir_all(&self.dir).map_err(failed)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        let now = chrono::Utc::now();
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let id = cloudmind_security::ids::uuid_v4();
        let name = format!("{}-{n:06}-{}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"), message.kind);
        let path = self.dir.join(name);
        let text = rfc5322(&self.from, message, now, &id);
        tokio::task::spawn_blocking(move || std::fs::write(path, text))
            .await
            .map_err(|e| MailError { transport: "file", reason: e.to_string() })?
            .map_err(failed)
    }
}

/// What runs a queued job: the mail worker, set when the process builds it.
pub type JobRunner = Arc<dyn Fn(MailJob) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

/// The queue of a process that runs its own mail worker (the local server): a job is spawned on the runtime at
/// once, so the request that queued it answers without waiting for it.
#[derive(Default)]
pub struct InProcessQueue {
    runner: OnceLock<JobRunner>,
}

impl std::fmt::Debug for InProcessQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessQueue").field("worker", &self.runner.get().is_some()).finish()
    }
}

impl InProcessQueue {
    /// Sets the worker (once; later calls are ignored).
    pub fn set_runner(&self, runner: JobRunner) {
        let _ = self.runner.set(runner);
    }
}

#[async_trait]
impl MailQueue for InProcessQueue {
    async fn enqueue(&self, job: &MailJob) -> Result<(), StoreError> {
        let Some(runner) = self.runner.get() else {
            return Err(StoreError::unavailable("mail queue", "no mail worker runs in this process"));
        };
        tokio::spawn(runner(job.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_writes_one_rfc_5322_file_a_message_in_order() {
        let dir = std::env::temp_dir().join(format!("cloudmind-outbox-{}", cloudmind_security::ids::random_hex(6)));
        let outbox = FileOutbox::new(&dir, "CloudMind <no-reply@localhost>");
        for subject in ["first", "second"] {
            let m =
                Message { to: "ada@example.com".into(), subject: subject.into(), text: "a\nb".into(), kind: "reset" };
            outbox.send(&m).await.unwrap();
        }
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names.len(), 2);
        let first = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        for header in [
            "From: CloudMind <no-reply@localhost>\r\n",
            "To: ada@example.com\r\n",
            "Subject: first\r\n",
            "Date: ",
            "Message-ID: <",
        ] {
            assert!(first.contains(header), "{header}: {first}");
        }
        assert!(first.ends_with("\r\n\r\na\r\nb"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
