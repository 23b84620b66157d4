//! `adstore query --server`: one `Sql` call; the answer's Arrow IPC stream read back into
//! record batches and printed with the same output formats as the local mode.

use std::io::Write;
use std::process::ExitCode;

use adstore::output::{OutputFormat, write_batches};
use adstore_proto::v1;
use anyhow::Context;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use tokio_stream::StreamExt;

use super::{Connection, Target};

/// Runs `sql` on the server and returns the schema, batches and whether rows were cut.
pub async fn sql(
    conn: &Connection,
    sql: &str,
    row_limit: u64,
) -> anyhow::Result<(SchemaRef, Vec<RecordBatch>, bool)> {
    let mut stream = conn
        .query()
        .sql(v1::SqlRequest {
            sql: sql.to_string(),
            row_limit,
        })
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let mut ipc = Vec::new();
    let mut truncated = false;
    while let Some(m) = stream.next().await {
        let m = m.map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?;
        ipc.extend_from_slice(&m.arrow_ipc);
        truncated = m.truncated;
    }
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)
        .context("reading the answer's Arrow IPC stream")?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .context("reading the answer's record batches")?;
    Ok((schema, batches, truncated))
}

pub fn run(target: &Target, format: OutputFormat, sql_text: &str) -> anyhow::Result<ExitCode> {
    let rt = crate::service::runtime()?;
    let (schema, batches, truncated) = rt.block_on(async {
        let conn = Connection::open(target)?;
        sql(&conn, sql_text, 0).await
    })?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_batches(format, &schema, &batches, &mut out)?;
    out.flush()?;
    if truncated {
        eprintln!("adstore: the answer was cut at the server's row limit (add a LIMIT)");
    }
    Ok(ExitCode::SUCCESS)
}
