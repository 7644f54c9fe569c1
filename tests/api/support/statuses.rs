//! What a refusal says: its field violations, its precondition.

use super::*;

/// An account selector by account id.
pub fn by_id(id: &str) -> Option<proto::AccountSelector> {
    Some(proto::AccountSelector {
        institution: String::new(),
        identifier: Some(proto::account_selector::Identifier::AccountId(id.into())),
    })
}

/// The field violations of an INVALID_ARGUMENT status.
pub fn violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The `PreconditionFailure` type of a FAILED_PRECONDITION status.
pub fn precondition(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_error_details()
        .precondition_failure()
        .and_then(|p| p.violations.first().map(|v| v.r#type.clone()))
        .unwrap_or_default()
}
