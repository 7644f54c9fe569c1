//! Les mots des formulaires de première connexion, quand l'établissement
//! ne donne pas les siens.

use domain::account::AccountKind;
use domain::activation::Step;
use domain::form::Field;
use domain::institution::ActivationChannel;
use domain::recovery::{ResetChannel, ResetIdentifierKind};
use domain::self_service::AntispamLevel;

use super::OwnForm;

pub fn step(step: Step) -> (&'static str, &'static str) {
    match step {
        Step::VerifySecret => ("Identification", ""),
        Step::VerifyIdentity => (
            "Vérification de votre identité",
            "Pour confirmer que ce lien vous est bien destiné, saisissez les informations demandées telles qu'elles figurent dans votre dossier.",
        ),
        Step::VerifyCode => (
            "Code d'activation",
            "Saisissez le code d'activation que vous avez reçu.",
        ),
        Step::RecoveryMail => (
            "Adresse mail de secours",
            "Cette adresse vous permettra de récupérer vos accès en cas d'oubli de votre mot de passe : indiquez une adresse que vous consultez régulièrement.",
        ),
        Step::MobilePhone => (
            "Téléphone mobile",
            "Indiquez votre numéro de téléphone mobile : en cas d'oubli de votre mot de passe, un code pourra vous y être envoyé par SMS.",
        ),
        Step::MobilePhoneVerification => (
            "Vérification du téléphone",
            "Saisissez le code reçu par SMS sur ce téléphone.",
        ),
        Step::RecoveryMailVerification => (
            "Vérification de l'adresse de secours",
            "Un mail a été envoyé à votre adresse de secours : cliquez sur son lien, ou saisissez son code, pour continuer.",
        ),
        Step::Charter => (
            "Charte informatique",
            "Pour continuer, prenez connaissance de la charte d'utilisation des services numériques et acceptez-la.",
        ),
        Step::DirectoryListing => (
            "Annuaire",
            "Choisissez si vous souhaitez apparaître dans l'annuaire.",
        ),
        Step::PhotoUse => (
            "Utilisation de la photo",
            "Choisissez les usages de votre photo que vous autorisez, ou refusez-les tous.",
        ),
        Step::CrousSharing => (
            "Diffusion des données personnelles au Crous",
            "Choisissez d'autoriser ou de refuser la diffusion de vos données personnelles au Crous.",
        ),
        Step::Consents => (
            "Autorisations",
            "Indiquez votre choix pour chacune des autorisations ci-dessous.",
        ),
        Step::MailRedirect => (
            "Redirection de la messagerie",
            "Vous pouvez rediriger les mails reçus sur votre messagerie universitaire vers une messagerie externe, et revenir sur ce choix à tout moment.",
        ),
        Step::MailRedirectVerification => (
            "Vérification de l'adresse de redirection",
            "Un mail a été envoyé à l'adresse de redirection : cliquez sur son lien pour poursuivre la mise en place de la redirection.",
        ),
        Step::Names => (
            "Votre identité",
            "Indiquez vos prénom et nom tels qu'ils figurent sur votre pièce d'identité : ils apparaîtront dans l'annuaire et sur les services de l'université.",
        ),
        Step::Password => (
            "Choix du mot de passe",
            "Choisissez un mot de passe personnel, que vous seul connaissez, et qui respecte les règles ci-dessous.",
        ),
    }
}

pub fn entry(channel: ActivationChannel) -> (&'static str, &'static str) {
    match channel {
        ActivationChannel::ActivationKey => (
            "Activer avec la clé d'activation",
            "Saisissez l'identifiant et la clé d'activation indiqués sur votre certificat de scolarité.",
        ),
        ActivationChannel::ProvisionalPassword => (
            "Activer avec le mot de passe provisoire",
            "Saisissez le nom de connexion et le mot de passe provisoire qui vous ont été remis.",
        ),
        ActivationChannel::MailedLink => (
            "Activer avec le lien reçu par mail",
            "Un lien d'activation est envoyé à votre adresse mail personnelle. S'il a expiré, saisissez votre identifiant pour en recevoir un nouveau.",
        ),
        ActivationChannel::IdentityMatch => (
            "Identification",
            "Saisissez les informations données lors de votre inscription : un code d'activation vous sera envoyé pour confirmer.",
        ),
    }
}

pub const COMPLETED: (&str, &str) = (
    "Compte activé",
    "Votre compte est activé : connectez-vous avec votre identifiant et votre nouveau mot de passe.",
);

pub fn audience(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Student => "Étudiants",
        AccountKind::Staff => "Personnels",
        AccountKind::Guest => "Invités",
    }
}

/// Label, help and example of a field.
/// The words of the fields of the entry forms.
fn entry_field(field: Field) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match field {
        Field::KeyLogin | Field::LinkLogin => ("Identifiant", "", ""),
        Field::ActivationKey => (
            "Clé d'activation",
            "Elle figure sur votre certificat de scolarité, dans l'encadré « Services numériques ».",
            "",
        ),
        Field::ProvisionalLogin => ("Nom de connexion", "", ""),
        Field::ProvisionalPassword => ("Mot de passe provisoire", "", ""),
        Field::StudentNumber => ("Numéro d'étudiant", "", "22012345"),
        Field::Ine => ("Code INE", "11 lettres ou chiffres.", "1234567890V"),
        Field::MobilePhone => (
            "Numéro de téléphone portable",
            "Le numéro donné lors de votre inscription.",
            "+33612345678",
        ),
        Field::IdentityHrId => (
            "Matricule",
            "Le numéro de personnel de votre dossier RH.",
            "RH-0042",
        ),
        Field::IdentityBirthDate => (
            "Date de naissance",
            "Au format JJMMAAAA ou AAAA-MM-JJ.",
            "31011980",
        ),
        Field::IdentityFamilyName => (
            "Nom de famille",
            "Tel qu'il figure sur votre dossier.",
            "Doe",
        ),
        Field::IdentityPersonalMail => (
            "Adresse mail personnelle",
            "Celle que vous avez donnée lors de votre inscription ou de votre recrutement.",
            "prenom.nom@example.org",
        ),
        _ => return None,
    })
}

pub fn field(field: Field) -> (&'static str, &'static str, &'static str) {
    if let Some(words) = entry_field(field) {
        return words;
    }
    match field {
        Field::Code => ("Code reçu", "", ""),
        Field::RecoveryMail => ("Adresse mail de secours", "", "prenom.nom@example.org"),
        Field::RecoveryMailConfirmation => ("Confirmation de l'adresse mail de secours", "", ""),
        Field::RecoveryPhone => (
            "Téléphone mobile",
            "Un code vous sera envoyé par SMS pour le vérifier ; il servira à réinitialiser votre mot de passe.",
            "06 12 34 56 78",
        ),
        Field::CharterAccepted => (
            "J'accepte la charte informatique de l'établissement.",
            "",
            "",
        ),
        Field::DirectoryListed => ("Annuaire", "", ""),
        Field::PhotoUses => ("Usages de la photo", "", ""),
        Field::PhotoAcknowledged => (
            "J'ai compris que ce refus est irréversible : la photo sera définitivement supprimée.",
            "",
            "",
        ),
        Field::CrousSharing => ("Diffusion au Crous", "", ""),
        Field::ConsentChoice => ("Votre choix", "", ""),
        Field::RedirectEnabled => ("Je mets en place une redirection de messagerie.", "", ""),
        Field::RedirectAddress => (
            "Adresse de la messagerie de redirection",
            "",
            "prenom.nom@example.org",
        ),
        Field::RedirectConfirmation => (
            "Confirmation de l'adresse de messagerie de redirection",
            "",
            "",
        ),
        Field::RedirectKeepCopy => (
            "Je souhaite conserver une copie des mails sur ma boîte mail universitaire.",
            "",
            "",
        ),
        Field::Password => ("Nouveau mot de passe", "", ""),
        Field::PasswordConfirmation => ("Confirmation du nouveau mot de passe", "", ""),
        Field::GivenName => ("Prénom", "", ""),
        Field::FamilyName => ("Nom", "", ""),
        _ => own_field(field),
    }
}

/// What the one field of the forgotten-password form takes.
pub fn reset_identifier(accepted: &[ResetIdentifierKind]) -> String {
    let names: Vec<&str> = accepted
        .iter()
        .map(|kind| match kind {
            ResetIdentifierKind::Login => "identifiant",
            ResetIdentifierKind::Ine => "numéro INE",
            ResetIdentifierKind::InstitutionalMail => "adresse mail institutionnelle",
        })
        .collect();
    super::capitalized(&super::listed(&names, "ou"))
}

pub fn own_form(form: OwnForm) -> (&'static str, &'static str) {
    match form {
        OwnForm::PasswordReset => (
            "Mot de passe oublié",
            "Saisissez votre identifiant : un mail sera envoyé à votre adresse mail de secours. Pensez à vérifier votre dossier de courriers indésirables.",
        ),
        OwnForm::PasswordResetBySms => (
            "Mot de passe oublié",
            "Saisissez votre identifiant : un code sera envoyé par SMS au téléphone mobile vérifié lors de l'activation de votre compte.",
        ),
        OwnForm::PasswordResetByChoice => (
            "Mot de passe oublié",
            "Saisissez votre identifiant et choisissez comment réinitialiser votre mot de passe : par mail à votre adresse de secours, ou par un code envoyé par SMS au téléphone mobile vérifié lors de l'activation.",
        ),
        OwnForm::ResetCode => (
            "Code reçu par SMS",
            "Saisissez le code reçu par SMS pour choisir un nouveau mot de passe. Si vous ne recevez rien, votre téléphone n'a peut-être pas été vérifié : demandez un mail ou contactez l'assistance.",
        ),
        OwnForm::LoginLookup => (
            "Identifiant oublié",
            "Étudiants : retrouvez votre identifiant avec votre numéro d'étudiant et votre date de naissance.",
        ),
        OwnForm::NewPassword => (
            "Nouveau mot de passe",
            "Choisissez un nouveau mot de passe, que vous seul connaissez, et qui respecte les règles ci-dessous.",
        ),
        OwnForm::PasswordChange => (
            "Changer de mot de passe",
            "Saisissez votre mot de passe actuel, puis le nouveau, deux fois.",
        ),
        OwnForm::RecoveryMailChange => (
            "Changer d'adresse mail de secours",
            "Un lien de confirmation sera envoyé à la nouvelle adresse : elle remplacera l'ancienne une fois confirmée.",
        ),
        OwnForm::RecoveryPhoneChange => (
            "Téléphone de secours",
            "En cas d'oubli de votre mot de passe, un code peut être envoyé par SMS à ce téléphone. Tenez-le à jour : un numéro abandonné est un jour attribué à quelqu'un d'autre.",
        ),
        OwnForm::RecoveryPhoneCode => (
            "Code reçu sur le nouveau téléphone",
            "Saisissez le code envoyé par SMS au nouveau numéro : il ne sera utilisé qu'ensuite.",
        ),
        OwnForm::RedirectChange => (
            "Redirection de la messagerie",
            "Vous pouvez rediriger les mails reçus sur votre messagerie universitaire vers une messagerie externe. Un lien de confirmation sera envoyé à cette adresse.",
        ),
        OwnForm::DirectoryEntry => (
            "Mes données dans l'annuaire",
            "Pour les personnels uniquement : modifiez vos données dans l'annuaire de l'établissement.",
        ),
        OwnForm::Antispam => (
            "Niveau d'antispam",
            "Pour les personnels uniquement : réglez le niveau d'antispam de votre boîte universitaire.",
        ),
        OwnForm::GuestInvitation => (
            "Inviter une personne extérieure",
            "Chercheur invité, intervenant, partenaire : indiquez ses nom et prénom tels qu'ils figurent sur sa pièce d'identité et l'adresse où recevoir le lien d'activation de son compte. Le compte se ferme après le séjour ; vous pouvez le prolonger.",
        ),
        OwnForm::ExtensionRequest => (
            "Prolongation du compte",
            "Votre activité à l'université a pris fin : vous pouvez demander à conserver votre compte plus longtemps.",
        ),
        OwnForm::AlumniClosing => (
            "Fermer mon compte d'ancien étudiant",
            "Votre compte est conservé à votre demande. Vous pouvez le fermer à tout moment : ses données seront supprimées aussitôt, sans retour possible. Saisissez votre mot de passe pour confirmer.",
        ),
    }
}

/// Label, help and example of a field of the forms outside activation.
fn own_field(field: Field) -> (&'static str, &'static str, &'static str) {
    match field {
        Field::ResetIdentifier => ("Identifiant", "", ""),
        Field::ResetChannel => (
            "Envoyer par",
            "Par mail à votre adresse de récupération, ou par SMS au téléphone mobile vérifié à l'activation.",
            "",
        ),
        Field::LookupStudentNumber => (
            "Numéro d'étudiant",
            "Il figure sur votre carte d'étudiant et votre certificat de scolarité.",
            "22012345",
        ),
        Field::LookupBirthDate => (
            "Date de naissance",
            "Au format JJMMAAAA ou AAAA-MM-JJ.",
            "31012004",
        ),
        Field::NewPassword => ("Nouveau mot de passe", "", ""),
        Field::NewPasswordConfirmation => ("Confirmation du nouveau mot de passe", "", ""),
        Field::CurrentPassword => ("Mot de passe actuel", "", ""),
        Field::NewRecoveryPhone => (
            "Nouveau téléphone mobile",
            "Un code vous sera envoyé par SMS pour le vérifier. Laissez vide pour supprimer votre téléphone de secours.",
            "06 12 34 56 78",
        ),
        Field::NewRecoveryMail => (
            "Nouvelle adresse mail de secours",
            "",
            "prenom.nom@example.org",
        ),
        Field::NewRecoveryMailConfirmation => ("Confirmation de la nouvelle adresse", "", ""),
        Field::NewRedirectAddress => (
            "Adresse de la messagerie de redirection",
            "",
            "prenom.nom@example.org",
        ),
        Field::NewRedirectConfirmation => ("Confirmation de l'adresse de redirection", "", ""),
        Field::NewRedirectKeepCopy => (
            "Je souhaite conserver une copie des mails sur ma boîte mail universitaire.",
            "",
            "",
        ),
        Field::DirectoryOfficePhone => ("Téléphone du bureau", "", "+33467143000"),
        Field::DirectoryOfficeLocation => ("Bureau", "Bâtiment et numéro de bureau.", ""),
        Field::DirectoryJobTitle => ("Fonction", "Telle qu'elle apparaît dans l'annuaire.", ""),
        Field::DirectoryPostalAddress => ("Adresse postale du lieu de travail", "", ""),
        Field::DirectoryWebPage => ("Page web personnelle", "", "https://"),
        Field::ExtensionReason => (
            "Motif de la demande",
            "Expliquez pourquoi vous avez besoin de votre compte plus longtemps.",
            "",
        ),
        Field::GuestGivenName => ("Prénom de la personne invitée", "", ""),
        Field::GuestFamilyName => ("Nom de la personne invitée", "", ""),
        Field::GuestBirthDate => (
            "Date de naissance (facultative)",
            "AAAA-MM-JJ.",
            "1990-12-10",
        ),
        Field::GuestPersonalMail => (
            "Adresse mail de la personne invitée",
            "Le lien d'activation y est envoyé.",
            "prenom.nom@example.org",
        ),
        Field::GuestEndDate => ("Dernier jour du séjour", "AAAA-MM-JJ.", "2027-06-30"),
        Field::GuestReason => (
            "Motif de l'invitation",
            "Pour la DSI : le rôle de la personne, le laboratoire ou le projet.",
            "",
        ),
        _ => ("", "", ""),
    }
}

/// How an antispam level is offered.
/// The options of the reset channel's choice.
pub fn reset_channel(channel: ResetChannel) -> &'static str {
    match channel {
        ResetChannel::Mail => "Mail, à votre adresse de récupération",
        ResetChannel::Sms => "SMS, à votre téléphone mobile",
    }
}

pub fn antispam_level(level: AntispamLevel) -> &'static str {
    match level {
        AntispamLevel::Off => "Désactivé : aucun mail n'est filtré",
        AntispamLevel::Low => "Faible : seuls les spams évidents sont filtrés",
        AntispamLevel::Medium => "Moyen : le réglage de l'établissement",
        AntispamLevel::High => {
            "Élevé : un filtrage strict, au risque d'écarter des mails légitimes"
        }
    }
}
