//! The feed's entries of one account, found by index. The purge scrubs an
//! account's earlier snapshots (000011): without this index each purge
//! chunk read the whole feed, and the expiry batch over a million accounts
//! took 86 s instead of about 20 (BENCHMARKS.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_changes_account";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table("account_changes")
                    // IF NOT EXISTS: a large feed may get it beforehand
                    // with CREATE INDEX CONCURRENTLY (docs/operating/maintenance.md, "Upgrading").
                    .if_not_exists()
                    .col("account_id")
                    .col("seq")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table("account_changes").to_owned())
            .await
    }
}
