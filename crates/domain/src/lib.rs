//! Pure rules of the service: no I/O, no database, no clock. Every function
//! that depends on time takes `now` as a parameter.

pub mod account;
pub mod activation;
pub mod alumni;
pub mod consent;
pub mod consent_items;
pub mod duplicates;
pub mod end_user;
pub mod form;
pub mod guessing;
pub mod guest;
pub mod helpdesk;
pub mod identity_check;
pub mod ids;
pub mod institution;
pub mod institution_checks;
pub mod language;
pub mod login;
pub mod name_template;
pub mod password;
pub mod problem;
pub mod provisioning;
pub mod recovery;
pub mod refusal;
pub mod retention;
pub mod secret;
pub mod self_service;
pub mod supann;
