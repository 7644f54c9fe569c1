use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub account_id: String,
    pub institution: String,
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    /// The account row as the change left it (JSON); `None` for changes
    /// written before snapshots existed. A purge takes its personal data
    /// out of its account's earlier snapshots.
    pub account_snapshot: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
