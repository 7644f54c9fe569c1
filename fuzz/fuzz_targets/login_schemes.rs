#![no_main]

use libfuzzer_sys::fuzz_target;

// Given name, family name and student number, separated by NUL bytes.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts = text.splitn(3, '\0');
        let given = parts.next().unwrap_or_default();
        let family = parts.next().unwrap_or_default();
        let number = parts.next().unwrap_or_default();
        ent_identity::fuzz::login_schemes(given, family, number);
    }
});
