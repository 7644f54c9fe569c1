//! Recovery by SMS (issue 28): when the mobile phone on record was proven
//! by a code sent to it alone (a new phone from the enrolment or HR record
//! clears it); and the mobile phone a person gives during activation, with
//! when the code sent to it was typed back. Reset codes go to either.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 3] = [
    "mobile_phone_verified_at",
    "recovery_phone",
    "recovery_phone_verified_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            timestamp_with_time_zone_null("mobile_phone_verified_at"),
            string_null("recovery_phone"),
            timestamp_with_time_zone_null("recovery_phone_verified_at"),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table("accounts")
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(Table::alter().table("accounts").drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
