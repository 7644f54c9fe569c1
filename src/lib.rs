//! ent-identity: the gRPC service that owns a university member's digital
//! account, from provisioning at enrolment or hiring to retirement after
//! departure.
//!
//! Layout: the workspace's crates hold the layers — [`domain`] the pure
//! rules, [`store`] the only code that speaks SQL, [`app`] the use cases and
//! the texts people read, [`hashing`] argon2id — and this crate the
//! adapters: [`services`] has one file per gRPC service (decode, use case,
//! encode), [`server`] assembles them, [`auth`], [`config`], [`mail`] and
//! [`telemetry`] do what they say.

pub mod auth;
pub mod call;
/// The use cases and the texts people read, a crate of their own
/// (`crates/app`): no gRPC, no SQL.
pub use ::app;
pub mod config;
pub mod demo;
/// The pure rules, a crate of their own (`crates/domain`): it cannot reach
/// the database, the network or the configuration.
pub use ::domain;
// Invariants for the property tests and the cargo-fuzz targets (which build
// with `--cfg fuzzing`); not part of the service.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
/// argon2id on threads of its own, a crate of its own (`crates/hashing`).
pub use ::hashing;
/// The LDAP sync worker, a crate of its own (`crates/ldap-sync`) that only
/// speaks the public gRPC API and LDAP.
pub use ::ldap_sync;
pub mod mail;
/// The web portal, a crate of its own (`crates/portal`) that only speaks
/// the public gRPC API.
pub use ::portal;
/// The gRPC API as code, a crate of its own (`crates/proto`) that clients
/// such as the portal share.
pub use ::proto;
pub mod processing_record;
pub mod secret_keys;
pub mod server;
pub mod services;
pub mod status;
/// The only code that speaks SQL, a crate of its own (`crates/store`).
pub use ::store;
pub mod telemetry;
