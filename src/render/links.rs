//! `duvo://` resource links placed in tool results (Jobs, transcripts, Skill files).

use rmcp::model::Resource;

/// A link to a Job, for tool results.
pub fn run_link(run_id: &str) -> Resource {
    Resource::new(format!("duvo://runs/{run_id}"), format!("job {run_id}"))
        .with_title("Job status")
        .with_mime_type("text/plain")
}

/// A link to a Job's transcript, for tool results.
pub fn run_messages_link(run_id: &str) -> Resource {
    Resource::new(
        format!("duvo://runs/{run_id}/messages"),
        format!("job {run_id} messages"),
    )
    .with_title("Job transcript")
    .with_mime_type("text/plain")
}

/// A link to one skill file, for tool results.
pub fn skill_file_link(skill_id: &str, path: &str) -> Resource {
    Resource::new(
        format!("duvo://skills/{skill_id}/files/{path}"),
        path.to_owned(),
    )
    .with_title("Skill file")
    .with_mime_type("text/plain")
}
