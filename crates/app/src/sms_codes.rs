//! A code sent by SMS to a phone the person gave, to be typed back (the
//! phone item of a journey, a new recovery phone on the account page): its
//! secret, its message and what the person is told, for the caller's
//! transaction.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::mask_phone;
use domain::institution::InstitutionSettings;
use domain::language::Language;
use domain::secret::{SecretKind, generate};
use store::outbox::{Channel, NewMessage};
use store::secrets::{NewSecret, Purpose};

use crate::App;
use crate::error::{AppError, internal};
use crate::links::DeliveryNotice;
use crate::texts::mail as mail_texts;

/// Whom a code goes to, what for and how long it works.
pub(crate) struct SmsCodeFor<'a> {
    pub account: &'a Account,
    pub institution: &'a InstitutionSettings,
    pub phone: &'a str,
    pub purpose: Purpose,
    pub lifetime: std::time::Duration,
}

/// A code to send: its secret (the hash only), the SMS that carries it and
/// the notice the person sees.
pub(crate) struct SmsCode {
    pub secret: NewSecret,
    pub message: NewMessage,
    pub notice: DeliveryNotice,
}

impl App {
    /// A new code for `to`, worded in `language`.
    pub(crate) fn sms_code(
        &self,
        to: SmsCodeFor<'_>,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<SmsCode, AppError> {
        let SmsCodeFor {
            account,
            institution,
            phone,
            purpose,
            lifetime,
        } = to;
        let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
        let expires_at = now + chrono::Duration::from_std(lifetime).map_err(internal)?;
        let text = mail_texts::phone_code(
            &institution.name,
            code.expose(),
            (expires_at, institution.time_zone),
            language,
        );
        Ok(SmsCode {
            secret: NewSecret {
                account_id: account.id.clone(),
                purpose,
                hash: code.hash(SecretKind::Code, &*self.store.secret_keys()?),
                target: Some(phone.to_owned()),
                flow_id: None,
                not_before: None,
                expires_at: Some(expires_at),
            },
            message: NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Sms,
                recipient: phone.to_owned(),
                template: purpose.as_str().to_owned(),
                content: text,
                not_before: now,
            },
            notice: DeliveryNotice {
                also_sent_to: Vec::new(),
                masked_destination: mask_phone(phone),
                check_spam_folder: false,
                helpdesk_url: institution.helpdesk_url.clone(),
                expires_at: Some(expires_at),
            },
        })
    }
}
