//! One thin file per gRPC service: decode → domain → store → encode.

pub mod account_settings;
pub mod activation;
pub mod encode;
pub mod inputs;
pub mod lifecycle;
pub mod limits;
pub mod links;
pub mod mail_redirection;
pub mod passwords;
pub mod recovery;
pub mod status;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

use crate::auth::{Caller, EndUserAddress};
use crate::clock::SharedClock;
use crate::config::{ProfileSettings, Settings};
use crate::domain::language::Language;
use crate::domain::refusal::Precondition;
use crate::hashing::PasswordHasher;
use crate::proto;
use crate::store::accounts::AccountLookup;
use crate::store::entities::account;
use crate::store::{AuditContext, Store};
use status::ApiError;

/// What every service shares.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: SharedClock,
    /// argon2id on its own threads.
    pub hasher: PasswordHasher,
}

impl AppState {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Metadata key carrying the caller's request id (generated when absent).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of a call: the caller's `x-request-id` when it is a sane
/// token, a new UUID otherwise.
pub fn request_id<T>(request: &Request<T>) -> String {
    request_id_of(request.metadata().as_ref())
}

/// [`request_id`] from raw HTTP headers (before tonic decodes the call).
pub fn request_id_of(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The language the caller asked for in its `accept-language` metadata.
pub fn language_of(headers: &http::HeaderMap) -> Language {
    headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .map(Language::from_accept_language)
        .unwrap_or_default()
}

/// The caller the authentication layer admitted.
pub fn caller<T>(request: &Request<T>) -> Option<&Caller> {
    request.extensions().get::<Caller>()
}

/// What a call carries along: who made it (for the audit trail), its
/// request id, the end user the portal acts for and the language of its
/// error messages.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub audit: AuditContext,
    pub end_user: Option<EndUserAddress>,
    pub language: Language,
    /// The call comes from an ENT page in the browser, not a back-office
    /// client.
    pub browser: bool,
}

impl std::ops::Deref for CallContext {
    type Target = AuditContext;

    fn deref(&self) -> &AuditContext {
        &self.audit
    }
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
    };
    let span = tracing::Span::current();
    span.record("request_id", ctx.audit.request_id.as_str());
    span.record("client", ctx.audit.actor.as_str());
    ctx
}

/// Ends a call: the answer, or the error mapped to its status. (The request
/// id reaches the answer's metadata through the RPC layer,
/// `telemetry::rpc`, for every call.)
pub fn reply<T>(result: Result<T, ApiError>, ctx: &CallContext) -> Result<Response<T>, Status> {
    result
        .map(Response::new)
        .map_err(|error| error_status(error, &ctx.request_id, ctx.language))
}

/// An error as the caller receives it: its status, the request id in its
/// details.
pub fn error_status(error: ApiError, request_id: &str, language: Language) -> Status {
    error.into_status(request_id, language)
}

impl AppState {
    /// The account `lookup` names, or NOT_FOUND.
    pub async fn account(&self, lookup: AccountLookup<'_>) -> Result<account::Model, ApiError> {
        self.store
            .find_account(lookup)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such account".into()))
    }

    /// The account as the API shows it, as of `now`, dates in its
    /// institution's time zone.
    pub fn encode_account(&self, account: &account::Model, now: DateTime<Utc>) -> proto::Account {
        let tz = self
            .settings
            .institution(&account.institution)
            .map(|i| i.time_zone)
            .unwrap_or(chrono_tz::UTC);
        let mut encoded = encode::account(account, now, tz);
        if let (Some(redirect), Ok(profile)) =
            (&mut encoded.mail_redirect, self.profile_of(account))
        {
            redirect.mandatory = profile.activation.mail_redirect
                == crate::domain::activation::RedirectRule::Mandatory;
        }
        encoded
    }

    /// The configured institution of an account.
    pub fn institution_of(
        &self,
        account: &account::Model,
    ) -> Result<&crate::config::InstitutionSettings, ApiError> {
        self.settings
            .institution(&account.institution)
            .ok_or_else(|| ApiError::FailedPrecondition {
                kind: Precondition::Configuration,
                subject: account.institution.clone(),
                message: "the account's institution is no longer configured".into(),
            })
    }

    /// The configured profile of an account.
    pub fn profile_of(&self, account: &account::Model) -> Result<&ProfileSettings, ApiError> {
        self.settings
            .institution(&account.institution)
            .and_then(|i| i.profiles.get(&account.profile))
            .ok_or_else(|| ApiError::FailedPrecondition {
                kind: Precondition::Configuration,
                subject: format!("{}/{}", account.institution, account.profile),
                message: "the account's profile is no longer configured".into(),
            })
    }
}

/// Reads an account selector; `field` is its path in the request.
pub fn account_lookup<'a>(
    selector: Option<&'a proto::AccountSelector>,
    field: &str,
) -> Result<AccountLookup<'a>, ApiError> {
    use proto::account_selector::Identifier;
    let selector = selector.ok_or_else(|| ApiError::field(field, "an account is needed"))?;
    let institution = selector.institution.trim();
    let identifier = selector.identifier.as_ref().ok_or_else(|| {
        ApiError::field(
            format!("{field}.identifier"),
            "name the account by one identifier",
        )
    })?;
    let (name, value, lookup) = match identifier {
        Identifier::AccountId(id) => {
            return match uuid::Uuid::parse_str(id.trim()) {
                Ok(_) => Ok(AccountLookup::Id(id.trim())),
                Err(_) => Err(ApiError::field(
                    format!("{field}.account_id"),
                    "an account id is a UUID",
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
        return Err(ApiError::field(
            format!("{field}.institution"),
            "the institution is needed with this identifier",
        ));
    }
    if value.trim().is_empty() || value.len() > 254 {
        return Err(ApiError::field(
            format!("{field}.{name}"),
            "must be 1 to 254 characters",
        ));
    }
    Ok(lookup)
}
