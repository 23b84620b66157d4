//! `adstore serve`: the gRPC service (tonic) in front of storage, ingest and query.
//!
//! - `config`: [`ServeConfig`], the TOML file and the flags.
//! - `auth`: bearer tokens, roles, campaign scopes (an interceptor on every adstore service).
//! - `ingest`, `query`, `admin`: the three adstore.v1 services.
//! - `convert`: proto ↔ domain conversions (nowhere else do the two meet).
//! - `status`: library errors → gRPC status codes.
//! - `metrics`: Prometheus text at `/metrics`.
//!
//! Besides the adstore services the server runs `grpc.health.v1.Health` and server reflection
//! v1. [`Server::start`] binds and runs it in the current tokio runtime; [`Server::shutdown`]
//! stops accepting, lets in-flight requests finish (up to the configured grace), then flushes
//! the store.

pub mod admin;
pub mod auth;
pub mod config;
pub mod convert;
pub mod ingest;
pub mod metrics;
pub mod query;
pub mod status;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use adstore_ingest::DecodeOptions;
use adstore_ingest::deadletter::DeadLetterWriter;
use adstore_proto::v1::admin_service_server::AdminServiceServer;
use adstore_proto::v1::ingest_service_server::IngestServiceServer;
use adstore_proto::v1::query_service_server::QueryServiceServer;
use adstore_storage::{Store, StoreOptions};
use anyhow::Context;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, ServerTlsConfig};

pub use config::{Overrides, ServeConfig};

/// What every service shares.
#[derive(Debug)]
pub struct ServiceContext {
    /// The open store.
    pub store: Arc<Store>,
    /// Rejected rows go here.
    pub dead_letters: Mutex<DeadLetterWriter>,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// The bounded queue between the services and the store.
    pub append_queue: Arc<Semaphore>,
    /// Limits.
    pub limits: config::Limits,
    /// How payloads are decoded.
    pub decode_options: DecodeOptions,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// The bound metrics address.
    pub metrics_addr: SocketAddr,
    ctx: Arc<ServiceContext>,
    health: tonic_health::server::HealthReporter,
    stop: Option<oneshot::Sender<()>>,
    grpc: JoinHandle<Result<(), tonic::transport::Error>>,
    metrics: JoinHandle<std::io::Result<()>>,
    grace: std::time::Duration,
}

impl Server {
    /// Opens the store and starts serving (in the current tokio runtime).
    pub async fn start(config: ServeConfig) -> anyhow::Result<Server> {
        let data = config.data.clone();
        let (store, dead_letters) = tokio::task::spawn_blocking(move || {
            let store = Store::open(&data, StoreOptions::default())
                .with_context(|| format!("opening store {}", data.display()))?;
            let dl = DeadLetterWriter::open(&data).context("opening the dead-letter store")?;
            anyhow::Ok((store, dl))
        })
        .await??;
        let ctx = Arc::new(ServiceContext {
            store: Arc::new(store),
            dead_letters: Mutex::new(dead_letters),
            metrics: Arc::new(metrics::Metrics::default()),
            append_queue: Arc::new(Semaphore::new(config.limits.append_queue)),
            limits: config.limits.clone(),
            decode_options: DecodeOptions::default(),
        });

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<IngestServiceServer<ingest::IngestSvc>>()
            .await;
        health
            .set_serving::<QueryServiceServer<query::QuerySvc>>()
            .await;
        health
            .set_serving::<AdminServiceServer<admin::AdminSvc>>()
            .await;
        // Reflection v1, and v1alpha for the clients that know only it (grpcio-reflection).
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(adstore_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection()
            .build_v1()
            .context("building the reflection service")?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .context("building the reflection service")?;

        let max = config.limits.max_message_bytes;
        let auth = auth::Authenticator::new(&config.tokens);
        let ingest_svc = IngestServiceServer::new(ingest::IngestSvc::new(Arc::clone(&ctx)))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let query_svc = QueryServiceServer::new(query::QuerySvc::new(Arc::clone(&ctx)))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let admin_svc = AdminServiceServer::new(admin::AdminSvc::new(Arc::clone(&ctx)))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);

        let mut builder = tonic::transport::Server::builder()
            .max_concurrent_streams(config.limits.max_concurrent_streams);
        if let Some(tls) = &config.tls {
            let cert = std::fs::read(&tls.cert)
                .with_context(|| format!("reading TLS certificate {}", tls.cert.display()))?;
            let key = std::fs::read(&tls.key)
                .with_context(|| format!("reading TLS key {}", tls.key.display()))?;
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
                .context("TLS configuration")?;
        }
        let router = builder
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(InterceptedService::new(ingest_svc, auth.clone()))
            .add_service(InterceptedService::new(query_svc, auth.clone()))
            .add_service(InterceptedService::new(admin_svc, auth));

        let grpc_listener = tokio::net::TcpListener::bind(config.grpc)
            .await
            .with_context(|| format!("binding gRPC address {}", config.grpc))?;
        let grpc_addr = grpc_listener.local_addr()?;
        let metrics_listener = tokio::net::TcpListener::bind(config.metrics)
            .await
            .with_context(|| format!("binding metrics address {}", config.metrics))?;
        let metrics_addr = metrics_listener.local_addr()?;

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (metrics_stop_tx, metrics_stop_rx) = oneshot::channel::<()>();
        let incoming =
            tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        let grpc = tokio::spawn(async move {
            let result = router
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stop_rx.await;
                })
                .await;
            let _ = metrics_stop_tx.send(());
            result
        });
        let metrics = tokio::spawn(metrics::serve_metrics(
            metrics_listener,
            Arc::clone(&ctx.metrics),
            Arc::clone(&ctx.store),
            async {
                let _ = metrics_stop_rx.await;
            },
        ));
        tracing::info!(
            grpc = %grpc_addr,
            metrics = %metrics_addr,
            data = %config.data.display(),
            tls = config.tls.is_some(),
            tokens = config.tokens.len(),
            "adstore serving"
        );
        Ok(Server {
            grpc_addr,
            metrics_addr,
            ctx,
            health,
            stop: Some(stop_tx),
            grpc,
            metrics,
            grace: config.limits.shutdown_grace,
        })
    }

    /// Graceful shutdown: health NOT_SERVING, stop accepting, let in-flight requests finish
    /// (at most the grace period), stop the metrics endpoint, flush the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        self.health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        self.health
            .set_not_serving::<IngestServiceServer<ingest::IngestSvc>>()
            .await;
        self.health
            .set_not_serving::<QueryServiceServer<query::QuerySvc>>()
            .await;
        self.health
            .set_not_serving::<AdminServiceServer<admin::AdminSvc>>()
            .await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(self.grace, &mut self.grpc).await {
            Ok(joined) => joined.context("gRPC server task")?.context("gRPC server")?,
            Err(_) => {
                tracing::warn!(
                    grace_secs = self.grace.as_secs(),
                    "in-flight requests still running after the grace period; closing them \
                     (their acknowledged rows are durable)"
                );
                self.grpc.abort();
            }
        }
        self.metrics.abort();
        // Queued appends see a closed queue and fail UNAVAILABLE.
        self.ctx.append_queue.close();
        let store = Arc::clone(&self.ctx.store);
        tokio::task::spawn_blocking(move || store.flush())
            .await?
            .context("final flush")?;
        let stats = self.ctx.store.stats();
        tracing::info!(
            segments = stats.segments,
            rows = stats.segment_rows,
            "flushed; stopped"
        );
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("termination signal received");
}

/// A multi-threaded tokio runtime for the server or a client command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("adstore-rt")
        .build()
        .context("starting the tokio runtime")
}
