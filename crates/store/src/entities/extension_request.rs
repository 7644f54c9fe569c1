use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extension_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub state: String,
    pub reason: String,
    pub requested_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    pub decision_comment: Option<String>,
    pub previous_retention_end_date: Option<Date>,
    pub new_retention_end_date: Option<Date>,
    pub institution: String,
}

impl ActiveModelBehavior for ActiveModel {}
