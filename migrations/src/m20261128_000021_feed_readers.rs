//! The feed's readers (issue 29): each reader's last cursor, so that the
//! expiry batch forgets old changes only once every reader has read them,
//! and the feed's floor, the last change forgotten (`feed_counter` row 2),
//! below which a cursor no longer reads every change (CURSOR_EXPIRED); and
//! the changes by time, for the batch to find those past their retention.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BY_TIME: &str = "ix_changes_occurred";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("feed_readers")
                    // The client's name, then the institution it reads
                    // (empty: all of them).
                    .col(string_len("reader", 200).primary_key())
                    .col(big_integer("cursor"))
                    .col(timestamp_with_time_zone("read_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_TIME)
                    .table("account_changes")
                    // IF NOT EXISTS: a large feed may get it beforehand
                    // with CREATE INDEX CONCURRENTLY (docs/operating/maintenance.md).
                    .if_not_exists()
                    .col("occurred_at")
                    .take(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("feed_counter")
                    .columns(["id", "value"])
                    .values_panic([2.into(), 0i64.into()])
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(BY_TIME)
                    .table("account_changes")
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("feed_counter")
                    .and_where(Expr::col("id").eq(2))
                    .take(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("feed_readers").to_owned())
            .await
    }
}
