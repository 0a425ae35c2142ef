//! `airsift run`'s reload on SIGHUP (`systemctl reload airsift`): the config file is read
//! again and what can change while capture runs changes. A source that stays in the file is
//! not touched (its rings and workers keep running, so it loses no frame); the log moves
//! between two batches of the sink thread; the HTTP server is restarted only when its
//! address or threads change, and a renewed certificate is presented from the next handshake.
//! Settings that cannot change without a restart keep their running value and are named.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web;
use dataplane::sink::log::LogConfig;

use super::run::Settings;
use crate::alerts::watch::DeviceWatch;
use crate::api::AppState;
use crate::datasource::registry::SourceRegistry;
use crate::server::{self, Server, ServerConfig};

/// What a reload acts on.
pub struct Live<'a> {
    pub sources: &'a SourceRegistry,
    pub server: &'a mut Option<Server>,
    pub state: Option<&'a web::Data<AppState>>,
    pub device_watch: &'a mut DeviceWatch,
}

/// One thing a reload did, or could not do.
#[derive(Debug)]
pub struct Note {
    pub error: bool,
    pub text: String,
}

impl Note {
    fn done(text: String) -> Note {
        Note { error: false, text }
    }

    fn failed(text: String) -> Note {
        Note { error: true, text }
    }
}

/// The pcapng log `st` asks for; `names` is the dataplane's (interface names by source).
pub fn log_config(st: &Settings, names: &dataplane::sink::SourceNames) -> Option<LogConfig> {
    st.log_dir.as_ref().map(|dir| LogConfig {
        dir: dir.clone(),
        prefix: "airsift".into(),
        max_bytes: st.log_max_mb << 20,
        max_age: Duration::from_secs(st.log_rotate_secs),
        names: names.clone(),
    })
}

/// Applies `new` over the running settings `now`, which afterwards say what is in force (a
/// change that failed or needs a restart keeps the running value, so the next reload tries
/// or names it again). Returns what to report.
pub fn apply(now: &mut Settings, new: Settings, live: Live<'_>) -> Vec<Note> {
    let mut notes = Vec::new();
    restart_needed(now, &new, &mut notes);
    sources(now, &new, live.sources, &mut notes);
    log(now, &new, live.sources, &mut notes);
    if now.listen.is_some() && new.listen.is_some() {
        api(now, &new, live.server, live.state, &mut notes);
    }
    if now.new_tx_alert != new.new_tx_alert {
        live.device_watch.set_limit(new.new_tx_alert);
        notes.push(Note::done(format!(
            "NEWTXFLOOD threshold {} -> {}",
            now.new_tx_alert, new.new_tx_alert
        )));
        now.new_tx_alert = new.new_tx_alert;
    }
    if notes.is_empty() {
        notes.push(Note::done("nothing changed".into()));
    }
    notes
}

/// Names the changed settings that only a restart applies.
fn restart_needed(now: &Settings, new: &Settings, notes: &mut Vec<Note>) {
    let mut keys: Vec<&str> = Vec::new();
    macro_rules! fixed {
        ($($field:ident),*) => {
            $(if now.$field != new.$field {
                keys.push(stringify!($field));
            })*
        };
    }
    fixed!(
        workers,
        cores,
        link_type,
        fanout,
        block_kib,
        blocks,
        block_timeout_ms,
        xdp_mode,
        xdp_attach,
        xdp_coalesce_us,
        kernel_filter,
        kernel_filter_capacity,
        pace,
        repeat,
        pass_malformed,
        state_dir,
        admin_user,
        admin_password,
        gpsd,
        max_devices,
        track_devices,
        filter
    );
    if now.fleet != new.fleet {
        keys.push("nats");
    }
    if now.listen.is_some() != new.listen.is_some() {
        keys.push("no_api");
    }
    if !keys.is_empty() {
        notes.push(Note::failed(format!(
            "{} changed: kept as running until `systemctl restart airsift` (or a restart of \
             airsift run)",
            keys.join(", ")
        )));
    }
}

/// Closes the sources the file no longer names and opens the ones it names anew; the others
/// are not touched.
fn sources(now: &mut Settings, new: &Settings, reg: &SourceRegistry, notes: &mut Vec<Note>) {
    let mut running: Vec<String> = Vec::new();
    for def in &now.sources {
        if new.sources.contains(def) {
            running.push(def.clone());
            continue;
        }
        // Closed already (over REST) or gone: nothing runs to close.
        if let Some((uuid, false)) = reg.by_definition(def) {
            match reg.close(&uuid) {
                Ok(_) => notes.push(Note::done(format!(
                    "source {def} closed: no longer in the config file"
                ))),
                Err(e) => {
                    notes.push(Note::failed(format!("source {def}: cannot close it: {e}")));
                    running.push(def.clone());
                }
            }
        }
    }
    for def in &new.sources {
        if now.sources.contains(def) {
            continue;
        }
        let result = match reg.by_definition(def) {
            Some((uuid, true)) => reg.open(&uuid).map(|_| "reopened"),
            Some((_, false)) => Ok("already open"),
            None => reg.add(def).map(|_| "opened"),
        };
        match result {
            Ok(how) => {
                notes.push(Note::done(format!("source {def} {how}")));
                running.push(def.clone());
            }
            Err(e) => notes.push(Note::failed(format!("source {def}: {e}"))),
        }
    }
    now.sources = running;
}

/// Moves the log to the new directory or limits.
fn log(now: &mut Settings, new: &Settings, reg: &SourceRegistry, notes: &mut Vec<Note>) {
    let same = now.log_dir == new.log_dir
        && now.log_max_mb == new.log_max_mb
        && now.log_rotate_secs == new.log_rotate_secs;
    if same {
        return;
    }
    let plane = reg.plane();
    match plane.reconfigure_log(log_config(new, plane.names())) {
        Ok(()) => {
            notes.push(Note::done(match &new.log_dir {
                Some(d) => format!(
                    "log in {} (a new file after {} MiB, {} s; 0: no limit)",
                    d.display(),
                    new.log_max_mb,
                    new.log_rotate_secs
                ),
                None => "log closed: no log_dir in the config file".into(),
            }));
            now.log_dir = new.log_dir.clone();
            now.log_max_mb = new.log_max_mb;
            now.log_rotate_secs = new.log_rotate_secs;
        }
        Err(e) => notes.push(Note::failed(format!("the log stays as it was: {e}"))),
    }
}

/// The HTTP server: a new address, thread count or TLS on/off restarts it (the old one stops
/// first, so the same port can be bound again; if the new one cannot start, the old
/// configuration is started again); otherwise the certificate is re-read. The body limit
/// changes in place.
fn api(
    now: &mut Settings,
    new: &Settings,
    server: &mut Option<Server>,
    state: Option<&web::Data<AppState>>,
    notes: &mut Vec<Note>,
) {
    let (Some(running), Some(state)) = (server.as_ref(), state) else {
        return;
    };
    if now.body_limit != new.body_limit {
        state.body_limit.store(new.body_limit, Ordering::Relaxed);
        notes.push(Note::done(format!(
            "request bodies up to {} MiB",
            new.body_limit >> 20
        )));
        now.body_limit = new.body_limit;
    }
    let restart = now.listen != new.listen
        || now.http_threads != new.http_threads
        || now.tls.is_some() != new.tls.is_some();
    if !restart {
        if now.tls != new.tls {
            // Other files: a reload of the certificate from the new paths.
            let mut cfg = running.config.clone();
            cfg.tls = new.tls.clone();
            return restart_server(now, new, cfg, server, state, notes);
        }
        if now.tls.is_some() {
            match running.reload_tls() {
                Ok(()) => notes.push(Note::done("TLS certificate and key read again".into())),
                Err(e) => notes.push(Note::failed(format!("TLS certificate kept as it was: {e}"))),
            }
        }
        return;
    }
    let cfg = ServerConfig {
        listen: new.listen.clone().unwrap_or_default(),
        tls: new.tls.clone(),
        threads: new.http_threads,
        cores: running.config.cores.clone(),
    };
    restart_server(now, new, cfg, server, state, notes);
}

fn restart_server(
    now: &mut Settings,
    new: &Settings,
    cfg: ServerConfig,
    server: &mut Option<Server>,
    state: &web::Data<AppState>,
    notes: &mut Vec<Note>,
) {
    let Some(old) = server.take() else {
        return;
    };
    let old_cfg = old.config.clone();
    old.stop();
    match server::start(&cfg, state.clone()) {
        Ok(s) => {
            for a in &s.addrs {
                let scheme = if cfg.tls.is_some() { "https" } else { "http" };
                notes.push(Note::done(format!("REST API on {scheme}://{a}/")));
            }
            now.listen = new.listen.clone();
            now.http_threads = new.http_threads;
            now.tls = new.tls.clone();
            *server = Some(s);
        }
        Err(e) => {
            notes.push(Note::failed(format!(
                "the REST API cannot move to {}: {e}; it stays on {}",
                cfg.listen, old_cfg.listen
            )));
            match server::start(&old_cfg, state.clone()) {
                Ok(s) => *server = Some(s),
                Err(e) => notes.push(Note::failed(format!(
                    "the REST API could not be restarted on {} either: {e}; it is down until \
                     the next reload or restart",
                    old_cfg.listen
                ))),
            }
        }
    }
}
