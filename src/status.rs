//! The one place where errors become gRPC statuses. Callers get a clear
//! code, a message and google.rpc details; internal failures are logged with
//! the request id and reach callers only as "internal error".

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::error::AppError;
use crate::app::texts::{self, Refused};
use crate::domain::language::Language;
use crate::domain::problem::{Problem, Violation};

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
            let text = texts::precondition_about(language, kind, &subject).to_owned();
            details.add_precondition_failure_violation(kind.code(), subject, message.clone());
            (Code::FailedPrecondition, message, text)
        }
        AppError::NotOpenYet {
            opens_at,
            time_zone,
        } => not_open(&mut details, (opens_at, time_zone), language),
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
        unavailable @ AppError::Internal(_) if unavailable.is_unavailable() => {
            tracing::warn!(request_id, error = %unavailable, "database unavailable");
            return self::unavailable(request_id, language);
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
    details.set_localized_message(locale(language), localized);
    Status::with_error_details(code, message, details)
}

/// The database is out of reach (starting, restarting, down): the caller
/// retries after a second.
pub fn unavailable(request_id: &str, language: Language) -> Status {
    let mut details = ErrorDetails::new();
    details.set_retry_info(Some(std::time::Duration::from_secs(1)));
    details.set_localized_message(
        locale(language),
        texts::refused(language, Refused::Unavailable),
    );
    Status::with_error_details(
        Code::Unavailable,
        format!("the database is unavailable; retry (request id {request_id})"),
        details,
    )
}

fn locale(language: Language) -> &'static str {
    match language {
        Language::French => "fr-FR",
        Language::English => "en-GB",
    }
}

/// `ACTIVATION_NOT_OPEN`: the opening time in UTC for programs, in the
/// institution's time zone for people.
fn not_open(
    details: &mut ErrorDetails,
    (opens_at, time_zone): (chrono::DateTime<chrono::Utc>, chrono_tz::Tz),
    language: Language,
) -> (Code, String, String) {
    let opens = opens_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let message = format!("activation opens at {opens}");
    let kind = crate::app::error::Precondition::ActivationNotOpen;
    details.add_precondition_failure_violation(kind.code(), opens, message.clone());
    let text = texts::activation_opens(language, opens_at, time_zone);
    (Code::FailedPrecondition, message, text)
}

/// Every refused field as a `BadRequest` violation.
fn invalid(
    details: &mut ErrorDetails,
    violations: &[Violation],
    language: Language,
) -> (Code, String, String) {
    // Each violation in the caller's language, for the page to show next
    // to its field; the status message in English, with the fields' paths,
    // for the developer and the logs.
    let mut descriptions = Vec::with_capacity(violations.len());
    for v in violations {
        let description = texts::problem(language, &v.problem);
        details.add_bad_request_violation(v.field.clone(), description.clone());
        descriptions.push(description);
    }
    let summary = violations
        .iter()
        .map(|v| {
            format!(
                "{}: {}",
                v.field,
                texts::problem(Language::English, &v.problem)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let descriptions = descriptions.join(" ");
    // A screen refused for its password among other things still names
    // the password rules broken, as a password refusal does.
    let codes: Vec<&str> = violations
        .iter()
        .filter_map(|v| match &v.problem {
            Problem::Password(p) => Some(p.code()),
            _ => None,
        })
        .collect();
    if !codes.is_empty() {
        name_password_rules(details, &codes);
    }
    let text = texts::refused(
        language,
        Refused::Invalid {
            descriptions: &descriptions,
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
    name_password_rules(details, &codes);
    // The violations are already in the caller's language.
    let summary = violations
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (Code::InvalidArgument, summary.clone(), summary)
}

/// The password rules a refusal names, as codes programs read.
fn name_password_rules(details: &mut ErrorDetails, codes: &[&str]) {
    details.set_error_info(
        "PASSWORD_REJECTED",
        "ent-identity",
        std::collections::HashMap::from([("codes".to_owned(), codes.join(","))]),
    );
}

/// A request the framework could not read: a message that is not valid
/// protobuf (bad UTF-8 in a string, truncated bytes), a truncated frame or
/// no message at all. It is the caller's mistake, not ours.
pub fn undecodable(detail: &str, request_id: &str, language: Language) -> Status {
    tracing::info!(request_id, detail, "undecodable request");
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation("request", "is not a valid message of this API");
    details.set_localized_message(
        locale(language),
        texts::refused(language, Refused::Undecodable),
    );
    Status::with_error_details(
        Code::InvalidArgument,
        "the request is not a valid message of this API",
        details,
    )
}

/// A message of a request stream that broke: undecodable input becomes
/// `INVALID_ARGUMENT` like in single calls; a cancelled stream stays so.
pub fn broken_stream(status: Status, request_id: &str, language: Language) -> Status {
    if is_framework_internal(status.code(), !status.details().is_empty()) {
        return undecodable(status.message(), request_id, language);
    }
    status
}

/// The status of a trailers-only answer (most refusals), from its headers.
pub fn status_in(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()))
}

/// Our own statuses always carry google.rpc details; an `INTERNAL` without
/// them comes from tonic reading the request (invalid protobuf, "Unexpected
/// EOF decoding stream", "Missing request message", bad compression).
fn is_framework_internal(code: Code, has_details: bool) -> bool {
    code == Code::Internal && !has_details
}

/// Turns the framework's `INTERNAL` answers to unreadable requests into
/// [`undecodable`] ones: they are the caller's mistake, and must not count
/// as failures of the service (nor fire its error-rate alert).
#[derive(Clone, Copy, Default)]
pub struct UndecodableLayer;

impl<S> tower::Layer<S> for UndecodableLayer {
    type Service = Undecodable<S>;

    fn layer(&self, inner: S) -> Undecodable<S> {
        Undecodable { inner }
    }
}

#[derive(Clone)]
pub struct Undecodable<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Undecodable<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let request_id = crate::call::request_id_of(request.headers());
        let language = crate::call::language_of(request.headers());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            // A trailers-only answer carries its status in the headers.
            let headers = response.headers();
            let code = status_in(headers);
            let has_details = headers.contains_key("grpc-status-details-bin");
            match code {
                Some(code) if is_framework_internal(code, has_details) => {
                    let detail = Status::from_header_map(headers)
                        .map(|s| s.message().to_owned())
                        .unwrap_or_default();
                    Ok(undecodable(&detail, &request_id, language).into_http())
                }
                _ => Ok(response),
            }
        })
    }
}
