//! Code generated from `proto/ent/identity/v1/*.proto`.

#![allow(clippy::large_enum_variant, clippy::enum_variant_names)]

tonic::include_proto!("ent.identity.v1");

/// Encoded descriptors of the API, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("ent_identity_descriptor");

/// How a client (the portal, the LDAP worker) reaches the API.
pub mod client {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

    /// TLS beyond the system's trust store.
    #[derive(Debug, Clone, Default)]
    pub struct ClientTls {
        /// A CA (PEM) the API's certificate may chain to.
        pub ca_pem: Option<String>,
        /// The client's certificate and key (PEM), for mutual TLS.
        pub identity_pem: Option<(String, String)>,
    }

    /// The API at `url`: plain text for `http://`; for `https://`, TLS
    /// checked against the system's trust store (rustls-native-certs:
    /// `SSL_CERT_FILE` may name a file) and `tls.ca_pem`, with the client's
    /// certificate when given. Connect it lazily or at once.
    pub fn endpoint(url: &str, tls: ClientTls) -> Result<Endpoint, String> {
        let endpoint =
            Endpoint::from_shared(url.to_owned()).map_err(|_| format!("{url:?} is not a URL"))?;
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        let mut config = ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = tls.ca_pem {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((certificate, key)) = tls.identity_pem {
            config = config.identity(Identity::from_pem(certificate, key));
        }
        endpoint
            .tls_config(config)
            .map_err(|e| format!("{url}: {e}"))
    }
}
