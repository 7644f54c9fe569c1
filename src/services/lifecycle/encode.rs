//! The lifecycle's answers in the API's terms: provisioned accounts, feed
//! entries with their LDAP attributes, extension requests, batch reports.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::batch::BatchReport;
use crate::app::{App, CallContext};
use crate::domain::account::Account;
use crate::domain::activation::PhotoDecision;
use crate::domain::supann::{self, ChangeKind, LdapSource};
use crate::proto;
use crate::services::{encode, encode_account};
use crate::store::entities::{account_change, extension_request};
use crate::store::lifecycle::ExtensionState;
use crate::store::provisioning::{ProvisionOutcome, Provisioned};

/// A provisioned record: its outcome, the account and any material.
pub fn provisioned(
    state: &App,
    p: &Provisioned,
    at: (DateTime<Utc>, &CallContext),
) -> proto::ProvisionAccountResponse {
    // A held record's account is the person it seems to name: not the
    // caller's to see.
    let held = p.outcome == ProvisionOutcome::Held;
    proto::ProvisionAccountResponse {
        outcome: encode::outcome(p.outcome) as i32,
        account: (!held).then(|| encode_account(state, &p.account, at)),
        activation_material: p.material.as_ref().map(encode::material),
        material_reissued: false,
        held_record_id: p.held_record_id.clone().unwrap_or_default(),
    }
}

/// A held record as the review reads it: the record as received and the
/// account it seems to name.
pub fn held_record(
    row: &crate::store::entities::held_record::Model,
    candidate: proto::Account,
) -> proto::HeldRecord {
    use crate::domain::duplicates::HeldStatus;
    // The record was checked when held; a row that no longer reads shows
    // its ids alone.
    let input: crate::domain::provisioning::ProvisionInput =
        serde_json::from_str(&row.record).unwrap_or_default();
    let status = match HeldStatus::parse(&row.status) {
        Some(HeldStatus::Pending) => proto::HeldRecordStatus::Pending,
        Some(HeldStatus::Merged) => proto::HeldRecordStatus::Merged,
        Some(HeldStatus::Created) => proto::HeldRecordStatus::Created,
        None => proto::HeldRecordStatus::Unspecified,
    };
    proto::HeldRecord {
        held_record_id: row.id.clone(),
        institution: row.institution.clone(),
        profile: row.profile.clone(),
        student_number: row.student_number.clone().unwrap_or_default(),
        hr_id: row.hr_id.clone().unwrap_or_default(),
        given_name: input.given_name,
        family_name: input.family_name,
        birth_date: input.birth_date,
        personal_mail: input.personal_mail,
        matched_on: row.matched_on.clone(),
        candidate: Some(candidate),
        held_at: Some(encode::timestamp(row.held_at)),
        status: status as i32,
    }
}

/// One entry of the change feed: the account as the change left it, the
/// LDAP attributes the change touches, and the whole entry.
pub fn change(
    state: &App,
    change: &account_change::Model,
    account: &Account,
    ctx: &CallContext,
) -> proto::AccountChange {
    let encoded = encode_account(state, account, (change.occurred_at, ctx));
    let kind = ChangeKind::parse(&change.kind);
    let source = ldap_source(state, account, &encoded);
    let touched = kind
        .map(|k| supann::attributes(k, &source))
        .map(ldap_attributes)
        .unwrap_or_default();
    let carries_password = matches!(
        kind,
        Some(ChangeKind::PasswordChanged | ChangeKind::Activated)
    );
    proto::AccountChange {
        cursor: change.seq.to_string(),
        occurred_at: Some(encode::timestamp(change.occurred_at)),
        kind: encode::change_kind(&change.kind) as i32,
        password_hash: if carries_password {
            source.password_hash.to_owned()
        } else {
            String::new()
        },
        ldap_attributes: touched,
        entry: ldap_attributes(supann::entry(&source)),
        password_usable: account.password_usable(),
        account: Some(encoded),
    }
}

/// An account's LDAP entry as it is now, for a resync.
pub fn ldap_entry(
    state: &App,
    account: &Account,
    at: (DateTime<Utc>, &CallContext),
) -> proto::LdapEntry {
    let encoded = encode_account(state, account, at);
    let entry = ldap_attributes(supann::entry(&ldap_source(state, account, &encoded)));
    proto::LdapEntry {
        entry,
        password_usable: account.password_usable(),
        account: Some(encoded),
    }
}

/// What the directory holds for an account, as the LDAP worker writes it,
/// for the person's copy of their data: every attribute the entry has
/// (personal data included, whoever asks: it is the person's own), the
/// password's hash left out.
pub fn directory_attributes(
    state: &App,
    account: &Account,
    ctx: &CallContext,
) -> Vec<crate::app::personal_data::DirectoryAttribute> {
    let ctx = CallContext {
        personal_data: true,
        ..ctx.clone()
    };
    let encoded = encode_account(state, account, (state.now(), &ctx));
    supann::entry(&ldap_source(state, account, &encoded))
        .into_iter()
        .filter(|(name, values)| *name != "userPassword" && !values.is_empty())
        .map(
            |(name, values)| crate::app::personal_data::DirectoryAttribute {
                attribute: name.to_owned(),
                values,
            },
        )
        .collect()
}

fn ldap_attributes(attributes: Vec<supann::Attribute>) -> Vec<proto::LdapAttribute> {
    attributes
        .into_iter()
        .map(|(name, values)| proto::LdapAttribute {
            name: name.to_owned(),
            values,
        })
        .collect()
}

/// What the SupAnn attributes are computed from: the account, and its
/// encoding for what the API computes (the SupAnn state with its dates),
/// with its institution's consent items.
fn ldap_source<'a>(
    state: &App,
    account: &'a Account,
    encoded: &'a proto::Account,
) -> LdapSource<'a> {
    let no_items = std::collections::BTreeMap::new();
    let institution = state.rules.institution(&account.institution);
    let items = institution.map_or(&no_items, |i| &i.consents);
    let consents = supann::consent_values(&account.consents, items);
    let redirect = encoded.mail_redirect.as_ref();
    let photo = account.consents.photo.as_ref().map(|p| &p.0);
    LdapSource {
        login: &encoded.login,
        institutional_mail: &encoded.institutional_mail,
        given_name: &encoded.given_name,
        family_name: &encoded.family_name,
        student_number: &encoded.student_number,
        ine: &encoded.ine,
        hr_id: &encoded.hr_id,
        mobile_phone: &encoded.mobile_phone,
        ressource_etat_date: &encoded.supann_ressource_etat_date,
        recovery_mail: &encoded.recovery_mail,
        directory_listed: encoded.consents.as_ref().and_then(|c| c.directory_listed),
        forwarding_address: redirect
            .filter(|r| r.enabled && r.verified)
            .map(|r| r.address.as_str())
            .unwrap_or_default(),
        keep_copy: redirect.is_some_and(|r| r.keep_copy),
        password_hash: account
            .password_hash
            .as_deref()
            .filter(|h| supann::ldap_verifiable(h))
            .unwrap_or_default(),
        has_password: account.password_hash.is_some(),
        password_usable: account.password_usable(),
        directory_entry: account.directory_entry.as_ref(),
        photo_refused: matches!(photo, Some(PhotoDecision::Refuse)),
        consents,
        kind: account.kind,
        end_of_activity: &encoded.end_of_activity_date,
    }
}

pub fn extension(r: &extension_request::Model, login: &str) -> proto::ExtensionRequest {
    let state = match ExtensionState::parse(&r.state) {
        Some(ExtensionState::Pending) => proto::ExtensionState::Pending,
        Some(ExtensionState::Approved) => proto::ExtensionState::Approved,
        Some(ExtensionState::Denied) => proto::ExtensionState::Denied,
        None => proto::ExtensionState::Unspecified,
    };
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    proto::ExtensionRequest {
        request_id: r.id.clone(),
        account_id: r.account_id.clone(),
        login: login.to_owned(),
        state: state as i32,
        reason: r.reason.clone(),
        requested_at: Some(encode::timestamp(r.requested_at)),
        decided_at: r.decided_at.map(encode::timestamp),
        decided_by: r.decided_by.clone().unwrap_or_default(),
        decision_comment: r.decision_comment.clone().unwrap_or_default(),
        previous_retention_end_date: date(r.previous_retention_end_date),
        new_retention_end_date: date(r.new_retention_end_date),
    }
}

pub fn report(r: &BatchReport) -> proto::RunExpiryBatchResponse {
    proto::RunExpiryBatchResponse {
        notices_sent: r.counts.notices_sent,
        accounts_expired: r.counts.accounts_expired,
        password_reminders_sent: r.counts.password_reminders_sent,
        passwords_expired: r.counts.passwords_expired,
        accounts_purged: r.counts.accounts_purged,
        planned_actions: r
            .planned
            .iter()
            .map(|p| proto::ExpiryAction {
                account_id: p.account_id.clone(),
                login: p.login.clone(),
                action: p.step.action().to_owned(),
                detail: p.detail.clone(),
            })
            .collect(),
        activations_opened: r.counts.activations_opened,
        accounts_limited: r.counts.accounts_limited,
        alumni_offers_sent: r.counts.alumni_offers_sent,
        accounts_kept_as_alumni: r.counts.accounts_kept_as_alumni,
        complete: r.complete,
        chunks: r.chunks,
        records_forgotten: Some(proto::RecordsForgotten {
            audit_events: r.forgotten.audit_events,
            sent_messages: r.forgotten.sent_messages,
            finished_flows: r.forgotten.finished_flows,
            spent_secrets: r.forgotten.spent_secrets,
            feed_entries: r.forgotten.feed.forgotten,
            feed_entries_kept_for_readers: r.forgotten.feed.kept_for_readers,
            decided_requests: r.forgotten.decided_requests,
        }),
    }
}
