//! The language of a page: the one the person chose with the switch (a
//! cookie), else the first of `Accept-Language` the portal speaks, else
//! French.

use http::HeaderMap;

/// The languages of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    French,
    English,
}

/// The cookie that keeps the person's choice.
pub const COOKIE: &str = "lang";

impl Language {
    /// The code the API reads in `accept-language` and pages in `lang`.
    pub fn code(self) -> &'static str {
        match self {
            Language::French => "fr",
            Language::English => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Language::French),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Language {
        match self {
            Language::French => Language::English,
            Language::English => Language::French,
        }
    }

    /// The page's language from its request's headers.
    pub fn of(headers: &HeaderMap) -> Language {
        chosen(headers)
            .or_else(|| accepted(headers))
            .unwrap_or(Language::French)
    }
}

fn chosen(headers: &HeaderMap) -> Option<Language> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| Language::parse(value))
}

/// The first language of `Accept-Language` the portal speaks, by the
/// order of preference (`q`) the browser gives.
fn accepted(headers: &HeaderMap) -> Option<Language> {
    let header = headers.get(http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut ranked: Vec<(f32, Language)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let language = Language::parse(parts.next()?)?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, language))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map(|(_, language)| *language)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_switch_wins_over_the_browser_which_wins_over_french() {
        assert_eq!(Language::of(&headers(&[])), Language::French);
        let english = headers(&[("accept-language", "de-DE, en-GB;q=0.8, fr;q=0.5")]);
        assert_eq!(Language::of(&english), Language::English);
        let switched = headers(&[("accept-language", "en-GB"), ("cookie", "other=1; lang=fr")]);
        assert_eq!(Language::of(&switched), Language::French);
    }
}
