//! SMS delivery behind one interface: a file transport (one `.json` file per
//! SMS, the default, for development and tests) or a generic HTTP webhook
//! that receives `{"to", "from", "text"}` — the provider's gateway, or a
//! small relay in front of any provider.

use std::path::PathBuf;

use serde::Serialize;

use super::{Delivery, MailError};
use crate::config::{SmsSettings, SmsTransportKind};
use crate::store::outbox::Claimed;

/// The configured way out for SMS.
pub enum SmsSender {
    File {
        folder: PathBuf,
        sender: String,
    },
    Webhook {
        client: reqwest::Client,
        url: String,
        token: String,
        sender: String,
    },
}

#[derive(Serialize)]
struct Sms<'a> {
    /// E.164 number.
    to: &'a str,
    from: &'a str,
    text: &'a str,
}

impl SmsSender {
    pub fn from_settings(settings: &SmsSettings) -> Result<SmsSender, MailError> {
        Ok(match settings.transport {
            SmsTransportKind::File => {
                std::fs::create_dir_all(&settings.folder).map_err(|source| MailError::Folder {
                    path: settings.folder.display().to_string(),
                    source,
                })?;
                SmsSender::File {
                    folder: settings.folder.clone(),
                    sender: settings.sender.clone(),
                }
            }
            SmsTransportKind::Webhook => SmsSender::Webhook {
                client: reqwest::Client::builder()
                    .timeout(settings.webhook.timeout)
                    .build()
                    .map_err(|e| MailError::Smtp(format!("sms webhook client: {e}")))?,
                url: settings.webhook.url.clone(),
                token: settings.webhook.token.clone(),
                sender: settings.sender.clone(),
            },
        })
    }

    pub(crate) async fn send(&self, message: &Claimed) -> Result<(), Delivery> {
        match self {
            SmsSender::File { folder, sender } => {
                let body = serde_json::to_vec_pretty(&Sms {
                    to: &message.recipient,
                    from: sender,
                    text: &message.content.text,
                })
                .map_err(|e| Delivery::Permanent(e.to_string()))?;
                // Written then renamed, so a reader never sees half a file.
                let partial = folder.join(format!(".{}.json.part", message.id));
                tokio::fs::write(&partial, body)
                    .await
                    .map_err(|e| Delivery::Retry(e.to_string()))?;
                tokio::fs::rename(&partial, folder.join(format!("{}.json", message.id)))
                    .await
                    .map_err(|e| Delivery::Retry(e.to_string()))
            }
            SmsSender::Webhook {
                client,
                url,
                token,
                sender,
            } => {
                let mut request = client
                    .post(url)
                    .header("Idempotency-Key", &message.id)
                    .json(&Sms {
                        to: &message.recipient,
                        from: sender,
                        text: &message.content.text,
                    });
                if !token.is_empty() {
                    request = request.bearer_auth(token);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| Delivery::Retry(e.without_url().to_string()))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_client_error()
                    && status.as_u16() != 429
                    && status.as_u16() != 408
                {
                    Err(Delivery::Permanent(format!("webhook answered {status}")))
                } else {
                    Err(Delivery::Retry(format!("webhook answered {status}")))
                }
            }
        }
    }
}
