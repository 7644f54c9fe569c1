//! Les mails et SMS en français.

use chrono::{DateTime, Utc};
use domain::helpdesk::DeskAction;
use store::outbox::Content;

use super::{AlumniOffer, ExpiryNotice, GuestExpiry, GuestNotice, VerificationMail, Verifying};

/// Une date et une heure comme on les lit à l'université.
pub fn local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%d/%m/%Y à %Hh%M").to_string()
}

pub fn activation_link(institution: &str, login: &str, url: &str, until: &str) -> Content {
    Content {
        subject: format!("{institution} : activez votre compte informatique"),
        text: format!(
            "Bonjour,\n\nVotre compte informatique {login} a été créé. Pour l'activer et choisir votre mot de passe, suivez ce lien (valable jusqu'au {until}) :\n\n{url}\n\nPassé ce délai, demandez un nouveau lien depuis « 1ère connexion » sur l'ENT.\nSi vous n'êtes pas à l'origine de cette inscription, ignorez ce message.\n\n{institution}\n"
        ),
    }
}

pub fn identity_code(institution: &str, code: &str, until: &str) -> String {
    format!(
        "{institution} : votre code d'activation est {code} (valable jusqu'au {until}). Ne le communiquez à personne."
    )
}

pub fn phone_code(institution: &str, code: &str, until: &str) -> String {
    format!(
        "{institution} : votre code de vérification est {code} (valable jusqu'au {until}). Ne le communiquez à personne."
    )
}

pub fn reset_code(institution: &str, login: &str, code: &str, until: &str) -> String {
    format!(
        "{institution} : votre code de réinitialisation est {code}, pour le mot de passe du compte {login} (valable jusqu'au {until}). Ne le communiquez à personne. Si vous n'avez rien demandé, ignorez ce message."
    )
}

pub fn identity_code_subject(institution: &str) -> String {
    format!("{institution} : code d'activation de votre compte")
}

pub fn verification(mail: &VerificationMail<'_>, until: &str) -> Content {
    let VerificationMail {
        institution,
        after_activation,
        login,
        what,
        url,
        code,
        ..
    } = *mail;
    let purpose = match what {
        Verifying::RecoveryMail => "comme adresse mail de secours",
        Verifying::Redirect => "pour y rediriger vos mails universitaires",
    };
    let (when, next) = if after_activation {
        (
            "depuis la gestion du compte",
            "Pour la valider, suivez ce lien puis confirmez :\n\n{url}",
        )
    } else {
        (
            "lors de l'activation du compte",
            "Pour poursuivre l'activation, suivez ce lien puis confirmez :\n\n{url}\n\nou saisissez ce code : {code}",
        )
    };
    let next = next.replace("{url}", url).replace("{code}", code);
    Content {
        subject: format!("{institution} : validez votre adresse mail"),
        text: format!(
            "Bonjour,\n\nCette adresse a été indiquée {purpose} {when} {login}.\n{next}\n\nValable jusqu'au {until}. Passé ce délai, il faudra recommencer.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n{institution}\n"
        ),
    }
}

pub fn password_reset(institution: &str, login: &str, url: &str, until: &str) -> Content {
    Content {
        subject: format!("{institution} : changement de votre mot de passe"),
        text: format!(
            "Bonjour,\n\nUn nouveau mot de passe a été demandé pour le compte {login}. Pour le choisir, suivez ce lien (valable jusqu'au {until}, une seule fois) :\n\n{url}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.\n\n{institution}\n"
        ),
    }
}

pub fn reactivation_key(
    institution: &str,
    login: &str,
    key: &str,
    portal_url: &str,
    until: &str,
) -> Content {
    Content {
        subject: format!("{institution} : nouvelle clé d'activation"),
        text: format!(
            "Bonjour,\n\nUne nouvelle clé d'activation a été demandée pour le compte {login}.\n\nIdentifiant : {login}\nClé d'activation : {key}\n\nSaisissez-les sur {portal_url} (champ « Mot de passe / Clé d'activation ») pour réactiver votre compte et choisir un nouveau mot de passe. Clé valable jusqu'au {until}, une seule fois.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.\n\n{institution}\n"
        ),
    }
}

pub fn password_changed(institution: &str, login: &str, when: &str, helpdesk_url: &str) -> Content {
    Content {
        subject: format!("{institution} : votre mot de passe a été changé"),
        text: format!(
            "Bonjour,\n\nLe mot de passe du compte {login} a été changé le {when}.\nSi vous n'êtes pas à l'origine de ce changement, demandez immédiatement un nouveau mot de passe et contactez l'assistance : {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn data_copy_notice(
    institution: &str,
    login: &str,
    when: &str,
    reference: &str,
    helpdesk_url: &str,
) -> Content {
    Content {
        subject: format!("{institution} : une copie de vos données personnelles a été remise"),
        text: format!(
            "Bonjour,\n\nLe {when}, l'assistance a remis une copie des données personnelles que le service d'identité conserve sur le compte {login}, en réponse à la demande écrite « {reference} ».\nSi vous n'avez pas fait cette demande, contactez immédiatement l'assistance : {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn desk_notice(
    action: DeskAction,
    institution: &str,
    login: &str,
    when: &str,
    helpdesk_url: &str,
) -> Content {
    let (subject, what) = match action {
        DeskAction::PasswordReset => (
            "un lien de nouveau mot de passe vous a été remis au guichet",
            format!(
                "a remis en main propre un lien permettant de choisir un nouveau mot de passe pour le compte {login}"
            ),
        ),
        DeskAction::Activation => (
            "de nouveaux éléments d'activation vous ont été remis au guichet",
            format!(
                "a remis en main propre de nouveaux éléments d'activation (code, mot de passe provisoire ou lien) pour le compte {login} ; ceux remis auparavant ne fonctionnent plus"
            ),
        ),
        DeskAction::RecoveryMailChange => (
            "une nouvelle adresse mail de secours a été demandée au guichet",
            format!(
                "a enregistré une nouvelle adresse mail de secours pour le compte {login} ; elle remplacera l'adresse actuelle dès qu'elle aura été confirmée depuis sa boîte de réception"
            ),
        ),
    };
    Content {
        subject: format!("{institution} : {subject}"),
        text: format!(
            "Bonjour,\n\nLe {when}, le guichet d'assistance {what}, après vérification de votre identité.\nSi vous ne vous êtes pas présenté(e) au guichet, contactez immédiatement l'assistance : {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn recovery_phone_changed(
    institution: &str,
    login: &str,
    new_masked: Option<&str>,
    helpdesk_url: &str,
) -> Content {
    let what = match new_masked {
        Some(phone) => format!("est désormais le {phone}"),
        None => "a été supprimé".to_owned(),
    };
    Content {
        subject: format!("{institution} : votre téléphone de secours a changé"),
        text: format!(
            "Bonjour,\n\nLe téléphone de secours du compte {login}, où un code de réinitialisation du mot de passe peut être envoyé par SMS, {what}.\nSi vous n'êtes pas à l'origine de ce changement, contactez l'assistance : {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn recovery_mail_replaced(
    institution: &str,
    login: &str,
    new_masked: &str,
    helpdesk_url: &str,
) -> Content {
    Content {
        subject: format!("{institution} : votre adresse mail de secours a changé"),
        text: format!(
            "Bonjour,\n\nCette adresse n'est plus l'adresse mail de secours du compte {login} : elle a été remplacée par {new_masked}.\nSi vous n'êtes pas à l'origine de ce changement, contactez l'assistance : {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn expiry_notice(n: &ExpiryNotice<'_>, last: &str) -> Content {
    let (institution, login, left) = (n.institution, n.login, n.days_left);
    Content {
        subject: format!("{institution} : votre compte sera fermé après le {last}"),
        text: format!(
            "Bonjour,\n\nVotre activité à l'université a pris fin. Le compte {login} (messagerie et gestion du compte) reste ouvert jusqu'au {last} inclus, soit encore {left} jour(s). Pensez à récupérer vos messages et documents.\n{}Assistance : {}\n\n{institution}\n",
            n.extension_url
                .map(|u| format!("Vous pouvez demander une prolongation depuis l'ENT, « Gestion de compte » : {u}\n"))
                .unwrap_or_default(),
            n.helpdesk_url
        ),
    }
}

pub fn alumni_offer(o: &AlumniOffer<'_>, (end, until): (&str, &str)) -> Content {
    let (institution, login, services) = (o.institution, o.login, &o.services.fr);
    let why = if o.renewal {
        format!(
            "Vous avez choisi de conserver votre compte {login} d'ancien étudiant ; comme chaque année, nous vous demandons si vous souhaitez le garder."
        )
    } else {
        format!(
            "Vos études à l'université sont terminées et votre compte {login} sera fermé après le {end}. Vous pouvez choisir de le conserver comme ancien étudiant."
        )
    };
    Content {
        subject: format!("{institution} : souhaitez-vous conserver votre compte ?"),
        text: format!(
            "Bonjour,

{why}
Un compte d'ancien étudiant donne accès à : {services}. Il est conservé jusqu'au {until} puis, chaque année, tant que vous répondez oui. Vous pouvez demander sa suppression à tout moment.

Répondez avant le {end} inclus : {url}
Sans réponse, le compte sera fermé après le {end} et ses données supprimées.

{institution}
",
            url = o.url,
        ),
    }
}

pub fn password_expiry_reminder(
    institution: &str,
    login: &str,
    (when, day): (&str, &str),
    portal_url: &str,
) -> Content {
    Content {
        subject: format!("{institution} : votre mot de passe expire le {day}"),
        text: format!(
            "Bonjour,\n\nLe mot de passe du compte {login} expire le {when}. Changez-le avant cette date depuis l'ENT : {portal_url}\nAprès cette date, vous devrez en choisir un nouveau avant de pouvoir vous connecter.\n\n{institution}\n"
        ),
    }
}

pub fn extension_granted(institution: &str, login: &str, end: &str, comment: &str) -> Content {
    Content {
        subject: format!("{institution} : prolongation de votre compte accordée"),
        text: format!(
            "Bonjour,\n\nVotre demande de prolongation est accordée : le compte {login} reste ouvert jusqu'au {end} inclus.\n{comment}\n\n{institution}\n"
        ),
    }
}

pub fn extension_refused(institution: &str, login: &str, comment: &str) -> Content {
    Content {
        subject: format!("{institution} : prolongation de votre compte refusée"),
        text: format!(
            "Bonjour,\n\nVotre demande de prolongation du compte {login} n'a pas été accordée.\n{comment}\n\n{institution}\n"
        ),
    }
}

pub fn invitation_approved(notice: &GuestNotice<'_>, end: &str) -> Content {
    let GuestNotice {
        institution,
        guest,
        comment,
        portal_url,
        ..
    } = notice;
    let comment = if comment.is_empty() {
        String::new()
    } else {
        format!("\nCommentaire : {comment}\n")
    };
    Content {
        subject: format!("{institution} : votre invitation de {guest} est acceptée"),
        text: format!(
            "Bonjour,\n\nVotre invitation de {guest} (jusqu'au {end}) a été acceptée. Un lien d'activation lui a été envoyé par mail.\n{comment}\nVous retrouvez vos invités sur {portal_url}\n\n{institution}\n"
        ),
    }
}

pub fn invitation_rejected(notice: &GuestNotice<'_>) -> Content {
    let GuestNotice {
        institution,
        guest,
        comment,
        ..
    } = notice;
    let comment = if comment.is_empty() {
        String::new()
    } else {
        format!("\nMotif : {comment}\n")
    };
    Content {
        subject: format!("{institution} : votre invitation de {guest} est refusée"),
        text: format!(
            "Bonjour,\n\nVotre invitation de {guest} a été refusée ; aucun compte n'a été créé.\n{comment}\n{institution}\n"
        ),
    }
}

pub fn invitation_to_moderate(
    institution: &str,
    sponsor: &str,
    guest: &str,
    end: &str,
    reason: &str,
) -> Content {
    Content {
        subject: format!("{institution} : invitation de {guest} à valider"),
        text: format!(
            "Bonjour,\n\n{sponsor} invite {guest} jusqu'au {end}.\nMotif : {reason}\n\nL'invitation attend votre décision dans l'outil de gestion des comptes.\n"
        ),
    }
}

pub fn guest_expiry_notice(n: &GuestExpiry<'_>, last: &str) -> Content {
    let GuestExpiry {
        institution,
        guest,
        login,
        portal_url,
        ..
    } = n;
    Content {
        subject: format!(
            "{institution} : le compte de votre invité {guest} sera fermé après le {last}"
        ),
        text: format!(
            "Bonjour,\n\nLe compte {login} de {guest}, que vous parrainez, reste ouvert jusqu'au {last} inclus. Pour prolonger son séjour, rendez-vous sur la page « Mes invités » : {portal_url}\n\n{institution}\n"
        ),
    }
}
