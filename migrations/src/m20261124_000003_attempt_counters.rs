//! Counters of wrong guesses shared by every replica: a limit kept in one
//! process's memory would let an attacker spread guesses over replicas.
//! One row per counted subject (the hash of what is counted, never the
//! value itself), with the start of its current window.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("attempt_counters")
                    // SHA-256 hex of the scope and subject.
                    .col(string_len("key", 64).primary_key())
                    .col(timestamp_with_time_zone("window_started_at"))
                    .col(integer("count"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("attempt_counters").to_owned())
            .await
    }
}
