//! The one place where errors become gRPC statuses. Callers get a clear
//! code, a message and google.rpc details; internal failures are logged with
//! the request id and reach callers only as "internal error".

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::provisioning::Violation;
use crate::hashing::HashError;
use crate::store::StoreError;
use crate::store::accounts::ReissueError;
use crate::store::lifecycle::ExtensionError;
use crate::store::passwords::SetPasswordError;
use crate::store::provisioning::ProvisionError;
use crate::store::self_service::AccountWriteError;

/// An error of an RPC, before it becomes a [`Status`].
#[derive(Debug)]
pub enum ApiError {
    /// Bad input: every refused field.
    InvalidArgument(Vec<Violation>),
    NotFound(String),
    /// The caller may not do this for this account (a student asking for
    /// staff settings).
    PermissionDenied(String),
    AlreadyExists {
        field: String,
        message: String,
    },
    /// The request is valid but the account's state refuses it.
    FailedPrecondition {
        kind: &'static str,
        subject: String,
        message: String,
    },
    /// A new password the policy refuses: each rule broken, as (stable
    /// code, message in the caller's language), on `field`.
    PasswordRejected {
        field: String,
        violations: Vec<(&'static str, String)>,
    },
    /// Too much work queued; the caller may retry after `retry_after`.
    ResourceExhausted {
        message: String,
        retry_after: std::time::Duration,
    },
    /// A concurrent request changed the same thing first; retrying after
    /// reloading is safe.
    Aborted(String),
    /// A failure of ours; its text goes to the logs only.
    Internal(String),
}

impl ApiError {
    /// A single refused field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// Turns the error into a status, logging internal failures with the
    /// request id.
    pub fn into_status(self, request_id: &str) -> Status {
        match self {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let summary = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                Status::with_error_details(Code::InvalidArgument, summary, details)
            }
            ApiError::NotFound(message) => Status::not_found(message),
            ApiError::PermissionDenied(message) => Status::permission_denied(message),
            ApiError::Aborted(message) => Status::aborted(message),
            ApiError::AlreadyExists { field, message } => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(field, message.clone());
                Status::with_error_details(Code::AlreadyExists, message, details)
            }
            ApiError::FailedPrecondition {
                kind,
                subject,
                message,
            } => {
                let mut details = ErrorDetails::new();
                details.add_precondition_failure_violation(kind, subject, message.clone());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            ApiError::PasswordRejected { field, violations } => {
                let mut details = ErrorDetails::new();
                for (_, message) in &violations {
                    details.add_bad_request_violation(field.clone(), message.clone());
                }
                let codes: Vec<&str> = violations.iter().map(|(code, _)| *code).collect();
                details.set_error_info(
                    "PASSWORD_REJECTED",
                    "ent-identity",
                    std::collections::HashMap::from([("codes".to_owned(), codes.join(","))]),
                );
                let summary = violations
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Status::with_error_details(Code::InvalidArgument, summary, details)
            }
            ApiError::ResourceExhausted {
                message,
                retry_after,
            } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            ApiError::Internal(detail) => {
                tracing::error!(request_id, error = %detail, "internal error");
                Status::internal(format!("internal error (request id {request_id})"))
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::ResourceExhausted {
                message: "too many passwords are being checked right now; retry shortly".into(),
                retry_after: std::time::Duration::from_secs(1),
            },
            HashError::Internal(_) | HashError::BadStoredHash(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<SetPasswordError> for ApiError {
    fn from(e: SetPasswordError) -> Self {
        match e {
            SetPasswordError::NotFound => ApiError::NotFound("no such account".into()),
            SetPasswordError::Conflict => ApiError::FailedPrecondition {
                kind: "PASSWORD",
                subject: "account".into(),
                message: "the password was changed by another request meanwhile; start again"
                    .into(),
            },
            SetPasswordError::Store(e) => e.into(),
        }
    }
}

impl From<ProvisionError> for ApiError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::IdentifierTaken { field, message } => ApiError::AlreadyExists {
                field: format!("record.{field}"),
                message,
            },
            ProvisionError::NoLogin(e) => ApiError::field("record.family_name", e.to_string()),
            ProvisionError::LoginsExhausted => ApiError::FailedPrecondition {
                kind: "LOGIN",
                subject: "record".into(),
                message: "every login identifier of this person's scheme is taken".into(),
            },
            ProvisionError::Store(e) => e.into(),
        }
    }
}

impl From<ReissueError> for ApiError {
    fn from(e: ReissueError) -> Self {
        match e {
            ReissueError::NotFound => ApiError::NotFound("no such account".into()),
            ReissueError::AlreadyActivated => ApiError::FailedPrecondition {
                kind: "ACCOUNT_STATE",
                subject: "account".into(),
                message: "the account is already activated: use password recovery".into(),
            },
            ReissueError::NotAwaitingActivation => ApiError::FailedPrecondition {
                kind: "ACCOUNT_STATE",
                subject: "account".into(),
                message: "the account is not awaiting activation (expired, purged or locked)".into(),
            },
            ReissueError::NoMaterial(_) => ApiError::FailedPrecondition {
                kind: "ACTIVATION_CHANNEL",
                subject: "account".into(),
                message: "this profile activates with a mailed link or an identity match, not printed material".into(),
            },
            ReissueError::Store(e) => e.into(),
        }
    }
}

impl From<AccountWriteError> for ApiError {
    fn from(e: AccountWriteError) -> Self {
        match e {
            AccountWriteError::Conflict => ApiError::Aborted(
                "the account changed meanwhile (another request, or a link already used); reload and retry".into(),
            ),
            AccountWriteError::Store(e) => e.into(),
        }
    }
}

impl From<ExtensionError> for ApiError {
    fn from(e: ExtensionError) -> Self {
        match e {
            ExtensionError::AlreadyPending => ApiError::FailedPrecondition {
                kind: "EXTENSION_PENDING",
                subject: "account".into(),
                message: "an extension request of this account is already waiting for a decision"
                    .into(),
            },
            ExtensionError::AlreadyDecided => ApiError::FailedPrecondition {
                kind: "EXTENSION_DECIDED",
                subject: "request_id".into(),
                message: "this request was decided already".into(),
            },
            ExtensionError::Write(e) => e.into(),
        }
    }
}

impl From<crate::batch::BatchError> for ApiError {
    fn from(e: crate::batch::BatchError) -> Self {
        match e {
            crate::batch::BatchError::UnknownInstitution(_) => {
                ApiError::field("institution", "no such institution is configured")
            }
            crate::batch::BatchError::Store(e) => e.into(),
        }
    }
}
