//! What every call carries, as every layer reads it: its request id, the
//! language of what the person reads, and the caller the authentication
//! layer admitted.

use std::sync::Arc;

use tonic::Request;

use crate::domain::end_user::EndUserAddress;
use crate::domain::language::Language;

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

/// An admitted caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The configured client's name: the audit trail's actor.
    pub client: Arc<str>,
    /// The end user the portal acts for, when it said; a browser's own
    /// address.
    pub end_user: Option<EndUserAddress>,
    /// An ENT page in the browser (no credentials; see [`Role::Browser`]).
    pub browser: bool,
    /// The client reads personal data in the accounts it gets.
    pub personal_data: bool,
}
