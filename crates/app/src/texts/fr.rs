//! Les textes en français.

use domain::password::Violation;
use domain::password::evaluate::PersonalPart;
use domain::password::params::shown;
use domain::password::policy::CharClass;

use super::{ConsentNotice, PolicyRule, Refused, Wait};
use domain::consent::ConsentOption;
use domain::refusal::{Exhausted, Precondition};

pub fn precondition(refusal: Precondition) -> &'static str {
    match refusal {
        Precondition::AccountState => {
            "Ce compte ne permet pas cette opération dans son état actuel : contactez l'assistance."
        }
        Precondition::AccountExpired => "Ce compte a expiré.",
        Precondition::ActivationNotOpen => "L'activation de ce compte n'est pas encore ouverte.",
        Precondition::ActivationChannel => "Ce profil ne s'active pas avec un document imprimé.",
        Precondition::AlreadyActive => {
            "Ce compte est déjà activé : connectez-vous, ou utilisez la récupération du mot de passe."
        }
        Precondition::AwaitingVerification => {
            "Une vérification est en attente : suivez le lien reçu par mail, ou saisissez son code."
        }
        Precondition::CodeExpired => "Ce code a expiré : demandez-en un nouveau.",
        Precondition::Configuration => {
            "Le service n'est pas configuré pour ce compte : contactez l'assistance."
        }
        Precondition::ConsentNotOffered => {
            "Ce consentement n'est pas proposé par votre établissement."
        }
        Precondition::ExtensionDecided => "Cette demande a déjà été traitée.",
        Precondition::ExtensionPending => "Une demande de prolongation est déjà en attente.",
        Precondition::FlowCompleted => "Cette activation est déjà terminée.",
        Precondition::LinkExpired => "Ce lien a expiré : demandez-en un nouveau.",
        Precondition::Login => {
            "Aucun identifiant n'est disponible pour cette personne : contactez l'assistance."
        }
        Precondition::NoDeparture => "Aucune fin d'activité n'est enregistrée pour ce compte.",
        Precondition::NoMailbox => "Ce compte n'a pas de messagerie de l'établissement.",
        Precondition::NoPhone => "Aucun numéro de téléphone n'est connu pour ce compte.",
        Precondition::NotOffered => "Ce service n'est pas proposé par votre établissement.",
        Precondition::StaffOnly => "Ce réglage est réservé aux personnels de l'établissement.",
        Precondition::NotRenewable => "La conservation de ce compte ne peut pas être prolongée.",
        Precondition::NothingToResend => "Il n'y a aucun message à renvoyer.",
        Precondition::NothingToVerify => "Il n'y a rien à vérifier.",
        Precondition::Password => "Le mot de passe a été modifié entre-temps : recommencez.",
        Precondition::PhotoRefusalIrreversible => {
            "Le refus de diffusion de la photo ne peut pas être annulé ici."
        }
        Precondition::RedirectMandatory => {
            "La redirection de la messagerie est obligatoire pour ce profil."
        }
        Precondition::TooManyAttempts => {
            "Trop d'essais erronés : ce code ne fonctionne plus, demandez-en un nouveau."
        }
    }
}

pub fn exhausted(limit: Exhausted, wait: Wait) -> String {
    let Wait { seconds, minutes } = wait;
    match limit {
        Exhausted::Busy => "Le service est très sollicité : réessayez dans un instant.".into(),
        Exhausted::ResendTooSoon => format!(
            "Un message vient d'être envoyé : attendez {seconds} s avant d'en demander un autre."
        ),
        Exhausted::TooManyGuesses if seconds < 60 => {
            format!("Trop de tentatives infructueuses : réessayez dans {seconds} s.")
        }
        Exhausted::TooManyGuesses => {
            format!("Trop de tentatives infructueuses : réessayez dans {minutes} min.")
        }
        Exhausted::TooManyRequests => format!("Trop de demandes : réessayez dans {minutes} min."),
    }
}

pub fn refused(refusal: Refused<'_>) -> String {
    match refusal {
        Refused::Invalid { .. } => {
            "Certaines informations sont invalides : corrigez les champs signalés.".into()
        }
        Refused::NotFound { .. } => "Introuvable : vérifiez les informations saisies.".into(),
        Refused::Unauthenticated => "Le service appelant n'est pas authentifié.".into(),
        Refused::PermissionDenied { .. } => "Accès refusé.".into(),
        Refused::Aborted { .. } => {
            "Le compte a été modifié entre-temps : rechargez la page et réessayez.".into()
        }
        Refused::DeadlineExceeded { .. } => "Délai dépassé : recommencez.".into(),
        Refused::AlreadyExists { field, .. } => {
            format!("Cette valeur est déjà utilisée ({field}).")
        }
        Refused::Internal { request_id } => {
            format!("Erreur interne : communiquez l'identifiant {request_id} à l'assistance.")
        }
        Refused::Unavailable => {
            "Le service est momentanément indisponible : réessayez dans quelques instants.".into()
        }
        Refused::Undecodable => "La demande est illisible : elle n'a pas été traitée.".into(),
    }
}

/// The service's words for a consent option: its label and the caveat the
/// person must read before choosing it (empty: none). Bordeaux Montaigne's
/// wording ("Activer son compte numérique"), unless an institution gives
/// its own.
pub fn consent_option(option: ConsentOption) -> (&'static str, &'static str) {
    match option {
        ConsentOption::PhotoCardReprint => (
            "J'autorise la conservation de ma photo pour rééditer, le cas échéant, ma carte d'étudiant.",
            "",
        ),
        ConsentOption::PhotoTutorialSheets => (
            "J'autorise l'utilisation de ma photo sur les fiches de TD.",
            "",
        ),
        ConsentOption::PhotoDirectory => (
            "J'autorise l'utilisation de ma photo pour le trombinoscope mis à disposition des enseignants.",
            "",
        ),
        ConsentOption::PhotoRefuse => (
            "Je n'autorise pas la conservation de ma photo pour rééditer ma carte d'étudiant et pour les trombinoscopes.",
            "Attention, cette opération est irréversible. La photo sera définitivement supprimée. Une nouvelle photo sera nécessaire pour tout renouvellement de carte.",
        ),
        ConsentOption::DirectoryListed => ("Je souhaite figurer dans l'annuaire.", ""),
        ConsentOption::DirectoryUnlisted => ("Je ne souhaite pas figurer dans l'annuaire.", ""),
        ConsentOption::CrousSharing => (
            "J'autorise la diffusion de mes données personnelles au Crous.",
            "Indispensable pour manger au tarif étudiant dans les restaurants du Crous ou payer avec Izly. Si vous retirez ensuite votre accord, l'université ne transmettra plus vos données, mais il vous appartient de demander au Crous de supprimer celles qu'il détient.",
        ),
        ConsentOption::CrousNoSharing => (
            "Je n'autorise pas la diffusion de mes données personnelles au Crous.",
            "Sans cette transmission, pas de compte Izly relié à votre carte étudiant.",
        ),
    }
}

/// A refused password rule, as the person typing reads it.
pub fn password_violation(v: &Violation) -> String {
    match v {
        Violation::TooShort { min } => {
            format!("Le mot de passe doit comporter au moins {min} caractères.")
        }
        Violation::TooLong { max } => {
            format!("Le mot de passe doit comporter au plus {max} caractères.")
        }
        Violation::MissingClass(class) => {
            let class = match class {
                CharClass::Letter => "une lettre",
                CharClass::Digit => "un chiffre",
                CharClass::Lower => "une lettre minuscule",
                CharClass::Upper => "une lettre majuscule",
                CharClass::Special => "un caractère spécial (ponctuation, symbole)",
            };
            format!("Le mot de passe doit comporter au moins {class}.")
        }
        Violation::TooFewNonAlphabetic { min } => format!(
            "Le mot de passe doit comporter au moins {min} caractères non alphabétiques \
             (chiffres ou signes de ponctuation)."
        ),
        Violation::ForbiddenCharacter { characters } => {
            format!("Ces caractères sont refusés : {}.", shown(characters))
        }
        Violation::AccentedCharacter => {
            "Le mot de passe ne doit pas comporter de caractères accentués.".into()
        }
        Violation::DictionaryWord { word } => format!(
            "Le mot de passe ne doit ni être ni contenir un mot du dictionnaire (« {word} »)."
        ),
        Violation::ContainsPersonalData { part } => {
            let part = match part {
                PersonalPart::GivenName => "votre prénom",
                PersonalPart::FamilyName => "votre nom",
                PersonalPart::Login => "votre identifiant",
            };
            format!("Le mot de passe ne doit pas contenir {part}.")
        }
        Violation::Reused { count: 1 } => {
            "Ce mot de passe est celui que vous utilisez déjà.".into()
        }
        Violation::Reused { count } => format!(
            "Ce mot de passe a déjà été utilisé : choisissez-en un différent de vos {count} derniers."
        ),
        Violation::CommonPassword => {
            "Ce mot de passe fait partie des plus courants : choisissez-en un autre.".into()
        }
        Violation::ConfirmationMismatch => {
            "Les deux saisies du mot de passe ne sont pas identiques.".into()
        }
        Violation::TooWeak { .. } => {
            "Le mot de passe est trop facile à deviner : allongez-le ou mélangez davantage.".into()
        }
    }
}

/// A rule of a password policy that no refusal words, as the screen that
/// asks for a password lists it.
pub fn policy_rule(rule: PolicyRule) -> String {
    match rule {
        PolicyRule::NotADictionaryWord => {
            "Le mot de passe ne doit pas être un mot du dictionnaire.".into()
        }
        PolicyRule::NoDictionaryWord => {
            "Le mot de passe ne doit pas contenir un mot du dictionnaire.".into()
        }
        PolicyRule::NoPersonalData => {
            "Le mot de passe ne doit pas contenir votre nom, votre prénom ni votre identifiant."
                .into()
        }
        PolicyRule::NotRecent(n) => {
            format!("Le mot de passe ne doit pas être l'un de vos {n} derniers.")
        }
        PolicyRule::MaxAgeDays(days) => {
            format!("Le mot de passe devra être changé au plus tard {days} jours après son choix.")
        }
    }
}

pub const WRONG_CURRENT_PASSWORD: &str = "le mot de passe actuel est incorrect";

pub fn consent_notice(notice: ConsentNotice) -> &'static str {
    match notice {
        ConsentNotice::PhotoDeleted => {
            "Votre photo va être supprimée. Ce refus est définitif : une nouvelle photo sera nécessaire pour tout renouvellement de carte."
        }
        ConsentNotice::CrousRevoked => {
            "L'université ne transmettra plus vos données au Crous. Les données déjà transmises ne sont pas effacées : demandez-le directement au Crous."
        }
    }
}

/// Where a completed activation leads when the profile names no page.
pub const SIGN_IN_TO_PORTAL: &str = "Se connecter à l'ENT";

/// Submitting a screen before typing the code sent by SMS and mail.
pub const AWAITING_CODE: &str =
    "Saisissez d'abord le code reçu par SMS (et par mail) pour continuer.";
