//! The words of the copy of a person's data (`personal_data::Report`), in
//! French and English: its sections, its labels, and what each recorded
//! code means (account states, audit actions, feed entries, messages).
//! One table, keyed by the code the document holds, so that a code the
//! table lacks falls back to a plain word, never to the code itself.

use domain::language::Language;

/// `(key, French, English)`.
type Words = &'static [(&'static str, &'static str, &'static str)];

/// Section titles and row labels.
const LABELS: Words = &[
    ("section.account", "Votre compte", "Your account"),
    ("section.profiles", "Vos profils", "Your profiles"),
    ("section.consents", "Vos autorisations", "Your permissions"),
    (
        "section.redirect",
        "Redirection du courrier",
        "Mail forwarding",
    ),
    (
        "section.directory_entry",
        "Votre fiche d'annuaire",
        "Your directory entry",
    ),
    (
        "section.directory",
        "Ce que l'annuaire de l'université reçoit (LDAP)",
        "What the university's directory receives (LDAP)",
    ),
    (
        "section.extensions",
        "Demandes de prolongation",
        "Extension requests",
    ),
    ("section.invitations", "Invitation", "Invitation"),
    (
        "section.held",
        "Fiches mises en attente (même personne ?)",
        "Records held (the same person?)",
    ),
    (
        "section.events",
        "Journal des opérations",
        "Log of operations",
    ),
    (
        "section.feed",
        "Mises à jour transmises à l'annuaire",
        "Updates sent to the directory",
    ),
    (
        "section.messages",
        "Mails et SMS envoyés",
        "Mails and SMS sent",
    ),
    (
        "section.retention",
        "Durées de conservation",
        "How long it is kept",
    ),
    (
        "label.id",
        "Numéro interne du compte",
        "Account's internal number",
    ),
    ("label.login", "Identifiant", "Login"),
    ("label.institution", "Établissement", "Institution"),
    ("label.profile", "Profil", "Profile"),
    ("label.kind", "Population", "Population"),
    ("label.status", "État du compte", "Account state"),
    ("label.given_name", "Prénom", "Given name"),
    ("label.family_name", "Nom", "Family name"),
    ("label.birth_date", "Date de naissance", "Birth date"),
    (
        "label.student_number",
        "Numéro d'étudiant",
        "Student number",
    ),
    ("label.ine", "INE", "INE (national student number)"),
    ("label.hr_id", "Numéro de personnel", "Staff number"),
    (
        "label.institutional_mail",
        "Adresse universitaire",
        "University address",
    ),
    (
        "label.personal_mail",
        "Adresse personnelle",
        "Personal address",
    ),
    ("label.mobile_phone", "Téléphone mobile", "Mobile phone"),
    (
        "label.recovery_mail",
        "Adresse de secours",
        "Recovery address",
    ),
    (
        "label.recovery_phone",
        "Téléphone de secours",
        "Recovery phone",
    ),
    (
        "label.activation_available_at",
        "Activation possible depuis",
        "Activation open since",
    ),
    ("label.activated_at", "Activé le", "Activated on"),
    ("label.password", "Mot de passe", "Password"),
    (
        "label.previous_passwords",
        "Anciens mots de passe retenus (empreintes, pour en refuser la réutilisation)",
        "Former passwords remembered (hashes, to refuse their reuse)",
    ),
    ("label.charter", "Charte informatique", "IT charter"),
    ("label.antispam", "Niveau de l'antispam", "Antispam level"),
    ("label.sponsor", "Invité par", "Invited by"),
    (
        "label.end_of_activity",
        "Dernier jour d'activité",
        "Last day of activity",
    ),
    (
        "label.retention_end",
        "Compte conservé jusqu'au",
        "Account kept until",
    ),
    (
        "label.alumni_asked_for",
        "Demande de conservation (ancien étudiant) pour la période finissant le",
        "Request to keep the account (former student) for the period ending",
    ),
    (
        "label.alumni_kept_for",
        "Conservation acceptée pour la période finissant le",
        "Kept on consent for the period ending",
    ),
    ("label.expired_at", "Fermé le", "Closed on"),
    ("label.created_at", "Créé le", "Created on"),
    ("label.updated_at", "Dernière modification", "Last changed"),
    (
        "label.directory_listed",
        "Annuaire public",
        "Public directory",
    ),
    ("label.photo", "Utilisation de la photo", "Use of the photo"),
    (
        "label.crous_sharing",
        "Transmission au Crous",
        "Sharing with the Crous",
    ),
    (
        "label.redirect_address",
        "Adresse de redirection",
        "Forwarding address",
    ),
    ("label.keep_copy", "Copie conservée", "Copy kept"),
    ("label.office_phone", "Téléphone du bureau", "Office phone"),
    ("label.office_location", "Bureau", "Office"),
    ("label.job_title", "Fonction", "Job title"),
    ("label.postal_address", "Adresse postale", "Postal address"),
    ("label.web_page", "Page web", "Web page"),
    (
        "label.retention_audit",
        "Journal des opérations",
        "Log of operations",
    ),
    (
        "label.retention_messages",
        "Mails et SMS envoyés",
        "Mails and SMS sent",
    ),
    (
        "label.retention_flows",
        "Parcours d'activation terminés et codes utilisés",
        "Finished activations and used codes",
    ),
];

/// Values: states, kinds, choices; `{}` marks where a date goes.
const VALUES: Words = &[
    ("yes", "Oui", "Yes"),
    ("no", "Non", "No"),
    ("none", "Aucun", "None"),
    ("on", "le {}", "on {}"),
    ("verified", "vérification le {}", "verified on {}"),
    ("not_verified", "pas encore vérifié", "not verified yet"),
    ("password_set", "choisi le {}", "chosen on {}"),
    ("password_expires", "expire le {}", "expires on {}"),
    (
        "password_must_change",
        "à changer à la prochaine connexion",
        "to change at next sign-in",
    ),
    (
        "charter",
        "version {} acceptée le {}",
        "version {} accepted on {}",
    ),
    ("days", "{} jours", "{} days"),
    ("asked_by", "demandé par : {}", "asked by: {}"),
    ("kind.student", "Étudiant", "Student"),
    ("kind.staff", "Personnel", "Staff"),
    ("kind.guest", "Invité", "Guest"),
    (
        "status.pre_created",
        "Créé, activation pas encore ouverte",
        "Created, activation not open yet",
    ),
    (
        "status.created",
        "En attente d'activation",
        "Awaiting activation",
    ),
    ("status.active", "Actif", "Active"),
    (
        "status.grace",
        "Accès limité après le départ",
        "Limited access after leaving",
    ),
    (
        "status.alumni",
        "Conservé (ancien étudiant)",
        "Kept (former student)",
    ),
    ("status.expired", "Fermé", "Closed"),
    ("status.data_deleted", "Données supprimées", "Data deleted"),
    ("status.locked", "Bloqué", "Locked"),
    ("antispam.off", "Désactivé", "Off"),
    ("antispam.low", "Faible", "Low"),
    ("antispam.medium", "Moyen", "Medium"),
    ("antispam.high", "Élevé", "High"),
    (
        "photo.card_reprint",
        "Réédition de la carte",
        "Card reprint",
    ),
    ("photo.tutorial_sheets", "Trombinoscopes", "Tutorial sheets"),
    (
        "photo.photo_directory",
        "Annuaire avec photo",
        "Photo directory",
    ),
    ("photo.refused", "Refusée", "Refused"),
    ("state.pending", "En attente", "Pending"),
    ("state.approved", "Accordée", "Granted"),
    ("state.denied", "Refusée", "Refused"),
    ("state.rejected", "Refusée", "Refused"),
    (
        "state.merged",
        "Rattachée à ce compte",
        "Added to this account",
    ),
    (
        "state.created",
        "Un autre compte a été créé",
        "Another account was created",
    ),
    (
        "matched.names_and_birth_date",
        "mêmes nom, prénom et date de naissance",
        "same names and birth date",
    ),
    (
        "matched.personal_mail",
        "même adresse personnelle",
        "same personal address",
    ),
    (
        "matched.mobile_phone",
        "même téléphone mobile",
        "same mobile phone",
    ),
    ("channel.mail", "Mail à {}", "Mail to {}"),
    ("channel.sms", "SMS au {}", "SMS to {}"),
    ("message.sent", "envoyé le {}", "sent on {}"),
    (
        "message.pending",
        "en attente d'envoi",
        "waiting to be sent",
    ),
    (
        "message.given_up",
        "envoi abandonné le {}",
        "given up on {}",
    ),
];

/// What each recorded code says: audit actions, feed entries, messages.
const CODES: Words = &[
    (
        "action.account.provisioned",
        "Compte créé par l'inscription ou les ressources humaines",
        "Account created by enrolment or HR",
    ),
    (
        "action.account.updated",
        "Fiche mise à jour par l'inscription ou les ressources humaines",
        "Record updated by enrolment or HR",
    ),
    (
        "action.account.profile_linked",
        "Nouveau profil rattaché au compte",
        "New profile added to the account",
    ),
    (
        "action.account.record_held",
        "Fiche mise en attente : même personne ?",
        "Record held: the same person?",
    ),
    (
        "action.account.restored",
        "Accès rétabli (réinscription ou nouveau contrat)",
        "Access given back (re-enrolment or new contract)",
    ),
    (
        "action.account.activation_opened",
        "Activation ouverte",
        "Activation opened",
    ),
    (
        "action.account.activation_opened_early",
        "Activation ouverte plus tôt",
        "Activation opened early",
    ),
    (
        "action.account.activated",
        "Compte activé",
        "Account activated",
    ),
    (
        "action.account.end_of_activity",
        "Fin d'activité enregistrée",
        "End of activity recorded",
    ),
    (
        "action.account.limited",
        "Accès limité après le départ",
        "Access limited after leaving",
    ),
    (
        "action.account.expiry_notice",
        "Avis de fermeture prochaine envoyé",
        "Notice of closing sent",
    ),
    ("action.account.expired", "Compte fermé", "Account closed"),
    (
        "action.account.purged",
        "Données supprimées",
        "Data deleted",
    ),
    ("action.account.locked", "Compte bloqué", "Account locked"),
    (
        "action.account.unlocked",
        "Compte débloqué",
        "Account unlocked",
    ),
    (
        "action.account.alumni_offer_sent",
        "Proposition de conserver le compte envoyée",
        "Offer to keep the account sent",
    ),
    (
        "action.account.alumni_answered",
        "Réponse à la proposition de conserver le compte",
        "Answer to the offer to keep the account",
    ),
    (
        "action.account.kept_as_alumni",
        "Compte conservé (ancien étudiant)",
        "Account kept (former student)",
    ),
    (
        "action.account.closed_on_request",
        "Compte fermé à votre demande",
        "Account closed at your request",
    ),
    (
        "action.account.data_exported",
        "Copie de vos données remise",
        "Copy of your data handed over",
    ),
    (
        "action.activation.started",
        "Activation commencée",
        "Activation started",
    ),
    (
        "action.activation.link_requested",
        "Lien d'activation demandé",
        "Activation link requested",
    ),
    (
        "action.activation.message_resent",
        "Message d'activation renvoyé",
        "Activation message sent again",
    ),
    (
        "action.activation.verified",
        "Code ou lien d'activation vérifié",
        "Activation code or link checked",
    ),
    (
        "action.activation.identity_checked",
        "Identité vérifiée pour l'activation",
        "Identity checked for activation",
    ),
    (
        "action.activation.screen_submitted",
        "Étape d'activation remplie",
        "Activation step filled in",
    ),
    (
        "action.activation.material_reissued",
        "Nouveaux éléments d'activation émis",
        "New activation material issued",
    ),
    (
        "action.charter.accepted",
        "Charte informatique acceptée",
        "IT charter accepted",
    ),
    (
        "action.password.changed",
        "Mot de passe changé",
        "Password changed",
    ),
    (
        "action.password.reset",
        "Mot de passe réinitialisé",
        "Password reset",
    ),
    (
        "action.password.expired",
        "Mot de passe expiré",
        "Password expired",
    ),
    (
        "action.password.expiry_reminder",
        "Rappel d'expiration du mot de passe envoyé",
        "Password expiry reminder sent",
    ),
    (
        "action.password_reset.requested",
        "Nouveau mot de passe demandé",
        "New password requested",
    ),
    (
        "action.password_reset.code_verified",
        "Code de réinitialisation vérifié",
        "Reset code checked",
    ),
    (
        "action.login.recovered",
        "Identifiant oublié envoyé",
        "Forgotten login sent",
    ),
    (
        "action.recovery_mail.change_requested",
        "Nouvelle adresse de secours demandée",
        "New recovery address requested",
    ),
    (
        "action.recovery_mail.changed",
        "Adresse de secours changée",
        "Recovery address changed",
    ),
    (
        "action.recovery_phone.change_requested",
        "Nouveau téléphone de secours demandé",
        "New recovery phone requested",
    ),
    (
        "action.recovery_phone.changed",
        "Téléphone de secours changé",
        "Recovery phone changed",
    ),
    (
        "action.recovery_phone.removed",
        "Téléphone de secours retiré",
        "Recovery phone removed",
    ),
    (
        "action.mail_redirect.set",
        "Redirection du courrier demandée",
        "Mail forwarding requested",
    ),
    (
        "action.mail_redirect.verified",
        "Redirection du courrier vérifiée",
        "Mail forwarding verified",
    ),
    (
        "action.mail_redirect.verification_resent",
        "Lien de vérification de la redirection renvoyé",
        "Forwarding verification link sent again",
    ),
    (
        "action.mail_redirect.disabled",
        "Redirection du courrier arrêtée",
        "Mail forwarding stopped",
    ),
    (
        "action.consents.updated",
        "Autorisations modifiées",
        "Permissions changed",
    ),
    (
        "action.directory_entry.updated",
        "Fiche d'annuaire modifiée",
        "Directory entry changed",
    ),
    (
        "action.antispam_level.set",
        "Niveau de l'antispam changé",
        "Antispam level changed",
    ),
    (
        "action.extension.requested",
        "Prolongation demandée",
        "Extension requested",
    ),
    (
        "action.extension.granted",
        "Prolongation accordée",
        "Extension granted",
    ),
    (
        "action.extension.denied",
        "Prolongation refusée",
        "Extension refused",
    ),
    (
        "action.guest.invited",
        "Invitation faite",
        "Invitation made",
    ),
    (
        "action.guest.invitation_approved",
        "Invitation acceptée",
        "Invitation approved",
    ),
    (
        "action.guest.invitation_rejected",
        "Invitation refusée",
        "Invitation rejected",
    ),
    (
        "action.held_record.resolved",
        "Fiche en attente traitée",
        "Held record decided",
    ),
    (
        "action.helpdesk.person_found",
        "Consulté au guichet d'assistance",
        "Looked up at the helpdesk",
    ),
    (
        "action.helpdesk.password_reset_issued",
        "Lien de nouveau mot de passe remis au guichet",
        "New password link handed over at the desk",
    ),
    (
        "action.helpdesk.activation_material_issued",
        "Éléments d'activation remis au guichet",
        "Activation material handed over at the desk",
    ),
    (
        "action.helpdesk.activation_link_issued",
        "Lien d'activation remis au guichet",
        "Activation link handed over at the desk",
    ),
    (
        "action.helpdesk.recovery_mail_change_requested",
        "Nouvelle adresse de secours enregistrée au guichet",
        "New recovery address recorded at the desk",
    ),
    (
        "action",
        "Opération sur le compte",
        "Operation on the account",
    ),
    ("change.created", "Compte créé", "Account created"),
    ("change.updated", "Fiche mise à jour", "Record updated"),
    (
        "change.status_changed",
        "État du compte changé",
        "Account state changed",
    ),
    (
        "change.password_changed",
        "Mot de passe changé",
        "Password changed",
    ),
    ("change.purged", "Données supprimées", "Data deleted"),
    (
        "change.recovery_mail_changed",
        "Adresse de secours changée",
        "Recovery address changed",
    ),
    (
        "change.mail_redirect_changed",
        "Redirection changée",
        "Forwarding changed",
    ),
    (
        "change.consents_changed",
        "Autorisations changées",
        "Permissions changed",
    ),
    (
        "change.directory_entry_changed",
        "Fiche d'annuaire changée",
        "Directory entry changed",
    ),
    (
        "change.photo_deletion_requested",
        "Suppression de la photo demandée",
        "Photo deletion requested",
    ),
    (
        "change.activation_opened",
        "Activation ouverte",
        "Activation opened",
    ),
    ("change.activated", "Compte activé", "Account activated"),
    ("change.limited", "Accès limité", "Access limited"),
    (
        "change.extended",
        "Conservation prolongée",
        "Retention extended",
    ),
    ("change.expired", "Compte fermé", "Account closed"),
    ("change.restored", "Accès rétabli", "Access given back"),
    ("change.locked", "Compte bloqué", "Account locked"),
    ("change.unlocked", "Compte débloqué", "Account unlocked"),
    (
        "change.password_expired",
        "Mot de passe expiré",
        "Password expired",
    ),
    (
        "change.kept_as_alumni",
        "Compte conservé (ancien étudiant)",
        "Account kept (former student)",
    ),
    ("change", "Mise à jour", "Update"),
    (
        "message.activation_key",
        "Code d'activation",
        "Activation key",
    ),
    (
        "message.provisional_password",
        "Mot de passe provisoire",
        "Provisional password",
    ),
    (
        "message.activation_link",
        "Lien d'activation",
        "Activation link",
    ),
    (
        "message.desk_activation_link",
        "Lien d'activation remis au guichet",
        "Activation link from the desk",
    ),
    (
        "message.identity_code",
        "Code d'activation",
        "Activation code",
    ),
    (
        "message.recovery_mail_verification",
        "Vérification de l'adresse de secours",
        "Recovery address check",
    ),
    (
        "message.phone_verification",
        "Vérification du téléphone",
        "Phone check",
    ),
    (
        "message.redirect_verification",
        "Vérification de la redirection",
        "Forwarding check",
    ),
    (
        "message.password_reset",
        "Lien de nouveau mot de passe",
        "New password link",
    ),
    (
        "message.reset_code",
        "Code de nouveau mot de passe",
        "New password code",
    ),
    (
        "message.reactivation_key",
        "Code de réactivation",
        "Reactivation key",
    ),
    (
        "message.recovery_mail_change",
        "Vérification de la nouvelle adresse de secours",
        "New recovery address check",
    ),
    (
        "message.recovery_phone_change",
        "Vérification du nouveau téléphone de secours",
        "New recovery phone check",
    ),
    (
        "message.redirect_change",
        "Vérification de la nouvelle redirection",
        "New forwarding check",
    ),
    (
        "message.alumni_offer",
        "Proposition de conserver le compte",
        "Offer to keep the account",
    ),
    (
        "message.password_changed",
        "Avis de changement du mot de passe",
        "Password change notice",
    ),
    (
        "message.recovery_mail_replaced",
        "Avis de remplacement de l'adresse de secours",
        "Recovery address replaced notice",
    ),
    (
        "message.recovery_phone_changed",
        "Avis de changement du téléphone de secours",
        "Recovery phone change notice",
    ),
    (
        "message.expiry_notice",
        "Avis de fermeture prochaine",
        "Notice of closing",
    ),
    (
        "message.guest_expiry_notice",
        "Avis de fin de séjour",
        "End of stay notice",
    ),
    (
        "message.password_expiry_reminder",
        "Rappel d'expiration du mot de passe",
        "Password expiry reminder",
    ),
    (
        "message.extension_decided",
        "Décision sur la prolongation",
        "Extension decision",
    ),
    (
        "message.guest_invitation_decided",
        "Décision sur une invitation",
        "Invitation decision",
    ),
    (
        "message.desk_password_reset",
        "Avis : lien remis au guichet",
        "Notice: link handed over at the desk",
    ),
    (
        "message.desk_activation",
        "Avis : activation au guichet",
        "Notice: activation at the desk",
    ),
    (
        "message.desk_recovery_mail_change",
        "Avis : adresse de secours changée au guichet",
        "Notice: recovery address changed at the desk",
    ),
    (
        "message.desk_data_copy",
        "Avis : copie de vos données remise",
        "Notice: copy of your data handed over",
    ),
    ("message", "Message du service", "Message from the service"),
];

fn find(table: Words, language: Language, key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match language {
            Language::French => *fr,
            Language::English => *en,
        })
}

/// A section title or a row label.
pub fn label(language: Language, key: &str) -> &'static str {
    find(LABELS, language, key).unwrap_or_default()
}

/// A value's words; `{}` in them marks where a date or a number goes.
pub fn value(language: Language, key: &str) -> &'static str {
    find(VALUES, language, key).unwrap_or_default()
}

/// What a recorded `code` of `family` (`action`, `change`, `message`)
/// means; the family's plain word when the table lacks it.
pub fn code(language: Language, family: &str, code: &str) -> &'static str {
    find(CODES, language, &format!("{family}.{code}"))
        .or_else(|| find(CODES, language, family))
        .unwrap_or_default()
}

/// Whether the table words `code` of `family` itself (for tests).
pub fn knows(family: &str, code: &str) -> bool {
    find(CODES, Language::French, &format!("{family}.{code}")).is_some()
}

/// The title of the copy and what it says it is.
pub fn title(language: Language, institution: &str) -> (String, String) {
    match language {
        Language::French => (
            format!("Vos données personnelles — {institution}"),
            "Tout ce que le service d'identité de l'université conserve à votre sujet, à la date ci-dessous (droit d'accès, article 15 du RGPD). Vos mots de passe et codes n'y figurent pas : seules leurs dates sont conservées en clair.".to_owned(),
        ),
        Language::English => (
            format!("Your personal data — {institution}"),
            "Everything the university's identity service keeps about you, as of the date below (right of access, GDPR article 15). Your passwords and codes are not in it: only their dates are kept readable.".to_owned(),
        ),
    }
}

/// "Made on …".
pub fn generated(language: Language, when: &str) -> String {
    match language {
        Language::French => format!("Copie faite le {when}"),
        Language::English => format!("Copy made on {when}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::account::{AccountKind, AccountStatus};
    use domain::self_service::AntispamLevel;

    #[test]
    fn every_code_the_service_records_has_words_in_both_languages() {
        let statuses = [
            AccountStatus::PreCreated,
            AccountStatus::Created,
            AccountStatus::Active,
            AccountStatus::Grace,
            AccountStatus::Alumni,
            AccountStatus::Expired,
            AccountStatus::DataDeleted,
            AccountStatus::Locked,
        ];
        let kinds = [AccountKind::Student, AccountKind::Staff, AccountKind::Guest];
        let mut values: Vec<String> = statuses
            .iter()
            .map(|s| format!("status.{}", s.as_str()))
            .chain(kinds.iter().map(|k| format!("kind.{}", k.as_str())))
            .chain(
                AntispamLevel::ALL
                    .iter()
                    .map(|l| format!("antispam.{}", l.as_str())),
            )
            .collect();
        values.extend(
            [
                "photo.card_reprint",
                "photo.tutorial_sheets",
                "photo.photo_directory",
                "photo.refused",
                "state.pending",
                "state.approved",
                "state.denied",
                "state.rejected",
                "state.merged",
                "state.created",
                "matched.names_and_birth_date",
                "matched.personal_mail",
                "matched.mobile_phone",
                "channel.mail",
                "channel.sms",
            ]
            .map(str::to_owned),
        );
        for language in [Language::French, Language::English] {
            for key in &values {
                assert!(!value(language, key).is_empty(), "{key}");
            }
            for (_, name) in domain::supann::KIND_NAMES {
                assert!(knows("change", name), "change {name}");
            }
            for (table, (key, fr, en)) in [LABELS, VALUES, CODES]
                .iter()
                .flat_map(|t| t.iter().map(move |row| (t.len(), row)))
            {
                assert!(
                    !fr.is_empty() && !en.is_empty(),
                    "{key} in a table of {table}"
                );
            }
        }
        // Each key once per table.
        for table in [LABELS, VALUES, CODES] {
            let mut keys: Vec<&str> = table.iter().map(|(k, _, _)| *k).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before);
        }
    }

    #[test]
    fn an_unknown_code_reads_as_its_family_never_as_itself() {
        assert_eq!(
            code(Language::French, "action", "account.activated"),
            "Compte activé"
        );
        assert_eq!(
            code(Language::English, "action", "something.new"),
            "Operation on the account"
        );
        assert_eq!(
            code(Language::French, "message", "new_template"),
            "Message du service"
        );
    }
}
