//! The person's session: an encrypted, authenticated cookie (AES-256-GCM,
//! the `cookie` crate's private jar) holding the CSRF token of their forms
//! and the secret handle of their activation flow. Nothing of it is
//! readable or forgeable in the browser, and it dies with the browser.

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The session cookie's name (`__Host-`: only over HTTPS, only this host,
/// path `/`); without HTTPS (the quick start, on loopback), a plain name.
const SECURE_NAME: &str = "__Host-session";
const LOOPBACK_NAME: &str = "session";

/// What a session holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Session {
    /// Every form of the session carries it back.
    pub csrf: String,
    /// The activation flow in progress: its institution and token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowHandle>,
    /// A mailed link opened and not yet followed: kept here so that the
    /// address bar shows a clean URL, and spent only by the page's button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<OpenedLink>,
    /// The person signed in to the account page, until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<SignedIn>,
}

/// Who is signed in to the account page, and until when (seconds since
/// the Unix epoch): each page they open moves it on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub institution: String,
    pub login: String,
    pub until: u64,
    /// The password expired: the page asks for a new one first.
    #[serde(default)]
    pub must_change: bool,
}

/// How long a signed-in person may stay idle.
pub const IDLE_LIMIT_SECONDS: u64 = 15 * 60;

/// Seconds since the Unix epoch.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Start activation (Montpellier students).
    Start,
    /// Verify an address during activation.
    Verify,
    /// Set a new password (a forgotten one).
    Reset,
    /// Confirm a new recovery address (account page).
    RecoveryMail,
    /// Confirm a redirect address (account page).
    Redirect,
    /// Answer a request to keep a former student's account.
    Alumni,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenedLink {
    pub institution: String,
    pub kind: LinkKind,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowHandle {
    pub institution: String,
    pub token: String,
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
#[error("the system's random generator failed")]
pub struct NoRandomness;

/// A random token from the operating system, hex.
pub fn random_token() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The key that seals sessions, and whether cookies require HTTPS.
#[derive(Clone)]
pub struct SessionKey {
    key: Key,
    secure: bool,
}

impl SessionKey {
    /// A key of 64 random bytes given as 128 hex digits.
    pub fn from_hex(text: &str, secure: bool) -> Option<SessionKey> {
        let text = text.trim();
        if text.len() != 128 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..64)
            .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        Some(SessionKey {
            key: Key::from(&bytes?),
            secure,
        })
    }

    /// A fresh key (the quick start: sessions end when the portal stops).
    pub fn generate(secure: bool) -> Result<SessionKey, NoRandomness> {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
        Ok(SessionKey {
            key: Key::from(&bytes),
            secure,
        })
    }

    fn name(&self) -> &'static str {
        if self.secure {
            SECURE_NAME
        } else {
            LOOPBACK_NAME
        }
    }

    /// The session a request carries, if it carries a valid one.
    pub fn read(&self, headers: &HeaderMap) -> Option<Session> {
        let mut jar = CookieJar::new();
        for header in headers.get_all(http::header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for cookie in Cookie::split_parse_encoded(text).flatten() {
                jar.add_original(cookie.into_owned());
            }
        }
        let sealed = jar.private(&self.key).get(self.name())?;
        serde_json::from_str(sealed.value()).ok()
    }

    /// The `Set-Cookie` value that stores `session`.
    pub fn write(&self, session: &Session) -> Option<http::HeaderValue> {
        let value = serde_json::to_string(session).ok()?;
        let mut jar = CookieJar::new();
        let cookie = Cookie::build((self.name(), value))
            .path("/")
            .secure(self.secure)
            .http_only(true)
            .same_site(SameSite::Strict)
            .build();
        jar.private_mut(&self.key).add(cookie);
        let sealed = jar.get(self.name())?;
        sealed.encoded().to_string().parse().ok()
    }
}

impl Session {
    /// A new session with its CSRF token.
    pub fn new() -> Result<Session, NoRandomness> {
        Ok(Session {
            csrf: random_token()?,
            flow: None,
            link: None,
            account: None,
        })
    }

    /// The token of the activation flow in progress at institution `code`.
    pub fn flow_token(&self, code: &str) -> Option<String> {
        self.flow
            .as_ref()
            .filter(|f| f.institution == code)
            .map(|f| f.token.clone())
    }

    /// The token of the reset link opened for institution `code`.
    pub fn reset_token(&self, code: &str) -> Option<String> {
        self.link_token(code, LinkKind::Reset)
    }

    /// The token of the link of `kind` opened for institution `code`.
    pub fn link_token(&self, code: &str, kind: LinkKind) -> Option<String> {
        self.link
            .as_ref()
            .filter(|l| l.institution == code && l.kind == kind)
            .map(|l| l.token.clone())
    }

    /// The login signed in at institution `code`, while not idle too long.
    pub fn signed_in(&self, code: &str) -> Option<&SignedIn> {
        self.account
            .as_ref()
            .filter(|a| a.institution == code && a.until > now_seconds())
    }

    /// Whether a form's token is this session's.
    pub fn accepts(&self, typed: &str) -> bool {
        !self.csrf.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(typed.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reads_back_sealed_and_refuses_tampering() {
        let key = SessionKey::generate(true).unwrap();
        let session = Session::new().unwrap();
        let header = key.write(&session).unwrap();
        let cookie = header
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        assert!(header.to_str().unwrap().contains("HttpOnly"));
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        let read = key.read(&headers).expect("session");
        assert!(read.accepts(&session.csrf));
        assert!(!read.accepts("") && !read.accepts("0000"));
        // Another key (another portal) reads nothing.
        assert!(SessionKey::generate(true).unwrap().read(&headers).is_none());
        let mut tampered = cookie.clone();
        tampered.pop();
        tampered.push('A');
        headers.insert(http::header::COOKIE, tampered.parse().unwrap());
        assert!(key.read(&headers).is_none());
    }
}
