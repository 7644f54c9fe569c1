//! The portal's own words — its buttons, links and notices — in French and
//! English. What a page says of an institution (its name, its forms'
//! labels, help and titles) comes from the API, never from here.

use serde::Serialize;

use crate::language::Language;

/// The words a page's frame and forms use.
#[derive(Debug, Clone, Serialize)]
pub struct Words {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub skip_to_content: &'static str,
    pub my_account: &'static str,
    pub activate: &'static str,
    pub activate_intro: &'static str,
    pub for_whom: &'static str,
    pub submit: &'static str,
    pub required: &'static str,
    pub example: &'static str,
    pub helpdesk: &'static str,
    pub back_home: &'static str,
    pub unavailable: &'static str,
    pub error_title: &'static str,
}

pub fn words(language: Language) -> Words {
    match language {
        Language::French => Words {
            lang: "fr",
            other_lang: "en",
            other_lang_name: "English",
            skip_to_content: "Aller au contenu",
            my_account: "Mon compte",
            activate: "Activer mon compte",
            activate_intro: "Première connexion : choisissez la façon d'activer votre compte qui vous concerne.",
            for_whom: "Pour",
            submit: "Valider",
            required: "obligatoire",
            example: "Exemple",
            helpdesk: "Assistance",
            back_home: "Retour à l'accueil",
            unavailable: "Le service est momentanément indisponible : réessayez dans un instant.",
            error_title: "Une erreur est survenue",
        },
        Language::English => Words {
            lang: "en",
            other_lang: "fr",
            other_lang_name: "Français",
            skip_to_content: "Skip to content",
            my_account: "My account",
            activate: "Activate my account",
            activate_intro: "First connection: choose the way of activating your account that applies to you.",
            for_whom: "For",
            submit: "Submit",
            required: "required",
            example: "Example",
            helpdesk: "Helpdesk",
            back_home: "Back to the home page",
            unavailable: "The service is unavailable for a moment: try again shortly.",
            error_title: "Something went wrong",
        },
    }
}
