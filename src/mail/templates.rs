//! What the service writes to people, in French (default) or English, with
//! the institution's name. Rendered when queued; see `store::outbox`.

use chrono::{DateTime, Utc};

use crate::domain::language::Language;
use crate::store::outbox::Content;

/// A date and time as people of the institution read it.
fn local(at: DateTime<Utc>, tz: chrono_tz::Tz, language: Language) -> String {
    let t = at.with_timezone(&tz);
    match language {
        Language::French => t.format("%d/%m/%Y à %Hh%M").to_string(),
        Language::English => t.format("%d/%m/%Y at %H:%M").to_string(),
    }
}

/// The link mailed to a student's personal address to start activation.
pub fn activation_link(
    institution: &str,
    login: &str,
    url: &str,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    language: Language,
) -> Content {
    let until = local(expires_at, tz, language);
    match language {
        Language::French => Content {
            subject: format!("{institution} : activez votre compte informatique"),
            text: format!(
                "Bonjour,\n\nVotre compte informatique {login} a été créé. Pour l'activer et choisir votre mot de passe, suivez ce lien (valable jusqu'au {until}) :\n\n{url}\n\nPassé ce délai, demandez un nouveau lien depuis « 1ère connexion » sur l'ENT.\nSi vous n'êtes pas à l'origine de cette inscription, ignorez ce message.\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: activate your account"),
            text: format!(
                "Hello,\n\nYour account {login} has been created. To activate it and choose your password, follow this link (valid until {until}):\n\n{url}\n\nAfter that, ask for a new link from \"first connection\" on the portal.\nIf you did not enrol, ignore this message.\n\n{institution}\n"
            ),
        },
    }
}

/// The code sent by SMS and mail after an identity match.
pub fn identity_code(
    institution: &str,
    code: &str,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    language: Language,
    sms: bool,
) -> Content {
    let until = local(expires_at, tz, language);
    let text = match language {
        Language::French => format!(
            "{institution} : votre code d'activation est {code} (valable jusqu'au {until}). Ne le communiquez à personne."
        ),
        Language::English => format!(
            "{institution}: your activation code is {code} (valid until {until}). Never share it."
        ),
    };
    if sms {
        return Content {
            subject: String::new(),
            text,
        };
    }
    Content {
        subject: match language {
            Language::French => format!("{institution} : code d'activation de votre compte"),
            Language::English => format!("{institution}: your account activation code"),
        },
        text: format!("{text}\n"),
    }
}

/// What an address is being verified for.
#[derive(Debug, Clone, Copy)]
pub enum Verifying {
    RecoveryMail,
    Redirect,
}

/// What a verification mail says.
pub struct VerificationMail<'a> {
    pub institution: &'a str,
    pub login: &'a str,
    pub what: Verifying,
    pub url: &'a str,
    pub code: &'a str,
    pub expires_at: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

/// A mail verifying an address: a link and the same proof as a short code.
pub fn verification(mail: &VerificationMail<'_>, language: Language) -> Content {
    let VerificationMail {
        institution,
        login,
        what,
        url,
        code,
        expires_at,
        tz,
    } = *mail;
    let until = local(expires_at, tz, language);
    match language {
        Language::French => {
            let purpose = match what {
                Verifying::RecoveryMail => "comme adresse mail de secours",
                Verifying::Redirect => "pour y rediriger vos mails universitaires",
            };
            Content {
                subject: format!("{institution} : validez votre adresse mail"),
                text: format!(
                    "Bonjour,\n\nCette adresse a été indiquée {purpose} lors de l'activation du compte {login}.\nPour poursuivre l'activation, suivez ce lien puis confirmez :\n\n{url}\n\nou saisissez ce code : {code}\n\nLien et code valables jusqu'au {until}. Passé ce délai, il faudra reprendre la procédure.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n{institution}\n"
                ),
            }
        }
        Language::English => {
            let purpose = match what {
                Verifying::RecoveryMail => "as the recovery address",
                Verifying::Redirect => "to receive the university mail",
            };
            Content {
                subject: format!("{institution}: confirm your mail address"),
                text: format!(
                    "Hello,\n\nThis address was given {purpose} while activating the account {login}.\nTo go on, follow this link and confirm:\n\n{url}\n\nor type this code: {code}\n\nLink and code valid until {until}. After that, start again.\nIf you did not ask for this, ignore this message.\n\n{institution}\n"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn texts_carry_the_secret_and_local_time() {
        let at = Utc.with_ymd_and_hms(2026, 9, 14, 21, 59, 59).unwrap();
        let paris = chrono_tz::Europe::Paris;
        let c = verification(
            &VerificationMail {
                institution: "Université de Montpellier",
                login: "jane.doe@umontpellier.fr",
                what: Verifying::RecoveryMail,
                url: "https://ent/activation/verify/abc",
                code: "12345678",
                expires_at: at,
                tz: paris,
            },
            Language::French,
        );
        assert!(c.text.contains("https://ent/activation/verify/abc"));
        assert!(c.text.contains("12345678"));
        assert!(c.text.contains("14/09/2026 à 23h59"), "{}", c.text);
        // Debug output never shows the secret.
        assert!(!format!("{c:?}").contains("12345678"));
        let sms = identity_code(
            "Université de Tours",
            "87654321",
            at,
            paris,
            Language::English,
            true,
        );
        assert!(sms.subject.is_empty() && sms.text.contains("87654321"));
    }
}
