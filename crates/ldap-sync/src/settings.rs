//! The worker's configuration: the `[ldap_sync]` section, validated before
//! anything is written (docs/integrating/ldap.md).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the worker reaches the API and the directory, and what it writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSyncSettings {
    /// The gRPC API (`http://` or `https://`).
    pub api_url: String,
    /// A file holding the worker's bearer token (a client with the
    /// `ldap_sync` role).
    pub api_token_file: PathBuf,
    /// With `https://`: a CA (PEM) the API's certificate may chain to,
    /// besides the system's trust store.
    #[serde(default)]
    pub api_ca_file: Option<PathBuf>,
    /// For mutual TLS with the API (`auth.clients.NAME.certificate_sha256`):
    /// the worker's certificate and key (PEM).
    #[serde(default)]
    pub api_client_certificate_file: Option<PathBuf>,
    #[serde(default)]
    pub api_client_key_file: Option<PathBuf>,
    /// The directory: `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// With `ldaps://` or StartTLS: a CA (PEM) the directory's certificate
    /// may chain to, besides the system's trust store.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The DN the worker binds as (write access to the people bases).
    pub bind_dn: String,
    /// A file holding its password.
    pub bind_password_file: PathBuf,
    /// The entry keeping the feed cursor (a `device`: the cursor in
    /// `serialNumber`, the lease of the worker writing in `description`).
    /// Kept in the directory so that a restored directory brings back the
    /// cursor that matches its data.
    pub cursor_dn: String,
    /// How expiry and locks stop binds.
    #[serde(default)]
    pub lock: LockMode,
    /// What a purge leaves.
    #[serde(default)]
    pub purge: PurgeMode,
    /// Attributes the directory's schema lacks: never written (slapd
    /// rejects a whole modify naming an unknown attribute).
    #[serde(default = "default_omitted")]
    pub omit_attributes: Vec<String>,
    /// ESUP-Activ coexistence: write `shadowLastChange` (and the
    /// `shadowAccount` class) when a password is set, never before
    /// activation (ESUP-Activ reads its presence as "activated").
    #[serde(default)]
    pub esup_activ: bool,
    /// How often the feed is read when there was nothing new.
    #[serde(default = "default_poll", with = "formats::duration")]
    pub poll_interval: Duration,
    /// How long the lease of the cursor entry lasts without renewal: one
    /// worker writes at a time, another takes over this long after it
    /// stops renewing (each change applied renews it).
    #[serde(default = "default_lease", with = "formats::duration")]
    pub lease: Duration,
    /// The longest wait between retries when the API or the directory
    /// fails.
    #[serde(default = "default_max_backoff", with = "formats::duration")]
    pub max_backoff: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; none when
    /// unset.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// The institutions this directory holds, by code. Changes of other
    /// institutions are passed over.
    pub institutions: BTreeMap<String, InstitutionDirectory>,
}

/// Where an institution's people live and what their entries carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionDirectory {
    /// The people branch, for example `ou=people,dc=univ-tours,dc=fr`.
    pub people_base: String,
    /// The RDN attribute: `uid` gives `uid={login},{people_base}`.
    #[serde(default = "default_rdn")]
    pub rdn_attribute: String,
    /// Object classes of new entries (and added to existing ones).
    #[serde(default = "default_classes")]
    pub object_classes: Vec<String>,
    /// `eduPersonPrincipalName` = `{login}@{principal_domain}` (a login that
    /// is already an address is used as it is); none when unset.
    #[serde(default)]
    pub principal_domain: Option<String>,
    /// `supannEtablissement`, for example `{UAI}0370800U`.
    #[serde(default)]
    pub etablissement: Option<String>,
    /// `eduPersonAffiliation` by profile code; a profile not named gets
    /// `student`+`member` or `employee`+`staff`+`member` by its kind.
    #[serde(default)]
    pub affiliations: BTreeMap<String, Vec<String>>,
}

/// How the directory stops a password from binding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Remove `userPassword`; an unlock or extension writes it back.
    #[default]
    RemovePassword,
    /// Set ppolicy's `pwdAccountLockedTime` (the overlay must be loaded);
    /// `userPassword` stays.
    Ppolicy,
}

/// What a purge leaves in the directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurgeMode {
    /// A schema-valid entry without personal data (`cn`/`sn` = login,
    /// `{COMPTE}I:SupannSupprDonnees`), so that the login is never reused.
    #[default]
    Tombstone,
    /// Delete the entry.
    Delete,
}

fn default_omitted() -> Vec<String> {
    vec!["mailDeliveryOption".into()]
}

fn default_poll() -> Duration {
    Duration::from_secs(1)
}

fn default_lease() -> Duration {
    Duration::from_secs(30)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(60)
}

fn default_rdn() -> String {
    "uid".into()
}

fn default_classes() -> Vec<String> {
    [
        "inetOrgPerson",
        "eduPerson",
        "supannPerson",
        "supannRessource",
    ]
    .map(String::from)
    .to_vec()
}

impl LdapSyncSettings {
    /// What is wrong with the settings, as `(key, message)`; empty when
    /// they can be used.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |key: &str, message: &str| out.push((key.to_owned(), message.to_owned()));
        if !(self.url.starts_with("ldap://") || self.url.starts_with("ldaps://")) {
            bad("ldap_sync.url", "use ldap://host:port or ldaps://host:port");
        }
        if self.starttls && self.url.starts_with("ldaps://") {
            bad("ldap_sync.starttls", "StartTLS is for ldap:// addresses");
        }
        if !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://")) {
            bad("ldap_sync.api_url", "use http:// or https://");
        }
        if self.api_client_certificate_file.is_some() != self.api_client_key_file.is_some() {
            bad(
                "ldap_sync.api_client_key_file",
                "give both the client certificate and its key, or neither",
            );
        }
        if !looks_like_dn(&self.bind_dn) {
            bad("ldap_sync.bind_dn", "not a DN");
        }
        if !looks_like_dn(&self.cursor_dn) {
            bad("ldap_sync.cursor_dn", "not a DN");
        }
        if self.lease < Duration::from_secs(5) {
            bad("ldap_sync.lease", "at least 5s");
        }
        if self.institutions.is_empty() {
            bad("ldap_sync.institutions", "name at least one institution");
        }
        for (code, i) in &self.institutions {
            let key = |k: &str| format!("ldap_sync.institutions.{code}.{k}");
            if !looks_like_dn(&i.people_base) {
                bad(&key("people_base"), "not a DN");
            }
            if i.rdn_attribute.is_empty()
                || !i.rdn_attribute.chars().all(|c| c.is_ascii_alphanumeric())
            {
                bad(&key("rdn_attribute"), "an attribute name");
            }
            if i.object_classes.is_empty() {
                bad(&key("object_classes"), "name at least one object class");
            }
        }
        out
    }
}

fn looks_like_dn(text: &str) -> bool {
    text.split(',').all(|rdn| {
        rdn.split_once('=')
            .is_some_and(|(a, v)| !a.trim().is_empty() && !v.trim().is_empty())
    })
}
