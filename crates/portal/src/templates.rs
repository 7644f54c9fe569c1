//! The pages' templates: Jinja (minijinja, a small, well-kept engine with
//! template inheritance and autoescaping, the syntax web designers know
//! from Jinja and Twig). Each built-in template can be replaced by a file
//! of the same name in the institution's folder — `base.html` alone
//! changes every page's frame, logo and colours — the others keep theirs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::PortalError;

/// The built-in templates, by name.
const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    (
        "institutions.html",
        include_str!("../templates/institutions.html"),
    ),
    ("fields.html", include_str!("../templates/fields.html")),
    (
        "first_connection.html",
        include_str!("../templates/first_connection.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    ("flow.html", include_str!("../templates/flow.html")),
    (
        "link_sent.html",
        include_str!("../templates/link_sent.html"),
    ),
    (
        "link_opened.html",
        include_str!("../templates/link_opened.html"),
    ),
    ("recovery.html", include_str!("../templates/recovery.html")),
    (
        "reset_sent.html",
        include_str!("../templates/reset_sent.html"),
    ),
    (
        "reset_code.html",
        include_str!("../templates/reset_code.html"),
    ),
    (
        "login_found.html",
        include_str!("../templates/login_found.html"),
    ),
    (
        "new_password.html",
        include_str!("../templates/new_password.html"),
    ),
    (
        "password_changed.html",
        include_str!("../templates/password_changed.html"),
    ),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("guests.html", include_str!("../templates/guests.html")),
    ("data.html", include_str!("../templates/data.html")),
    ("desk.html", include_str!("../templates/desk.html")),
    ("alumni.html", include_str!("../templates/alumni.html")),
    (
        "account_link.html",
        include_str!("../templates/account_link.html"),
    ),
    ("portal.css", include_str!("../templates/portal.css")),
    ("meter.js", include_str!("../templates/meter.js")),
];

/// The templates, built-in or overridden.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the templates, those of `folder` first; an override that does
    /// not compile stops the portal at start rather than a page later.
    pub fn new(folder: Option<&Path>) -> Result<Templates, PortalError> {
        let built_in: BTreeMap<&'static str, &'static str> = BUILT_IN.iter().copied().collect();
        let folder: Option<PathBuf> = folder.map(Path::to_path_buf);
        let mut env = Environment::new();
        let overrides = folder.clone();
        env.set_loader(move |name| {
            if let Some(dir) = &overrides {
                let path = dir.join(name);
                // Names are the portal's own (never a request's), so no
                // path leaves the folder.
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, e.to_string())
                    });
                }
            }
            Ok(built_in.get(name).map(|s| (*s).to_owned()))
        });
        for (name, _) in BUILT_IN {
            env.get_template(name).map_err(|e| {
                PortalError::Templates(folder.clone().unwrap_or_default(), format!("{name}: {e}"))
            })?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `context`.
    pub fn render(
        &self,
        name: &str,
        context: impl serde::Serialize,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_institution_replaces_one_template_and_keeps_the_others() {
        let dir = std::env::temp_dir().join(format!("portal-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("portal.css"), ":root { --accent: #8b0000; }").unwrap();
        let templates = Templates::new(Some(&dir)).expect("templates");
        assert!(
            templates
                .render("portal.css", ())
                .unwrap()
                .contains("#8b0000")
        );
        let t = crate::texts::words(crate::language::Language::French);
        let institution = minijinja::context! { name => "Université", helpdesk_url => "" };
        let page = minijinja::context! { t, institution, root => "/x", here => "/x/", message => "refusé" };
        let html = templates.render("error.html", page).expect("built-in page");
        // Autoescaping writes `/` as `&#x2f;` in attributes, as browsers read it.
        assert!(html.contains("refusé") && html.contains(r#"href="&#x2f;x/""#));
        // An override that does not compile stops the portal at start.
        std::fs::write(dir.join("home.html"), "{% block %}").unwrap();
        assert!(matches!(
            Templates::new(Some(&dir)),
            Err(PortalError::Templates(..))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
