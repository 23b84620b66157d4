//! The client side of the CLI: `adstore ingest --server` and `adstore query --server` talk to a
//! running `adstore serve` as an ingestion agent and the query service do.
//!
//! - [`Connection`]: a tonic channel (plaintext, or TLS trusting `--ca`) with the bearer token
//!   attached to every call.
//! - `ingest`: files cut into `Append` requests with a producer id and sequence, retried with
//!   backoff on UNAVAILABLE and RESOURCE_EXHAUSTED (the server applies a sequence once).
//! - `query`: `Sql` answers read back from their Arrow IPC stream.

pub mod chunk;
pub mod ingest;
pub mod query;

use std::path::Path;

use adstore_proto::v1::admin_service_client::AdminServiceClient;
use adstore_proto::v1::ingest_service_client::IngestServiceClient;
use adstore_proto::v1::query_service_client::QueryServiceClient;
use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Debug, Clone)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, BearerToken>;

/// A connection to a server.
#[derive(Debug, Clone)]
pub struct Connection {
    channel: Channel,
    token: BearerToken,
    max_message_bytes: usize,
}

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `host:port`, `http://host:port` or `https://host:port`.
    pub server: String,
    /// Bearer token (default: the `ADSTORE_TOKEN` environment variable).
    pub token: Option<String>,
    /// PEM root certificate to trust: connect with TLS.
    pub ca: Option<std::path::PathBuf>,
}

impl Connection {
    /// Connects (lazily: the first call dials, so a server that is not up yet is retried).
    pub fn open(target: &Target) -> anyhow::Result<Connection> {
        let tls = target.ca.is_some() || target.server.starts_with("https://");
        let uri = if target.server.contains("://") {
            target.server.clone()
        } else if tls {
            format!("https://{}", target.server)
        } else {
            format!("http://{}", target.server)
        };
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .with_context(|| format!("server address {uri:?}"))?
            .connect_timeout(std::time::Duration::from_secs(10))
            .tcp_nodelay(true);
        if tls {
            let mut config = ClientTlsConfig::new();
            if let Some(ca) = &target.ca {
                config = config.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let Some(host) = endpoint.uri().host() {
                config = config.domain_name(host.to_string());
            }
            endpoint = endpoint.tls_config(config).context("TLS configuration")?;
        }
        let token = match target
            .token
            .clone()
            .or_else(|| std::env::var("ADSTORE_TOKEN").ok())
        {
            Some(t) => Some(
                format!("Bearer {t}")
                    .parse()
                    .context("the token is not valid in an HTTP header")?,
            ),
            None => None,
        };
        Ok(Connection {
            channel: endpoint.connect_lazy(),
            token: BearerToken(token),
            max_message_bytes: 64 << 20,
        })
    }

    fn authed(&self) -> Authed {
        InterceptedService::new(self.channel.clone(), self.token.clone())
    }

    /// The ingest client.
    pub fn ingest(&self) -> IngestServiceClient<Authed> {
        IngestServiceClient::new(self.authed())
            .max_encoding_message_size(self.max_message_bytes)
            .max_decoding_message_size(self.max_message_bytes)
    }

    /// The query client.
    pub fn query(&self) -> QueryServiceClient<Authed> {
        QueryServiceClient::new(self.authed())
            .max_encoding_message_size(self.max_message_bytes)
            .max_decoding_message_size(self.max_message_bytes)
    }

    /// The admin client.
    pub fn admin(&self) -> AdminServiceClient<Authed> {
        AdminServiceClient::new(self.authed())
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
