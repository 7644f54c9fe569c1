//! The expiry batch reads each step's candidates one stored status at a
//! time, in `(date, id)` order: one index per step on
//! `(institution, status, date, id)` makes every chunk a single index range.
//! The previous indexes (000002, 000004 and `ix_accounts_status`) left the
//! batch to walk the primary key or sort every due row for each chunk, and
//! only served the batch.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NEW: &[(&str, &str)] = &[
    ("ix_accounts_batch_opening", "activation_available_at"),
    ("ix_accounts_batch_departure", "end_of_activity_date"),
    ("ix_accounts_batch_retention", "retention_end_date"),
    ("ix_accounts_batch_notice", "next_expiry_notice_on"),
    ("ix_accounts_batch_reminder", "next_password_reminder_at"),
    ("ix_accounts_batch_password", "password_expires_at"),
    ("ix_accounts_batch_purge", "expired_at"),
];

const OLD: &[(&str, &[&str])] = &[
    ("ix_accounts_status", &["status", "retention_end_date"]),
    ("ix_accounts_password_expires", &["password_expires_at"]),
    (
        "ix_accounts_departure",
        &["institution", "status", "end_of_activity_date"],
    ),
    (
        "ix_accounts_retention",
        &["institution", "status", "retention_end_date"],
    ),
    (
        "ix_accounts_opening",
        &["institution", "status", "activation_available_at"],
    ),
    (
        "ix_accounts_notice",
        &["institution", "next_expiry_notice_on"],
    ),
    (
        "ix_accounts_password_reminder",
        &["institution", "next_password_reminder_at"],
    ),
    ("ix_accounts_expired", &["institution", "expired_at"]),
];

fn create(name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    // IF NOT EXISTS: a large installation may build them beforehand with
    // CREATE INDEX CONCURRENTLY (docs/operating/maintenance.md, "Upgrading").
    index.name(name).table("accounts").if_not_exists();
    for col in cols {
        index.col(*col);
    }
    index.take()
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop().name(name).table("accounts").to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, key) in NEW {
            manager
                .create_index(create(name, &["institution", "status", key, "id"]))
                .await?;
        }
        for (name, _) in OLD {
            manager.drop_index(drop(name)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in OLD {
            manager.create_index(create(name, cols)).await?;
        }
        for (name, _) in NEW {
            manager.drop_index(drop(name)).await?;
        }
        Ok(())
    }
}
