//! Who may call what: the six caller roles and the one table that gives
//! every RPC its allowed roles.

pub use crate::config::Role;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials: health checks (probes cannot carry
    /// tokens) and reflection (the API's shape is public; its data is not).
    Public,
    /// Authenticated callers holding one of these roles.
    Roles(&'static [Role]),
}

use Role::{Admin, Batch, Browser, Enrolment, Helpdesk, LdapSync, Portal};

const PORTAL: Access = Access::Roles(&[Portal, Admin]);
/// What a person does with a secret typed or received by mail or SMS (an
/// activation key, a code, a link's token): the portal on their behalf, or
/// the ENT page itself from their browser.
const END_USER: Access = Access::Roles(&[Portal, Browser, Admin]);
const ENROLMENT: Access = Access::Roles(&[Enrolment, Admin]);
const ADMIN: Access = Access::Roles(&[Admin]);
const FEED: Access = Access::Roles(&[LdapSync, Admin]);
/// The desk tools, for their agents helping someone in person.
const HELPDESK: Access = Access::Roles(&[Helpdesk, Admin]);
const EXPIRY: Access = Access::Roles(&[Batch, Admin]);
/// Departures come from enrolment (a student who does not re-enrol) and HR,
/// or from the end-of-activity batch that reads their exports.
const DEPARTURES: Access = Access::Roles(&[Enrolment, Batch, Admin]);
/// Every back-office caller reads accounts; the portal shows the person's
/// own.
const READ_ACCOUNT: Access = Access::Roles(&[Enrolment, Portal, LdapSync, Batch, Admin]);

const ACTIVATION: &str = "ent.identity.v1.ActivationService";
const RECOVERY: &str = "ent.identity.v1.RecoveryService";
const REDIRECTION: &str = "ent.identity.v1.MailRedirectionService";
const SETTINGS: &str = "ent.identity.v1.AccountSettingsService";
const LIFECYCLE: &str = "ent.identity.v1.AccountLifecycleService";
const DESK: &str = "ent.identity.v1.HelpdeskService";
const GUESTS: &str = "ent.identity.v1.GuestService";

/// Every method the server answers, as (service, method, access). A method
/// missing here is refused to everyone (and a unit test fails).
pub const ACCESS_TABLE: &[(&str, &str, Access)] = &[
    (ACTIVATION, "StartActivation", END_USER),
    (ACTIVATION, "RequestActivationLink", END_USER),
    (ACTIVATION, "GetActivationFlow", END_USER),
    (ACTIVATION, "VerifyActivationCode", END_USER),
    (ACTIVATION, "VerifyActivationIdentity", END_USER),
    (ACTIVATION, "ConfirmActivationLink", END_USER),
    (ACTIVATION, "ResendActivationMessage", END_USER),
    (ACTIVATION, "SubmitActivationScreen", END_USER),
    (ACTIVATION, "EvaluatePassword", END_USER),
    (ACTIVATION, "DescribeFirstConnection", END_USER),
    (RECOVERY, "DescribeRecovery", END_USER),
    (RECOVERY, "RequestPasswordReset", END_USER),
    (RECOVERY, "VerifyResetCode", END_USER),
    (RECOVERY, "GetPasswordReset", END_USER),
    (RECOVERY, "CompletePasswordReset", END_USER),
    (RECOVERY, "RecoverLogin", END_USER),
    (REDIRECTION, "GetMailRedirect", PORTAL),
    (REDIRECTION, "SetMailRedirect", PORTAL),
    (REDIRECTION, "VerifyMailRedirect", END_USER),
    (REDIRECTION, "ResendMailRedirectVerification", PORTAL),
    (REDIRECTION, "DisableMailRedirect", PORTAL),
    (SETTINGS, "DescribeAccount", PORTAL),
    (SETTINGS, "ChangePassword", PORTAL),
    (SETTINGS, "VerifyPassword", PORTAL),
    (SETTINGS, "ConfirmPresence", PORTAL),
    (SETTINGS, "RequestRecoveryMailChange", PORTAL),
    (SETTINGS, "ConfirmRecoveryMailChange", END_USER),
    (SETTINGS, "RequestRecoveryPhoneChange", PORTAL),
    (SETTINGS, "ConfirmRecoveryPhoneChange", PORTAL),
    (SETTINGS, "GetConsents", PORTAL),
    (SETTINGS, "UpdateConsents", PORTAL),
    (SETTINGS, "GetDirectoryEntry", PORTAL),
    (SETTINGS, "UpdateDirectoryEntry", PORTAL),
    (SETTINGS, "GetAntispamLevel", PORTAL),
    (SETTINGS, "SetAntispamLevel", PORTAL),
    (SETTINGS, "GetAlumniOffer", END_USER),
    (SETTINGS, "AnswerAlumniOffer", END_USER),
    (SETTINGS, "CloseAlumniAccount", PORTAL),
    (SETTINGS, "ExportPersonalData", PORTAL),
    (LIFECYCLE, "ProvisionAccount", ENROLMENT),
    (LIFECYCLE, "BulkProvisionAccounts", ENROLMENT),
    (LIFECYCLE, "GetAccount", READ_ACCOUNT),
    (LIFECYCLE, "ReissueActivationMaterial", ENROLMENT),
    (LIFECYCLE, "RecordEndOfActivity", DEPARTURES),
    (LIFECYCLE, "RequestExtension", PORTAL),
    (LIFECYCLE, "ListExtensionRequests", ADMIN),
    (LIFECYCLE, "DecideExtensionRequest", ADMIN),
    (LIFECYCLE, "SetAccountLock", ADMIN),
    (LIFECYCLE, "OpenActivation", ADMIN),
    (LIFECYCLE, "RunExpiryBatch", EXPIRY),
    (LIFECYCLE, "ListChanges", FEED),
    (LIFECYCLE, "WatchChanges", FEED),
    (LIFECYCLE, "ListLdapEntries", FEED),
    (LIFECYCLE, "ListAuditEvents", ADMIN),
    (LIFECYCLE, "ListHeldRecords", ADMIN),
    (LIFECYCLE, "ResolveHeldRecord", ADMIN),
    (DESK, "FindPerson", HELPDESK),
    (DESK, "IssueDeskPasswordReset", HELPDESK),
    (DESK, "RequestDeskRecoveryMailChange", HELPDESK),
    (DESK, "IssueDeskActivation", HELPDESK),
    (DESK, "ExportPersonalDataOnRequest", HELPDESK),
    (GUESTS, "InviteGuest", PORTAL),
    (GUESTS, "ListSponsoredGuests", PORTAL),
    (GUESTS, "RenewGuest", PORTAL),
    (GUESTS, "EndGuest", PORTAL),
    (GUESTS, "ListPendingInvitations", ADMIN),
    (GUESTS, "DecideInvitation", ADMIN),
    ("grpc.health.v1.Health", "Check", Access::Public),
    ("grpc.health.v1.Health", "Watch", Access::Public),
    (
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
        Access::Public,
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
        Access::Public,
    ),
];

/// The access table's entry `(service, method, access)` of an HTTP/2 path
/// (`/package.Service/Method`); `None` for a path the table does not know.
pub fn entry_of(path: &str) -> Option<&'static (&'static str, &'static str, Access)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    ACCESS_TABLE
        .iter()
        .find(|(s, m, _)| *s == service && *m == method)
}

/// The access rule of an HTTP/2 path; `None` for a path the table does not
/// know.
pub fn access_of(path: &str) -> Option<Access> {
    entry_of(path).map(|(_, _, access)| *access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn every_api_method_has_exactly_one_entry() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut methods = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    methods.push(format!(
                        "{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        assert_eq!(methods.len(), 67, "the API's methods");
        for method in &methods {
            let entries = ACCESS_TABLE
                .iter()
                .filter(|(s, m, _)| format!("{s}/{m}") == *method)
                .count();
            assert_eq!(entries, 1, "{method} needs exactly one access entry");
            assert!(
                matches!(access_of(&format!("/{method}")), Some(Access::Roles(r)) if r.contains(&Role::Admin)),
                "{method}: admin may call everything and nothing of the API is public"
            );
        }
        // And nothing in the table that the API does not have.
        for (service, method, _) in ACCESS_TABLE {
            if service.starts_with("ent.") {
                assert!(methods.contains(&format!("{service}/{method}")));
            }
        }
    }

    /// The API reference's table of callers (docs/api/README.md, "Callers")
    /// says of every RPC the roles this table admits, no more, no less.
    #[test]
    fn the_documented_callers_are_the_table() {
        let documented: Vec<String> = include_str!("../../docs/api/README.md")
            .lines()
            .filter(|line| line.starts_with("| `") && line.contains("Service/"))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = ACCESS_TABLE
            .iter()
            .filter_map(|(service, method, access)| {
                let Access::Roles(roles) = access else {
                    return None;
                };
                let short = service.rsplit('.').next().unwrap_or(service);
                let names: Vec<String> = roles.iter().map(|r| format!("`{}`", r.name())).collect();
                Some(format!("| `{short}/{method}` | {} |", names.join(", ")))
            })
            .collect();
        assert_eq!(documented, expected);
    }

    #[test]
    fn paths_are_read_strictly() {
        assert_eq!(
            access_of("/grpc.health.v1.Health/Check"),
            Some(Access::Public)
        );
        for path in [
            "",
            "/",
            "grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Check/",
            "/grpc.health.v1.Health",
            "/ent.identity.v1.ActivationService/Nope",
        ] {
            assert_eq!(access_of(path), None, "{path:?}");
        }
    }
}
