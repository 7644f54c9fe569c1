//! One row per finished run of the expiry batch (`RunExpiryBatch`,
//! `ent-identity expire`): what it did and when. The batch usually runs in a
//! short-lived process (cron, a Kubernetes CronJob) that no metrics scraper
//! sees; the server reads the latest run of each scope from here for its
//! metrics, so "the batch has not completed for a day" can be alerted on.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("batch_runs")
                    .col(string_len("id", 36).primary_key())
                    // An institution's code, or "*" for a run over all.
                    .col(string_len("scope", 63))
                    .col(string_len("actor", 128))
                    .col(string_len("request_id", 64))
                    .col(timestamp_with_time_zone("as_of"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone("finished_at"))
                    // False when max_chunks stopped it before the end.
                    .col(boolean("complete"))
                    .col(integer("chunks"))
                    .col(integer("activations_opened"))
                    .col(integer("accounts_limited"))
                    .col(integer("accounts_expired"))
                    .col(integer("notices_sent"))
                    .col(integer("password_reminders_sent"))
                    .col(integer("passwords_expired"))
                    .col(integer("accounts_purged"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_batch_runs_finished")
                    .table("batch_runs")
                    .col("finished_at")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("batch_runs").to_owned())
            .await
    }
}
