//! Wall-clock stamps as the protocol writes them.

use std::time::SystemTime;

/// RFC 3339 UTC with milliseconds, e.g. `2026-02-16T12:05:00.000Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
