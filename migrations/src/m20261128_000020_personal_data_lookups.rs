//! The records that concern one person, found by index for their right of
//! access (issue 29): the messages the outbox wrote about an account, the
//! invitation that made a guest's account, and the records held against an
//! account as a possible duplicate.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    ("ix_outbox_account", "outbox", &["account_id", "created_at"]),
    (
        "ix_invitations_account",
        "guest_invitations",
        &["account_id"],
    ),
    (
        "ix_held_records_candidate",
        "held_records",
        &["candidate_id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            let mut index = Index::create();
            // IF NOT EXISTS: a large outbox may get it beforehand with
            // CREATE INDEX CONCURRENTLY (docs/operating/maintenance.md).
            index.name(*name).table(*table).if_not_exists();
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
        Ok(())
    }
}
