//! Attempt counters are deleted once their window is long over (by the
//! expiry batch): an index on the window's start keeps that a range scan.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("attempt_counters_window_started_at")
                    .table("attempt_counters")
                    .col("window_started_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("attempt_counters_window_started_at")
                    .table("attempt_counters")
                    .to_owned(),
            )
            .await
    }
}
