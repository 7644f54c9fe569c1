//! Turns the sorted word lists of `src/password/wordlists/` into FST sets
//! that the crate embeds: a few hundred kilobytes each, searched without
//! loading.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for name in ["fr", "en", "common-passwords", "breached-passwords"] {
        let source = format!("src/password/wordlists/{name}.txt");
        println!("cargo:rerun-if-changed={source}");
        let text = std::fs::read_to_string(&source)?;
        let mut words: Vec<&str> = text.lines().filter(|w| !w.is_empty()).collect();
        // The lists are committed sorted; sorting again keeps a hand edit safe.
        words.sort_unstable();
        words.dedup();
        let set = fst::Set::from_iter(words)?;
        std::fs::write(out_dir.join(format!("{name}.fst")), set.as_fst().as_bytes())?;
    }
    Ok(())
}
