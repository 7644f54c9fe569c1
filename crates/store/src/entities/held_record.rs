use sea_orm::entity::prelude::*;

/// A provisioning record that named a person who already has an account,
/// kept for an administrator (`duplicates.action = "hold"`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "held_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub institution: String,
    pub profile: String,
    pub student_number: Option<String>,
    pub hr_id: Option<String>,
    /// The record as received (`domain::provisioning::ProvisionInput`, JSON).
    pub record: String,
    /// The account of the person the record seems to name.
    pub candidate_id: String,
    /// The fact that matched (`domain::duplicates::DuplicateMatch`).
    pub matched_on: String,
    /// `pending`, `merged` or `created`.
    pub status: String,
    pub held_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    /// The account the record went to, once decided.
    pub account_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
