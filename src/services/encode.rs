//! Stored rows to API messages.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::guests::GuestInvitation;
use crate::config::ActivationChannel;
use crate::domain::account::{Account, AccountKind, AccountStatus};
use crate::domain::activation::{PhotoDecision, PhotoUse};
use crate::domain::guest::InvitationStatus;
use crate::proto;
use crate::store::entities::audit_event;
use crate::store::feed::ChangeKind;
use crate::store::provisioning::{IssuedMaterial, ProvisionOutcome};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn opt_timestamp(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(timestamp)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub fn status(s: AccountStatus) -> proto::AccountStatus {
    match s {
        AccountStatus::PreCreated => proto::AccountStatus::PreCreated,
        AccountStatus::Created => proto::AccountStatus::Created,
        AccountStatus::Active => proto::AccountStatus::Active,
        AccountStatus::Grace => proto::AccountStatus::Grace,
        AccountStatus::Alumni => proto::AccountStatus::Alumni,
        AccountStatus::Expired => proto::AccountStatus::Expired,
        AccountStatus::DataDeleted => proto::AccountStatus::DataDeleted,
        AccountStatus::Locked => proto::AccountStatus::Locked,
    }
}

fn photo_use(photo_use: PhotoUse) -> proto::PhotoUse {
    match photo_use {
        PhotoUse::CardReprint => proto::PhotoUse::CardReprint,
        PhotoUse::TutorialSheets => proto::PhotoUse::TutorialSheets,
        PhotoUse::PhotoDirectory => proto::PhotoUse::PhotoDirectory,
    }
}

/// What a desk agent sees of a person as of `now`: enough to check their
/// identity in person, and the account's state; no contact details but the
/// verified recovery address, masked.
pub fn person_at_desk(a: &Account, now: DateTime<Utc>) -> proto::PersonAtDesk {
    proto::PersonAtDesk {
        account_id: a.id.clone(),
        institution: a.institution.clone(),
        profile: a.profile.clone(),
        login: a.login.clone(),
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        birth_date: date(a.birth_date),
        student_number: a.student_number.clone().unwrap_or_default(),
        hr_id: a.hr_id.clone().unwrap_or_default(),
        status: status(a.status.as_of(a.activation_available_at, now)) as i32,
        activated: a.activated_at.is_some(),
        masked_recovery_mail: a
            .recovery_mail_verified_at
            .and(a.recovery_mail.as_deref())
            .map(crate::domain::activation::mask_mail)
            .unwrap_or_default(),
    }
}

/// An invitation and its guest's account as the sponsor or a moderator
/// sees them.
pub fn guest_invitation(g: &GuestInvitation, now: DateTime<Utc>) -> proto::GuestInvitation {
    let i = &g.invitation;
    proto::GuestInvitation {
        invitation_id: i.id.clone(),
        institution: i.institution.clone(),
        sponsor_account_id: i.sponsor_id.clone(),
        guest: Some(proto::GuestDetails {
            profile: i.profile.clone(),
            given_name: i.given_name.clone(),
            family_name: i.family_name.clone(),
            birth_date: date(i.birth_date),
            personal_mail: i.personal_mail.clone(),
            end_date: date(Some(i.end_date)),
            reason: i.reason.clone(),
            language: i.language.code().to_owned(),
        }),
        status: match i.status {
            InvitationStatus::Pending => proto::InvitationStatus::Pending,
            InvitationStatus::Approved => proto::InvitationStatus::Approved,
            InvitationStatus::Rejected => proto::InvitationStatus::Rejected,
        } as i32,
        created_at: Some(timestamp(i.created_at)),
        decided_at: i.decided_at.map(timestamp),
        decision_comment: i.decision_comment.clone().unwrap_or_default(),
        account: g.account.as_ref().map(|a| guest_account(a, now)),
    }
}

/// What a sponsor sees of their guest's account.
pub fn guest_account(a: &Account, now: DateTime<Utc>) -> proto::GuestAccount {
    proto::GuestAccount {
        account_id: a.id.clone(),
        login: a.login.clone(),
        status: status(a.status.as_of(a.activation_available_at, now)) as i32,
        activated: a.activated_at.is_some(),
        end_date: date(a.end_of_activity_date),
        retention_end_date: date(a.retention_end_date),
    }
}

/// The account as of `now` (a pre-created account whose activation opened
/// reads as created); dates in the institution's time zone `tz`.
fn account_kind(kind: AccountKind) -> proto::AccountKind {
    match kind {
        AccountKind::Student => proto::AccountKind::Student,
        AccountKind::Staff => proto::AccountKind::Staff,
        AccountKind::Guest => proto::AccountKind::Guest,
    }
}

fn account_profile(p: &crate::domain::duplicates::LinkedProfile) -> proto::AccountProfile {
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    proto::AccountProfile {
        profile: p.profile.clone(),
        kind: account_kind(p.kind) as i32,
        student_number: p.student_number.clone().unwrap_or_default(),
        hr_id: p.hr_id.clone().unwrap_or_default(),
        end_of_activity_date: day(p.end_of_activity_date),
        retention_end_date: day(p.retention_end_date),
    }
}

pub fn account(a: &Account, now: DateTime<Utc>, tz: chrono_tz::Tz) -> proto::Account {
    let domain_status = a.status.as_of(a.activation_available_at, now);
    let current = status(domain_status);
    let kind = account_kind(a.kind);
    let status_changed_at =
        if domain_status == AccountStatus::Created && a.status == AccountStatus::PreCreated {
            a.activation_available_at
        } else {
            a.status_changed_at
        };
    proto::Account {
        account_id: a.id.clone(),
        institution: a.institution.clone(),
        profile: a.profile.clone(),
        kind: kind as i32,
        status: current as i32,
        status_changed_at: Some(timestamp(status_changed_at)),
        login: a.login.clone(),
        institutional_mail: a.institutional_mail.clone().unwrap_or_default(),
        student_number: a.student_number.clone().unwrap_or_default(),
        ine: a.ine.clone().unwrap_or_default(),
        hr_id: a.hr_id.clone().unwrap_or_default(),
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        birth_date: date(a.birth_date),
        mobile_phone: a.mobile_phone.clone().unwrap_or_default(),
        personal_mail: a.personal_mail.clone().unwrap_or_default(),
        recovery_mail: a
            .recovery_mail_verified_at
            .and(a.recovery_mail.clone())
            .unwrap_or_default(),
        recovery_mail_verified_at: opt_timestamp(a.recovery_mail_verified_at),
        sponsor_account_id: a.sponsor_id.clone().unwrap_or_default(),
        profiles: a.profiles.iter().map(account_profile).collect(),
        activation_available_at: Some(timestamp(a.activation_available_at)),
        activated_at: opt_timestamp(a.activated_at),
        password_changed_at: opt_timestamp(a.password_changed_at),
        password_expires_at: opt_timestamp(a.password_expires_at),
        password_must_change: a.password_hash.is_some()
            && crate::domain::password::must_change(
                a.password_must_change,
                a.password_expires_at,
                now,
            ),
        consents: Some(consents(a)),
        mail_redirect: Some(redirect(a)),
        end_of_activity_date: date(a.end_of_activity_date),
        retention_end_date: date(a.retention_end_date),
        created_at: Some(timestamp(a.created_at)),
        updated_at: Some(timestamp(a.updated_at)),
        supann_ressource_etat_date: ressource_etat_date(
            a,
            domain_status,
            status_changed_at.with_timezone(&tz).date_naive(),
        ),
    }
}

/// The consents as the account holds them.
pub fn consents(a: &Account) -> proto::Consents {
    let c = &a.consents;
    let (photo_uses, photo_refused) = match c.photo.as_ref().map(|p| &p.0) {
        Some(PhotoDecision::Allow(uses)) => {
            (uses.iter().map(|u| photo_use(*u) as i32).collect(), false)
        }
        Some(PhotoDecision::Refuse) => (Vec::new(), true),
        None => (Vec::new(), false),
    };
    proto::Consents {
        charter_version: a.charter.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        charter_accepted_at: opt_timestamp(a.charter.as_ref().map(|c| c.1)),
        directory_listed: c.directory_listed.map(|d| d.0),
        directory_decided_at: opt_timestamp(c.directory_listed.map(|d| d.1)),
        photo_uses,
        photo_refused,
        photo_decided_at: opt_timestamp(c.photo.as_ref().map(|p| p.1)),
        crous_sharing: c.crous_sharing.map(|s| s.0),
        crous_decided_at: opt_timestamp(c.crous_sharing.map(|s| s.1)),
        items: c
            .items
            .iter()
            .map(|(item, answer)| proto::ConsentItemAnswer {
                item: item.clone(),
                choices: answer.choices.iter().cloned().collect(),
                version: answer.version.clone(),
                decided_at: Some(timestamp(answer.at)),
            })
            .collect(),
    }
}

/// The mail redirect as the account holds it.
fn redirect(a: &Account) -> proto::MailRedirect {
    proto::MailRedirect {
        enabled: a.redirect.address.is_some(),
        address: a.redirect.address.clone().unwrap_or_default(),
        keep_copy: a.redirect.keep_copy,
        verified: a.redirect.verified_at.is_some(),
        // Set from the profile by `App::encode_account`.
        mandatory: false,
    }
}

/// SupAnn's `supannRessourceEtatDate` for the account in `status` since
/// `since` (a limited account's, or a former student's, runs until its
/// retention end).
fn ressource_etat_date(a: &Account, status: AccountStatus, since: NaiveDate) -> String {
    let until = matches!(status, AccountStatus::Grace | AccountStatus::Alumni)
        .then_some(a.retention_end_date)
        .flatten();
    status.supann_ressource_etat_date(since, until)
}

pub fn outcome(o: ProvisionOutcome) -> proto::ProvisionOutcome {
    match o {
        ProvisionOutcome::Created => proto::ProvisionOutcome::Created,
        ProvisionOutcome::Updated => proto::ProvisionOutcome::Updated,
        ProvisionOutcome::Unchanged => proto::ProvisionOutcome::Unchanged,
        ProvisionOutcome::Restored => proto::ProvisionOutcome::Restored,
        ProvisionOutcome::Linked => proto::ProvisionOutcome::Linked,
        ProvisionOutcome::Held => proto::ProvisionOutcome::Held,
    }
}

/// A channel in the API's terms.
pub fn channel(channel: ActivationChannel) -> proto::ActivationChannel {
    match channel {
        ActivationChannel::ActivationKey => proto::ActivationChannel::ActivationKey,
        ActivationChannel::ProvisionalPassword => proto::ActivationChannel::ProvisionalPassword,
        ActivationChannel::MailedLink => proto::ActivationChannel::MailedLink,
        ActivationChannel::IdentityMatch => proto::ActivationChannel::IdentityMatch,
    }
}

pub fn material(m: &IssuedMaterial) -> proto::ActivationMaterial {
    let channel = channel(m.channel);
    let secret = m
        .secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default();
    let (activation_key, provisional_password) = match m.channel {
        ActivationChannel::ActivationKey => (secret, String::new()),
        ActivationChannel::ProvisionalPassword => (String::new(), secret),
        _ => (String::new(), String::new()),
    };
    proto::ActivationMaterial {
        channel: channel as i32,
        activation_key,
        provisional_password,
        available_at: Some(timestamp(m.available_at)),
        expires_at: opt_timestamp(m.expires_at),
    }
}

pub fn change_kind(kind: &str) -> proto::ChangeKind {
    match ChangeKind::parse(kind) {
        Some(ChangeKind::Created) => proto::ChangeKind::Created,
        Some(ChangeKind::Updated) => proto::ChangeKind::Updated,
        Some(ChangeKind::StatusChanged) => proto::ChangeKind::StatusChanged,
        Some(ChangeKind::PasswordChanged) => proto::ChangeKind::PasswordChanged,
        Some(ChangeKind::Purged) => proto::ChangeKind::Purged,
        Some(ChangeKind::RecoveryMailChanged) => proto::ChangeKind::RecoveryMailChanged,
        Some(ChangeKind::MailRedirectChanged) => proto::ChangeKind::MailRedirectChanged,
        Some(ChangeKind::ConsentsChanged) => proto::ChangeKind::ConsentsChanged,
        Some(ChangeKind::DirectoryEntryChanged) => proto::ChangeKind::DirectoryEntryChanged,
        Some(ChangeKind::PhotoDeletionRequested) => proto::ChangeKind::PhotoDeletionRequested,
        Some(ChangeKind::ActivationOpened) => proto::ChangeKind::ActivationOpened,
        Some(ChangeKind::Activated) => proto::ChangeKind::Activated,
        Some(ChangeKind::Limited) => proto::ChangeKind::Limited,
        Some(ChangeKind::Extended) => proto::ChangeKind::Extended,
        Some(ChangeKind::Expired) => proto::ChangeKind::Expired,
        Some(ChangeKind::Restored) => proto::ChangeKind::Restored,
        Some(ChangeKind::Locked) => proto::ChangeKind::Locked,
        Some(ChangeKind::Unlocked) => proto::ChangeKind::Unlocked,
        Some(ChangeKind::PasswordExpired) => proto::ChangeKind::PasswordExpired,
        Some(ChangeKind::KeptAsAlumni) => proto::ChangeKind::KeptAsAlumni,
        None => proto::ChangeKind::Unspecified,
    }
}

pub fn audit_event(e: &audit_event::Model) -> proto::AuditEvent {
    let details = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&e.details)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    proto::AuditEvent {
        event_id: e.id.clone(),
        occurred_at: Some(timestamp(e.occurred_at)),
        institution: e.institution.clone(),
        account_id: e.account_id.clone().unwrap_or_default(),
        action: e.action.clone(),
        actor: e.actor.clone(),
        request_id: e.request_id.clone(),
        details,
    }
}

/// The stable code of a violation, as the API names it.
pub fn violation_code(
    v: &crate::domain::password::Violation,
) -> crate::proto::PasswordViolationCode {
    use crate::domain::password::Violation;
    use crate::proto::PasswordViolationCode as Code;
    match v {
        Violation::TooShort { .. } => Code::TooShort,
        Violation::TooLong { .. } => Code::TooLong,
        Violation::MissingClass(_) => Code::MissingClass,
        Violation::TooFewNonAlphabetic { .. } => Code::TooFewNonAlphabetic,
        Violation::ForbiddenCharacter { .. } => Code::ForbiddenCharacter,
        Violation::AccentedCharacter => Code::AccentedCharacter,
        Violation::DictionaryWord { .. } => Code::DictionaryWord,
        Violation::ContainsPersonalData { .. } => Code::ContainsPersonalData,
        Violation::Reused { .. } => Code::Reused,
        Violation::CommonPassword => Code::CommonPassword,
        Violation::ConfirmationMismatch => Code::ConfirmationMismatch,
        Violation::TooWeak { .. } => Code::TooWeak,
        Violation::BreachedPassword => Code::BreachedPassword,
        Violation::LowEntropy { .. } => Code::LowEntropy,
    }
}

/// What the person is told of a message on its way.
pub fn notice(n: crate::app::links::DeliveryNotice) -> proto::DeliveryNotice {
    proto::DeliveryNotice {
        masked_destination: n.masked_destination,
        check_spam_folder: n.check_spam_folder,
        helpdesk_url: n.helpdesk_url,
        expires_at: n.expires_at.map(timestamp),
        also_sent_to: n.also_sent_to,
    }
}

/// A copy of what the service holds about a person.
pub fn personal_data(copy: crate::app::personal_data::PersonalData) -> proto::PersonalDataCopy {
    let report = copy.report;
    proto::PersonalDataCopy {
        generated_at: Some(timestamp(copy.generated_at)),
        document_json: copy.json,
        file_name: format!(
            "personal-data-{}-{}.json",
            copy.account.login,
            copy.generated_at.format("%Y-%m-%d")
        ),
        report: Some(proto::PersonalDataReport {
            title: report.title,
            intro: report.intro,
            generated: report.generated,
            sections: report
                .sections
                .into_iter()
                .map(|s| proto::PersonalDataSection {
                    title: s.title,
                    rows: s
                        .rows
                        .into_iter()
                        .map(|r| proto::PersonalDataRow {
                            label: r.label,
                            value: r.value,
                        })
                        .collect(),
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::password::Violation;
    use crate::domain::password::evaluate::PersonalPart;
    use crate::domain::password::policy::CharClass;

    #[test]
    fn violation_codes_are_the_apis() {
        let every = [
            Violation::TooShort { min: 8 },
            Violation::TooLong { max: 64 },
            Violation::MissingClass(CharClass::Digit),
            Violation::TooFewNonAlphabetic { min: 2 },
            Violation::ForbiddenCharacter {
                characters: vec!['€'],
            },
            Violation::AccentedCharacter,
            Violation::DictionaryWord {
                word: "soleil".into(),
            },
            Violation::ContainsPersonalData {
                part: PersonalPart::Login,
            },
            Violation::Reused { count: 5 },
            Violation::CommonPassword,
            Violation::ConfirmationMismatch,
            Violation::TooWeak { min_score: 3 },
            Violation::BreachedPassword,
            Violation::LowEntropy { min_bits: 50 },
        ];
        for v in every {
            assert_eq!(
                super::violation_code(&v).as_str_name(),
                format!("PASSWORD_VIOLATION_CODE_{}", v.code())
            );
        }
    }
}
