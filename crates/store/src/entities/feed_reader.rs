use sea_orm::entity::prelude::*;

/// A reader of the change feed and the last cursor it read after.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feed_readers")]
pub struct Model {
    /// The client's name, then the institution it reads (`ldap_sync/`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub reader: String,
    pub cursor: i64,
    pub read_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
