//! `GET /metrics`: the Prometheus text exposition of [`crate::telemetry::metrics`]. It sits
//! behind the admission guard (Host/Origin) and needs the shared token when one is set
//! (`Authorization: Bearer <token>`, or `X-MCP-Auth`/`X-Auth-Token`/`X-API-Key` with
//! `--passthrough-auth`); it never needs a Duvo key.

use crate::transport::limits::Limits;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// State of the `/metrics` handler.
#[derive(Clone)]
pub struct Scrape {
    /// The installed recorder.
    pub handle: PrometheusHandle,
    /// Where the session, stream and in-flight gauges come from.
    pub limits: Arc<Limits>,
}

/// `GET /metrics`.
pub async fn metrics(State(s): State<Scrape>) -> Response {
    crate::telemetry::metrics::gauges(
        s.limits.live_sessions().await,
        s.limits.open_streams(),
        s.limits.in_flight(),
    );
    s.handle.run_upkeep();
    let mut resp = s.handle.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
