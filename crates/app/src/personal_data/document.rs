//! The structured copy: what the service holds about one account, field by
//! field, under stable English names (the JSON a person downloads).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::activation::PhotoDecision;
use domain::duplicates::LinkedProfile;
use domain::institution::InstitutionSettings;
use domain::self_service::DirectoryEntry;
use serde::Serialize;
use store::personal_data::RecordsAbout;

use crate::RecordRetention;

/// Everything held about one account.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub generated_at: DateTime<Utc>,
    /// Who holds it: the institution (the controller).
    pub institution: InstitutionPart,
    pub account: AccountPart,
    /// Every profile of an account that holds several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<LinkedProfile>,
    pub consents: ConsentsPart,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_redirect: Option<RedirectPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_entry: Option<DirectoryEntry>,
    /// The entry the LDAP worker writes in the university's directory.
    pub directory: Vec<DirectoryAttribute>,
    pub extension_requests: Vec<ExtensionPart>,
    /// The invitation that made a guest's account.
    pub guest_invitations: Vec<InvitationPart>,
    /// Records held against this account as a possible duplicate.
    pub held_records: Vec<HeldPart>,
    pub audit_events: Vec<EventPart>,
    pub feed_entries: Vec<FeedPart>,
    /// The mails and SMS written to the person (never their bodies).
    pub messages: Vec<MessagePart>,
    pub retention: RetentionPart,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstitutionPart {
    pub code: String,
    pub name: String,
    pub helpdesk_url: String,
}

/// The account's own fields; a secret is never shown, only that it exists.
#[derive(Debug, Clone, Serialize)]
pub struct AccountPart {
    pub id: String,
    pub login: String,
    pub profile: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_changed_at: DateTime<Utc>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<NaiveDate>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub hr_id: Option<String>,
    pub institutional_mail: Option<String>,
    pub personal_mail: Option<String>,
    pub mobile_phone: Option<String>,
    pub mobile_phone_verified_at: Option<DateTime<Utc>>,
    pub recovery_mail: Option<String>,
    pub recovery_mail_verified_at: Option<DateTime<Utc>>,
    pub recovery_phone: Option<String>,
    pub recovery_phone_verified_at: Option<DateTime<Utc>>,
    pub activation_available_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub password: PasswordPart,
    pub charter: Option<CharterPart>,
    pub antispam_level: Option<&'static str>,
    /// The guest's sponsor, by login.
    pub sponsor: Option<String>,
    pub end_of_activity_date: Option<NaiveDate>,
    pub retention_end_date: Option<NaiveDate>,
    /// The last period a former student was asked to keep their account
    /// for, and the one they said yes to.
    pub alumni_asked_for: Option<NaiveDate>,
    pub alumni_kept_for: Option<NaiveDate>,
    pub expired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The password's dates: its hash is a secret and stays out.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordPart {
    pub set: bool,
    pub changed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub must_change: bool,
    /// How many former passwords are remembered (as hashes, to refuse
    /// their reuse).
    pub previous_passwords_kept: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CharterPart {
    pub version: String,
    pub accepted_at: DateTime<Utc>,
}

/// An answer with the instant it was given.
#[derive(Debug, Clone, Serialize)]
pub struct Decided<T> {
    pub value: T,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentsPart {
    pub directory_listed: Option<Decided<bool>>,
    /// The photo's uses allowed (`card_reprint`, `tutorial_sheets`,
    /// `photo_directory`), or `refused`.
    pub photo: Option<Decided<Vec<&'static str>>>,
    pub crous_sharing: Option<Decided<bool>>,
    /// The institution's own items, by code.
    pub items: BTreeMap<String, ItemAnswer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemAnswer {
    pub choices: Vec<String>,
    /// The version of the item's wording the person answered.
    pub version: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedirectPart {
    pub address: String,
    pub keep_copy: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

/// One attribute of the directory entry; a password's hash is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryAttribute {
    pub attribute: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtensionPart {
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub state: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_comment: Option<String>,
    pub previous_retention_end_date: Option<NaiveDate>,
    pub new_retention_end_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvitationPart {
    pub created_at: DateTime<Utc>,
    pub profile: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<NaiveDate>,
    pub personal_mail: String,
    pub end_date: NaiveDate,
    pub reason: String,
    pub status: &'static str,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldPart {
    pub held_at: DateTime<Utc>,
    pub profile: String,
    /// What the record had in common with this account.
    pub matched_on: String,
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventPart {
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    /// The client of the service that asked (the portal, the enrolment
    /// system, the batch...).
    pub actor: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedPart {
    pub cursor: i64,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessagePart {
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub given_up_at: Option<DateTime<Utc>>,
}

/// How long each kind of record is kept (`[retention]`, and the account's
/// own retention end).
#[derive(Debug, Clone, Serialize)]
pub struct RetentionPart {
    pub account_kept_until: Option<NaiveDate>,
    pub audit_events_days: u64,
    pub sent_messages_days: u64,
    pub finished_flows_days: u64,
}

/// What the copy is made of.
pub(super) struct Held<'a> {
    pub account: &'a Account,
    pub records: &'a RecordsAbout,
    pub sponsor_login: Option<&'a str>,
    pub directory: Vec<DirectoryAttribute>,
    pub retention: &'a RecordRetention,
}

/// The document for `held`.
pub(super) fn document(
    held: Held<'_>,
    institution: &InstitutionSettings,
    now: DateTime<Utc>,
) -> Document {
    let account = held.account;
    let records = held.records;
    Document {
        generated_at: now,
        institution: InstitutionPart {
            code: account.institution.clone(),
            name: institution.name.clone(),
            helpdesk_url: institution.helpdesk_url.clone(),
        },
        account: account_part(&held),
        profiles: account.profiles.clone(),
        consents: consents_part(account),
        mail_redirect: account
            .redirect
            .address
            .as_ref()
            .map(|address| RedirectPart {
                address: address.clone(),
                keep_copy: account.redirect.keep_copy,
                verified_at: account.redirect.verified_at,
            }),
        directory_entry: account.directory_entry.clone(),
        directory: held.directory,
        extension_requests: records
            .extension_requests
            .iter()
            .map(extension_part)
            .collect(),
        guest_invitations: records.invitations.iter().map(invitation_part).collect(),
        held_records: records.held_records.iter().map(held_part).collect(),
        audit_events: records.audit_events.iter().map(event_part).collect(),
        feed_entries: records
            .feed_entries
            .iter()
            .map(|f| FeedPart {
                cursor: f.seq,
                kind: f.kind.clone(),
                occurred_at: f.occurred_at,
            })
            .collect(),
        messages: records.messages.iter().map(message_part).collect(),
        retention: RetentionPart {
            account_kept_until: account.retention_end_date,
            audit_events_days: days(held.retention.audit_events),
            sent_messages_days: days(held.retention.sent_messages),
            finished_flows_days: days(held.retention.finished_flows),
        },
    }
}

fn days(d: std::time::Duration) -> u64 {
    d.as_secs() / 86_400
}

fn account_part(held: &Held<'_>) -> AccountPart {
    let a = held.account;
    AccountPart {
        id: a.id.clone(),
        login: a.login.clone(),
        profile: a.profile.clone(),
        kind: a.kind.as_str(),
        status: a.status.as_str(),
        status_changed_at: a.status_changed_at,
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        birth_date: a.birth_date,
        student_number: a.student_number.clone(),
        ine: a.ine.clone(),
        hr_id: a.hr_id.clone(),
        institutional_mail: a.institutional_mail.clone(),
        personal_mail: a.personal_mail.clone(),
        mobile_phone: a.mobile_phone.clone(),
        mobile_phone_verified_at: a.mobile_phone_verified_at,
        recovery_mail: a.recovery_mail.clone(),
        recovery_mail_verified_at: a.recovery_mail_verified_at,
        recovery_phone: a.recovery_phone.clone(),
        recovery_phone_verified_at: a.recovery_phone_verified_at,
        activation_available_at: a.activation_available_at,
        activated_at: a.activated_at,
        password: PasswordPart {
            set: a.password_hash.is_some(),
            changed_at: a.password_changed_at,
            expires_at: a.password_expires_at,
            must_change: a.password_must_change,
            previous_passwords_kept: held.records.previous_passwords,
        },
        charter: a.charter.as_ref().map(|(version, at)| CharterPart {
            version: version.clone(),
            accepted_at: *at,
        }),
        antispam_level: a.antispam_level.map(|l| l.as_str()),
        sponsor: held.sponsor_login.map(str::to_owned),
        end_of_activity_date: a.end_of_activity_date,
        retention_end_date: a.retention_end_date,
        alumni_asked_for: a.alumni.asked_for,
        alumni_kept_for: a.alumni.kept_for,
        expired_at: a.expired_at,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

fn consents_part(account: &Account) -> ConsentsPart {
    let c = &account.consents;
    let decided = |value, at| Decided {
        value,
        decided_at: at,
    };
    ConsentsPart {
        directory_listed: c.directory_listed.map(|(v, at)| decided(v, at)),
        photo: c.photo.as_ref().map(|(p, at)| Decided {
            value: match p {
                PhotoDecision::Allow(uses) => uses.iter().map(|u| u.as_str()).collect(),
                PhotoDecision::Refuse => vec!["refused"],
            },
            decided_at: *at,
        }),
        crous_sharing: c.crous_sharing.map(|(v, at)| decided(v, at)),
        items: c
            .items
            .iter()
            .map(|(code, answer)| {
                let answer = ItemAnswer {
                    choices: answer.choices.iter().cloned().collect(),
                    version: answer.version.clone(),
                    decided_at: answer.at,
                };
                (code.clone(), answer)
            })
            .collect(),
    }
}

fn extension_part(r: &store::entities::extension_request::Model) -> ExtensionPart {
    ExtensionPart {
        requested_at: r.requested_at,
        reason: r.reason.clone(),
        state: r.state.clone(),
        decided_at: r.decided_at,
        decision_comment: r.decision_comment.clone(),
        previous_retention_end_date: r.previous_retention_end_date,
        new_retention_end_date: r.new_retention_end_date,
    }
}

fn invitation_part(i: &store::guests::Invitation) -> InvitationPart {
    InvitationPart {
        created_at: i.created_at,
        profile: i.profile.clone(),
        given_name: i.given_name.clone(),
        family_name: i.family_name.clone(),
        birth_date: i.birth_date,
        personal_mail: i.personal_mail.clone(),
        end_date: i.end_date,
        reason: i.reason.clone(),
        status: i.status.as_str(),
        decided_at: i.decided_at,
    }
}

fn held_part(h: &store::entities::held_record::Model) -> HeldPart {
    HeldPart {
        held_at: h.held_at,
        profile: h.profile.clone(),
        matched_on: h.matched_on.clone(),
        status: h.status.clone(),
        decided_at: h.decided_at,
    }
}

fn event_part(e: &store::entities::audit_event::Model) -> EventPart {
    EventPart {
        occurred_at: e.occurred_at,
        action: e.action.clone(),
        actor: e.actor.clone(),
        details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
    }
}

fn message_part(m: &store::personal_data::MessageRecord) -> MessagePart {
    MessagePart {
        channel: m.channel.clone(),
        recipient: m.recipient.clone(),
        kind: m.template.clone(),
        created_at: m.created_at,
        sent_at: m.sent_at,
        given_up_at: m.failed_at,
    }
}
