//! Keyed hashes of codes, activation keys and provisional passwords carry
//! the id of their key (`k<id>:<hmac>`, 74 characters): the column grows.
//! SQLite does not enforce lengths; PostgreSQL does.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn set_length(manager: &SchemaManager<'_>, length: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .alter_table(
            Table::alter()
                .table("one_time_secrets")
                .modify_column(string_len("secret_hash", length))
                .take(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 128).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 64).await
    }
}
