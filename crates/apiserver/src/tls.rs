//! Credentials of a cluster: a CA generated at first start, the serving certificate it signs, and
//! the bearer token; kept in the data directory so a restart resumes the same cluster.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("failed to {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error(
        "the TLS material in {dir} is unusable ({reason}); delete those files to regenerate them"
    )]
    Invalid { dir: PathBuf, reason: String },
}

/// What the server needs to serve TLS and check tokens, and what a kubeconfig carries.
pub struct Credentials {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub token: String,
}

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.crt";
const SERVER_KEY: &str = "server.key";
const TOKEN: &str = "token";

fn read(dir: &Path, file: &str) -> Result<Option<String>, CredentialsError> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CredentialsError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Writes a secret file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<(), CredentialsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |action, source| CredentialsError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io("create", e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io("write", e))?;
    // rename is atomic: readers see the old file or the whole new one, never a partial file.
    std::fs::rename(&tmp, path).map_err(|e| io("rename", e))
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "everynode-ca");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(params)
}

impl Credentials {
    /// Loads the credentials from `dir`, generating whatever is missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, CredentialsError> {
        let (ca_pem, ca_key) = match (read(dir, CA_CERT)?, read(dir, CA_KEY)?) {
            (Some(cert), Some(key)) => (cert, key),
            _ => {
                let key = KeyPair::generate()?;
                let cert = ca_params()?.self_signed(&key)?;
                write_private(&dir.join(CA_KEY), &key.serialize_pem())?;
                write_private(&dir.join(CA_CERT), &cert.pem())?;
                // A new CA invalidates any old serving certificate.
                let _ = std::fs::remove_file(dir.join(SERVER_CERT));
                (cert.pem(), key.serialize_pem())
            }
        };
        let (cert_pem, key_pem) = match (read(dir, SERVER_CERT)?, read(dir, SERVER_KEY)?) {
            (Some(cert), Some(key)) => (cert, key),
            _ => {
                let ca_key = KeyPair::from_pem(&ca_key).map_err(|e| CredentialsError::Invalid {
                    dir: dir.to_owned(),
                    reason: format!("{CA_KEY}: {e}"),
                })?;
                let issuer = Issuer::new(ca_params()?, ca_key);
                let key = KeyPair::generate()?;
                let mut params =
                    CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
                params
                    .distinguished_name
                    .push(DnType::CommonName, "everynode-apiserver");
                params.not_before = rcgen::date_time_ymd(2024, 1, 1);
                params.not_after = rcgen::date_time_ymd(2124, 1, 1);
                let cert = params.signed_by(&key, &issuer)?;
                write_private(&dir.join(SERVER_KEY), &key.serialize_pem())?;
                write_private(&dir.join(SERVER_CERT), &cert.pem())?;
                (cert.pem(), key.serialize_pem())
            }
        };
        let token = match read(dir, TOKEN)? {
            Some(token) if !token.trim().is_empty() => token.trim().to_owned(),
            _ => {
                let bytes: [u8; 32] = rand::random();
                let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&dir.join(TOKEN), &token)?;
                token
            }
        };
        Ok(Self {
            ca_pem,
            cert_pem,
            key_pem,
            token,
        })
    }

    /// The rustls server configuration, offering HTTP/2 and HTTP/1.1 by ALPN.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("server certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| format!("server key: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A kubeconfig that kubectl and client libraries use as is.
    pub fn kubeconfig(&self, port: u16) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: everynode
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority-data: {ca}
contexts:
- name: everynode
  context:
    cluster: everynode
    user: everynode
current-context: everynode
users:
- name: everynode
  user:
    token: {token}
",
            token = self.token
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_persist_across_loads_and_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Credentials::load_or_create(dir.path()).expect("create");
        let second = Credentials::load_or_create(dir.path()).expect("load");
        assert_eq!(first.token, second.token);
        assert_eq!(first.ca_pem, second.ca_pem);
        assert!(first.server_config().is_ok());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(TOKEN))
            .expect("token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn serving_certificate_is_reissued_from_the_same_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Credentials::load_or_create(dir.path()).expect("create");
        std::fs::remove_file(dir.path().join(SERVER_CERT)).expect("remove");
        let second = Credentials::load_or_create(dir.path()).expect("reissue");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_ne!(first.cert_pem, second.cert_pem);
    }
}
