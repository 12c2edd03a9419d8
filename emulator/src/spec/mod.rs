//! The Duvo OpenAPI spec inside the emulator: every operation served, every response checked.
//!
//! `spec/openapi.json` is embedded and indexed once (`document`): method + path template
//! (`{*}` takes the rest of the path; an undeclared `{teamId}` is routed anyway). Schemas are
//! converted from OpenAPI 3.0 to JSON Schema 2020-12 (`convert`) and compiled lazily, once per
//! (operation, request body / parameter / response status) (`validators`).
//!
//! - `fallback`: requests that match no explicit route but a spec operation get a generic,
//!   validated, schema-generated answer (`generate`, `media` for non-JSON bodies).
//! - `contract`: with `EmulatorConfig::validate_responses`, every `/v2/...` JSON response of
//!   explicit and generic handlers alike is checked against the spec; see `GET /_emulator/contract`.
//! - `quirks`: the short, documented allow-list of known spec defects the emulator works around.
//! - `examples`: valid example requests per operation (used by the contract tests).

mod contract;
mod convert;
mod document;
mod examples;
mod fallback;
mod generate;
mod media;
mod params;
mod quirks;
mod validators;

pub use contract::ContractLog;
pub(crate) use contract::{contract_middleware, contract_routes};
pub use document::{overridden, spec_text, use_spec};
pub use examples::{ExampleRequest, OperationInfo, example_request, operations};
pub use fallback::GENERIC_HEADER;
pub(crate) use fallback::{fallback, openapi_json, spec_gate};

/// Schema errors of a response body for `method path` with `status` against the spec (empty when
/// it conforms): the declared schema for that status, or the standard `{error, message?}` envelope
/// for an undeclared error status; an undeclared 2xx is itself an error.
pub fn check_response(
    method: &str,
    path: &str,
    status: u16,
    body: &serde_json::Value,
) -> Vec<String> {
    match method.to_ascii_uppercase().parse::<axum::http::Method>() {
        Ok(m) => contract::check_response(&m, path, status, body).1,
        Err(_) => vec![format!("unknown method {method}")],
    }
}
