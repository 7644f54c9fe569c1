//! A real browser for the portal's tests: Debian's Chromium, headless,
//! driven through chromedriver (WebDriver, the `fantoccini` crate). Each
//! page a journey reaches is saved as a screenshot under
//! `target/portal-screenshots/` and checked by axe-core, which must find no
//! serious or critical violation.
//!
//! Where Chromium, chromedriver or axe-core is missing, a developer's
//! `cargo test` says so in its output and the browser tests pass without
//! running; in CI (`CI=true`) that is a failure. `.ci/run` installs all
//! three (`apt-get install chromium chromium-driver`, `npm --prefix
//! .ci/.tools install axe-core`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// A browser on the portal at `portal`, for one journey.
pub struct Browser {
    client: Client,
    driver: Child,
    portal: String,
    journey: String,
    pages: usize,
    axe: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A program on the `PATH`.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// axe-core's script, where `.ci/run` installs it (or `AXE_CORE_JS`).
fn axe_source() -> Option<String> {
    let path = std::env::var_os("AXE_CORE_JS").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(".ci/.tools/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(path).ok()
}

/// What is missing: a failure in CI, a notice on a developer's machine.
fn missing(what: &str) -> Option<Browser> {
    let message = format!(
        "the portal's browser tests need {what}: apt-get install chromium chromium-driver; \
         npm --prefix .ci/.tools install axe-core@4"
    );
    super::tool_missing(&message);
    None
}

/// Chromium on the portal at `portal`, for `journey` (names its
/// screenshots); `None` where the tools are missing outside CI.
pub async fn open_browser(portal: &str, journey: &str) -> Option<Browser> {
    let Some(chromium) = program("chromium") else {
        return missing("Chromium (/usr/bin/chromium)");
    };
    let Some(chromedriver) = program("chromedriver") else {
        return missing("chromedriver");
    };
    let Some(axe) = axe_source() else {
        return missing("axe-core (.ci/.tools/node_modules/axe-core)");
    };
    let port = super::free_port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1600", "--lang=fr-FR"],
            "prefs": { "intl.accept_languages": "fr-FR,fr" }
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let mut last_error = String::new();
    for _ in 0..100 {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    portal: portal.to_owned(),
                    journey: journey.to_owned(),
                    pages: 0,
                    axe,
                });
            }
            Err(error) => last_error = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer: {last_error}");
}

impl Browser {
    /// Opens `path` of the portal.
    pub async fn open(&mut self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.portal))
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }

    /// The page's address, without the portal's origin.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        url.as_str().trim_start_matches(&self.portal).to_owned()
    }

    /// The text of the page (empty while a page is being replaced).
    pub async fn text(&self) -> String {
        let script = "return document.body ? document.body.innerText : '';";
        match self.client.execute(script, Vec::new()).await {
            Ok(Value::String(text)) => text,
            _ => String::new(),
        }
    }

    /// Types `value` in the input named `name` (replacing what it holds);
    /// a `name` with a space is a CSS selector.
    pub async fn fill(&self, name: &str, value: &str) {
        let css = if name.contains(' ') {
            name.to_owned()
        } else {
            format!(r#"[name="{name}"]"#)
        };
        // Waits for the input: a page loaded by a click may still be on its
        // way when a busy machine runs the next step.
        let input = self
            .client
            .wait()
            .at_most(std::time::Duration::from_secs(10))
            .for_element(Locator::Css(&css))
            .await
            .unwrap_or_else(|e| panic!("no input {name}: {e}"));
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }

    /// Clicks what `css` selects (a box, an option, a button). A box or an
    /// option must then show as chosen: on a busy machine a click can land
    /// while the page still settles, and is then made again.
    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(std::time::Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"));
        let kind = element.attr("type").await.ok().flatten();
        let choice = matches!(kind.as_deref(), Some("checkbox" | "radio"));
        for _ in 0..3 {
            element
                .click()
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
            if !choice {
                return;
            }
            for _ in 0..20 {
                if element.is_selected().await.unwrap_or(false) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        panic!("{css} never showed as chosen");
    }

    /// Submits the first form `form` selects with its button, as a person
    /// would.
    pub async fn submit(&self, form: &str) {
        let form = self
            .client
            .find(Locator::Css(form))
            .await
            .unwrap_or_else(|e| panic!("no form {form}: {e}"));
        let button = form
            .find(Locator::Css(r#"button[type="submit"]"#))
            .await
            .expect("its button");
        button.click().await.expect("submit");
    }

    /// Types `value` in the input named `name` of the form `form` selects
    /// (a name several forms share: the current password).
    pub async fn fill_in(&self, form: &str, name: &str, value: &str) {
        self.fill(&format!(r#"{form} [name="{name}"]"#), value)
            .await;
    }

    /// Waits until the page's text holds `wanted` (a page loading, the
    /// meter answering); panics with the page's text after a few seconds.
    pub async fn wait_for(&self, wanted: &str) {
        for _ in 0..100 {
            if self.text().await.contains(wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never saw {wanted:?} in:\n{}", self.text().await);
    }

    /// Saves the page's screenshot as `target/portal-screenshots/{journey}-{n}-{name}.png`
    /// and checks it with axe-core.
    pub async fn check(&mut self, name: &str) {
        self.pages += 1;
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/portal-screenshots");
        std::fs::create_dir_all(&folder).expect("screenshots folder");
        let png = self.client.screenshot().await.expect("screenshot");
        let file = folder.join(format!("{}-{:02}-{name}.png", self.journey, self.pages));
        std::fs::write(&file, png).expect("screenshot saved");
        self.accessible(name).await;
    }

    /// axe-core finds no serious or critical violation on the page.
    async fn accessible(&self, name: &str) {
        self.client
            .execute(&self.axe, Vec::new())
            .await
            .expect("axe-core loads");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] }).then(
              (r) => done(r.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => v.id + " (" + v.impact + "): " + v.nodes.map((n) => n.target.join(" ")).join(", "))),
              (e) => done(["axe failed: " + e]));
        "#;
        let found = self
            .client
            .execute_async(script, Vec::new())
            .await
            .expect("axe-core runs");
        let violations: Vec<String> = serde_json::from_value(found).expect("a list");
        assert!(
            violations.is_empty(),
            "{} {name}: {violations:#?}",
            self.journey
        );
    }

    /// Ends the session (the driver stops when dropped).
    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
    }
}
