//! The expiry batch finds what is due by index, never by scanning every
//! account: when the next expiry notice and password reminder are due, when
//! the account expired (the purge counts from it), and the extension
//! requests of an institution.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "ix_accounts_departure",
        "accounts",
        &["institution", "status", "end_of_activity_date"],
    ),
    (
        "ix_accounts_retention",
        "accounts",
        &["institution", "status", "retention_end_date"],
    ),
    (
        "ix_accounts_opening",
        "accounts",
        &["institution", "status", "activation_available_at"],
    ),
    (
        "ix_accounts_notice",
        "accounts",
        &["institution", "next_expiry_notice_on"],
    ),
    (
        "ix_accounts_password_reminder",
        "accounts",
        &["institution", "next_password_reminder_at"],
    ),
    (
        "ix_accounts_expired",
        "accounts",
        &["institution", "expired_at"],
    ),
    (
        "ix_extensions_institution",
        "extension_requests",
        &["institution", "state", "requested_at"],
    ),
    (
        "ix_extensions_account",
        "extension_requests",
        &["account_id", "state"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            date_null("next_expiry_notice_on"),
            timestamp_with_time_zone_null("next_password_reminder_at"),
            timestamp_with_time_zone_null("expired_at"),
        ] {
            manager
                .alter_table(Table::alter().table("accounts").add_column(column).take())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("extension_requests")
                    .add_column(string_len("institution", 63).default(""))
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
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("extension_requests")
                    .drop_column("institution")
                    .take(),
            )
            .await?;
        for column in [
            "next_expiry_notice_on",
            "next_password_reminder_at",
            "expired_at",
        ] {
            manager
                .alter_table(Table::alter().table("accounts").drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
