//! `airsift fleet tail`: the fleet's events as JSON lines, from the stream `AIRSIFT`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::fleet::events::STREAM;
use crate::fleet::scan_event::{compact_headers, scan_json};

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Print the fleet's events (scan reports, device changes, statistics) as one JSON object
    /// per line: subject, stream sequence, time, message id and the event.
    Tail(TailArgs),
}

#[derive(Args, Debug)]
pub struct TailArgs {
    /// NATS server URLs (comma-separated).
    #[arg(
        long,
        value_name = "URL[,URL...]",
        value_delimiter = ',',
        required = true
    )]
    pub nats: Vec<String>,
    /// Only events on this subject (wildcards allowed), e.g. `airsift.scan.>`.
    #[arg(long, default_value = "airsift.>")]
    pub subject: String,
    /// Start from the oldest event the stream holds, not from the next one.
    #[arg(long)]
    pub all: bool,
    /// Exit after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Exit when no event arrived for this many seconds (after the first, or from the start).
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<u64>,
    #[command(flatten)]
    pub auth: NatsAuth,
}

/// How to authenticate to the NATS servers: `run --nats` and `fleet tail` take the same flags.
#[derive(Args, Debug, Clone, Default)]
pub struct NatsAuth {
    /// A NATS credentials file (JWT and NKey seed).
    #[arg(long, value_name = "FILE")]
    pub nats_credentials: Option<PathBuf>,
    /// CA certificate (PEM) that signed the NATS servers' certificates; requires TLS.
    #[arg(long, value_name = "PEM")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients (needs --nats-tls-key).
    #[arg(long, value_name = "PEM", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// The PEM private key of --nats-tls-cert.
    #[arg(long, value_name = "PEM", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,
}

pub fn run(cmd: FleetCommand) -> Result<std::process::ExitCode> {
    let FleetCommand::Tail(args) = cmd;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(tail(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn tail(a: TailArgs) -> Result<()> {
    let cfg = crate::fleet::FleetConfig {
        urls: a.nats.clone(),
        credentials: a.auth.nats_credentials.clone(),
        tls_ca: a.auth.nats_tls_ca.clone(),
        tls_cert: a.auth.nats_tls_cert.clone(),
        tls_key: a.auth.nats_tls_key.clone(),
        host_id: String::new(),
        scan_format: Default::default(),
    };
    let opts = cfg
        .secure(async_nats::ConnectOptions::new().name("airsift fleet tail"))
        .await
        .map_err(anyhow::Error::msg)?;
    let urls: Vec<async_nats::ServerAddr> = a
        .nats
        .iter()
        .map(|u| u.parse().with_context(|| format!("--nats {u:?}")))
        .collect::<Result<_>>()?;
    let client = opts.connect(urls).await.context("cannot connect to NATS")?;
    let js = async_nats::jetstream::new(client);
    let stream = js
        .get_stream(STREAM)
        .await
        .with_context(|| format!("no stream {STREAM}: no airsift host has published yet"))?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: a.subject.clone(),
            deliver_policy: if a.all {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .context("cannot follow the stream")?;
    let mut messages = consumer
        .messages()
        .await
        .context("cannot follow the stream")?;
    // Ready: a reader that starts this command and then causes events can wait for this line
    // on standard error.
    eprintln!("airsift: fleet tail: following {STREAM} {}", a.subject);
    let mut seen = 0u64;
    let out = std::io::stdout();
    loop {
        let next = match a.idle_exit {
            Some(s) => match tokio::time::timeout(Duration::from_secs(s), messages.next()).await {
                Ok(n) => n,
                Err(_) => return Ok(()),
            },
            None => messages.next().await,
        };
        let Some(m) = next else {
            return Ok(());
        };
        let m = m.context("reading the stream")?;
        let (seq, time) = m
            .info()
            .map(|i| {
                (
                    i.stream_sequence,
                    i.published.unix_timestamp_nanos() as f64 / 1e9,
                )
            })
            .unwrap_or((0, 0.0));
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_string());
        let data: Value = match m.headers.as_ref().and_then(compact_headers) {
            Some((host, seq, part)) => {
                serde_json::from_slice(&scan_json(host, seq, part, &m.payload))
            }
            None => serde_json::from_slice(&m.payload),
        }
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&m.payload).into_owned()));
        let line = json!({
            "subject": m.subject.as_str(),
            "seq": seq,
            "time": time,
            "id": id,
            "data": data,
        });
        let mut o = out.lock();
        writeln!(o, "{line}")?;
        o.flush()?;
        seen += 1;
        if a.count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
    }
}
