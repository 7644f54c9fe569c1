//! Compiles the gRPC API in `proto/` with a vendored `protoc`, so a machine
//! with only the Rust toolchain builds the service.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let include = protoc_bin_vendored::include_path()?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos: Vec<PathBuf> = [
        "common",
        "activation",
        "recovery",
        "mail_redirection",
        "account_settings",
        "account_lifecycle",
    ]
    .iter()
    .map(|name| PathBuf::from(format!("proto/ent/identity/v1/{name}.proto")))
    .collect();
    tonic_prost_build::configure()
        // RPCs a later piece of work implements answer UNIMPLEMENTED until then.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out_dir.join("ent_identity_descriptor.bin"))
        .compile_protos(&protos, &[PathBuf::from("proto"), include])?;
    println!("cargo:rerun-if-changed=proto");
    build_word_sets(&out_dir)?;
    Ok(())
}

/// Turns the sorted word lists of `src/domain/password/wordlists/` into FST sets that the
/// binary embeds: a few hundred kilobytes each, searched without loading.
fn build_word_sets(out_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    for name in ["fr", "en", "common-passwords"] {
        let source = format!("src/domain/password/wordlists/{name}.txt");
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
