//! Guests (issue 24): the invitations sponsors make, waiting for a
//! moderator or approved, and the sponsor of each guest's account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    ("ix_accounts_sponsor", "accounts", &["sponsor_id"]),
    (
        "ix_invitations_sponsor",
        "guest_invitations",
        &["sponsor_id", "created_at"],
    ),
    (
        "ix_invitations_status",
        "guest_invitations",
        &["institution", "status", "created_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .add_column(string_len_null("sponsor_id", 36))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("guest_invitations")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("institution", 63))
                    .col(string_len("profile", 63))
                    .col(string_len("sponsor_id", 36))
                    .col(text("given_name"))
                    .col(text("family_name"))
                    .col(date_null("birth_date"))
                    .col(text("personal_mail"))
                    .col(date("end_date"))
                    .col(text("reason"))
                    .col(string_len("language", 8))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(string_len_null("decided_by", 128))
                    .col(text_null("decision_comment"))
                    .col(string_len_null("account_id", 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from("guest_invitations", "sponsor_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, table, cols) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(*table);
            for col in *cols {
                index.col(*col);
            }
            manager.create_index(index.take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_accounts_sponsor")
                    .table("accounts")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("guest_invitations").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .drop_column("sponsor_id")
                    .take(),
            )
            .await
    }
}
