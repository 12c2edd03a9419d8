//! Logs, metrics and traces: the stderr log subscriber (`--log-format text|json`), the
//! Prometheus recorder behind `/metrics` ([`metrics`]) and OpenTelemetry traces exported over
//! OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set ([`otel`]).
//!
//! Everything recorded here is free of secrets by construction: labels are tool names,
//! operations as path templates (`GET /v2/runs/:id`), statuses and outcomes — never a key, a
//! token, a session id or a team id.

pub mod metrics;
pub mod otel;

use std::time::Duration;
use tracing::Span;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Format of the log lines on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `spans`).
    Json,
}

/// Keeps the trace pipeline alive; [`Telemetry::shutdown`] flushes it.
#[derive(Debug, Default)]
pub struct Telemetry {
    otel: Option<otel::Pipeline>,
}

impl Telemetry {
    /// Flushes and stops the trace exporter (if any). Call outside the async runtime.
    pub fn shutdown(self) {
        if let Some(p) = self.otel {
            p.shutdown();
        }
    }
}

/// Installs the global log subscriber (stderr only; filter from `DUVO_MCP_LOG`) and, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set, the OTLP trace layer. Call
/// once, before the async runtime starts (the exporter owns a blocking HTTP client).
pub fn init(format: LogFormat) -> Telemetry {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("DUVO_MCP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,duvo_mcp=info"));
    // rmcp's session manager logs each Mcp-Session-Id at INFO ("create new session") and DEBUG;
    // a session id is a bearer handle, so those records stay out of the log at any level.
    if let Ok(d) = "rmcp::transport::streamable_http_server::session=warn".parse() {
        filter = filter.add_directive(d);
    }
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let (pipeline, otel_error) = match otel::Pipeline::from_env() {
        Ok(p) => (p, None),
        Err(e) => (None, Some(e)),
    };
    let otel_layer = pipeline.as_ref().map(|p| p.layer());
    let registry = tracing_subscriber::registry().with(fmt).with(otel_layer);
    if registry.try_init().is_err() {
        eprintln!("duvo-mcp: a log subscriber was already installed");
    }
    if let Some(e) = otel_error {
        tracing::warn!(error = %e, "OpenTelemetry traces disabled: cannot build the OTLP exporter");
    } else if pipeline.is_some() {
        tracing::info!("OpenTelemetry traces: exporting over OTLP/HTTP");
    }
    Telemetry { otel: pipeline }
}

/// Span of one `tools/call` (named `tools/call <tool>` in OTLP, per the MCP semantic
/// conventions). `tool` must be a bounded label ([`tool_label`]).
pub fn tool_span(tool: &str, request_id: &rmcp::model::RequestId) -> Span {
    tracing::info_span!(
        "tool_call",
        tool = %tool,
        request_id = ?request_id,
        attempts = tracing::field::Empty,
        upstream_status = tracing::field::Empty,
        is_error = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "server",
        mcp.method.name = "tools/call",
        gen_ai.tool.name = %tool,
        gen_ai.operation.name = "execute_tool",
        outcome = tracing::field::Empty,
    )
}

/// The tool label for metrics and spans: the name when `known`, else `unknown` (a client can
/// send any string; labels must stay bounded).
pub fn tool_label(name: &str, known: bool) -> String {
    if known {
        name.to_owned()
    } else {
        "unknown".to_owned()
    }
}

/// Records one finished tool call: counter by tool and outcome, latency histogram by tool.
pub fn record_tool_call(span: &Span, tool: &str, outcome: &'static str, elapsed: Duration) {
    span.record("outcome", outcome);
    metrics::tool_call(tool, outcome, elapsed);
}

/// Span of one upstream HTTP attempt (a child of the tool call's span).
pub fn upstream_span(method: &str, operation: &str, attempt: u32) -> Span {
    tracing::info_span!(
        "duvo request",
        otel.name = %operation,
        otel.kind = "client",
        http.request.method = %method,
        url.template = %operation.split_once(' ').map(|(_, p)| p).unwrap_or(operation),
        http.request.resend_count = attempt.saturating_sub(1),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Records one upstream attempt's answer (status, or the transport failure) on its span and in
/// the metrics.
pub fn record_upstream(
    span: &Span,
    operation: &str,
    outcome: &Result<reqwest::Response, reqwest::Error>,
    elapsed: Duration,
) {
    let status = match outcome {
        Ok(resp) => {
            let code = resp.status().as_u16();
            span.record("http.response.status_code", code);
            if code >= 400 {
                span.record("error.type", code);
            }
            code.to_string()
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else {
                "connection_error"
            };
            span.record("error.type", kind);
            kind.to_owned()
        }
    };
    metrics::upstream(operation, &status, elapsed);
}

/// The W3C trace-context headers (`traceparent`, `tracestate`) for `span`, when traces are on.
pub fn trace_headers(span: &Span) -> http::HeaderMap {
    otel::inject(span)
}

/// `METHOD /path/template`: a request path with every id-like segment replaced by `:id`, so
/// labels stay bounded and carry no identifiers.
pub fn operation(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 1);
    out.push_str(method);
    out.push(' ');
    let path = path.split('?').next().unwrap_or_default();
    let mut first = true;
    for seg in path.split('/') {
        if !first {
            out.push('/');
        }
        first = false;
        if seg.is_empty() {
            continue;
        }
        let word = seg.len() <= 40
            && seg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_');
        if word {
            out.push_str(seg);
        } else if seg.len() <= 3
            && seg.starts_with('v')
            && seg[1..].bytes().all(|b| b.is_ascii_digit())
        {
            out.push_str(seg); // API version: v1, v2
        } else {
            out.push_str(":id");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_hide_ids() {
        assert_eq!(
            operation("GET", "/v2/runs/3f2c1a9e-0000-4000-8000-000000000001"),
            "GET /v2/runs/:id"
        );
        assert_eq!(
            operation("POST", "/v2/teams/team_123/runs?x=1"),
            "POST /v2/teams/:id/runs"
        );
        assert_eq!(operation("GET", "/v2/teams"), "GET /v2/teams");
    }
}
