//! A private OpenLDAP server for the LDAP sync worker's tests: Debian's
//! slapd on a free loopback port with its own database, the argon2 module,
//! and the schemas a SupAnn directory loads (core, cosine, inetOrgPerson,
//! nis, the eduPerson part in `deploy/ldap/`, SupAnn 2021).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ldap3::{LdapConnAsync, Scope, SearchEntry};

/// The test directory's suffix and administrator.
pub const SUFFIX: &str = "dc=univ,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=univ,dc=test";
pub const ADMIN_PASSWORD: &str = "admin-secret";

const SLAPD: &str = "/usr/sbin/slapd";
const MODULES: &str = "/usr/lib/ldap";
const SYSTEM_SCHEMAS: &str = "/etc/ldap/schema";

/// A running slapd; stopped when dropped.
pub struct Slapd {
    child: Child,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS server certificate for slapd: its CA, certificate and key (PEM).
pub struct SlapdTls {
    pub ca: String,
    pub certificate: String,
    pub key: String,
}

/// The TLS lines of slapd.conf (global, before the database), its files
/// written in `dir`.
fn tls_config(dir: &Path, tls: Option<&SlapdTls>) -> String {
    let Some(tls) = tls else {
        return String::new();
    };
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("TLS file");
        path.display().to_string()
    };
    format!(
        "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
        write("ca.pem", &tls.ca),
        write("server.pem", &tls.certificate),
        write("server.key", &tls.key)
    )
}

fn config(dir: &Path, ppolicy: bool, tls: Option<&SlapdTls>) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schemas = ["core", "cosine", "inetorgperson", "nis"]
        .map(|s| format!("include {SYSTEM_SCHEMAS}/{s}.schema\n"))
        .concat();
    let ours = ["eduperson-minimal", "supann-2021"]
        .map(|s| {
            format!(
                "include {}\n",
                repo.join("deploy/ldap")
                    .join(format!("{s}.schema"))
                    .display()
            )
        })
        .concat();
    let (ppolicy_module, ppolicy_overlay) = if ppolicy {
        (
            "moduleload ppolicy\n",
            "overlay ppolicy\nppolicy_default \"cn=default-policy,dc=univ,dc=test\"\n",
        )
    } else {
        ("", "")
    };
    let tls = tls_config(dir, tls);
    format!(
        "{schemas}{ours}{tls}modulepath {MODULES}\nmoduleload back_mdb\nmoduleload argon2\n{ppolicy_module}\
         pidfile {dir}/slapd.pid\n\
         database mdb\nmaxsize 104857600\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
         rootpw {ADMIN_PASSWORD}\ndirectory {dir}/db\n{ppolicy_overlay}",
        dir = dir.display()
    )
}

/// slapd in the foreground on `url`, its log in the folder.
fn spawn(dir: &Path, url: &str) -> Child {
    let log = std::fs::File::create(dir.join("slapd.log")).expect("log file");
    Command::new(SLAPD)
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(format!("{url}/"))
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("slapd starts")
}

impl Slapd {
    /// Stops the server (its data stays) for as long as `outage`, then
    /// starts it again on the same address.
    pub async fn outage(&mut self, outage: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        tokio::time::sleep(outage).await;
        self.child = spawn(self.dir.path(), &self.url);
        self.wait_until_ready().await;
    }

    /// Starts a slapd with an empty directory holding the suffix and one
    /// people branch per name of `branches` (`ou=<name>`); `None` where
    /// slapd is not installed (a failure in CI).
    pub async fn start(branches: &[&str], ppolicy: bool) -> Option<Slapd> {
        Slapd::start_with(branches, ppolicy, None).await
    }

    /// The same, speaking TLS (StartTLS) with `tls`.
    pub async fn start_with(
        branches: &[&str],
        ppolicy: bool,
        tls: Option<&SlapdTls>,
    ) -> Option<Slapd> {
        if !Path::new(SLAPD).exists() || !Path::new(MODULES).join("argon2.so").exists() {
            super::tool_missing(
                "the LDAP worker's tests need Debian's slapd: apt-get install slapd ldap-utils",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("slapd folder");
        std::fs::create_dir(dir.path().join("db")).expect("db folder");
        let conf = dir.path().join("slapd.conf");
        std::fs::write(&conf, config(dir.path(), ppolicy, tls)).expect("slapd.conf");
        let port = super::free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let child = spawn(dir.path(), &url);
        let slapd = Slapd { child, url, dir };
        slapd.wait_until_ready().await;
        slapd.add_base(branches).await;
        if ppolicy {
            slapd.add_policy().await;
        }
        Some(slapd)
    }

    async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if LdapConnAsync::new(&self.url).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("slapd did not start on {}", self.url);
    }

    async fn add_base(&self, branches: &[&str]) {
        let mut ldap = self.admin().await;
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ldap.add(
            SUFFIX,
            vec![
                (
                    "objectClass".to_string(),
                    set(&["dcObject", "organization"]),
                ),
                ("o".to_string(), set(&["univ"])),
                ("dc".to_string(), set(&["univ"])),
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("suffix");
        for branch in branches {
            ldap.add(
                &format!("ou={branch},{SUFFIX}"),
                vec![
                    ("objectClass".to_string(), set(&["organizationalUnit"])),
                    ("ou".to_string(), set(&[branch])),
                ],
            )
            .await
            .and_then(|r| r.success())
            .expect("branch");
        }
    }

    /// ppolicy enforces `pwdAccountLockedTime` only on entries a policy
    /// with `pwdLockout` governs: the default one.
    async fn add_policy(&self) {
        let mut ldap = self.admin().await;
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ldap.add(
            &format!("cn=default-policy,{SUFFIX}"),
            vec![
                (
                    "objectClass".to_string(),
                    set(&["applicationProcess", "pwdPolicy"]),
                ),
                ("cn".to_string(), set(&["default-policy"])),
                ("pwdAttribute".to_string(), set(&["userPassword"])),
                // Locks take effect only with pwdLockout (slapo-ppolicy(5)).
                ("pwdLockout".to_string(), set(&["TRUE"])),
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("default policy");
    }

    /// A connection bound as the administrator.
    pub async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await.expect("connect");
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
            .await
            .and_then(|r| r.success())
            .expect("admin bind");
        ldap
    }

    /// Whether `dn` binds with `password`.
    pub async fn binds(&self, dn: &str, password: &str) -> bool {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await.expect("connect");
        ldap3::drive!(conn);
        let result = ldap.simple_bind(dn, password).await.expect("bind answered");
        let _ = ldap.unbind().await;
        result.rc == 0
    }

    /// The entry at `dn` (user and lock attributes; a binary value as
    /// `<N bytes>`), or `None`.
    pub async fn entry(&self, dn: &str) -> Option<HashMap<String, Vec<String>>> {
        let mut ldap = self.admin().await;
        let found = ldap
            .search(
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["*", "pwdAccountLockedTime"],
            )
            .await
            .expect("search");
        if found.1.rc == 32 {
            return None;
        }
        let entries = found.success().expect("search result").0;
        entries.into_iter().next().map(|e| {
            let entry = SearchEntry::construct(e);
            let binary = entry.bin_attrs.into_iter().map(|(k, v)| {
                (
                    k,
                    v.iter().map(|b| format!("<{} bytes>", b.len())).collect(),
                )
            });
            entry.attrs.into_iter().chain(binary).collect()
        })
    }

    /// The DNs under `base`, one level.
    pub async fn children(&self, base: &str) -> Vec<String> {
        let mut ldap = self.admin().await;
        let found = ldap
            .search(base, Scope::OneLevel, "(objectClass=*)", vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .expect("search");
        found
            .0
            .into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .collect()
    }

    /// Where the test writes the worker's secrets.
    pub fn folder(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}
