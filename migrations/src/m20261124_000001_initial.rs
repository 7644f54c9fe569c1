//! The whole domain: accounts, one-time secrets, activation flows, the mail
//! and SMS outbox, audit events, the change feed, extension requests and
//! password history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(name: &'static str) -> ColumnDef {
    string_len(name, 36).primary_key().take()
}

fn instant(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn instant_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// `account_id` references `accounts`; rows go with their account.
fn owned_by_account(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "account_id")
        .to("accounts", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Logins and mail addresses are compared byte by byte: prefix range
        // scans (finding the taken `jmartin…`) must not depend on a locale
        // that ignores punctuation. SQLite compares bytes already.
        let bytewise = |mut column: ColumnDef| {
            if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
                column.extra("COLLATE \"C\"");
            }
            column
        };
        manager
            .create_table(
                Table::create()
                    .table("accounts")
                    .col(id("id"))
                    .col(string_len("institution", 63))
                    .col(string_len("profile", 63))
                    .col(string_len("kind", 16))
                    .col(string_len("status", 16))
                    .col(instant("status_changed_at"))
                    // Status to return to when unlocked.
                    .col(string_len_null("status_before_lock", 16))
                    .col(string_len("login", 254))
                    // Lowercased login: what lookups and uniqueness use.
                    .col(bytewise(string_len("login_key", 254)))
                    .col(bytewise(string_len_null("institutional_mail", 254)))
                    .col(string_len_null("student_number", 20))
                    .col(string_len_null("ine", 11))
                    .col(string_len_null("hr_id", 64))
                    .col(string_len("given_name", 100))
                    .col(string_len("family_name", 100))
                    .col(date_null("birth_date"))
                    .col(string_len_null("mobile_phone", 20))
                    .col(string_len_null("personal_mail", 254))
                    .col(string_len_null("recovery_mail", 254))
                    .col(instant_null("recovery_mail_verified_at"))
                    .col(instant("activation_available_at"))
                    .col(instant_null("activated_at"))
                    .col(text_null("password_hash"))
                    .col(instant_null("password_changed_at"))
                    .col(instant_null("password_expires_at"))
                    // Set when the password must be changed at next use.
                    .col(boolean("password_must_change").default(false))
                    .col(string_len_null("charter_version", 32))
                    .col(instant_null("charter_accepted_at"))
                    .col(boolean_null("directory_listed"))
                    .col(instant_null("directory_decided_at"))
                    // Comma-separated photo uses.
                    .col(string_len("photo_uses", 128).default(""))
                    .col(boolean("photo_refused").default(false))
                    .col(instant_null("photo_decided_at"))
                    .col(boolean_null("crous_sharing"))
                    .col(instant_null("crous_decided_at"))
                    .col(string_len_null("redirect_address", 254))
                    .col(boolean("redirect_keep_copy").default(false))
                    .col(instant_null("redirect_verified_at"))
                    .col(string_len_null("antispam_level", 16))
                    // JSON object of the staff directory fields.
                    .col(text_null("directory_entry"))
                    .col(date_null("end_of_activity_date"))
                    .col(date_null("retention_end_date"))
                    .col(instant_null("purged_at"))
                    .col(instant("created_at"))
                    .col(instant("updated_at"))
                    .take(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_accounts_login", &["institution", "login_key"][..], true),
            (
                "ux_accounts_mail",
                &["institution", "institutional_mail"][..],
                true,
            ),
            (
                "ux_accounts_student_number",
                &["institution", "student_number"][..],
                true,
            ),
            ("ux_accounts_ine", &["institution", "ine"][..], true),
            ("ux_accounts_hr_id", &["institution", "hr_id"][..], true),
            (
                "ix_accounts_status",
                &["status", "retention_end_date"][..],
                false,
            ),
        ] {
            manager
                .create_index(index(name, "accounts", cols, unique))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("one_time_secrets")
                    .col(id("id"))
                    .col(string_len("account_id", 36))
                    // activation_key, provisional_password, activation_link,
                    // identity_code, recovery_mail_verification,
                    // redirect_verification, password_reset,
                    // recovery_mail_change.
                    .col(string_len("purpose", 32))
                    // Hex SHA-256 of the secret.
                    .col(string_len("secret_hash", 64))
                    // What the secret proves control of (an address being
                    // verified), when any.
                    .col(string_len_null("target", 254))
                    .col(string_len_null("flow_id", 36))
                    .col(integer("failed_attempts").default(0))
                    .col(instant("created_at"))
                    .col(instant_null("not_before"))
                    .col(instant_null("expires_at"))
                    .col(instant_null("used_at"))
                    .col(instant_null("revoked_at"))
                    .foreign_key(&mut owned_by_account("one_time_secrets"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_secrets_hash",
                "one_time_secrets",
                &["secret_hash"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_secrets_account",
                "one_time_secrets",
                &["account_id", "purpose"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activation_flows")
                    .col(id("id"))
                    .col(string_len("account_id", 36))
                    .col(string_len("token_hash", 64))
                    // JSON: steps done, choices pending verification.
                    .col(text("state"))
                    .col(instant("created_at"))
                    .col(instant("updated_at"))
                    .col(instant("expires_at"))
                    .col(instant_null("completed_at"))
                    .foreign_key(&mut owned_by_account("activation_flows"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_flows_token",
                "activation_flows",
                &["token_hash"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_flows_account",
                "activation_flows",
                &["account_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(id("id"))
                    .col(string_len_null("account_id", 36))
                    // mail or sms.
                    .col(string_len("channel", 8))
                    .col(string_len("recipient", 254))
                    .col(string_len("template", 64))
                    // JSON parameters of the template.
                    .col(text("payload"))
                    .col(instant("created_at"))
                    .col(instant("not_before"))
                    .col(instant_null("sent_at"))
                    .col(integer("attempts").default(0))
                    .col(text_null("last_error"))
                    // Set when delivery was given up after the last attempt.
                    .col(instant_null("failed_at"))
                    // A sender owns the message until then.
                    .col(instant_null("claimed_until"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_outbox_due",
                "outbox",
                &["sent_at", "not_before"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .col(id("id"))
                    .col(instant("occurred_at"))
                    .col(string_len("institution", 63))
                    .col(string_len_null("account_id", 36))
                    .col(string_len("action", 64))
                    .col(string_len("actor", 128))
                    .col(string_len("request_id", 64))
                    // JSON object; never secrets.
                    .col(text("details"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_audit_institution",
                "audit_events",
                &["institution", "occurred_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_account",
                "audit_events",
                &["account_id", "occurred_at"],
                false,
            ))
            .await?;

        // The change feed. Sequence numbers come from `feed_counter`, bumped
        // last in each writing transaction: the row lock it takes orders the
        // commits, so a reader that saw sequence N never later finds a
        // smaller one appear.
        manager
            .create_table(
                Table::create()
                    .table("feed_counter")
                    .col(integer("id").primary_key())
                    .col(big_integer("value"))
                    .take(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("feed_counter")
                    .columns(["id", "value"])
                    .values_panic([1.into(), 0i64.into()])
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("account_changes")
                    .col(big_integer("seq").primary_key())
                    .col(string_len("account_id", 36))
                    .col(string_len("institution", 63))
                    .col(string_len("kind", 32))
                    .col(instant("occurred_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_changes_institution",
                "account_changes",
                &["institution", "seq"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("extension_requests")
                    .col(id("id"))
                    .col(string_len("account_id", 36))
                    .col(string_len("state", 16))
                    .col(text("reason"))
                    .col(instant("requested_at"))
                    .col(instant_null("decided_at"))
                    .col(string_len_null("decided_by", 128))
                    .col(text_null("decision_comment"))
                    .col(date_null("previous_retention_end_date"))
                    .col(date_null("new_retention_end_date"))
                    .foreign_key(&mut owned_by_account("extension_requests"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_extensions_state",
                "extension_requests",
                &["state", "requested_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("password_history")
                    .col(id("id"))
                    .col(string_len("account_id", 36))
                    .col(text("password_hash"))
                    .col(instant("created_at"))
                    .foreign_key(&mut owned_by_account("password_history"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_password_history_account",
                "password_history",
                &["account_id", "created_at"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "password_history",
            "extension_requests",
            "account_changes",
            "feed_counter",
            "audit_events",
            "outbox",
            "activation_flows",
            "one_time_secrets",
            "accounts",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
