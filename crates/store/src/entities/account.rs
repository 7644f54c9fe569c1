use sea_orm::entity::prelude::*;

/// Serialized (the change feed's snapshots, `feed::snapshot_of`) without its
/// unset fields: a new account's snapshot is a third shorter, and the feed
/// writes one per change (BENCHMARKS.md, expiry batch).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub institution: String,
    pub profile: String,
    pub kind: String,
    pub status: String,
    pub status_changed_at: DateTimeUtc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_before_lock: Option<String>,
    pub login: String,
    pub login_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institutional_mail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone_verified_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_mail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_mail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_mail_verified_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_phone_verified_at: Option<DateTimeUtc>,
    /// Answers to the institution's own consent items, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_answers: Option<String>,
    pub activation_available_at: DateTimeUtc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_expires_at: Option<DateTimeUtc>,
    pub password_must_change: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charter_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charter_accepted_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_listed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_decided_at: Option<DateTimeUtc>,
    pub photo_uses: String,
    pub photo_refused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_decided_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crous_sharing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crous_decided_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_address: Option<String>,
    pub redirect_keep_copy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_verified_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antispam_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_entry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_activity_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_end_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_expiry_notice_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_password_reminder_at: Option<DateTimeUtc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A guest's sponsor (the account that invited them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sponsor_id: Option<String>,
    /// Folded names and birth date (`domain::duplicates::person_key`): the
    /// same person under other ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_key: Option<String>,
    /// An account of several profiles: every one of them (JSON,
    /// `domain::duplicates::LinkedProfile`), as `account_profiles` holds
    /// them; none for an account of one profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_profiles: Option<String>,
    /// The retention end the last request to keep the account as a former
    /// student's was sent for (`domain::alumni`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alumni_asked_for: Option<Date>,
    /// The retention end past which the former student agreed to keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alumni_kept_for: Option<Date>,
}

impl ActiveModelBehavior for ActiveModel {}
