use sea_orm::entity::prelude::*;

/// A profile of an account that holds several (one person, one account):
/// its ids and its own end; the account's end is the last of them. An
/// account of one profile has no row here.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub institution: String,
    pub profile: String,
    pub kind: String,
    pub student_number: Option<String>,
    pub hr_id: Option<String>,
    pub end_of_activity_date: Option<Date>,
    pub retention_end_date: Option<Date>,
    pub linked_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
