//! Crash points: named moments inside durability-critical operations where a test can stop the
//! process (by sleeping there while its parent sends SIGKILL), so that every crash window is hit on
//! purpose rather than by luck. Production code runs with no hook set; the cost is one `Option`
//! check per operation.

use std::fmt;
use std::sync::Arc;

/// A moment at which a crash is interesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Half of a WAL record has been written (the other half has not).
    WalMidRecord,
    /// A segment file is partly written, not yet fsynced nor listed in the manifest.
    SegmentMidWrite,
    /// `MANIFEST.tmp` is written and fsynced but not yet renamed over `MANIFEST`.
    ManifestTempWritten,
    /// `MANIFEST` has been replaced, the directory not yet fsynced and old WAL files not yet deleted.
    ManifestRenamed,
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CrashPoint::WalMidRecord => "wal-mid-record",
            CrashPoint::SegmentMidWrite => "segment-mid-write",
            CrashPoint::ManifestTempWritten => "manifest-temp-written",
            CrashPoint::ManifestRenamed => "manifest-renamed",
        })
    }
}

/// A callback run at each crash point.
#[derive(Clone)]
pub struct CrashHook(pub Arc<dyn Fn(CrashPoint) + Send + Sync>);

impl CrashHook {
    /// Runs the hook.
    pub fn at(&self, point: CrashPoint) {
        (self.0)(point);
    }
}

impl fmt::Debug for CrashHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CrashHook")
    }
}

/// Runs `hook` at `point` when one is set.
pub(crate) fn crash_point(hook: Option<&CrashHook>, point: CrashPoint) {
    if let Some(h) = hook {
        h.at(point);
    }
}
