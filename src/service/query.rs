//! `adstore.v1.QueryService`: SQL text or the structured model to a [`Query`], restricted to a
//! scoped token's campaigns, executed on a store snapshot, streamed back as one Arrow IPC
//! stream cut into messages (schema first, then about a record batch each).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use adstore_proto::v1;
use adstore_query::{ColumnId, ExecOptions, Expr, Query, QueryResult};
use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::auth::{Permission, Principal};
use super::metrics::{QueryKind, StreamGuard};
use super::{ServiceContext, convert, status};

/// The service.
#[derive(Debug, Clone)]
pub struct QuerySvc {
    ctx: Arc<ServiceContext>,
}

impl QuerySvc {
    /// A service over the shared context.
    pub fn new(ctx: Arc<ServiceContext>) -> QuerySvc {
        QuerySvc { ctx }
    }
}

/// A query's encoded answer, handed to the transport one message at a time; it counts in
/// `adstore_inflight_streams` until the transport drops it, sent or abandoned.
///
/// The messages are all made before the first is sent, so the stream only hands them out:
/// no task of its own and no channel, whose hand-offs could each wake another thread of the
/// runtime per answer.
pub struct ResponseStream {
    messages: std::vec::IntoIter<v1::QueryResponse>,
    _open: StreamGuard,
}

impl Stream for ResponseStream {
    type Item = Result<v1::QueryResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.messages.next().map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.messages.size_hint()
    }
}

#[tonic::async_trait]
impl v1::query_service_server::QueryService for QuerySvc {
    type SqlStream = ResponseStream;
    type AggregateStream = ResponseStream;

    async fn sql(
        &self,
        request: Request<v1::SqlRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Read)?;
        let r = request.into_inner();
        let query = adstore_query::parse_sql(&r.sql).map_err(|e| status::query(&e));
        run(&self.ctx, &principal, query, r.row_limit, QueryKind::Sql).await
    }

    async fn aggregate(
        &self,
        request: Request<v1::AggregateRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Permission::Read)?;
        let r = request.into_inner();
        let query = convert::aggregate_query(&r);
        run(
            &self.ctx,
            &principal,
            query,
            r.row_limit,
            QueryKind::Aggregate,
        )
        .await
    }
}

async fn run(
    ctx: &Arc<ServiceContext>,
    principal: &Principal,
    query: Result<Query, Status>,
    row_limit: u64,
    kind: QueryKind,
) -> Result<Response<ResponseStream>, Status> {
    let started = Instant::now();
    let result = prepare_and_execute(ctx, principal, query, row_limit).await;
    ctx.metrics.query(kind, started.elapsed(), result.is_ok());
    let (result, limit) = result?;
    let messages = encode(&result, limit)?;
    tracing::debug!(
        token = %principal.name,
        rows = result.num_rows(),
        ms = started.elapsed().as_millis() as u64,
        "query answered"
    );
    Ok(Response::new(ResponseStream {
        messages: messages.into_iter(),
        _open: ctx.metrics.stream(),
    }))
}

async fn prepare_and_execute(
    ctx: &Arc<ServiceContext>,
    principal: &Principal,
    query: Result<Query, Status>,
    row_limit: u64,
) -> Result<(QueryResult, u64), Status> {
    let mut query = query?;
    let limit = match row_limit {
        0 => ctx.limits.default_row_limit,
        n => n.min(ctx.limits.max_row_limit),
    };
    // One row more than the limit tells whether the result was cut.
    query.limit = Some(query.limit.map_or(limit + 1, |l| l.min(limit + 1)));
    if let Some(prefixes) = &principal.campaign_prefixes {
        // Filtered, not rejected: the advertiser's view of the table holds only its campaigns.
        query.and_filter(Expr::starts_with_any(ColumnId::CampaignId, prefixes));
    }
    // The query runs on this runtime thread, which hands its other tasks to another thread
    // meanwhile (`block_in_place`), rather than on a thread of the blocking pool: a pool
    // thread idle before the call has to be woken, and then this one to send the answer.
    // Against `spawn_blocking`, both builds serving copies of one store and called in turn
    // after 100 ms idle (40 calls each): Q4/Q5/Q7 at 50M 12.8/17.5/13.9 -> 10.7/15.3/12.3 ms,
    // the median campaign's Q4m/Q5m 5.6/6.2 -> 4.8/5.3, the empty query 3.2 -> 3.0.
    // A panic in planning becomes an internal error, as a panicked blocking task did (the
    // scan's workers already turn theirs into `WorkerPanicked`).
    let run = std::panic::AssertUnwindSafe(|| {
        let snapshot = ctx.store.snapshot();
        adstore_query::execute(&snapshot, &query, &ExecOptions::default())
    });
    let result = tokio::task::block_in_place(|| std::panic::catch_unwind(run))
        .map_err(|_| status::panicked())?
        .map_err(|e| status::query(&e))?;
    Ok((result, limit))
}

/// The result as IPC stream messages: the schema in the first, then up to ~1 MiB of batches
/// each, rows past `limit` cut off.
fn encode(result: &QueryResult, limit: u64) -> Result<Vec<v1::QueryResponse>, Status> {
    let arrow = |e: arrow_schema::ArrowError| Status::internal(format!("arrow IPC: {e}"));
    let mut writer = StreamWriter::try_new(Vec::new(), &result.schema).map_err(arrow)?;
    writer.flush().map_err(arrow)?;
    let mut messages = vec![v1::QueryResponse {
        arrow_ipc: std::mem::take(writer.get_mut()).into(),
        schema: result
            .schema
            .fields()
            .iter()
            .map(|f| v1::Column {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                nullable: f.is_nullable(),
            })
            .collect(),
        rows: 0,
        truncated: false,
    }];
    let mut left = limit;
    let mut truncated = false;
    let mut rows_in_message = 0u64;
    for batch in &result.batches {
        if left == 0 {
            truncated |= batch.num_rows() > 0;
            continue;
        }
        let take = (batch.num_rows() as u64).min(left);
        let b: RecordBatch = if take < batch.num_rows() as u64 {
            truncated = true;
            batch.slice(0, usize::try_from(take).unwrap_or(usize::MAX))
        } else {
            batch.clone()
        };
        left -= take;
        writer.write(&b).map_err(arrow)?;
        rows_in_message += take;
        if writer.get_ref().len() >= 1 << 20 {
            messages.push(v1::QueryResponse {
                arrow_ipc: std::mem::take(writer.get_mut()).into(),
                rows: std::mem::take(&mut rows_in_message),
                ..v1::QueryResponse::default()
            });
        }
    }
    writer.finish().map_err(arrow)?;
    messages.push(v1::QueryResponse {
        arrow_ipc: std::mem::take(writer.get_mut()).into(),
        rows: rows_in_message,
        truncated,
        ..v1::QueryResponse::default()
    });
    Ok(messages)
}
