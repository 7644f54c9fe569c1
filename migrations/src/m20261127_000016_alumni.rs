//! Former students' accounts kept on consent (issue 25, `domain::alumni`):
//! on each account the period end its last request was sent for and the one
//! the person said "yes" for; on each batch run the requests it sent and
//! the accounts it kept. The batch finds both steps' accounts through the
//! retention lane index (000012): they are dated by the retention end.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ACCOUNT_COLUMNS: [&str; 2] = ["alumni_asked_for", "alumni_kept_for"];
const RUN_COLUMNS: [&str; 2] = ["alumni_offers_sent", "accounts_kept_as_alumni"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in ACCOUNT_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("accounts")
                        .add_column(date_null(column))
                        .take(),
                )
                .await?;
        }
        for column in RUN_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("batch_runs")
                        .add_column(integer(column).default(0))
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in ACCOUNT_COLUMNS
            .map(|c| ("accounts", c))
            .into_iter()
            .chain(RUN_COLUMNS.map(|c| ("batch_runs", c)))
        {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
