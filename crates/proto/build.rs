//! Compiles the gRPC API in the repository's `proto/` with a vendored
//! `protoc`, so a machine with only the Rust toolchain builds the service
//! and its clients.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let include = protoc_bin_vendored::include_path()?;
    let root = PathBuf::from("../../proto");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos: Vec<PathBuf> = [
        "common",
        "activation",
        "recovery",
        "mail_redirection",
        "account_settings",
        "account_lifecycle",
        "helpdesk",
        "guests",
    ]
    .iter()
    .map(|name| root.join(format!("ent/identity/v1/{name}.proto")))
    .collect();
    tonic_prost_build::configure()
        // RPCs a later piece of work implements answer UNIMPLEMENTED until then.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out_dir.join("ent_identity_descriptor.bin"))
        .compile_protos(&protos, &[root.clone(), include])?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
