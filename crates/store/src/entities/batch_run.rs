use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batch_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub scope: String,
    pub actor: String,
    pub request_id: String,
    pub as_of: DateTimeUtc,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    pub complete: bool,
    pub chunks: i32,
    pub activations_opened: i32,
    pub accounts_limited: i32,
    pub accounts_expired: i32,
    pub notices_sent: i32,
    pub password_reminders_sent: i32,
    pub passwords_expired: i32,
    pub accounts_purged: i32,
    pub alumni_offers_sent: i32,
    pub accounts_kept_as_alumni: i32,
}

impl ActiveModelBehavior for ActiveModel {}
