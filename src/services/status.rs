//! The one place where errors become gRPC statuses. Callers get a clear
//! code, a message and google.rpc details; internal failures are logged with
//! the request id and reach callers only as "internal error".

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use crate::domain::refusal::{Exhausted, Precondition};

use crate::domain::language::Language;
use crate::domain::provisioning::Violation;
use crate::hashing::HashError;
use crate::store::StoreError;
use crate::store::accounts::ReissueError;
use crate::store::lifecycle::ExtensionError;
use crate::store::passwords::SetPasswordError;
use crate::store::provisioning::ProvisionError;
use crate::store::self_service::AccountWriteError;
use crate::texts::{self, Refused};

/// An error of an RPC, before it becomes a [`Status`].
#[derive(Debug)]
pub enum ApiError {
    /// Bad input: every refused field.
    InvalidArgument(Vec<Violation>),
    NotFound(String),
    /// No credentials, or credentials of no configured client.
    Unauthenticated(String),
    /// The caller may not do this (its role, or a student asking for staff
    /// settings).
    PermissionDenied(String),
    AlreadyExists {
        field: String,
        message: String,
    },
    /// The request is valid but the account's state refuses it; `message`
    /// is the detail for programs and logs, people read the refusal's text.
    FailedPrecondition {
        kind: Precondition,
        subject: String,
        message: String,
    },
    /// A new password the policy refuses: each rule broken, as (stable
    /// code, message in the caller's language), on `field`.
    PasswordRejected {
        field: String,
        violations: Vec<(&'static str, String)>,
    },
    /// A limit was reached; the caller may retry after `retry_after`.
    ResourceExhausted {
        reason: Exhausted,
        retry_after: std::time::Duration,
    },
    /// A concurrent request changed the same thing first; retrying after
    /// reloading is safe.
    Aborted(String),
    /// The caller took too long (a stream left idle).
    DeadlineExceeded(String),
    /// A failure of ours, with its chain of causes; it goes to the logs
    /// only, with the request id.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A single refused field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// A failure of ours that no lower error describes: stored data or
    /// configuration in a state that should not happen.
    pub fn inconsistent(what: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(anyhow::anyhow!("{what}"))
    }

    /// Turns the error into a status with google.rpc details, a
    /// `LocalizedMessage` in `language` among them; internal failures are
    /// logged with the request id and reach the caller only as that id.
    pub fn into_status(self, request_id: &str, language: Language) -> Status {
        let mut details = ErrorDetails::new();
        let (code, message, localized) = match self {
            ApiError::InvalidArgument(violations) => invalid(&mut details, &violations, language),
            ApiError::NotFound(detail) => {
                let text = texts::refused(language, Refused::NotFound { detail: &detail });
                (Code::NotFound, detail, text)
            }
            ApiError::Unauthenticated(detail) => {
                let text = texts::refused(language, Refused::Unauthenticated);
                (Code::Unauthenticated, detail, text)
            }
            ApiError::PermissionDenied(detail) => {
                let text = texts::refused(language, Refused::PermissionDenied { detail: &detail });
                (Code::PermissionDenied, detail, text)
            }
            ApiError::Aborted(detail) => {
                let text = texts::refused(language, Refused::Aborted { detail: &detail });
                (Code::Aborted, detail, text)
            }
            ApiError::DeadlineExceeded(detail) => {
                let text = texts::refused(language, Refused::DeadlineExceeded { detail: &detail });
                (Code::DeadlineExceeded, detail, text)
            }
            ApiError::AlreadyExists { field, message } => {
                details.add_bad_request_violation(field.clone(), message.clone());
                let refusal = Refused::AlreadyExists {
                    field: &field,
                    detail: &message,
                };
                (
                    Code::AlreadyExists,
                    message.clone(),
                    texts::refused(language, refusal),
                )
            }
            ApiError::FailedPrecondition {
                kind,
                subject,
                message,
            } => {
                details.add_precondition_failure_violation(kind.code(), subject, message.clone());
                let text = texts::precondition(language, kind).to_owned();
                (Code::FailedPrecondition, message, text)
            }
            ApiError::PasswordRejected { field, violations } => {
                password_rejected(&mut details, &field, &violations)
            }
            ApiError::ResourceExhausted {
                reason,
                retry_after,
            } => {
                details.set_retry_info(Some(retry_after));
                (
                    Code::ResourceExhausted,
                    texts::exhausted(Language::English, reason, retry_after),
                    texts::exhausted(language, reason, retry_after),
                )
            }
            ApiError::Internal(error) => {
                // `{:#}` prints the whole chain of causes.
                tracing::error!(request_id, error = format!("{error:#}"), "internal error");
                (
                    Code::Internal,
                    format!("internal error (request id {request_id})"),
                    texts::refused(language, Refused::Internal { request_id }),
                )
            }
        };
        let locale = match language {
            Language::French => "fr-FR",
            Language::English => "en-GB",
        };
        details.set_localized_message(locale, localized);
        Status::with_error_details(code, message, details)
    }
}

/// A failure of ours caused by `error`, whose chain of causes the log keeps.
pub fn internal(error: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(error.into())
}

/// Every refused field as a `BadRequest` violation.
fn invalid(
    details: &mut ErrorDetails,
    violations: &[Violation],
    language: Language,
) -> (Code, String, String) {
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    let summary = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    let fields = violations
        .iter()
        .map(|v| v.field.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let text = texts::refused(
        language,
        Refused::Invalid {
            fields: &fields,
            summary: &summary,
        },
    );
    (Code::InvalidArgument, summary, text)
}

/// Each broken rule as a `BadRequest` violation, their codes in `ErrorInfo`.
fn password_rejected(
    details: &mut ErrorDetails,
    field: &str,
    violations: &[(&'static str, String)],
) -> (Code, String, String) {
    for (_, message) in violations {
        details.add_bad_request_violation(field.to_owned(), message.clone());
    }
    let codes: Vec<&str> = violations.iter().map(|(code, _)| *code).collect();
    details.set_error_info(
        "PASSWORD_REJECTED",
        "ent-identity",
        std::collections::HashMap::from([("codes".to_owned(), codes.join(","))]),
    );
    // The violations are already in the caller's language.
    let summary = violations
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (Code::InvalidArgument, summary.clone(), summary)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::ResourceExhausted {
                reason: Exhausted::Busy,
                retry_after: std::time::Duration::from_secs(1),
            },
            HashError::Internal(_) | HashError::BadStoredHash(_) => ApiError::Internal(e.into()),
        }
    }
}

impl From<SetPasswordError> for ApiError {
    fn from(e: SetPasswordError) -> Self {
        match e {
            SetPasswordError::NotFound => ApiError::NotFound("no such account".into()),
            SetPasswordError::Conflict => ApiError::FailedPrecondition {
                kind: Precondition::Password,
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
                kind: Precondition::Login,
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
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "the account is already activated: use password recovery".into(),
            },
            ReissueError::NotAwaitingActivation => ApiError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "the account is not awaiting activation (expired, purged or locked)".into(),
            },
            ReissueError::NoMaterial(_) => ApiError::FailedPrecondition {
                kind: Precondition::ActivationChannel,
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
                kind: Precondition::ExtensionPending,
                subject: "account".into(),
                message: "an extension request of this account is already waiting for a decision"
                    .into(),
            },
            ExtensionError::AlreadyDecided => ApiError::FailedPrecondition {
                kind: Precondition::ExtensionDecided,
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
