//! One file per gRPC service: decode → use case (`crate::app`) → encode.

pub mod account_settings;
pub mod activation;
pub mod encode;
pub mod guests;
pub mod helpdesk;
pub mod inputs;
pub mod lifecycle;
pub mod mail_redirection;
pub mod recovery;

use crate::domain::problem::Problem;
use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

pub use crate::app::{App, CallContext};

use crate::app::AppError;
pub use crate::call::REQUEST_ID_HEADER;
use crate::call::{Caller, language_of, request_id};
use crate::domain::account::Account;
use crate::domain::ids::check_typed_identifier;
use crate::proto;
use crate::store::AuditContext;
use crate::store::accounts::AccountLookup;

/// The caller the authentication layer admitted.
pub fn caller<T>(request: &Request<T>) -> Option<&Caller> {
    request.extensions().get::<Caller>()
}

/// Starts handling a call: its context, with the request id recorded on the
/// handler's span.
pub fn begin_call<T>(request: &Request<T>) -> CallContext {
    let caller = caller(request);
    let ctx = CallContext {
        audit: AuditContext {
            // Every API method is behind the authentication layer; a call
            // without a caller can only come from a test harness.
            actor: caller.map_or_else(|| "unauthenticated".to_owned(), |c| c.client.to_string()),
            request_id: request_id(request),
        },
        end_user: caller.and_then(|c| c.end_user),
        language: language_of(request.metadata().as_ref()),
        browser: caller.is_some_and(|c| c.browser),
        personal_data: caller.is_some_and(|c| c.personal_data),
    };
    let span = tracing::Span::current();
    span.record("request_id", ctx.audit.request_id.as_str());
    span.record("client", ctx.audit.actor.as_str());
    ctx
}

/// Ends a call: the answer, or the error mapped to its status. (The request
/// id reaches the answer's metadata through the RPC layer,
/// `telemetry::rpc`, for every call.)
pub fn reply<T>(result: Result<T, AppError>, ctx: &CallContext) -> Result<Response<T>, Status> {
    result
        .map(Response::new)
        .map_err(|error| crate::status::into_status(error, &ctx.request_id, ctx.language))
}

/// The account as the API shows it to the caller of `ctx`, as of `now`,
/// dates in its institution's time zone: without birth date, mobile phone
/// and personal mail for a caller that may not read personal data.
pub fn encode_account(
    state: &App,
    account: &Account,
    (now, ctx): (DateTime<Utc>, &CallContext),
) -> proto::Account {
    let tz = state
        .rules
        .institution(&account.institution)
        .map(|i| i.time_zone)
        .unwrap_or(chrono_tz::UTC);
    let mut encoded = encode::account(account, now, tz);
    if let (Some(redirect), Ok(profile)) = (&mut encoded.mail_redirect, state.profile_of(account)) {
        redirect.mandatory =
            profile.activation.mail_redirect == crate::domain::activation::RedirectRule::Mandatory;
    }
    if !ctx.personal_data {
        encoded.birth_date.clear();
        encoded.mobile_phone.clear();
        encoded.personal_mail.clear();
    }
    encoded
}

/// Reads an account selector; `field` is its path in the request.
pub fn account_lookup<'a>(
    selector: Option<&'a proto::AccountSelector>,
    field: &str,
) -> Result<AccountLookup<'a>, AppError> {
    use proto::account_selector::Identifier;
    let selector = selector.ok_or_else(|| AppError::field(field, Problem::Missing))?;
    let institution = selector.institution.trim();
    let identifier = selector
        .identifier
        .as_ref()
        .ok_or_else(|| AppError::field(format!("{field}.identifier"), Problem::Missing))?;
    let (name, value, lookup) = match identifier {
        Identifier::AccountId(id) => {
            return match uuid::Uuid::parse_str(id.trim()) {
                Ok(_) => Ok(AccountLookup::Id(id.trim())),
                Err(_) => Err(AppError::field(
                    format!("{field}.account_id"),
                    Problem::NotAUuid,
                )),
            };
        }
        Identifier::Login(v) => (
            "login",
            v,
            AccountLookup::Login {
                institution,
                login: v,
            },
        ),
        Identifier::InstitutionalMail(v) => (
            "institutional_mail",
            v,
            AccountLookup::InstitutionalMail {
                institution,
                mail: v,
            },
        ),
        Identifier::StudentNumber(v) => (
            "student_number",
            v,
            AccountLookup::StudentNumber {
                institution,
                number: v,
            },
        ),
        Identifier::Ine(v) => (
            "ine",
            v,
            AccountLookup::Ine {
                institution,
                ine: v,
            },
        ),
        Identifier::HrId(v) => (
            "hr_id",
            v,
            AccountLookup::HrId {
                institution,
                hr_id: v,
            },
        ),
    };
    if institution.is_empty() {
        return Err(AppError::field(
            format!("{field}.institution"),
            Problem::InstitutionNeeded,
        ));
    }
    check_typed_identifier(value).map_err(|e| AppError::field(format!("{field}.{name}"), e))?;
    Ok(lookup)
}
