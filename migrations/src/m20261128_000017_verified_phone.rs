//! Recovery by SMS (issue 28): when the mobile phone on record was proven
//! by a code sent to it alone, the phone a reset code may go to. A new
//! phone from the enrolment or HR record clears it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .add_column(timestamp_with_time_zone_null("mobile_phone_verified_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .drop_column("mobile_phone_verified_at")
                    .take(),
            )
            .await
    }
}
