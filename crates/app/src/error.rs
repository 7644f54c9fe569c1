//! The one error type of the use cases: what a request is refused for
//! (bad input, a precondition, a limit, a conflict), each in the domain's
//! terms, and our own failures with their chain of causes. The gRPC
//! adapter maps it to statuses in one place; nothing here knows gRPC.

use domain::login::LoginError;
use domain::problem::Problem;
use domain::provisioning::Violation;
pub use domain::refusal::{Exhausted, Precondition};
use hashing::HashError;
use store::StoreError;
use store::accounts::ReissueError;
use store::activation::FlowWriteError;
use store::lifecycle::ExtensionError;
use store::passwords::SetPasswordError;
use store::provisioning::ProvisionError;
use store::self_service::AccountWriteError;

/// Why a use case did not do what it was asked.
#[derive(Debug)]
pub enum AppError {
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
    /// Activation opens later: when, and the time zone people read it in
    /// (FAILED_PRECONDITION `ACTIVATION_NOT_OPEN`).
    NotOpenYet {
        opens_at: chrono::DateTime<chrono::Utc>,
        time_zone: chrono_tz::Tz,
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

impl AppError {
    /// A single refused field.
    pub fn field(field: impl Into<String>, problem: Problem) -> AppError {
        AppError::InvalidArgument(vec![Violation::new(field, problem)])
    }

    /// Both refusals: their field violations together when both are bad
    /// input, else the first.
    pub fn merge(first: AppError, second: AppError) -> AppError {
        match (first, second) {
            (AppError::InvalidArgument(mut a), AppError::InvalidArgument(b)) => {
                a.extend(b);
                AppError::InvalidArgument(a)
            }
            (first, _) => first,
        }
    }

    /// Both values of two fields read apart, or every refusal of the two
    /// (see [`AppError::merge`]).
    pub fn both<A, B>(
        first: Result<A, AppError>,
        second: Result<B, AppError>,
    ) -> Result<(A, B), AppError> {
        match (first, second) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (Err(a), Err(b)) => Err(AppError::merge(a, b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// A failure of ours that no lower error describes: stored data or
    /// configuration in a state that should not happen.
    pub fn inconsistent(what: impl std::fmt::Display) -> AppError {
        AppError::Internal(anyhow::anyhow!("{what}"))
    }
}

impl AppError {
    /// Whether this failure of ours comes from a database out of reach
    /// (down, restarting, saturated): a retry may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Internal(error) if store::is_unavailable(error.as_ref()))
    }
}

impl std::fmt::Display for AppError {
    /// For logs: a failure of ours with its chain of causes; a refusal by
    /// its kind only (a refused password's details can quote the password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Internal(error) => write!(f, "{error:#}"),
            AppError::InvalidArgument(_) => f.write_str("invalid argument"),
            AppError::NotFound(_) => f.write_str("not found"),
            AppError::Unauthenticated(_) => f.write_str("unauthenticated"),
            AppError::PermissionDenied(_) => f.write_str("permission denied"),
            AppError::AlreadyExists { .. } => f.write_str("already exists"),
            AppError::FailedPrecondition { kind, .. } => {
                write!(f, "failed precondition {}", kind.code())
            }
            AppError::PasswordRejected { .. } => f.write_str("password rejected"),
            AppError::ResourceExhausted { reason, .. } => write!(f, "limit reached: {reason:?}"),
            AppError::Aborted(_) => f.write_str("aborted"),
            AppError::DeadlineExceeded(_) => f.write_str("deadline exceeded"),
            AppError::NotOpenYet { opens_at, .. } => write!(f, "activation opens at {opens_at}"),
        }
    }
}

/// A failure of ours caused by `error`, whose chain of causes the log keeps.
pub fn internal(error: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(error.into())
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AppError::ResourceExhausted {
                reason: Exhausted::Busy,
                retry_after: std::time::Duration::from_secs(1),
            },
            HashError::Internal(_) | HashError::BadStoredHash(_) => AppError::Internal(e.into()),
        }
    }
}

impl From<SetPasswordError> for AppError {
    fn from(e: SetPasswordError) -> Self {
        match e {
            SetPasswordError::NotFound => AppError::NotFound("no such account".into()),
            SetPasswordError::Conflict => AppError::FailedPrecondition {
                kind: Precondition::Password,
                subject: "account".into(),
                message: "the password was changed by another request meanwhile; start again"
                    .into(),
            },
            SetPasswordError::Store(e) => e.into(),
        }
    }
}

impl From<ProvisionError> for AppError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::IdentifierTaken { field, message } => AppError::AlreadyExists {
                field: format!("record.{field}"),
                message,
            },
            ProvisionError::NoLogin(LoginError::NoLetters) => {
                AppError::field("record.family_name", Problem::NoLoginFromName)
            }
            ProvisionError::NoLogin(LoginError::NoStudentNumber) => {
                AppError::field("record.student_number", Problem::Missing)
            }
            ProvisionError::NoLogin(LoginError::NoHrId) => {
                AppError::field("record.hr_id", Problem::Missing)
            }
            ProvisionError::NoLogin(e @ LoginError::NoMailScheme) => AppError::FailedPrecondition {
                kind: Precondition::Configuration,
                subject: "record".into(),
                message: e.to_string(),
            },
            ProvisionError::LoginsExhausted => AppError::FailedPrecondition {
                kind: Precondition::Login,
                subject: "record".into(),
                message: "every login identifier of this person's scheme is taken".into(),
            },
            ProvisionError::Store(e) => e.into(),
        }
    }
}

impl From<ReissueError> for AppError {
    fn from(e: ReissueError) -> Self {
        match e {
            ReissueError::NotFound => AppError::NotFound("no such account".into()),
            ReissueError::AlreadyActivated => AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "the account is already activated: use password recovery".into(),
            },
            ReissueError::NotAwaitingActivation => AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "the account is not awaiting activation (expired, purged or locked)".into(),
            },
            ReissueError::NoMaterial(_) => AppError::FailedPrecondition {
                kind: Precondition::ActivationChannel,
                subject: "account".into(),
                message: "this profile activates with a mailed link or an identity match, not printed material".into(),
            },
            ReissueError::Store(e) => e.into(),
        }
    }
}

impl From<AccountWriteError> for AppError {
    fn from(e: AccountWriteError) -> Self {
        match e {
            AccountWriteError::Conflict => AppError::Aborted(
                "the account changed meanwhile (another request, or a link already used); reload and retry".into(),
            ),
            AccountWriteError::Store(e) => e.into(),
        }
    }
}

impl From<ExtensionError> for AppError {
    fn from(e: ExtensionError) -> Self {
        match e {
            ExtensionError::AlreadyPending => AppError::FailedPrecondition {
                kind: Precondition::ExtensionPending,
                subject: "account".into(),
                message: "an extension request of this account is already waiting for a decision"
                    .into(),
            },
            ExtensionError::AlreadyDecided => AppError::FailedPrecondition {
                kind: Precondition::ExtensionDecided,
                subject: "request_id".into(),
                message: "this request was decided already".into(),
            },
            ExtensionError::Write(e) => e.into(),
        }
    }
}

impl From<crate::batch::BatchError> for AppError {
    fn from(e: crate::batch::BatchError) -> Self {
        match e {
            crate::batch::BatchError::UnknownInstitution(_) => {
                AppError::field("institution", Problem::UnknownInstitution)
            }
            crate::batch::BatchError::AheadOfTime => AppError::field("as_of", Problem::AheadOfTime),
            crate::batch::BatchError::Store(e) => e.into(),
            e @ crate::batch::BatchError::Random => AppError::Internal(e.into()),
        }
    }
}

impl From<FlowWriteError> for AppError {
    fn from(e: FlowWriteError) -> Self {
        match e {
            FlowWriteError::Conflict => AppError::Aborted(
                "the flow was changed by another request meanwhile: reload it".into(),
            ),
            FlowWriteError::Store(e) => e.into(),
        }
    }
}
