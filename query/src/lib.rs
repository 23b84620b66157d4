//! adstore-query: the query model, the SQL subset, planning and parallel filtered aggregate scans
//! over [`adstore_storage`] snapshots. Filled by the query issue.
