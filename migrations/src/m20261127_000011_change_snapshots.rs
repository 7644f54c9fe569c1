//! Each feed entry keeps the account as the change left it, written in the
//! change's own transaction: the LDAP sync worker applying changes in order
//! then ends where the account is, whatever happened to it since.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("account_changes")
                    .add_column(text_null("account_snapshot"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("account_changes")
                    .drop_column("account_snapshot")
                    .take(),
            )
            .await
    }
}
