//! The HTTP server: actix-web on its own small thread pool, kept off the dataplane's cores,
//! optionally behind TLS (rustls), serving [`crate::api::dispatch`] for every path.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::{web, App, HttpServer};
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::api::{dispatch, AppState};

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// HTTP worker threads.
    pub threads: usize,
    /// Cores the HTTP threads may run on (not the dataplane's); empty: no restriction.
    pub cores: Vec<usize>,
}

/// A running server.
pub struct Server {
    pub addrs: Vec<SocketAddr>,
    /// What it was started with.
    pub config: ServerConfig,
    handle: actix_web::dev::ServerHandle,
    thread: JoinHandle<io::Result<()>>,
    cert: Option<Arc<CertSlot>>,
}

/// The certificate and key the server presents, replaceable while it runs: a reload after
/// a renewal changes what new handshakes get, and no connection is dropped.
#[derive(Debug)]
struct CertSlot(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

impl Server {
    /// Reads the certificate and key files again and presents them from the next handshake
    /// on. On an error the server keeps the ones it has.
    pub fn reload_tls(&self) -> io::Result<()> {
        match (&self.cert, &self.config.tls) {
            (Some(slot), Some((cert, key))) => {
                slot.0.store(Arc::new(load_certified_key(cert, key)?));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server thread.
    pub fn stop(self) {
        let h = self.handle.clone();
        let _ =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(h.stop(true))).join();
        let _ = self.thread.join();
    }
}

fn load_certified_key(cert: &PathBuf, key: &PathBuf) -> io::Result<CertifiedKey> {
    let bad = |what: &str, p: &PathBuf, e: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TLS {what} {}: {e}", p.display()),
        )
    };
    let certs: Vec<_> = rustls_pemfile::certs(&mut io::BufReader::new(
        std::fs::File::open(cert).map_err(|e| bad("certificate", cert, e.to_string()))?,
    ))
    .collect::<Result<_, _>>()
    .map_err(|e| bad("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(
            "certificate",
            cert,
            "no PEM certificate in the file".into(),
        ));
    }
    let key_der = rustls_pemfile::private_key(&mut io::BufReader::new(
        std::fs::File::open(key).map_err(|e| bad("key", key, e.to_string()))?,
    ))
    .map_err(|e| bad("key", key, e.to_string()))?
    .ok_or_else(|| bad("key", key, "no PEM private key in the file".into()))?;
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| bad("key", key, e.to_string()))?;
    let ck = CertifiedKey::new(certs, signing);
    ck.keys_match()
        .map_err(|e| bad("certificate/key", cert, e.to_string()))?;
    Ok(ck)
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn load_tls(slot: Arc<CertSlot>) -> io::Result<rustls::ServerConfig> {
    Ok(
        rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(slot),
    )
}

/// Restricts the calling thread to `cores` (no-op when empty or impossible).
fn pin_to(cores: &[usize]) {
    if cores.is_empty() {
        return;
    }
    let mut set = nix::sched::CpuSet::new();
    for &c in cores {
        let _ = set.set(c);
    }
    if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
        tracing::warn!(error = %e, "cannot keep the HTTP threads off the dataplane cores");
    }
}

/// Binds and starts serving in a thread of its own (actix's server is not `Send`: it is
/// built on the thread that runs it).
pub fn start(cfg: &ServerConfig, state: web::Data<AppState>) -> io::Result<Server> {
    let config = cfg.clone();
    let cfg = cfg.clone();
    let cert = match &cfg.tls {
        Some((cert, key)) => Some(Arc::new(CertSlot(ArcSwap::from_pointee(
            load_certified_key(cert, key)?,
        )))),
        None => None,
    };
    let tls = cert.clone().map(load_tls).transpose()?;
    type Started = io::Result<(Vec<SocketAddr>, actix_web::dev::ServerHandle)>;
    let (tx, rx) = std::sync::mpsc::channel::<Started>();
    let thread = std::thread::Builder::new()
        .name("airsift-http".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let cores = cfg.cores.clone();
                let server = HttpServer::new(move || {
                    // The factory runs once on each HTTP worker thread as it starts.
                    pin_to(&cores);
                    App::new()
                        .app_data(state.clone())
                        .default_service(web::to(dispatch))
                })
                .workers(cfg.threads.max(1))
                .disable_signals()
                .shutdown_timeout(2);
                let bound = match tls {
                    Some(t) => server.bind_rustls_0_23(&cfg.listen, t),
                    None => server.bind(&cfg.listen),
                };
                let server = match bound {
                    Ok(s) => s,
                    Err(e) => {
                        let msg = format!("cannot listen on {}: {e}", cfg.listen);
                        let _ = tx.send(Err(io::Error::new(e.kind(), msg)));
                        return Ok(());
                    }
                };
                let addrs = server.addrs();
                let running = server.run();
                let _ = tx.send(Ok((addrs, running.handle())));
                running.await
            })
        })?;
    let (addrs, handle) = rx
        .recv()
        .map_err(|_| io::Error::other("the HTTP server thread ended at start"))??;
    Ok(Server {
        addrs,
        config,
        handle,
        thread,
        cert,
    })
}
