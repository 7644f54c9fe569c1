//! The batch-lane indexes (000006) without the rows no batch step looks
//! for. At provisioning every date a step waits on is empty and the
//! account has opened (or waits in `pre_created`): the seven full indexes
//! cost each new account seven index insertions the batch never reads
//! (bulk provisioning wrote 24,000 account rows/s with them, 69,000
//! without; BENCHMARKS.md). Every step's candidate query compares the
//! step's date (`store::lifecycle::due_condition`), which implies it is
//! not NULL; the opening step reads the `pre_created` lane only, written as
//! a literal so that the planner can prove the index's condition
//! (`store::lifecycle::lane_condition`). The test
//! `lifecycle::every_batch_query_reads_its_partial_index` checks, with the
//! database's own plans (`Store::explain_batch_candidates`), that each step
//! still reads its index.
//!
//! The new indexes are built before the old ones are dropped: the batch
//! keeps an index to read at every moment of the upgrade.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (new index, replaced index, the step's date column, rows it holds).
const LANES: &[(&str, &str, &str, Holds)] = &[
    (
        "ix_accounts_lane_opening",
        "ix_accounts_batch_opening",
        "activation_available_at",
        Holds::PreCreated,
    ),
    (
        "ix_accounts_lane_departure",
        "ix_accounts_batch_departure",
        "end_of_activity_date",
        Holds::Dated,
    ),
    (
        "ix_accounts_lane_retention",
        "ix_accounts_batch_retention",
        "retention_end_date",
        Holds::Dated,
    ),
    (
        "ix_accounts_lane_notice",
        "ix_accounts_batch_notice",
        "next_expiry_notice_on",
        Holds::Dated,
    ),
    (
        "ix_accounts_lane_reminder",
        "ix_accounts_batch_reminder",
        "next_password_reminder_at",
        Holds::Dated,
    ),
    (
        "ix_accounts_lane_password",
        "ix_accounts_batch_password",
        "password_expires_at",
        Holds::Dated,
    ),
    (
        "ix_accounts_lane_purge",
        "ix_accounts_batch_purge",
        "expired_at",
        Holds::Dated,
    ),
];

/// Which accounts a lane index holds.
#[derive(Clone, Copy)]
enum Holds {
    /// Those whose date is set (the date is never set for nothing).
    Dated,
    /// Those waiting for their activation to open (the date is always set).
    PreCreated,
}

fn create(name: &str, key: &'static str, holds: Option<Holds>) -> IndexCreateStatement {
    let mut index = Index::create();
    // IF NOT EXISTS: a large installation may build them beforehand with
    // CREATE INDEX CONCURRENTLY (docs/operating/maintenance.md, "Upgrading").
    index
        .name(name)
        .table("accounts")
        .if_not_exists()
        .col("institution")
        .col("status")
        .col(key)
        .col("id");
    match holds {
        Some(Holds::Dated) => {
            index.and_where(Expr::col(key).is_not_null());
        }
        Some(Holds::PreCreated) => {
            index.and_where(Expr::col("status").eq("pre_created"));
        }
        None => {}
    }
    index.take()
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table("accounts")
        .if_exists()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (new, _, key, holds) in LANES {
            manager.create_index(create(new, key, Some(*holds))).await?;
        }
        for (_, old, _, _) in LANES {
            manager.drop_index(drop(old)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (_, old, key, _) in LANES {
            manager.create_index(create(old, key, None)).await?;
        }
        for (new, _, _, _) in LANES {
            manager.drop_index(drop(new)).await?;
        }
        Ok(())
    }
}
