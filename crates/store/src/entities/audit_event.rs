use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub occurred_at: DateTimeUtc,
    pub institution: String,
    pub account_id: Option<String>,
    pub action: String,
    pub actor: String,
    pub request_id: String,
    pub details: String,
}

impl ActiveModelBehavior for ActiveModel {}
