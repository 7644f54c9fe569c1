use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: Option<String>,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub not_before: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub failed_at: Option<DateTimeUtc>,
    pub claimed_until: Option<DateTimeUtc>,
    /// The sender process holding the lease.
    pub claimed_by: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
