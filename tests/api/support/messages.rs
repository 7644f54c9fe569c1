//! The mail and SMS the server wrote, and what they carry (links, codes).

use super::*;

impl TestApp {
    /// The mail files written so far, as text.
    pub fn mails(&self) -> Vec<String> {
        // Oldest first: tests count the mails an address received.
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.mail_folder)
            .map(|dir| {
                dir.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| std::fs::read_to_string(p).expect("readable mail"))
            .collect()
    }

    /// Waits until `count` mails were written (at most five seconds).
    pub async fn wait_for_mails(&self, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, found {}", self.mails().len());
    }
}

/// A mail's text with quoted-printable soft breaks and escapes undone.
pub fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token of the first `/activation/{kind}/<token>` link in a mail
/// (`/{kind}/<token>` when `kind` is a path such as `recovery/reset`).
pub fn link_token(mail: &str, kind: &str) -> String {
    let text = decoded(mail);
    let marker = if kind.contains('/') {
        format!("/{kind}/")
    } else {
        format!("/activation/{kind}/")
    };
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {kind} link in {text}"))
        + marker.len();
    text[start..start + 64].to_owned()
}

/// The 8-digit code a mail's body or an SMS carries after the word "code".
pub fn code_in(text: &str) -> String {
    let text = decoded(text);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(text.as_str(), |(_, b)| b);
    for (at, _) in body.match_indices("code") {
        let digits: String = body[at..]
            .chars()
            .take(40)
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.len() == 8 {
            return digits;
        }
    }
    panic!("no 8-digit code in {body}");
}

impl TestApp {
    /// The SMS written so far, as (to, text), oldest first.
    pub fn sms(&self) -> Vec<(String, String)> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.sms_folder)
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .map(|p| {
                        (
                            std::fs::metadata(&p)
                                .and_then(|m| m.modified())
                                .expect("mtime"),
                            p,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|(_, p)| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("sms")).expect("json");
                (
                    v["to"].as_str().unwrap_or_default().to_owned(),
                    v["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until `count` SMS were written (at most five seconds).
    pub async fn wait_for_sms(&self, count: usize) -> Vec<(String, String)> {
        for _ in 0..100 {
            let sms = self.sms();
            if sms.len() >= count {
                return sms;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} SMS, found {}", self.sms().len());
    }

    /// The mails sent to `address` so far.
    pub fn mails_to(&self, address: &str) -> Vec<String> {
        self.mails()
            .into_iter()
            .filter(|m| m.contains(&format!("To: {address}")))
            .collect()
    }

    /// Waits until `address` received `n` mails; all of them so far.
    pub async fn wait_for_mails_to(&self, address: &str, n: usize) -> Vec<String> {
        self.wait_for_mail_to(address, n).await;
        self.mails_to(address)
    }

    /// Waits for the `n`-th mail (1-based) to `address`.
    pub async fn wait_for_mail_to(&self, address: &str, n: usize) -> String {
        for _ in 0..100 {
            let mails = self.mails_to(address);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} mails to {address}, found {}",
            self.mails_to(address).len()
        );
    }
}
