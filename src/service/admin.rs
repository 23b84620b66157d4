//! `adstore.v1.AdminService`: store figures (read), flush, compaction and dead letters (admin).

use std::collections::BTreeMap;
use std::sync::Arc;

use adstore_proto::v1;
use tonic::{Request, Response, Status};

use super::auth::{Permission, Principal};
use super::{ServiceContext, convert, status};

/// Dead letters listed when the request sets no limit.
const DEFAULT_DEAD_LETTERS: usize = 20;
/// The most dead letters one response lists.
const MAX_DEAD_LETTERS: usize = 10_000;

/// The service.
#[derive(Debug, Clone)]
pub struct AdminSvc {
    ctx: Arc<ServiceContext>,
}

impl AdminSvc {
    /// A service over the shared context.
    pub fn new(ctx: Arc<ServiceContext>) -> AdminSvc {
        AdminSvc { ctx }
    }
}

#[tonic::async_trait]
impl v1::admin_service_server::AdminService for AdminSvc {
    async fn stats(
        &self,
        request: Request<v1::StatsRequest>,
    ) -> Result<Response<v1::StatsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Read)?;
        if principal.campaign_prefixes.is_some() {
            // Store-wide figures would tell an advertiser about the others' traffic.
            return Err(Status::permission_denied(format!(
                "token {:?} is scoped to campaigns: store-wide stats are not available to it",
                principal.name
            )));
        }
        let c = Arc::clone(&self.ctx);
        let stats = tokio::task::spawn_blocking(move || c.store.stats())
            .await
            .map_err(|e| status::join(&e))?;
        Ok(Response::new(convert::stats(&stats)))
    }

    async fn flush(
        &self,
        request: Request<v1::FlushRequest>,
    ) -> Result<Response<v1::FlushResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Admin)?;
        tracing::info!(token = %principal.name, "flush requested");
        let c = Arc::clone(&self.ctx);
        let stats = tokio::task::spawn_blocking(move || c.store.flush().map(|()| c.store.stats()))
            .await
            .map_err(|e| status::join(&e))?
            .map_err(|e| status::storage(&e))?;
        Ok(Response::new(v1::FlushResponse {
            segments: stats.segments as u64,
            segment_rows: stats.segment_rows,
        }))
    }

    async fn compact(
        &self,
        request: Request<v1::CompactRequest>,
    ) -> Result<Response<v1::CompactResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Admin)?;
        tracing::info!(token = %principal.name, "compaction requested");
        let c = Arc::clone(&self.ctx);
        let (merged, stats) = tokio::task::spawn_blocking(move || {
            c.store.flush()?;
            let merged = c.store.compact_all()?;
            Ok::<_, adstore_storage::Error>((merged, c.store.stats()))
        })
        .await
        .map_err(|e| status::join(&e))?
        .map_err(|e| status::storage(&e))?;
        Ok(Response::new(v1::CompactResponse {
            merged_segments: merged as u64,
            segments: stats.segments as u64,
            segment_rows: stats.segment_rows,
        }))
    }

    async fn dead_letters(
        &self,
        request: Request<v1::DeadLettersRequest>,
    ) -> Result<Response<v1::DeadLettersResponse>, Status> {
        Principal::of(&request)?.require(Permission::Admin)?;
        let r = request.into_inner();
        let limit = match r.limit {
            0 => DEFAULT_DEAD_LETTERS,
            n => (n as usize).min(MAX_DEAD_LETTERS),
        };
        let reason = r.reason;
        if !reason.is_empty() && adstore_ingest::RejectReason::parse(&reason).is_none() {
            return Err(Status::invalid_argument(format!(
                "unknown reason {reason:?}"
            )));
        }
        let dir = self.ctx.store.dir().to_path_buf();
        let all = tokio::task::spawn_blocking(move || adstore_ingest::deadletter::read_all(&dir))
            .await
            .map_err(|e| status::join(&e))?
            .map_err(|e| status::ingest(&e))?;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut rows = Vec::new();
        for d in &all {
            let m = convert::dead_letter(d);
            *counts.entry(m.reason.clone()).or_default() += 1;
            if rows.len() < limit && (reason.is_empty() || m.reason == reason) {
                rows.push(m);
            }
        }
        Ok(Response::new(v1::DeadLettersResponse {
            counts: counts.into_iter().collect(),
            total: all.len() as u64,
            rows,
        }))
    }
}
