//! SeaORM entities, one per table of `migrations/`.

pub mod account;
pub mod account_change;
pub mod account_profile;
pub mod activation_flow;
pub mod attempt_counter;
pub mod audit_event;
pub mod batch_run;
pub mod extension_request;
pub mod feed_counter;
pub mod feed_reader;
pub mod guess_counter;
pub mod guest_invitation;
pub mod held_record;
pub mod one_time_secret;
pub mod outbox;
pub mod password_history;
