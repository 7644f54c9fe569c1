//! Les textes en français.

use domain::password::Violation;
use domain::password::evaluate::PersonalPart;
use domain::password::params::shown;
use domain::password::policy::CharClass;
use domain::problem::Problem;

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
        Precondition::CursorExpired => {
            "Ce point de reprise est trop ancien : les changements qui le suivent ne sont plus conservés. Resynchronisez l'annuaire."
        }
        Precondition::Configuration => {
            "Le service n'est pas configuré pour ce compte : contactez l'assistance."
        }
        Precondition::ConsentNotOffered => {
            "Ce consentement n'est pas proposé par votre établissement."
        }
        Precondition::ExtensionDecided => "Cette demande a déjà été traitée.",
        Precondition::ExtensionPending => "Une demande de prolongation est déjà en attente.",
        Precondition::FlowCompleted => "Cette activation est déjà terminée.",
        Precondition::HeldRecordDecided => "Cette fiche en attente a déjà été traitée.",
        Precondition::InvitationDecided => "Cette invitation a déjà été traitée.",
        Precondition::LinkExpired => "Ce lien a expiré : demandez-en un nouveau.",
        Precondition::Login => {
            "Aucun identifiant n'est disponible pour cette personne : contactez l'assistance."
        }
        Precondition::NoDeparture => "Aucune fin d'activité n'est enregistrée pour ce compte.",
        Precondition::NoMailbox => "Ce compte n'a pas de messagerie de l'établissement.",
        Precondition::NoPhone => "Aucun numéro de téléphone n'est connu pour ce compte.",
        Precondition::NotASponsor => {
            "Ce compte ne peut pas inviter de personnes extérieures : contactez l'assistance."
        }
        Precondition::NotOffered => "Ce service n'est pas proposé par votre établissement.",
        Precondition::StaffOnly => "Ce réglage est réservé aux personnels de l'établissement.",
        Precondition::NotRenewable => "La conservation de ce compte ne peut pas être prolongée.",
        Precondition::NothingToResend => "Il n'y a aucun message à renvoyer.",
        Precondition::NothingToVerify => "Il n'y a rien à vérifier.",
        Precondition::Password => "Le mot de passe a été modifié entre-temps : recommencez.",
        Precondition::PhotoRefusalIrreversible => {
            "Le refus de diffusion de la photo ne peut pas être annulé ici."
        }
        Precondition::ConsentNotWithdrawable => {
            "Cette autorisation ne peut pas être retirée ici : contactez l'assistance."
        }
        Precondition::ConsentRefusalFinal => "Vous avez refusé : ce choix est définitif.",
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
        Refused::Invalid { descriptions } => {
            format!("Certaines informations sont à corriger. {descriptions}")
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
        Violation::BreachedPassword => {
            "Ce mot de passe figure dans des listes de mots de passe dérobés lors de fuites de \
             données : choisissez-en un autre."
                .into()
        }
        Violation::LowEntropy { min_bits } => {
            let [all_four, letters_and_digits, lowercase] = super::entropy_lengths(*min_bits);
            format!(
                "Le mot de passe doit être assez long pour les caractères qu'il mêle : au moins \
                 {all_four} caractères mêlant minuscules, majuscules, chiffres et caractères \
                 spéciaux, {letters_and_digits} mêlant minuscules, majuscules et chiffres, ou \
                 {lowercase} en minuscules seules (recommandation de la CNIL)."
            )
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

/// Submitting a screen before typing the code sent after the entry.
pub const AWAITING_CODE: &str = "Saisissez d'abord le code que vous avez reçu pour continuer.";

/// Pourquoi un champ est refusé.
pub fn problem(problem: &Problem) -> String {
    use Problem as P;
    match problem {
        P::TooLong { max } => format!("Au plus {max} caractères."),
        P::TooManyBytes { max } => format!("Au plus {max} octets."),
        P::AboveMaximum { max } => format!("Au plus {max}."),
        P::StudentNumberLength { length } => {
            format!("Un numéro d'étudiant comporte {length} chiffres.")
        }
        P::UnknownProfile { known } => {
            format!("Profil inconnu ; cet établissement a : {known}.")
        }
        P::CharterVersion { current } => {
            format!("La charte en vigueur est la version {current} : lisez-la et acceptez-la.")
        }
        P::EndDateTooFar { max_months } => {
            format!("Un séjour dure au plus {max_months} mois à partir d'aujourd'hui.")
        }
        P::Password(violation) => password_violation(violation),
        P::AddressesDiffer
        | P::CharterNotAccepted
        | P::PhotoRefusalWithUses
        | P::PhotoRefusalNotAcknowledged
        | P::NoPhotoUseChosen
        | P::PhotoRefused
        | P::NotOnThisScreen
        | P::RequiredOnThisScreen
        | P::RefusalWithOthers
        | P::OneChoiceOnly
        | P::RefusedForGood
        | P::RecoveryMailInside
        | P::SameRecoveryMail
        | P::RedirectMandatory
        | P::RedirectToItself
        | P::DetailsDoNotMatch
        | P::IdentifierNotAccepted
        | P::WrongCode
        | P::ResetCodeRefused
        | P::ChannelNotOffered
        | P::WrongCurrentPassword
        | P::NoConsentChanged
        | P::ConsentNotCollected
        | P::PresenceNeeded
        | P::StepUpTokenInvalid
        | P::DirectoryFieldLocked
        | P::SecretShape => form_problem(problem).to_owned(),
        P::NotAUuid
        | P::NotAPageToken
        | P::NotACursor
        | P::NotATimestamp
        | P::InstitutionOrAccount
        | P::InstitutionNeeded
        | P::AheadOfTime
        | P::GuestsAreInvited
        | P::NotAGuestProfile
        | P::EndDateNotAfterToday => request_problem(problem).to_owned(),
        _ => data_problem(problem).to_owned(),
    }
}

/// What a form a person fills refuses.
fn form_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::AddressesDiffer => "Les deux adresses sont différentes.",
        P::CharterNotAccepted => "Acceptez la charte pour continuer.",
        P::PhotoRefusalWithUses => "Refuser tous les usages ne laisse aucun usage à autoriser.",
        P::PhotoRefusalNotAcknowledged => {
            "Le refus supprime définitivement la photo : confirmez que vous l'avez compris."
        }
        P::NoPhotoUseChosen => "Autorisez au moins un usage, ou refusez-les tous.",
        P::PhotoRefused => "La photo a été refusée et supprimée : ce choix est définitif.",
        P::NotOnThisScreen => "Cette information n'est pas demandée sur cette page.",
        P::RequiredOnThisScreen => "Cette information est obligatoire sur cette page.",
        P::RefusalWithOthers => "Un refus ne se combine avec aucune autre réponse.",
        P::OneChoiceOnly => "Choisissez une seule réponse.",
        P::RefusedForGood => "Vous avez refusé : ce choix est définitif.",
        P::RecoveryMailInside => {
            "L'adresse de récupération doit être extérieure à l'université : elle sert quand le compte de l'université ne fonctionne pas."
        }
        P::SameRecoveryMail => "C'est déjà votre adresse de récupération.",
        P::RedirectMandatory => {
            "La redirection de la messagerie est obligatoire pour votre profil."
        }
        P::RedirectToItself => {
            "La messagerie ne peut pas être redirigée vers la boîte de l'université elle-même."
        }
        P::DetailsDoNotMatch => {
            "Ces informations ne correspondent pas à notre dossier : vérifiez-les et réessayez."
        }
        P::IdentifierNotAccepted => {
            "Votre établissement ne retrouve pas les comptes par cet identifiant : saisissez-en un autre."
        }
        P::WrongCode => "Ce code n'est pas celui que nous avons envoyé.",
        P::ResetCodeRefused => {
            "Ce code n'est pas celui que nous avons envoyé, ou il ne fonctionne plus : vérifiez-le, ou demandez-en un nouveau."
        }
        P::ChannelNotOffered => {
            "Votre établissement n'envoie pas de réinitialisation par ce moyen : choisissez-en un autre."
        }
        P::WrongCurrentPassword => "Le mot de passe actuel est incorrect.",
        P::NoConsentChanged => "Modifiez au moins un choix.",
        P::ConsentNotCollected => "Ce consentement n'est pas demandé pour votre profil.",
        P::PresenceNeeded => "Saisissez votre mot de passe actuel pour faire ce changement.",
        P::StepUpTokenInvalid => {
            "Votre confirmation a expiré : saisissez de nouveau votre mot de passe."
        }
        P::DirectoryFieldLocked => {
            "L'établissement ne vous permet pas de modifier ce champ : adressez-vous aux ressources humaines."
        }
        P::SecretShape => "Ce n'est pas la longueur de ce qui vous a été envoyé.",
        _ => "Cette valeur n'est pas acceptée.",
    }
}

/// What the data itself refuses (identifiers, dates, records, what
/// programs send).
fn data_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::Missing => "Ce champ est obligatoire.",
        P::ControlCharacters => "Les retours à la ligne ne sont pas acceptés ici.",
        P::NotAWebAddress => "Une adresse web commence par https:// ou http://.",
        P::UnknownValue => "Cette valeur ne fait pas partie des choix proposés.",
        P::IneShape => "Un INE comporte 11 lettres ou chiffres.",
        P::IneRepeatedDigit => "Un INE ne peut pas être dix chiffres identiques.",
        P::IneCheckLetter | P::IneCheckDigit => {
            "Cet INE n'est pas valide : vérifiez-le sur votre certificat de scolarité."
        }
        P::IneUnknownFormat => "Ce n'est pas un INE : vérifiez votre certificat de scolarité.",
        P::NotAPhoneNumber => "Ce n'est pas un numéro de téléphone.",
        P::PhoneNumberDoesNotExist => "Ce numéro de téléphone n'existe pas.",
        P::MailTooLong => "Une adresse mail comporte 254 caractères au plus.",
        P::NotAMailAddress => "Ce n'est pas une adresse mail.",
        P::BirthDateFormat => "Écrivez la date sous la forme AAAA-MM-JJ ou JJMMAAAA.",
        P::BirthDateImplausible => "Cette date de naissance n'est pas plausible.",
        P::DateFormat => "Écrivez la date sous la forme AAAA-MM-JJ.",
        P::StudentNumberDigits => "Un numéro d'étudiant ne comporte que des chiffres.",
        P::StudentNumberRange => "Un numéro d'étudiant comporte de 4 à 20 chiffres.",
        P::HrIdShape => {
            "Un identifiant RH comporte de 1 à 64 lettres, chiffres, « - », « _ » ou « . »."
        }
        P::NameCharacters => {
            "Un nom ne comporte que des lettres, des espaces, des traits d'union et des apostrophes."
        }
        P::NameWithoutLetter => "Un nom comporte au moins une lettre.",
        P::NotAnIpAddress => "Ce n'est pas une adresse IPv4 ou IPv6.",
        _ => record_problem(problem),
    }
}

/// Ce que refusent les champs des requêtes des programmes et des invitations.
fn request_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::GuestsAreInvited => {
            "Les personnes extérieures sont invitées par un parrain, pas inscrites par ce canal."
        }
        P::NotAGuestProfile => "Ce profil n'est pas un profil d'invité.",
        P::EndDateNotAfterToday => "Le dernier jour doit être postérieur à aujourd'hui.",
        P::NotAUuid => "Ce n'est pas un identifiant du service (UUID).",
        P::NotAPageToken => "Ce n'est pas un jeton de page de cette liste.",
        P::NotACursor => "Ce n'est pas un curseur de ce flux.",
        P::NotATimestamp => "Ce n'est pas un horodatage valide.",
        P::InstitutionOrAccount => "Indiquez un établissement ou un compte.",
        P::InstitutionNeeded => "L'établissement est nécessaire avec cet identifiant.",
        P::AheadOfTime => "Date future : seule une simulation peut anticiper une date.",
        _ => "Cette valeur n'est pas acceptée.",
    }
}

/// Ce que refusent les fiches de la scolarité et des RH.
fn record_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::UnknownInstitution => "Aucun établissement de ce nom n'est configuré.",
        P::StudentWithHrId => {
            "Les étudiants sont identifiés par leur numéro d'étudiant, pas par un identifiant RH."
        }
        P::StaffWithStudentNumber => {
            "Les personnels sont identifiés par leur identifiant RH, pas par un numéro d'étudiant."
        }
        P::StaffWithIne => "Les personnels n'ont pas d'INE.",
        P::NeededForActivation => "Obligatoire pour le mode d'activation de ce profil.",
        P::NoLoginFromName => "Les noms ne donnent aucune lettre pour former un identifiant.",
        // Every other problem is the field's own: the record is refused
        // for it as a whole.
        _ => "Cette valeur n'est pas acceptée.",
    }
}
