//! Mail through Amazon SES v2 (`SendEmail`, simple content, UTF-8): the SAM stack's transport. `MAIL_FROM` must be
//! an identity verified in SES (an address or its domain); in the SES sandbox, recipients must be verified too.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};
use cloudmind_security::mail::{MailError, Mailer, Message};

/// The SES transport.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into() }
    }
}

fn failed(e: impl std::fmt::Display) -> MailError {
    MailError { transport: "ses", reason: e.to_string() }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let utf8 = |text: &str| Content::builder().data(text).charset("UTF-8").build().map_err(failed);
        let content = SesMessage::builder()
            .subject(utf8(&message.subject)?)
            .body(Body::builder().text(utf8(&message.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(content).build())
            .send()
            .await
            .map(|_| ())
            // The error says why (throttled, unverified identity), never what the message held.
            .map_err(|e| failed(cloudmind_security::store::error_chain(&e)))
    }
}
