//! The LDAP sync worker (`ent-identity ldap-sync`): reads the change feed
//! over the public gRPC API as the `ldap_sync` client and makes an OpenLDAP
//! directory with the SupAnn schema say what each change left, in feed
//! order, keeping its cursor in the directory. `--resync` walks every
//! account instead. docs/integrating/ldap.md.

pub mod directory;
pub mod mapping;
pub mod metrics;
pub mod settings;
mod worker;

pub use settings::{InstitutionDirectory, LdapSyncSettings, LockMode, PurgeMode};
pub use worker::{Pass, Worker, resync};

/// Why a step failed. Every failure is retried (with backoff); none is
/// passed over.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The directory answered with an error: the change waits until the
    /// directory (or the configuration) is put right.
    #[error("the directory refused the {operation} of {dn}: result {code} ({text})")]
    Refused {
        operation: &'static str,
        dn: String,
        code: u32,
        text: String,
    },
    #[error("the directory could not be reached: {0}")]
    Directory(#[from] ldap3::LdapError),
    #[error("the API refused or failed: {0}")]
    Api(#[from] tonic::Status),
    /// The feed forgot changes after the directory's cursor (past their
    /// retention, while this worker was away): only a resync catches up.
    #[error(
        "the feed no longer holds the changes after cursor {0} (forgotten after their retention while this worker was away): run `ent-identity ldap-sync --resync`"
    )]
    CursorExpired(String),
    #[error("{0}")]
    Setup(String),
}

impl SyncError {
    /// The LDAP result code for metrics and logs, when the directory
    /// answered.
    pub fn ldap_code(&self) -> Option<u32> {
        match self {
            SyncError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}
