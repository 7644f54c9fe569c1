//! Delivery of queued mail and SMS: a sender task per channel claims due
//! messages from the outbox and hands them to the configured transport —
//! for mail `.eml` files in a folder (the default, for development) or an
//! SMTP relay; for SMS `.json` files or a provider's HTTP webhook. Failed
//! attempts are retried with exponential backoff, then given up and left
//! for operators to see in the outbox. Message texts are in `templates`.

pub mod sms;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::app::clock::SharedClock;
use crate::config::{MailSettings, MailTransportKind};
use crate::store::Store;
use crate::store::outbox::{Channel, Claimed, Lease};
use crate::telemetry::metrics::{DeliveryOutcome, Metrics};

/// Messages claimed per round.
const BATCH: u64 = 50;
/// First retry delay; doubled on each failure, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: chrono::Duration = chrono::Duration::seconds(30);
const MAX_BACKOFF: chrono::Duration = chrono::Duration::hours(1);

/// Why mail cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail.from: {0}")]
    From(String),
    #[error("mail.folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("mail.smtp: {0}")]
    Smtp(String),
}

enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Who signs a mail: the institution of the account it is about.
#[derive(Debug, Clone, Default)]
pub struct Signature {
    /// The institution's display name, shown in `From`.
    pub name: Option<String>,
    /// The domain of its `Message-ID` (the institution's portal host).
    pub domain: Option<String>,
}

/// Each configured institution's signature: its display name, and its
/// portal's host as the domain of its messages' ids.
pub fn signatures(
    settings: &crate::config::Settings,
) -> std::collections::HashMap<String, Signature> {
    settings
        .institutions
        .iter()
        .map(|(code, institution)| {
            let domain = institution
                .portal_url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', ':']).next())
                .filter(|host| !host.is_empty())
                .map(str::to_owned);
            let signature = Signature {
                name: Some(institution.name.clone()),
                domain,
            };
            (code.clone(), signature)
        })
        .collect()
}

/// `Auto-Submitted: auto-generated` (RFC 3834): mail from a program, which
/// vacation responders must not answer and filters recognise.
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The configured way out for mail.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        let transport = match settings.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&settings.folder).map_err(|source| MailError::Folder {
                    path: settings.folder.display().to_string(),
                    source,
                })?;
                Transport::File(AsyncFileTransport::new(&settings.folder))
            }
            MailTransportKind::Smtp => {
                let smtp = &settings.smtp;
                let builder = match smtp.security.as_str() {
                    "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                    "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
                    _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &smtp.host,
                    )),
                }
                .map_err(|e| MailError::Smtp(e.to_string()))?
                .port(smtp.port)
                .timeout(Some(Duration::from_secs(30)));
                let builder = if smtp.username.is_empty() {
                    builder
                } else {
                    builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.clone(),
                    ))
                };
                Transport::Smtp(builder.build())
            }
        };
        Ok(Mailer { from, transport })
    }

    /// The message as it goes out: `From` with the institution's name,
    /// a `Message-ID` on its domain, `Date`, `MIME-Version`, and
    /// `Auto-Submitted` (spam filters weigh their absence, and activation
    /// mail in the spam folder is an activation that does not happen).
    fn message(&self, message: &Claimed, signature: &Signature) -> Result<Message, Delivery> {
        let to: Mailbox =
            message
                .recipient
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    Delivery::Permanent(format!("recipient: {e}"))
                })?;
        let from = match &signature.name {
            Some(name) => Mailbox::new(Some(name.clone()), self.from.email.clone()),
            None => self.from.clone(),
        };
        let domain = signature
            .domain
            .clone()
            .unwrap_or_else(|| self.from.email.domain().to_owned());
        Message::builder()
            .from(from)
            .to(to)
            .message_id(Some(format!("<{}@{domain}>", message.id)))
            .subject(message.content.subject.clone())
            .header(lettre::message::header::MIME_VERSION_1_0)
            .header(AutoSubmitted)
            .header(ContentType::TEXT_PLAIN)
            .body(message.content.text.clone())
            .map_err(|e| Delivery::Permanent(e.to_string()))
    }

    /// Sends one message; the error is for logs and the outbox row.
    pub(crate) async fn send(
        &self,
        message: &Claimed,
        signature: &Signature,
    ) -> Result<(), Delivery> {
        let email = self.message(message, signature)?;
        match &self.transport {
            Transport::File(t) => t
                .send(email)
                .await
                .map(drop)
                .map_err(|e| Delivery::Retry(e.to_string())),
            Transport::Smtp(t) => t.send(email).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    Delivery::Permanent(e.to_string())
                } else {
                    Delivery::Retry(e.to_string())
                }
            }),
        }
    }
}

/// A failed delivery.
pub(crate) enum Delivery {
    /// Worth another try (relay down, disk full...).
    Retry(String),
    /// Will never work (bad address, refused by the relay).
    Permanent(String),
}

/// When to try again after `attempts` failures, or `None` to give up.
fn retry_at(
    now: chrono::DateTime<chrono::Utc>,
    attempts: i32,
    max_attempts: u32,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if attempts < 0 || attempts as u32 >= max_attempts {
        return None;
    }
    let factor = 1i32
        .checked_shl(attempts.saturating_sub(1) as u32)
        .unwrap_or(i32::MAX);
    let delay = FIRST_BACKOFF
        .checked_mul(factor)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    Some(now + delay)
}

/// Where a channel's messages go.
pub enum Outlet {
    Mail(Arc<Mailer>),
    Sms(Arc<sms::SmsSender>),
}

impl Outlet {
    fn channel(&self) -> Channel {
        match self {
            Outlet::Mail(_) => Channel::Mail,
            Outlet::Sms(_) => Channel::Sms,
        }
    }

    async fn send(&self, message: &Claimed, signature: &Signature) -> Result<(), Delivery> {
        match self {
            Outlet::Mail(mailer) => mailer.send(message, signature).await,
            Outlet::Sms(sender) => sender.send(message).await,
        }
    }
}

/// What a sender needs besides its outlet.
pub struct SenderContext {
    pub store: Store,
    pub clock: SharedClock,
    pub settings: MailSettings,
    pub ready: Arc<AtomicBool>,
    pub metrics: Metrics,
    /// This process's id on the leases it takes (see
    /// `Store::release_claims`, called when the server stops).
    pub owner: Arc<str>,
    /// Each institution's signature, by code.
    pub signatures: Arc<std::collections::HashMap<String, Signature>>,
}

impl SenderContext {
    /// How long a claim holds (`mail.lease`, validated at start-up).
    fn lease_length(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Who signs `message`: its account's institution, when it has one.
    async fn signature(&self, message: &Claimed) -> Signature {
        let Some(id) = &message.account_id else {
            return Signature::default();
        };
        let lookup = crate::store::accounts::AccountLookup::Id(id);
        match self.store.find_account(lookup).await {
            Ok(Some(account)) => self
                .signatures
                .get(&account.institution)
                .cloned()
                .unwrap_or_default(),
            _ => Signature::default(),
        }
    }
}

/// Sends due messages of one channel until the task is dropped, while
/// `ready` says the database is migrated and reachable. Database or
/// transport trouble is logged and retried; it never stops the loop.
pub async fn run_sender(outlet: Outlet, sender: SenderContext) {
    let SenderContext {
        settings, ready, ..
    } = &sender;
    loop {
        if !ready.load(Ordering::Acquire) {
            tokio::time::sleep(settings.poll_interval).await;
            continue;
        }
        let round = send_due(&sender, &outlet);
        let result = tokio::select! {
            result = round => result,
            never = heartbeat(&sender) => match never {},
        };
        match result {
            Ok(sent) if sent > 0 => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, channel = outlet.channel().as_str(), "sender: cannot read the outbox")
            }
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}

/// While a round runs, extends this process's leases every third of the
/// lease: a long send (a slow relay, a batch of fifty) keeps its messages,
/// and a process that dies loses them to the others within one lease.
async fn heartbeat(sender: &SenderContext) -> std::convert::Infallible {
    let beat = sender.settings.lease / 3;
    let length = sender.lease_length();
    loop {
        tokio::time::sleep(beat).await;
        let until = sender.clock.now() + length;
        if let Err(error) = sender.store.extend_claims(&sender.owner, until).await {
            tracing::warn!(%error, "sender: cannot extend its leases");
        }
    }
}

/// One round: claims and sends what is due; how many were handled.
async fn send_due(
    sender: &SenderContext,
    outlet: &Outlet,
) -> Result<usize, crate::store::StoreError> {
    let SenderContext {
        store,
        clock,
        settings,
        metrics,
        owner,
        ..
    } = sender;
    let channel = outlet.channel();
    let lease = Lease {
        owner,
        length: sender.lease_length(),
    };
    let claimed = store
        .claim_due_messages(channel, clock.now(), lease, BATCH)
        .await?;
    let handled = claimed.len();
    for message in claimed {
        let now = clock.now();
        let attempts = message.attempts + 1;
        let signature = sender.signature(&message).await;
        match outlet.send(&message, &signature).await {
            Ok(()) => {
                tracing::info!(id = %message.id, channel = channel.as_str(), template = %message.template, "message sent");
                metrics.delivery(channel, DeliveryOutcome::Sent);
                store.message_sent(&message.id, now).await?;
            }
            Err(Delivery::Retry(error)) => {
                let next = retry_at(now, attempts, settings.max_attempts);
                tracing::warn!(id = %message.id, attempts, %error, given_up = next.is_none(), "message not sent");
                metrics.delivery(
                    channel,
                    if next.is_some() {
                        DeliveryOutcome::Retried
                    } else {
                        DeliveryOutcome::GivenUp
                    },
                );
                store
                    .message_failed(&message.id, now, attempts, &error, next)
                    .await?;
            }
            Err(Delivery::Permanent(error)) => {
                tracing::warn!(id = %message.id, %error, "message refused: given up");
                metrics.delivery(channel, DeliveryOutcome::GivenUp);
                store
                    .message_failed(&message.id, now, attempts, &error, None)
                    .await?;
            }
        }
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn backoff_doubles_then_caps_then_gives_up() {
        let now = Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap();
        let delay = |attempts| retry_at(now, attempts, 12).map(|t| (t - now).num_seconds());
        assert_eq!(delay(1), Some(30));
        assert_eq!(delay(2), Some(60));
        assert_eq!(delay(3), Some(120));
        assert_eq!(delay(10), Some(3600));
        assert_eq!(delay(11), Some(3600));
        assert_eq!(delay(12), None);
        assert_eq!(delay(40), None);
    }
}
