//! Where the model finds valid ids: argument name → the tool that lists them.

/// `(argument, tool that lists valid values, what the tool's answer holds)`.
const ID_SOURCES: &[(&str, &str, &str)] = &[
    ("agent_id", "listAgents", "an Assignment id"),
    (
        "build_id",
        "listAgentRevisions",
        "a Revision id of that Assignment",
    ),
    (
        "revision_id",
        "listAgentRevisions",
        "a Revision id of that Assignment",
    ),
    ("run_id", "listRuns", "a Job id"),
    ("request_id", "getRun", "the Job's pending_human_request.id"),
    ("team_id", "listMyTeams", "a team of the key"),
    ("queue_id", "listQueues", "a Queue id"),
    ("case_id", "listCases", "a Case id of that Queue"),
    ("skill_id", "listSkills", "a Skill id"),
    (
        "schedule_id",
        "listAgentSchedules",
        "a Schedule id of that Assignment",
    ),
    ("connection_id", "listConnections", "a Connection id"),
    ("folder_id", "listAgentFolders", "an Assignment folder id"),
    (
        "sandbox_id",
        "createSandbox",
        "a Sandbox id (they expire; make a new one)",
    ),
    ("thread_id", "listAgents", "the thread_id of an Assignment"),
    (
        "rubric_id",
        "getEvalRubrics",
        "a rubric id of that Assignment",
    ),
];

/// The tool that lists valid values for `arg`, with a few words on what to look for.
pub fn id_source(arg: &str) -> Option<(&'static str, &'static str)> {
    ID_SOURCES
        .iter()
        .find(|(a, _, _)| *a == arg)
        .map(|(_, tool, what)| (*tool, *what))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_ids_have_sources() {
        assert_eq!(super::id_source("run_id").map(|s| s.0), Some("listRuns"));
        assert!(super::id_source("name").is_none());
    }
}
