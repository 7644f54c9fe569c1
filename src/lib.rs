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
pub mod domain;
// Invariants for the property tests and the cargo-fuzz targets (which build
// with `--cfg fuzzing`); not part of the service.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod hashing;
pub mod mail;
pub mod proto;
pub mod server;
pub mod services;
pub mod store;
pub mod telemetry;
