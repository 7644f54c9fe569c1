//! The directory side: reading an entry, making it say what `Desired` says
//! with the fewest writes, and the cursor entry. The only code that speaks
//! LDAP (`ldap3`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry};

use crate::SyncError;
use crate::mapping::Desired;
use crate::settings::LdapSyncSettings;

/// LDAP result codes the worker tells apart (RFC 4511).
const SUCCESS: u32 = 0;
const NO_SUCH_OBJECT: u32 = 32;
const NO_SUCH_ATTRIBUTE: u32 = 16;
const VALUE_EXISTS: u32 = 20;
const ALREADY_EXISTS: u32 = 68;

/// ppolicy's lock, an operational attribute read on purpose.
const LOCK_ATTRIBUTE: &str = "pwdAccountLockedTime";

/// What applying one entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Added,
    /// The attributes replaced (and object classes added).
    Modified(Vec<String>),
    Deleted,
    Unchanged,
}

/// What the cursor entry holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// The last change applied; empty before the first.
    pub cursor: String,
    /// `<worker id> <expiry, Unix seconds>`; empty when none.
    pub lease: String,
}

/// A bound connection to the directory.
pub struct Directory {
    ldap: Ldap,
}

impl Directory {
    /// Connects and binds as `settings.bind_dn`, with `tls` (made once at
    /// start by [`tls_config`]) when a CA file is configured.
    pub async fn connect(
        settings: &LdapSyncSettings,
        password: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Directory, SyncError> {
        let mut options = LdapConnSettings::new()
            .set_starttls(settings.starttls)
            .set_conn_timeout(std::time::Duration::from_secs(10));
        if let Some(tls) = tls {
            options = options.set_config(tls);
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(options, &settings.url).await?;
        ldap3::drive!(conn);
        let bound = ldap.simple_bind(&settings.bind_dn, password).await?;
        check(bound, "bind", &settings.bind_dn)?;
        Ok(Directory { ldap })
    }

    /// The entry at `dn` (every user attribute), or `None`.
    pub async fn read(
        &mut self,
        dn: &str,
    ) -> Result<Option<HashMap<String, Vec<String>>>, SyncError> {
        let found = self
            .ldap
            .search(
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["*", "pwdAccountLockedTime"],
            )
            .await?;
        let (entries, result) = (found.0, found.1);
        if result.rc == NO_SUCH_OBJECT {
            return Ok(None);
        }
        check(result, "search", dn)?;
        Ok(entries.into_iter().next().map(|e| {
            let entry = SearchEntry::construct(e);
            // Binary values (a JPEG photo) come apart from text ones: the
            // service only ever wants them gone, so a stand-in per value
            // is enough to see that they are there.
            let binary = entry.bin_attrs.into_iter().map(|(k, v)| {
                let stand_ins = v.iter().map(|b| format!("<{} bytes>", b.len())).collect();
                (k, stand_ins)
            });
            entry
                .attrs
                .into_iter()
                .chain(binary)
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect()
        }))
    }

    /// Makes the entry at `desired.dn()` say what `desired` says.
    pub async fn apply(&mut self, desired: &Desired) -> Result<Outcome, SyncError> {
        let current = self.read(desired.dn()).await?;
        match (desired, current) {
            (Desired::Absent { .. }, None) => Ok(Outcome::Unchanged),
            (Desired::Absent { dn }, Some(_)) => {
                let result = self.ldap.delete(dn).await?;
                check(result, "delete", dn)?;
                Ok(Outcome::Deleted)
            }
            (
                Desired::Entry {
                    dn,
                    object_classes,
                    attributes,
                },
                None,
            ) => {
                let mut add: Vec<(String, HashSet<String>)> = vec![(
                    "objectClass".into(),
                    object_classes.iter().cloned().collect(),
                )];
                add.extend(
                    attributes
                        .iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(n, v)| (n.clone(), v.iter().cloned().collect())),
                );
                let result = self.ldap.add(dn, add).await?;
                check(result, "add", dn)?;
                Ok(Outcome::Added)
            }
            (
                Desired::Entry {
                    dn,
                    object_classes,
                    attributes,
                },
                Some(current),
            ) => {
                let mods = modifications(&current, object_classes, attributes);
                if mods.is_empty() {
                    return Ok(Outcome::Unchanged);
                }
                let names = mods.iter().map(mod_name).collect();
                // ppolicy deletes `pwdAccountLockedTime` itself when a
                // modify sets `userPassword`: the same modify deleting it
                // too is refused (noSuchAttribute). The lock goes first,
                // on its own.
                let (lock, rest): (Vec<_>, Vec<_>) = mods
                    .into_iter()
                    .partition(|m| mod_name(m).eq_ignore_ascii_case(LOCK_ATTRIBUTE));
                for part in [lock, rest].into_iter().filter(|p| !p.is_empty()) {
                    let result = self.ldap.modify(dn, part).await?;
                    check(result, "modify", dn)?;
                }
                Ok(Outcome::Modified(names))
            }
        }
    }

    /// The cursor entry: the feed cursor (`serialNumber`) and the lease
    /// (`description`); `None` before the first run.
    pub async fn sync_state(&mut self, dn: &str) -> Result<Option<SyncState>, SyncError> {
        let Some(entry) = self.read(dn).await? else {
            return Ok(None);
        };
        let first = |name: &str| entry.get(name).and_then(|v| v.first().cloned());
        Ok(Some(SyncState {
            cursor: first("serialnumber").unwrap_or_default(),
            lease: first("description").unwrap_or_default(),
        }))
    }

    /// Takes the lease from `held` (the value read, empty when none) to
    /// `mine`, creating the entry the first time. `false` when another
    /// worker changed it first: the value is deleted by value, which the
    /// directory refuses when it is no longer there (a compare-and-swap).
    pub async fn take_lease(
        &mut self,
        dn: &str,
        held: Option<&str>,
        mine: &str,
    ) -> Result<bool, SyncError> {
        let result = match held {
            None => {
                let cn = first_rdn_value(dn);
                let add = vec![
                    ("objectClass".to_owned(), set(["device"])),
                    ("cn".to_owned(), set([cn.as_str()])),
                    ("description".to_owned(), set([mine])),
                ];
                self.ldap.add(dn, add).await?
            }
            // An entry someone left without a lease.
            Some("") => {
                let add = vec![Mod::Add("description".to_owned(), set([mine]))];
                self.ldap.modify(dn, add).await?
            }
            Some(held) => {
                self.ldap
                    .modify(dn, swap("description", held, mine))
                    .await?
            }
        };
        match result.rc {
            SUCCESS => Ok(true),
            NO_SUCH_ATTRIBUTE | ALREADY_EXISTS | VALUE_EXISTS => Ok(false),
            _ => check(result, "lease", dn).map(|_| false),
        }
    }

    /// Saves the cursor and renews the lease in one modify, which the
    /// directory refuses (`false`) if the lease is no longer `held`.
    pub async fn save_cursor(
        &mut self,
        dn: &str,
        (held, renewed): (&str, &str),
        cursor: &str,
    ) -> Result<bool, SyncError> {
        let mut mods = swap("description", held, renewed);
        let cursor = Some(cursor).filter(|c| !c.is_empty());
        mods.push(Mod::Replace("serialNumber".to_owned(), set(cursor)));
        let result = self.ldap.modify(dn, mods).await?;
        match result.rc {
            SUCCESS => Ok(true),
            NO_SUCH_ATTRIBUTE | VALUE_EXISTS => Ok(false),
            _ => check(result, "cursor save", dn).map(|_| false),
        }
    }

    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

/// TLS that trusts the system's store and the CA in `ca_file`. Reads
/// files: made once, when the worker starts.
pub fn tls_config(ca_file: &std::path::Path) -> Result<rustls::ClientConfig, SyncError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let bad = |e: &dyn std::fmt::Display| {
        SyncError::Setup(format!("ldap_sync.ca_file {}: {e}", ca_file.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as ldap3 does.
        let _ = roots.add(certificate);
    }
    let certificates = CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(&e))?;
    for certificate in certificates {
        roots
            .add(certificate.map_err(|e| bad(&e))?)
            .map_err(|e| bad(&e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The modifications that make `current` say `attributes`, and carry
/// every class of `object_classes`: an attribute is replaced only where
/// its values differ (as sets), so a second pass writes nothing.
fn modifications(
    current: &HashMap<String, Vec<String>>,
    object_classes: &[String],
    attributes: &[(String, Vec<String>)],
) -> Vec<Mod<String>> {
    let mut mods = Vec::new();
    let classes = current.get("objectclass").cloned().unwrap_or_default();
    let missing: HashSet<String> = object_classes
        .iter()
        .filter(|c| !classes.iter().any(|have| have.eq_ignore_ascii_case(c)))
        .cloned()
        .collect();
    if !missing.is_empty() {
        mods.push(Mod::Add("objectClass".into(), missing));
    }
    for (name, values) in attributes {
        let have: HashSet<&str> = current
            .get(&name.to_ascii_lowercase())
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let want: HashSet<&str> = values.iter().map(String::as_str).collect();
        if have != want {
            mods.push(Mod::Replace(name.clone(), values.iter().cloned().collect()));
        }
    }
    mods
}

fn set<'a>(values: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    values.into_iter().map(str::to_owned).collect()
}

/// Replaces the value `old` of `name` by `new` (the same value too),
/// failing if `old` is gone: the modify's steps apply in order.
fn swap(name: &str, old: &str, new: &str) -> Vec<Mod<String>> {
    vec![
        Mod::Delete(name.to_owned(), set([old])),
        Mod::Add(name.to_owned(), set([new])),
    ]
}

fn first_rdn_value(dn: &str) -> String {
    dn.split(',')
        .next()
        .and_then(|rdn| rdn.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

fn mod_name(m: &Mod<String>) -> String {
    match m {
        Mod::Add(n, _) | Mod::Delete(n, _) | Mod::Replace(n, _) => n.clone(),
        Mod::Increment(n, _) => n.clone(),
    }
}

/// A result the directory refused, as an error naming the operation.
fn check(result: LdapResult, operation: &'static str, dn: &str) -> Result<(), SyncError> {
    if result.rc == SUCCESS {
        Ok(())
    } else {
        Err(SyncError::Refused {
            operation,
            dn: dn.to_owned(),
            code: result.rc,
            text: result.text,
        })
    }
}
