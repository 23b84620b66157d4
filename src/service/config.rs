//! [`ServeConfig`]: everything `adstore serve` can be told, from a TOML file
//! (`adstore.example.toml` documents every key) with command-line flags on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Default data directory.
pub const DEFAULT_DATA: &str = "./adstore-data";
/// Default gRPC address.
pub const DEFAULT_GRPC: &str = "127.0.0.1:50051";
/// Default Prometheus address.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9464";

/// The configuration file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    grpc: Option<String>,
    metrics: Option<String>,
    insecure: Option<bool>,
    tls: Option<TlsFile>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    tokens: Vec<TokenConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_message_bytes: Option<usize>,
    max_concurrent_streams: Option<u32>,
    append_queue: Option<usize>,
    append_wait_ms: Option<u64>,
    default_row_limit: Option<u64>,
    max_row_limit: Option<u64>,
    shutdown_grace_secs: Option<u64>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `Append` and `AppendBatch` only.
    Ingest,
    /// Queries and `Stats`.
    Read,
    /// Everything.
    Admin,
}

/// One bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs (the token itself is never logged).
    pub name: String,
    /// The secret the client sends as `authorization: Bearer <token>`.
    pub token: String,
    /// What it may do.
    pub role: Role,
    /// When set, queries see only rows whose campaign_id starts with one of these.
    #[serde(default)]
    pub campaign_prefixes: Option<Vec<String>>,
}

/// TLS material, PEM files.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Limits and backpressure.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest gRPC message accepted or sent.
    pub max_message_bytes: usize,
    /// HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Appends queued for or running in the store at once; the rest wait.
    pub append_queue: usize,
    /// How long an append waits for a queue slot before RESOURCE_EXHAUSTED.
    pub append_wait: Duration,
    /// Rows a query returns when the request sets no limit.
    pub default_row_limit: u64,
    /// The most rows a query may ask for.
    pub max_row_limit: u64,
    /// How long shutdown waits for in-flight requests before closing connections.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_concurrent_streams: 256,
            append_queue: 16,
            append_wait: Duration::from_secs(5),
            default_row_limit: 100_000,
            max_row_limit: 10_000_000,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The resolved configuration of `adstore serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Data directory.
    pub data: PathBuf,
    /// gRPC listen address.
    pub grpc: SocketAddr,
    /// Prometheus listen address.
    pub metrics: SocketAddr,
    /// Allow a non-loopback address without TLS or without tokens.
    pub insecure: bool,
    /// TLS, when configured.
    pub tls: Option<TlsConfig>,
    /// Limits.
    pub limits: Limits,
    /// Bearer tokens; none configured means no authentication.
    pub tokens: Vec<TokenConfig>,
}

/// Flags of `adstore serve`; each overrides the file.
#[derive(Debug, Default)]
pub struct Overrides {
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--grpc`.
    pub grpc: Option<String>,
    /// `--metrics`.
    pub metrics: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
}

impl ServeConfig {
    /// Reads `file` (if given), applies the flags and checks the result.
    pub fn load(file: Option<&Path>, flags: Overrides) -> anyhow::Result<ServeConfig> {
        let parsed: FileConfig = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("config {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let addr = |flag: Option<String>, file: Option<String>, default: &str, what: &str| {
            let text = flag.or(file).unwrap_or_else(|| default.to_string());
            text.parse::<SocketAddr>()
                .with_context(|| format!("{what} address {text:?}"))
        };
        let defaults = Limits::default();
        let l = parsed.limits;
        let limits = Limits {
            max_message_bytes: l.max_message_bytes.unwrap_or(defaults.max_message_bytes),
            max_concurrent_streams: l
                .max_concurrent_streams
                .unwrap_or(defaults.max_concurrent_streams),
            append_queue: l.append_queue.unwrap_or(defaults.append_queue).max(1),
            append_wait: l
                .append_wait_ms
                .map_or(defaults.append_wait, Duration::from_millis),
            default_row_limit: l.default_row_limit.unwrap_or(defaults.default_row_limit),
            max_row_limit: l.max_row_limit.unwrap_or(defaults.max_row_limit),
            shutdown_grace: l
                .shutdown_grace_secs
                .map_or(defaults.shutdown_grace, Duration::from_secs),
        };
        let config = ServeConfig {
            data: flags
                .data
                .or(parsed.data)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            grpc: addr(flags.grpc, parsed.grpc, DEFAULT_GRPC, "gRPC")?,
            metrics: addr(flags.metrics, parsed.metrics, DEFAULT_METRICS, "metrics")?,
            insecure: flags.insecure || parsed.insecure.unwrap_or(false),
            tls: parsed.tls.map(|t| TlsConfig {
                cert: t.cert,
                key: t.key,
            }),
            limits,
            tokens: parsed.tokens,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for t in &self.tokens {
            if t.token.len() < 16 {
                bail!("token {:?}: a token must be at least 16 characters", t.name);
            }
            if !names.insert(&t.name) {
                bail!("token name {:?} is used twice", t.name);
            }
            if t.campaign_prefixes.is_some() && t.role != Role::Read {
                bail!(
                    "token {:?}: campaign_prefixes apply to read tokens only",
                    t.name
                );
            }
        }
        if self.limits.max_message_bytes < 1024 {
            bail!("limits.max_message_bytes must be at least 1024");
        }
        let exposed = |a: &SocketAddr| !a.ip().is_loopback();
        if !self.insecure {
            if exposed(&self.grpc) && (self.tls.is_none() || self.tokens.is_empty()) {
                bail!(
                    "refusing to serve gRPC on non-loopback {} without both TLS and tokens \
                     (configure [tls] and [[tokens]], or pass --insecure)",
                    self.grpc
                );
            }
            if exposed(&self.metrics) {
                bail!(
                    "refusing to serve metrics on non-loopback {} (plain HTTP, no auth); \
                     pass --insecure to allow it",
                    self.metrics
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, flags: Overrides) -> anyhow::Result<ServeConfig> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text)?;
        ServeConfig::load(Some(&path), flags)
    }

    #[test]
    fn the_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("adstore.example.toml");
        let c = ServeConfig::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.tokens.len(), 3);
        assert!(c.tls.is_none());
    }

    #[test]
    fn flags_override_the_file_and_defaults_apply() {
        let c = load_text(
            "grpc = \"127.0.0.1:1\"\n[limits]\nappend_queue = 3\n",
            Overrides {
                grpc: Some("127.0.0.1:2".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.grpc.port(), 2);
        assert_eq!(c.metrics.to_string(), DEFAULT_METRICS);
        assert_eq!(c.limits.append_queue, 3);
        assert_eq!(c.data, PathBuf::from(DEFAULT_DATA));
    }

    #[test]
    fn exposed_addresses_need_tls_and_tokens_or_insecure() {
        let err = load_text("grpc = \"0.0.0.0:50051\"\n", Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
        let ok = load_text(
            "grpc = \"0.0.0.0:50051\"\n",
            Overrides {
                insecure: true,
                ..Overrides::default()
            },
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn bad_tokens_and_unknown_keys_are_refused() {
        assert!(
            load_text(
                "[[tokens]]\nname = \"a\"\ntoken = \"short\"\nrole = \"read\"\n",
                Overrides::default()
            )
            .is_err()
        );
        assert!(
            load_text(
                "[[tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nrole = \"root\"\n",
                Overrides::default()
            )
            .is_err()
        );
        assert!(load_text("[[tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nrole = \"ingest\"\ncampaign_prefixes = [\"x\"]\n", Overrides::default()).is_err());
        assert!(load_text("grcp = \"127.0.0.1:1\"\n", Overrides::default()).is_err());
    }
}
