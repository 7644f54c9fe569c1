//! Database schema of ent-identity, for SQLite and PostgreSQL alike.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_password_expiry_index;
mod m20261124_000003_attempt_counters;
mod m20261124_000004_lifecycle;
mod m20261124_000005_attempt_counter_expiry;
mod m20261124_000006_batch_lanes;
mod m20261124_000007_batch_runs;
mod m20261126_000008_guess_counters;
mod m20261126_000009_outbox_claimed_by;
mod m20261126_000010_keyed_secret_hashes;
mod m20261127_000011_change_snapshots;
mod m20261127_000012_partial_batch_lanes;
mod m20261127_000013_changes_by_account;
mod m20261127_000014_guests;
mod m20261127_000015_linked_profiles;
mod m20261127_000016_alumni;
mod m20261128_000017_verified_phone;
mod m20261128_000018_typed_hr_ids;
mod m20261128_000019_consent_answers;
mod m20261128_000020_personal_data_lookups;
mod m20261128_000021_feed_readers;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_password_expiry_index::Migration),
            Box::new(m20261124_000003_attempt_counters::Migration),
            Box::new(m20261124_000004_lifecycle::Migration),
            Box::new(m20261124_000005_attempt_counter_expiry::Migration),
            Box::new(m20261124_000006_batch_lanes::Migration),
            Box::new(m20261124_000007_batch_runs::Migration),
            Box::new(m20261126_000008_guess_counters::Migration),
            Box::new(m20261126_000009_outbox_claimed_by::Migration),
            Box::new(m20261126_000010_keyed_secret_hashes::Migration),
            Box::new(m20261127_000011_change_snapshots::Migration),
            Box::new(m20261127_000012_partial_batch_lanes::Migration),
            Box::new(m20261127_000013_changes_by_account::Migration),
            Box::new(m20261127_000014_guests::Migration),
            Box::new(m20261127_000015_linked_profiles::Migration),
            Box::new(m20261127_000016_alumni::Migration),
            Box::new(m20261128_000017_verified_phone::Migration),
            Box::new(m20261128_000018_typed_hr_ids::Migration),
            Box::new(m20261128_000019_consent_answers::Migration),
            Box::new(m20261128_000020_personal_data_lookups::Migration),
            Box::new(m20261128_000021_feed_readers::Migration),
        ]
    }
}
