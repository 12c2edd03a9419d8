//! The documented allow-list of known defects in `spec/openapi.json` that the emulator works around.
//!
//! Each entry is a place where the spec disagrees with the documented behaviour of the API
//! (see `/work/shared/duvo-api/API.md` §4, §7 and §8). Keep this list short and explained.

/// Enum values the spec omits from a response schema although the API sends them:
/// `(operationId, status, JSON pointer of the enum's schema inside the response schema, values)`.
///
/// - `listRuns`: a Job stopped with `stopRun` has status `stopped`; the spec's `status` *filter*
///   accepts `stopped` but the response enum forgot it.
pub const EXTRA_ENUM_VALUES: &[(&str, u16, &str, &[&str])] = &[(
    "listRuns",
    200,
    "/properties/data/items/properties/status",
    &["stopped"],
)];

/// Operations whose success body is not JSON although the spec types it as `application/json`
/// (their descriptions say so): `(operationId, media type)`.
pub const NON_JSON_SUCCESS: &[(&str, &str)] = &[
    ("downloadSkill", "application/zip"),
    ("getPulseDashboardPdf", "application/pdf"),
    ("getPulseDashboardHtml", "text/html; charset=utf-8"),
    ("exportPulseDashboardHtml", "text/html; charset=utf-8"),
    ("getPulseDashboardVersionHtml", "text/html; charset=utf-8"),
];

/// Operations that take a `multipart/form-data` upload although the spec declares no request body.
pub const MULTIPART_UPLOADS: &[&str] = &["uploadSandboxFile", "uploadSkill"];

/// Deprecated operations that permanently redirect (308) to a sibling path: `(operationId,
/// last path segment of the target)`. The spec declares no 2xx for them.
pub const REDIRECTS: &[(&str, &str)] = &[
    ("bulkDelegateCases", "bulk-reprocess"),
    ("bulkRetryCases", "bulk-reprocess"),
];

/// Path of the hosted MCP endpoint (its two operations have no `operationId` and no response
/// schema); the emulator answers it with a JSON-RPC error.
pub const MCP_PATH: &str = "/v2/mcp";

/// Media type of an operation's success body when it is not JSON.
pub fn non_json_media(operation_id: &str) -> Option<&'static str> {
    NON_JSON_SUCCESS
        .iter()
        .find(|(id, _)| *id == operation_id)
        .map(|(_, media)| *media)
}

/// Whether an operation takes a multipart upload.
pub fn is_multipart(operation_id: &str) -> bool {
    MULTIPART_UPLOADS.contains(&operation_id)
}

/// The redirect target segment of a deprecated operation.
pub fn redirect_target(operation_id: &str) -> Option<&'static str> {
    REDIRECTS
        .iter()
        .find(|(id, _)| *id == operation_id)
        .map(|(_, target)| *target)
}
