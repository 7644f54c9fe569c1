use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guest_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub institution: String,
    pub profile: String,
    pub sponsor_id: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<Date>,
    pub personal_mail: String,
    pub end_date: Date,
    pub reason: String,
    /// The language of the guest's mails (`fr`, `en`).
    pub language: String,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    pub decision_comment: Option<String>,
    /// The guest's account, once the invitation is approved.
    pub account_id: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
