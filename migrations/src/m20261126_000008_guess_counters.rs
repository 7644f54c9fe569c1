//! Counters of wrong guesses (keys, provisional passwords, identity
//! details, codes, current passwords), one per account, address or typed
//! identifier, keyed by a hash. Attempts are reserved while judged
//! (`pending`, held until `pending_until`) and counted only when wrong.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("guess_counters")
                    .col(string_len("key", 64).primary_key())
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone_null("last_failure_at"))
                    .col(integer("pending"))
                    .col(timestamp_with_time_zone_null("pending_until"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_guess_counters_last_failure")
                    .table("guess_counters")
                    .col("last_failure_at")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("guess_counters").to_owned())
            .await
    }
}
