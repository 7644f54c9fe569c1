use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guess_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    pub last_failure_at: Option<DateTimeUtc>,
    pub pending: i32,
    pub pending_until: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
