//! The one place where errors become gRPC statuses. Callers get a clear
//! code, a message and google.rpc details; internal failures are logged with
//! the request id and reach callers only as "internal error".

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::error::AppError;
use crate::app::texts::{self, Refused};
use crate::domain::language::Language;
use crate::domain::provisioning::Violation;

/// Turns `error` into a status with google.rpc details, a
/// `LocalizedMessage` in `language` among them; internal failures are
/// logged with the request id and reach the caller only as that id.
pub fn into_status(error: AppError, request_id: &str, language: Language) -> Status {
    let mut details = ErrorDetails::new();
    let (code, message, localized) = match error {
        AppError::InvalidArgument(violations) => invalid(&mut details, &violations, language),
        AppError::NotFound(detail) => {
            let text = texts::refused(language, Refused::NotFound { detail: &detail });
            (Code::NotFound, detail, text)
        }
        AppError::Unauthenticated(detail) => {
            let text = texts::refused(language, Refused::Unauthenticated);
            (Code::Unauthenticated, detail, text)
        }
        AppError::PermissionDenied(detail) => {
            let text = texts::refused(language, Refused::PermissionDenied { detail: &detail });
            (Code::PermissionDenied, detail, text)
        }
        AppError::Aborted(detail) => {
            let text = texts::refused(language, Refused::Aborted { detail: &detail });
            (Code::Aborted, detail, text)
        }
        AppError::DeadlineExceeded(detail) => {
            let text = texts::refused(language, Refused::DeadlineExceeded { detail: &detail });
            (Code::DeadlineExceeded, detail, text)
        }
        AppError::AlreadyExists { field, message } => {
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
        AppError::FailedPrecondition {
            kind,
            subject,
            message,
        } => {
            details.add_precondition_failure_violation(kind.code(), subject, message.clone());
            let text = texts::precondition(language, kind).to_owned();
            (Code::FailedPrecondition, message, text)
        }
        AppError::PasswordRejected { field, violations } => {
            password_rejected(&mut details, &field, &violations)
        }
        AppError::ResourceExhausted {
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
        AppError::Internal(error) => {
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
