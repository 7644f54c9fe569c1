//! The integration suite: every test drives a real server over gRPC on an
//! ephemeral port, started by `support::spawn_app` with a clock the test
//! controls. On SQLite always; on PostgreSQL too when
//! `ENT_IDENTITY_TEST_DATABASE_URL` names a database (each test gets its own
//! schema in it).

mod logs;
mod support;

mod access;
mod activation;
mod alumni;
mod any_university;
mod browser;
mod bulk;
mod config;
mod duplicates;
mod feed;
mod forms;
mod grpc_web;
mod guests;
mod helpdesk;
mod ldap;
mod lifecycle;
mod limits;
mod mail;
mod passwords;
mod personal_data;
mod portal;
mod provisioning;
mod recovery;
mod server;
mod settings;
mod telemetry;
