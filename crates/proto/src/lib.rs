//! Code generated from `proto/ent/identity/v1/*.proto`.

#![allow(clippy::large_enum_variant, clippy::enum_variant_names)]

tonic::include_proto!("ent.identity.v1");

/// Encoded descriptors of the API, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("ent_identity_descriptor");
