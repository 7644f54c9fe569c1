//! ent-identity: the gRPC service that owns a university member's digital
//! account, from provisioning at enrolment or hiring to retirement after
//! departure.
//!
//! Layout: [`domain`] holds the pure rules, [`store`] is the only code that
//! speaks SQL, [`services`] has one thin file per gRPC service, [`server`]
//! assembles them; [`batch`] is the expiry batch shared by the RPC and the
//! `expire` command.

pub mod auth;
pub mod batch;
pub mod clock;
pub mod config;
/// The pure rules, a crate of their own (`crates/domain`): it cannot reach
/// the database, the network or the configuration.
pub use ::domain;
// Invariants for the property tests and the cargo-fuzz targets (which build
// with `--cfg fuzzing`); not part of the service.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod hashing;
pub mod mail;
pub mod proto;
pub mod server;
pub mod services;
/// The only code that speaks SQL, a crate of its own (`crates/store`).
pub use ::store;
pub mod telemetry;
pub mod texts;
