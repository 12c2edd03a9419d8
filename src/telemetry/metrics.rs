//! Prometheus metrics (`GET /metrics` of `duvo-mcp http`), through the `metrics` facade and
//! `metrics-exporter-prometheus`'s recorder. Without an installed recorder (stdio, tools) every
//! call here is a no-op.
//!
//! Series (labels in braces; none carries a key, token, session id or team id):
//! - `duvo_mcp_tool_calls_total{tool,outcome}`, `duvo_mcp_tool_call_duration_seconds{tool}`;
//!   outcome is `ok`, `error` (a tool error the model sees), `input_required` or
//!   `protocol_error`;
//! - `duvo_mcp_upstream_requests_total{operation,status}`,
//!   `duvo_mcp_upstream_request_duration_seconds{operation}`; operation is a path template
//!   (`GET /v2/runs/:id`), status the HTTP status or `timeout` / `connection_error`;
//! - `duvo_mcp_upstream_retries_total{operation}`;
//! - `duvo_mcp_rate_limiter_waits_total`, `duvo_mcp_rate_limiter_wait_seconds`: calls that
//!   waited on the per-key limiter, and how long;
//! - gauges `duvo_mcp_sessions`, `duvo_mcp_streams`, `duvo_mcp_in_flight_requests`, set when
//!   scraped.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Tool calls by tool and outcome.
pub const TOOL_CALLS: &str = "duvo_mcp_tool_calls_total";
/// Tool call latency by tool.
pub const TOOL_CALL_SECONDS: &str = "duvo_mcp_tool_call_duration_seconds";
/// Upstream HTTP attempts by operation and status.
pub const UPSTREAM_REQUESTS: &str = "duvo_mcp_upstream_requests_total";
/// Upstream attempt latency by operation.
pub const UPSTREAM_SECONDS: &str = "duvo_mcp_upstream_request_duration_seconds";
/// Upstream retries by operation.
pub const UPSTREAM_RETRIES: &str = "duvo_mcp_upstream_retries_total";
/// Requests that waited on the per-key rate limiter.
pub const LIMITER_WAITS: &str = "duvo_mcp_rate_limiter_waits_total";
/// Time spent waiting on the per-key rate limiter.
pub const LIMITER_WAIT_SECONDS: &str = "duvo_mcp_rate_limiter_wait_seconds";
/// Live MCP sessions (Streamable HTTP plus /sse).
pub const SESSIONS: &str = "duvo_mcp_sessions";
/// Open event streams.
pub const STREAMS: &str = "duvo_mcp_streams";
/// HTTP requests being served.
pub const IN_FLIGHT: &str = "duvo_mcp_in_flight_requests";

/// Histogram buckets in seconds (1 ms … 4 min: upstream calls and long `runAssignment` waits).
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 240.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once); `None` if another recorder is set.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new().set_buckets(&BUCKETS) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics disabled: bad histogram buckets");
                    return None;
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "metrics disabled: a recorder is already installed");
                return None;
            }
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(TOOL_CALLS, "MCP tool calls by tool and outcome");
    metrics::describe_histogram!(
        TOOL_CALL_SECONDS,
        metrics::Unit::Seconds,
        "MCP tool call latency"
    );
    metrics::describe_counter!(
        UPSTREAM_REQUESTS,
        "HTTP attempts to the Duvo API by operation and status"
    );
    metrics::describe_histogram!(
        UPSTREAM_SECONDS,
        metrics::Unit::Seconds,
        "Duvo API attempt latency"
    );
    metrics::describe_counter!(UPSTREAM_RETRIES, "Duvo API attempts that were retried");
    metrics::describe_counter!(
        LIMITER_WAITS,
        "requests that waited on the per-key rate limiter"
    );
    metrics::describe_histogram!(
        LIMITER_WAIT_SECONDS,
        metrics::Unit::Seconds,
        "time waited on the per-key rate limiter"
    );
    metrics::describe_gauge!(SESSIONS, "live MCP sessions");
    metrics::describe_gauge!(STREAMS, "open event streams");
    metrics::describe_gauge!(IN_FLIGHT, "HTTP requests being served");
}

/// Records a finished tool call.
pub fn tool_call(tool: &str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!(TOOL_CALLS, "tool" => tool.to_owned(), "outcome" => outcome).increment(1);
    metrics::histogram!(TOOL_CALL_SECONDS, "tool" => tool.to_owned()).record(elapsed.as_secs_f64());
}

/// Records one upstream attempt; `status` is the HTTP status or a transport failure kind.
pub fn upstream(operation: &str, status: &str, elapsed: Duration) {
    metrics::counter!(
        UPSTREAM_REQUESTS,
        "operation" => operation.to_owned(),
        "status" => status.to_owned()
    )
    .increment(1);
    metrics::histogram!(UPSTREAM_SECONDS, "operation" => operation.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Records that an upstream attempt will be retried.
pub fn retry(operation: &str) {
    metrics::counter!(UPSTREAM_RETRIES, "operation" => operation.to_owned()).increment(1);
}

/// Records a wait on the rate limiter (only waits of at least a millisecond count).
pub fn limiter_wait(waited: Duration) {
    if waited >= Duration::from_millis(1) {
        metrics::counter!(LIMITER_WAITS).increment(1);
        metrics::histogram!(LIMITER_WAIT_SECONDS).record(waited.as_secs_f64());
    }
}

/// Point-in-time gauges, set right before a scrape.
pub fn gauges(sessions: usize, streams: usize, in_flight: usize) {
    metrics::gauge!(SESSIONS).set(sessions as f64);
    metrics::gauge!(STREAMS).set(streams as f64);
    metrics::gauge!(IN_FLIGHT).set(in_flight as f64);
}
