//! The language of the messages a caller reads: French unless the request's
//! `accept-language` metadata prefers English.

/// A language the service writes its messages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    French,
    English,
}

impl Language {
    /// Reads an HTTP `Accept-Language` value (`en-GB,en;q=0.9,fr;q=0.8`):
    /// the supported language with the highest weight wins, the earlier one
    /// on a tie; French when none is supported or the value is unreadable.
    pub fn from_accept_language(header: &str) -> Language {
        let mut best: Option<(f32, Language)> = None;
        for item in header.split(',').take(16) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or("");
            let language = match primary {
                "fr" => Language::French,
                "en" => Language::English,
                _ => continue,
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q));
            let Some(weight) = weight.filter(|w| *w > 0.0) else {
                continue;
            };
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// The language's code (`fr`, `en`), as stored and as requests name it.
    pub fn code(self) -> &'static str {
        match self {
            Language::French => "fr",
            Language::English => "en",
        }
    }

    /// The language a code names; `None` for another code.
    pub fn from_code(code: &str) -> Option<Language> {
        match code {
            "fr" => Some(Language::French),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, french: &'a str, english: &'a str) -> &'a str {
        match self {
            Language::French => french,
            Language::English => english,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Language::{self, *};

    #[test]
    fn reads_accept_language() {
        for (header, expected) in [
            ("", French),
            ("en", English),
            ("en-GB,en;q=0.9", English),
            ("fr-FR,fr;q=0.9,en;q=0.8", French),
            ("de,en;q=0.5", English),
            ("en;q=0.4,fr;q=0.6", French),
            ("en;q=0", French),
            ("en;q=bogus", French),
            ("*", French),
        ] {
            assert_eq!(Language::from_accept_language(header), expected, "{header}");
        }
    }
}
