//! TLS for client listeners: certificates from PEM files, chosen by SNI.
//!
//! A custom domain's certificate answers for its name (a `*.example.com` certificate for its
//! subdomains); other names get the listener's default certificate. The set is swapped on
//! reload like the snapshot, so new certificates apply to new handshakes without a restart.

use arc_swap::ArcSwap;
use archway_model::{CertificatePaths, Model};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Certificates {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl Certificates {
    /// Loads every certificate the model names. Errors name the file.
    pub fn load(model: &Model) -> Result<Certificates, String> {
        let mut c = Certificates::default();
        if let Some(paths) = model
            .settings
            .tls
            .as_ref()
            .and_then(|t| t.default_certificate.as_ref())
        {
            c.default = Some(load_pair(paths)?);
        }
        for d in &model.domain_names {
            if let Some(paths) = &d.certificate {
                c.by_name.insert(d.name.clone(), load_pair(paths)?);
            }
        }
        if c.default.is_none() {
            // Without a default, the first domain's certificate answers unknown names.
            c.default = model
                .domain_names
                .iter()
                .find_map(|d| c.by_name.get(&d.name).cloned());
        }
        Ok(c)
    }

    fn resolve_name(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = name {
            let name = name.to_ascii_lowercase();
            if let Some(k) = self.by_name.get(&name) {
                return Some(k.clone());
            }
            if let Some((_, parent)) = name.split_once('.') {
                if let Some(k) = self.by_name.get(&format!("*.{parent}")) {
                    return Some(k.clone());
                }
            }
        }
        self.default.clone()
    }
}

fn load_pair(p: &CertificatePaths) -> Result<Arc<CertifiedKey>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&p.cert_file)
        .map_err(|e| format!("{}: {e}", p.cert_file.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", p.cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate in the file",
            p.cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&p.key_file)
        .map_err(|e| format!("{}: {e}", p.key_file.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{}: {e}", p.key_file.display()))?;
    Ok(Arc::new(CertifiedKey::new(certs, signing)))
}

/// The SNI resolver listeners use; [`CertStore::replace`] swaps its certificates.
#[derive(Debug, Default)]
pub struct CertStore {
    current: ArcSwap<Certificates>,
}

impl CertStore {
    pub fn new(c: Certificates) -> CertStore {
        CertStore {
            current: ArcSwap::from_pointee(c),
        }
    }

    pub fn replace(&self, c: Certificates) {
        self.current.store(Arc::new(c));
    }

    /// A rustls server config that resolves through this store and offers h2 and http/1.1.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load().resolve_name(hello.server_name())
    }
}
