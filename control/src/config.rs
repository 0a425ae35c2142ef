//! `airsift run` settings: command-line flags over a TOML file (`--config`) over defaults, with
//! secrets from the environment over both. The file's keys are the flags' long names with
//! underscores (`log_dir = "/var/log/airsift"`); see `examples/airsift.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// A key that takes one string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// The TOML file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// One definition or a list of them.
    pub source: Option<OneOrMany>,
    pub workers: Option<usize>,
    pub cores: Option<Vec<usize>>,
    pub link_type: Option<String>,
    pub log_dir: Option<PathBuf>,
    pub log_max_mb: Option<u64>,
    pub log_rotate_secs: Option<u64>,
    pub filter: Option<PathBuf>,
    pub pace: Option<bool>,
    #[serde(rename = "loop")]
    pub repeat: Option<bool>,
    pub fanout: Option<String>,
    pub block_kib: Option<usize>,
    pub blocks: Option<usize>,
    pub block_timeout_ms: Option<u64>,
    pub xdp_mode: Option<String>,
    pub xdp_attach: Option<String>,
    pub xdp_coalesce_us: Option<u64>,
    /// `on` or `off`.
    pub kernel_filter: Option<String>,
    pub kernel_filter_capacity: Option<u32>,
    pub pass_malformed: Option<bool>,
    pub listen: Option<String>,
    pub no_api: Option<bool>,
    pub state_dir: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub body_limit_mb: Option<u64>,
    pub http_threads: Option<usize>,
    pub admin_user: Option<String>,
    pub gpsd: Option<String>,
    pub admin_password: Option<String>,
    pub admin_password_file: Option<PathBuf>,
    pub max_devices: Option<usize>,
    pub no_track_devices: Option<bool>,
    pub new_tx_alert: Option<u64>,
    /// One NATS server URL or a list of them: the fleet (API.md section 7).
    pub nats: Option<OneOrMany>,
    pub nats_credentials: Option<PathBuf>,
    pub nats_tls_ca: Option<PathBuf>,
    pub nats_tls_cert: Option<PathBuf>,
    pub nats_tls_key: Option<PathBuf>,
    pub host_id: Option<String>,
    pub fleet_scan_format: Option<crate::fleet::ScanFormat>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
    }
}

/// The environment variable that holds the admin password (over the config file's).
pub const ADMIN_PASSWORD_ENV: &str = "AIRSIFT_ADMIN_PASSWORD";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/airsift.toml");
        let c = FileConfig::load(&p).unwrap();
        assert_eq!(
            c.source.map(OneOrMany::into_vec),
            Some(vec!["tpacket:wlan0mon:name=roof".to_string()])
        );
    }

    #[test]
    fn source_is_one_definition_or_a_list() {
        let one: FileConfig = toml::from_str("source = \"tpacket:a\"").unwrap();
        assert_eq!(one.source.unwrap().into_vec(), ["tpacket:a"]);
        let many: FileConfig = toml::from_str("source = [\"tpacket:a\", \"b:name=x\"]").unwrap();
        assert_eq!(many.source.unwrap().into_vec(), ["tpacket:a", "b:name=x"]);
        assert!(toml::from_str::<FileConfig>("source = 5").is_err());
    }

    /// The package's `/etc/airsift/airsift.toml` names every key (most commented out), each
    /// spelled so that the file still parses with all of them uncommented.
    #[test]
    fn the_packaged_config_has_every_key() {
        let text = include_str!("../debian/airsift.toml");
        let settings: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter(|l| {
                l.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                })
            })
            .collect();
        let all = settings.join("\n");
        toml::from_str::<FileConfig>(&all).unwrap_or_else(|e| panic!("{e}\n{all}"));
        let keys: Vec<&str> = settings
            .iter()
            .map(|l| l.split(" = ").next().unwrap())
            .collect();
        let src = include_str!("config.rs");
        let body = &src[src.find("pub struct FileConfig {").unwrap()..];
        let body = &body[..body.find("\n}").unwrap()];
        let fields: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub "))
            .filter_map(|l| l.split_once(':').map(|(k, _)| k))
            .map(|k| if k == "repeat" { "loop" } else { k })
            .collect();
        assert!(fields.len() > 30, "{fields:?}");
        for f in fields {
            assert!(keys.contains(&f), "the packaged config lacks {f}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<FileConfig>("lsiten = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lsiten"), "{e}");
    }
}
