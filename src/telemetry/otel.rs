//! OpenTelemetry traces over OTLP/HTTP (protobuf), configured by the standard variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on;
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_SDK_DISABLED` … are read by the SDK as usual.
//!
//! Spans: one per `tools/call`, one child per upstream HTTP attempt; each attempt carries the
//! W3C `traceparent` so Duvo's side of the trace joins it.

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Whether an OTLP pipeline is installed (only then are trace headers sent upstream).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The installed trace pipeline.
#[derive(Debug)]
pub struct Pipeline {
    provider: SdkTracerProvider,
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

impl Pipeline {
    /// Builds the pipeline when an OTLP endpoint is configured (`Ok(None)` otherwise, or when
    /// `OTEL_SDK_DISABLED=true`).
    pub fn from_env() -> Result<Option<Self>, String> {
        let disabled =
            std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if disabled
            || !(env_set("OTEL_EXPORTER_OTLP_ENDPOINT")
                || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| e.to_string())?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        if !env_set("OTEL_SERVICE_NAME") {
            resource = resource.with_service_name("duvo-mcp");
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        ENABLED.store(true, Ordering::Relaxed);
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans (only `duvo_mcp` spans at
    /// INFO and above: the tool calls and upstream attempts).
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let tracer = self.provider.tracer("duvo-mcp");
        let only_ours = tracing_subscriber::filter::Targets::new()
            .with_target("duvo_mcp", tracing::Level::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(only_ours)
    }

    /// Exports what is buffered and stops.
    pub fn shutdown(self) {
        ENABLED.store(false, Ordering::Relaxed);
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry: flushing spans at exit failed");
        }
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// `traceparent` (and `tracestate`) for `span`; empty when traces are off.
pub fn inject(span: &Span) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    if ENABLED.load(Ordering::Relaxed) {
        let cx = span.context();
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
    }
    headers
}
