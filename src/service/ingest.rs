//! `adstore.v1.IngestService`: raw payloads decoded by adstore_ingest or typed events, rejects
//! to the dead-letter store, accepted rows to `Store::append_with_producer` (exactly once per
//! producer and sequence), a response only once the rows are durable.
//!
//! Backpressure: every request takes a slot of the bounded append queue before it is decoded;
//! when no slot frees up within `limits.append_wait` it fails with RESOURCE_EXHAUSTED and a
//! `retry-after-ms` hint, so memory is bounded by queue slots × message size.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use adstore_ingest::{Chunk, Format, Rejected, decode};
use adstore_proto::v1::{self, append_request::Body};
use adstore_storage::{EventBatch, ProducerAppend};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Permission, Principal};
use super::metrics::Source;
use super::{ServiceContext, convert, status};

/// First rejects listed in a response.
const MAX_LISTED_REJECTS: usize = 100;

/// The service.
#[derive(Debug, Clone)]
pub struct IngestSvc {
    ctx: Arc<ServiceContext>,
}

impl IngestSvc {
    /// A service over the shared context.
    pub fn new(ctx: Arc<ServiceContext>) -> IngestSvc {
        IngestSvc { ctx }
    }
}

/// What one request did.
#[derive(Debug, Default)]
struct RequestOutcome {
    accepted: u64,
    duplicates: u64,
    rejects: Vec<Rejected>,
    already_applied: bool,
    high_water: u64,
}

/// The response being built over a stream.
#[derive(Debug, Default)]
struct Totals {
    response: v1::AppendResponse,
    by_reason: BTreeMap<&'static str, u64>,
}

impl Totals {
    fn add(&mut self, index: u64, o: RequestOutcome) {
        let r = &mut self.response;
        r.requests += 1;
        r.accepted += o.accepted;
        r.duplicates += o.duplicates;
        r.rejected += o.rejects.len() as u64;
        r.already_applied += u64::from(o.already_applied);
        r.high_water_sequence = o.high_water;
        for rej in o.rejects {
            *self.by_reason.entry(rej.reason.as_str()).or_default() += 1;
            if r.first_rejects.len() < MAX_LISTED_REJECTS {
                r.first_rejects.push(v1::Reject {
                    request_index: index,
                    position: rej.position,
                    reason: rej.reason.as_str().to_string(),
                    detail: rej.detail,
                });
            }
        }
    }

    fn finish(mut self) -> v1::AppendResponse {
        self.response.rejected_by_reason = self
            .by_reason
            .into_iter()
            .map(|(reason, count)| v1::RejectCount {
                reason: reason.to_string(),
                count,
            })
            .collect();
        self.response
    }
}

#[tonic::async_trait]
impl v1::ingest_service_server::IngestService for IngestSvc {
    async fn append(
        &self,
        request: Request<Streaming<v1::AppendRequest>>,
    ) -> Result<Response<v1::AppendResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Ingest)?;
        let _inflight = self.ctx.metrics.stream();
        let mut stream = request.into_inner();
        let mut totals = Totals::default();
        let mut index = 0u64;
        while let Some(req) = stream.next().await {
            let outcome = apply(&self.ctx, req?).await.inspect_err(|s| {
                tracing::debug!(token = %principal.name, request = index, code = ?s.code(), message = s.message(), "append stream failed");
            })?;
            totals.add(index, outcome);
            index += 1;
        }
        let r = totals.finish();
        tracing::debug!(token = %principal.name, requests = r.requests, accepted = r.accepted,
            duplicates = r.duplicates, rejected = r.rejected, already_applied = r.already_applied, "append stream done");
        Ok(Response::new(r))
    }

    async fn append_batch(
        &self,
        request: Request<v1::AppendRequest>,
    ) -> Result<Response<v1::AppendResponse>, Status> {
        Principal::of(&request)?.require(Permission::Ingest)?;
        let _inflight = self.ctx.metrics.stream();
        let outcome = apply(&self.ctx, request.into_inner()).await?;
        let mut totals = Totals::default();
        totals.add(0, outcome);
        Ok(Response::new(totals.finish()))
    }
}

/// Waits for a queue slot, then decodes and appends one request on a blocking thread.
async fn apply(
    ctx: &Arc<ServiceContext>,
    req: v1::AppendRequest,
) -> Result<RequestOutcome, Status> {
    let started = Instant::now();
    let wait = ctx.limits.append_wait;
    let permit =
        match tokio::time::timeout(wait, Arc::clone(&ctx.append_queue).acquire_owned()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(Status::unavailable("the server is shutting down")),
            Err(_) => {
                ctx.metrics.resource_exhausted();
                let mut s = Status::resource_exhausted(format!(
                    "the store is behind: no append slot freed within {} ms; retry later",
                    wait.as_millis()
                ));
                let hint = (wait.as_millis() / 2).max(100).to_string();
                if let Ok(v) = hint.parse() {
                    s.metadata_mut().insert("retry-after-ms", v);
                }
                return Err(s);
            }
        };
    let c = Arc::clone(ctx);
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        apply_blocking(&c, req)
    })
    .await
    .map_err(|e| status::join(&e))??;
    ctx.metrics.append_latency(started.elapsed());
    Ok(outcome)
}

fn apply_blocking(ctx: &ServiceContext, req: v1::AppendRequest) -> Result<RequestOutcome, Status> {
    let producer = match (req.producer_id.as_str(), req.sequence) {
        ("", None) => None,
        ("", Some(_)) => return Err(Status::invalid_argument("sequence without producer_id")),
        (_, None) => return Err(Status::invalid_argument("producer_id without sequence")),
        (id, Some(seq)) => Some((id, seq)),
    };
    let (batch, rejects, source, format, metric_source) = match req.body {
        Some(Body::Raw(raw)) => {
            let format = convert::format(raw.format)?;
            let source = if raw.source.is_empty() {
                "grpc".to_string()
            } else {
                raw.source
            };
            let mut chunk = decode_bytes(ctx, &source, format, raw.data)?;
            for r in &mut chunk.rejects {
                r.position += raw.line_offset;
            }
            let m = match format {
                Format::Json => Source::JsonLines,
                Format::Csv => Source::Csv,
                Format::Avro => Source::Avro,
            };
            (chunk.batch, chunk.rejects, source, format, m)
        }
        Some(Body::Events(events)) => {
            let (batch, rejects) =
                convert::typed_events(&events.events, ctx.decode_options.ts_range);
            let source = match producer {
                Some((id, seq)) => format!("grpc:{id}:{seq}"),
                None => "grpc:typed".to_string(),
            };
            (batch, rejects, source, Format::Json, Source::Typed)
        }
        None => {
            return Err(Status::invalid_argument(
                "request has neither raw nor events",
            ));
        }
    };
    // A retry of an applied request: no dead letters, no append (checked again, atomically, by
    // the store; this early look only spares the dead-letter writes).
    if let Some((id, seq)) = producer
        && let Some(mark) = ctx.store.producer_high_water(id)
        && seq <= mark
    {
        return finish_already_applied(ctx, &batch, id, seq, mark);
    }
    // Dead letters before the rows: a crash in between leaves dead letters whose retry is
    // deduplicated by the dead-letter store, never rows without their rejects.
    if !rejects.is_empty() {
        let mut dl = ctx
            .dead_letters
            .lock()
            .map_err(|_| Status::internal("dead-letter writer poisoned"))?;
        for r in &rejects {
            dl.append(&source, format, r)
                .map_err(|e| status::ingest(&e))?;
        }
        dl.sync().map_err(|e| status::ingest(&e))?;
    }
    let (accepted, duplicates, already) = match producer {
        Some((id, seq)) => match ctx
            .store
            .append_with_producer(&batch, id, seq)
            .map_err(|e| status::storage(&e))?
        {
            ProducerAppend::Applied(o) => (o.accepted, o.duplicates, None),
            ProducerAppend::AlreadyApplied { high_water } => (0, 0, Some(high_water)),
        },
        None => {
            let o = ctx.store.append(&batch).map_err(|e| status::storage(&e))?;
            (o.accepted, o.duplicates, None)
        }
    };
    if let Some(mark) = already {
        ctx.metrics.already_applied();
        return Ok(RequestOutcome {
            already_applied: true,
            high_water: mark,
            ..RequestOutcome::default()
        });
    }
    ctx.metrics
        .rows(metric_source, accepted, duplicates, rejects.len() as u64);
    for r in &rejects {
        ctx.metrics.reject(r.reason);
    }
    Ok(RequestOutcome {
        accepted,
        duplicates,
        rejects,
        already_applied: false,
        high_water: producer.map_or(0, |(_, seq)| seq),
    })
}

fn finish_already_applied(
    ctx: &ServiceContext,
    batch: &EventBatch,
    id: &str,
    seq: u64,
    mark: u64,
) -> Result<RequestOutcome, Status> {
    // Through the store, which waits until the record that set the mark is durable.
    let high_water = match ctx
        .store
        .append_with_producer(&EventBatch::new(), id, seq)
        .map_err(|e| status::storage(&e))?
    {
        ProducerAppend::AlreadyApplied { high_water } => high_water,
        // Unreachable while marks only grow, but if it ever applied, it applied an empty batch
        // and the real rows must go in under this same sequence: refuse rather than lose them.
        ProducerAppend::Applied(_) => {
            return Err(Status::aborted(format!(
                "producer {id} sequence {seq}: mark {mark} moved unexpectedly ({} rows not stored); retry",
                batch.len()
            )));
        }
    };
    ctx.metrics.already_applied();
    Ok(RequestOutcome {
        already_applied: true,
        high_water,
        ..RequestOutcome::default()
    })
}

/// Decodes one whole payload (plain, gzip or zstd). A damaged payload is refused whole.
fn decode_bytes(
    ctx: &ServiceContext,
    source: &str,
    format: Format,
    data: adstore_proto::prost::bytes::Bytes,
) -> Result<Chunk, Status> {
    let len = data.len() as u64;
    let input = decode::Input::from_reader(
        Path::new(source),
        Box::new(Cursor::new(data)),
        len,
        Arc::new(AtomicU64::new(0)),
    )
    .map_err(|e| status::ingest(&e))?;
    let mut decoder =
        decode::decoder_for(input, format, &ctx.decode_options).map_err(|e| status::ingest(&e))?;
    let (chunk, result) = decode::decode_all(decoder.as_mut());
    result.map_err(|e| status::ingest(&e))?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::config::Limits;

    fn context(dir: &Path, queue: usize) -> Arc<ServiceContext> {
        let store =
            adstore_storage::Store::open(dir, adstore_storage::StoreOptions::default()).unwrap();
        Arc::new(ServiceContext {
            store: Arc::new(store),
            dead_letters: std::sync::Mutex::new(
                adstore_ingest::deadletter::DeadLetterWriter::open(dir).unwrap(),
            ),
            metrics: Arc::default(),
            append_queue: Arc::new(tokio::sync::Semaphore::new(queue)),
            limits: Limits {
                append_wait: std::time::Duration::from_millis(20),
                ..Limits::default()
            },
            decode_options: adstore_ingest::DecodeOptions::default(),
        })
    }

    fn json_request(lines: &str, line_offset: u64, seq: Option<u64>) -> v1::AppendRequest {
        v1::AppendRequest {
            body: Some(Body::Raw(v1::RawPayload {
                format: v1::Format::JsonLines as i32,
                data: lines.as_bytes().to_vec().into(),
                source: "agent.jsonl".into(),
                line_offset,
            })),
            producer_id: if seq.is_some() {
                "p".into()
            } else {
                String::new()
            },
            sequence: seq,
        }
    }

    const GOOD: &str = r#"{"event_id":"e1","ts":"2025-11-15T10:00:00Z","campaign_id":"cmp-1","creative_id":"cr-1","user_id":"u-1","site":"a.example","country":"US","device":"mobile","os":"ios","cost":"0.5"}"#;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_full_queue_gives_resource_exhausted_with_a_retry_hint() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), 0);
        let err = rt()
            .block_on(apply(&ctx, json_request(GOOD, 0, None)))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        assert!(err.metadata().get("retry-after-ms").is_some());
        assert_eq!(ctx.store.stats().memtable_rows, 0);
    }

    #[test]
    fn rejects_carry_file_positions_and_a_sequence_applies_once() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), 2);
        let rt = rt();
        let payload = format!("{GOOD}\n{{not json\n");
        let o = rt
            .block_on(apply(&ctx, json_request(&payload, 100, Some(1))))
            .unwrap();
        assert_eq!((o.accepted, o.rejects.len()), (1, 1));
        assert_eq!(o.rejects[0].position, 102);
        let again = rt
            .block_on(apply(&ctx, json_request(&payload, 100, Some(1))))
            .unwrap();
        assert!(again.already_applied && again.accepted == 0 && again.rejects.is_empty());
        let letters = adstore_ingest::deadletter::read_all(dir.path()).unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            (letters[0].source.as_str(), letters[0].position),
            ("agent.jsonl", 102)
        );
    }

    #[test]
    fn a_damaged_payload_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), 1);
        let mut req = json_request(GOOD, 0, None);
        if let Some(Body::Raw(raw)) = &mut req.body {
            raw.format = v1::Format::Avro as i32;
        }
        let err = rt().block_on(apply(&ctx, req)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
        assert_eq!(ctx.store.stats().memtable_rows, 0);
    }
}
