//! The one place where errors become gRPC statuses. Callers get a clear
//! code, a message and google.rpc details; internal failures are logged with
//! the request id and reach callers only as "internal error".

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::language::Language;
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
    /// No credentials, or credentials of no configured client.
    Unauthenticated(String),
    /// The caller may not do this (its role, or a student asking for staff
    /// settings).
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
    /// A failure of ours; its text goes to the logs only.
    Internal(String),
}

/// Which limit a call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// Password hashing is saturated.
    Busy,
    /// A message was sent moments ago.
    ResendTooSoon,
    /// Too many wrong secrets (for the account, or from the address).
    TooManyGuesses,
    /// Too many requests that mail a secret.
    TooManyRequests,
}

impl Exhausted {
    fn message(self, language: Language, wait: std::time::Duration) -> String {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        match (self, language) {
            (Exhausted::Busy, Language::English) => {
                "The service is very busy: retry in a moment.".into()
            }
            (Exhausted::Busy, Language::French) => {
                "Le service est très sollicité : réessayez dans un instant.".into()
            }
            (Exhausted::ResendTooSoon, Language::English) => format!(
                "A message was sent moments ago: wait {} s before asking for another.",
                wait.as_secs().max(1)
            ),
            (Exhausted::ResendTooSoon, Language::French) => format!(
                "Un message vient d'être envoyé : attendez {} s avant d'en demander un autre.",
                wait.as_secs().max(1)
            ),
            (Exhausted::TooManyGuesses, Language::English) => {
                format!("Too many unsuccessful attempts: try again in {minutes} min.")
            }
            (Exhausted::TooManyGuesses, Language::French) => {
                format!("Trop de tentatives infructueuses : réessayez dans {minutes} min.")
            }
            (Exhausted::TooManyRequests, Language::English) => {
                format!("Too many requests: try again in {minutes} min.")
            }
            (Exhausted::TooManyRequests, Language::French) => {
                format!("Trop de demandes : réessayez dans {minutes} min.")
            }
        }
    }
}

/// The French text shown to people for a precondition `kind` (the English
/// one is the error's own message).
fn precondition_fr(kind: &str) -> &'static str {
    match kind {
        "ACCOUNT_STATE" => {
            "Ce compte ne permet pas cette opération dans son état actuel : contactez l'assistance."
        }
        "ACCOUNT_EXPIRED" => "Ce compte a expiré.",
        "ACTIVATION_NOT_OPEN" => "L'activation de ce compte n'est pas encore ouverte.",
        "ACTIVATION_CHANNEL" => "Ce profil ne s'active pas avec un document imprimé.",
        "ALREADY_ACTIVE" => {
            "Ce compte est déjà activé : connectez-vous, ou utilisez la récupération du mot de passe."
        }
        "AWAITING_VERIFICATION" => "Une vérification est en attente : suivez le lien reçu.",
        "CODE_EXPIRED" => "Ce code a expiré : demandez-en un nouveau.",
        "CONFIGURATION" => {
            "Le service n'est pas configuré pour ce compte : contactez l'assistance."
        }
        "CONSENT_NOT_OFFERED" => "Ce consentement n'est pas proposé par votre établissement.",
        "EXTENSION_DECIDED" => "Cette demande a déjà été traitée.",
        "EXTENSION_PENDING" => "Une demande de prolongation est déjà en attente.",
        "FLOW_COMPLETED" => "Cette activation est déjà terminée.",
        "LINK_EXPIRED" => "Ce lien a expiré : demandez-en un nouveau.",
        "LOGIN" => {
            "Aucun identifiant n'est disponible pour cette personne : contactez l'assistance."
        }
        "NO_DEPARTURE" => "Aucune fin d'activité n'est enregistrée pour ce compte.",
        "NO_MAILBOX" => "Ce compte n'a pas de messagerie de l'établissement.",
        "NO_PHONE" => "Aucun numéro de téléphone n'est connu pour ce compte.",
        "NOT_OFFERED" => "Ce service n'est pas proposé par votre établissement.",
        "NOT_RENEWABLE" => "La conservation de ce compte ne peut pas être prolongée.",
        "NOTHING_TO_RESEND" => "Il n'y a aucun message à renvoyer.",
        "NOTHING_TO_VERIFY" => "Il n'y a rien à vérifier.",
        "PASSWORD" => "Le mot de passe a été modifié entre-temps : recommencez.",
        "PHOTO_REFUSAL_IRREVERSIBLE" => {
            "Le refus de diffusion de la photo ne peut pas être annulé ici."
        }
        "REDIRECT_MANDATORY" => "La redirection de la messagerie est obligatoire pour ce profil.",
        "TOO_MANY_ATTEMPTS" => {
            "Trop d'essais erronés : ce code ne fonctionne plus, demandez-en un nouveau."
        }
        _ => "L'opération n'est pas possible dans l'état actuel du compte.",
    }
}

impl ApiError {
    /// A single refused field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// Turns the error into a status with google.rpc details, a
    /// `LocalizedMessage` in `language` among them; internal failures are
    /// logged with the request id and reach the caller only as that id.
    pub fn into_status(self, request_id: &str, language: Language) -> Status {
        let mut details = ErrorDetails::new();
        let french = language == Language::French;
        let (code, message, localized) = match self {
            ApiError::InvalidArgument(violations) => {
                for v in &violations {
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
                let localized = if french {
                    format!("Certaines informations sont invalides : {fields}.")
                } else {
                    format!("Some information is invalid: {summary}.")
                };
                (Code::InvalidArgument, summary, localized)
            }
            ApiError::NotFound(message) => {
                let localized = if french {
                    "Introuvable : vérifiez les informations saisies.".to_owned()
                } else {
                    format!("Not found: {message}.")
                };
                (Code::NotFound, message, localized)
            }
            ApiError::Unauthenticated(message) => {
                let localized = if french {
                    "Le service appelant n'est pas authentifié.".to_owned()
                } else {
                    "The calling service is not authenticated.".to_owned()
                };
                (Code::Unauthenticated, message, localized)
            }
            ApiError::PermissionDenied(message) => {
                let localized = if french {
                    "Accès refusé.".to_owned()
                } else {
                    format!("Access denied: {message}.")
                };
                (Code::PermissionDenied, message, localized)
            }
            ApiError::Aborted(message) => {
                let localized = if french {
                    "Le compte a été modifié entre-temps : rechargez la page et réessayez."
                        .to_owned()
                } else {
                    message.clone()
                };
                (Code::Aborted, message, localized)
            }
            ApiError::DeadlineExceeded(message) => {
                let localized = if french {
                    "Délai dépassé : recommencez.".to_owned()
                } else {
                    format!("Deadline exceeded: {message}.")
                };
                (Code::DeadlineExceeded, message, localized)
            }
            ApiError::AlreadyExists { field, message } => {
                details.add_bad_request_violation(field.clone(), message.clone());
                let localized = if french {
                    format!("Cette valeur est déjà utilisée ({field}).")
                } else {
                    message.clone()
                };
                (Code::AlreadyExists, message, localized)
            }
            ApiError::FailedPrecondition {
                kind,
                subject,
                message,
            } => {
                details.add_precondition_failure_violation(kind, subject, message.clone());
                let localized = if french {
                    precondition_fr(kind).to_owned()
                } else {
                    message.clone()
                };
                (Code::FailedPrecondition, message, localized)
            }
            ApiError::PasswordRejected { field, violations } => {
                for (_, message) in &violations {
                    details.add_bad_request_violation(field.clone(), message.clone());
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
            ApiError::ResourceExhausted {
                reason,
                retry_after,
            } => {
                details.set_retry_info(Some(retry_after));
                (
                    Code::ResourceExhausted,
                    reason.message(Language::English, retry_after),
                    reason.message(language, retry_after),
                )
            }
            ApiError::Internal(detail) => {
                tracing::error!(request_id, error = %detail, "internal error");
                let localized = if french {
                    format!(
                        "Erreur interne : communiquez l'identifiant {request_id} à l'assistance."
                    )
                } else {
                    format!("Internal error: give the helpdesk the reference {request_id}.")
                };
                (
                    Code::Internal,
                    format!("internal error (request id {request_id})"),
                    localized,
                )
            }
        };
        details.set_localized_message(if french { "fr-FR" } else { "en-GB" }, localized);
        Status::with_error_details(code, message, details)
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
                reason: Exhausted::Busy,
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
