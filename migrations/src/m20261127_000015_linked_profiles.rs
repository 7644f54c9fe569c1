//! One person, one account (issue 25): the records held for an
//! administrator's review, the profiles of an account that
//! provisioning linked to it, each with its own ids and end (a table that
//! finds them by id, and their copy on the account row that every read of
//! the account and the feed's snapshots carry), and the key
//! that finds the same person under other ids (folded names and birth
//! date), computed for the accounts already there.

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str], bool)] = &[
    (
        "ix_accounts_person_key",
        "accounts",
        &["institution", "person_key"],
        false,
    ),
    (
        "ix_accounts_personal_mail",
        "accounts",
        &["institution", "personal_mail"],
        false,
    ),
    (
        "ix_accounts_mobile_phone",
        "accounts",
        &["institution", "mobile_phone"],
        false,
    ),
    (
        "ix_account_profiles_account",
        "account_profiles",
        &["account_id"],
        false,
    ),
    (
        "ux_account_profiles_student_number",
        "account_profiles",
        &["institution", "student_number"],
        true,
    ),
    (
        "ux_account_profiles_hr_id",
        "account_profiles",
        &["institution", "hr_id"],
        true,
    ),
    (
        "ux_held_records_student_number",
        "held_records",
        &["institution", "student_number"],
        true,
    ),
    (
        "ux_held_records_hr_id",
        "held_records",
        &["institution", "hr_id"],
        true,
    ),
    (
        "ix_held_records_status",
        "held_records",
        &["institution", "status", "held_at"],
        false,
    ),
];

/// Accounts whose key is computed per statement.
const BACKFILL_CHUNK: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            string_len_null("person_key", 300),
            text_null("linked_profiles"),
        ] {
            manager
                .alter_table(Table::alter().table("accounts").add_column(column).take())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("account_profiles")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("account_id", 36))
                    .col(string_len("institution", 63))
                    .col(string_len("profile", 63))
                    .col(string_len("kind", 16))
                    .col(string_len_null("student_number", 32))
                    .col(string_len_null("hr_id", 64))
                    .col(date_null("end_of_activity_date"))
                    .col(date_null("retention_end_date"))
                    .col(timestamp_with_time_zone("linked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("account_profiles", "account_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("held_records")
                    .col(string_len("id", 36).primary_key())
                    .col(string_len("institution", 63))
                    .col(string_len("profile", 63))
                    .col(string_len_null("student_number", 32))
                    .col(string_len_null("hr_id", 64))
                    .col(text("record"))
                    .col(string_len("candidate_id", 36))
                    .col(string_len("matched_on", 32))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("held_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(string_len_null("decided_by", 128))
                    .col(string_len_null("account_id", 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from("held_records", "candidate_id")
                            .to("accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, table, cols, unique) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(*table);
            if *unique {
                index.unique();
            }
            for col in *cols {
                index.col(*col);
            }
            manager.create_index(index.take()).await?;
        }
        backfill_person_keys(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _, _) in INDEXES.iter().filter(|i| i.1 == "accounts") {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table("held_records").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("account_profiles").to_owned())
            .await?;
        for column in ["person_key", "linked_profiles"] {
            manager
                .alter_table(Table::alter().table("accounts").drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}

/// Computes the key of every account with a birth date, in id order and
/// chunks, so that a large table is not read at once.
async fn backfill_person_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let mut after = String::new();
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm_migration::sea_orm::DbBackend::Postgres => {
                        "SELECT id, given_name, family_name, birth_date FROM accounts \
                         WHERE birth_date IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
                    }
                    _ => {
                        "SELECT id, given_name, family_name, birth_date FROM accounts \
                         WHERE birth_date IS NOT NULL AND id > ? ORDER BY id LIMIT ?"
                    }
                },
                [after.clone().into(), (BACKFILL_CHUNK as i64).into()],
            ))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get::<String>("", "id")?;
        for row in &rows {
            let read = |column: &str| row.try_get::<String>("", column);
            let born = row.try_get::<chrono::NaiveDate>("", "birth_date")?;
            let key = domain::duplicates::person_key(
                &read("given_name")?,
                &read("family_name")?,
                Some(born),
            );
            let update = Query::update()
                .table("accounts")
                .value("person_key", key)
                .and_where(Expr::col("id").eq(read("id")?))
                .to_owned();
            manager.exec_stmt(update).await?;
        }
    }
}
