//! Where the model finds valid ids: argument name → the tool that lists them.

/// `(argument, tool that lists valid values, what the tool's answer holds)`.
const ID_SOURCES: &[(&str, &str, &str)] = &[
    ("agent_id", "listAgents", "Assignments"),
    (
        "build_id",
        "listAgentRevisions",
        "Revisions of the Assignment",
    ),
    ("run_id", "listRuns", "Jobs"),
    (
        "request_id",
        "getRun",
        "pending_human_request.id of the Job",
    ),
    ("team_id", "listMyTeams", "teams of the key"),
    ("queue_id", "listQueues", "Queues"),
    ("case_id", "listCases", "Cases of a Queue"),
    ("skill_id", "listSkills", "Skills"),
    (
        "schedule_id",
        "listAgentSchedules",
        "Schedules of the Assignment",
    ),
    ("connection_id", "listConnections", "Connections"),
    ("folder_id", "listAgentFolders", "Assignment folders"),
    ("sandbox_id", "createSandbox", "a new sandbox (ids expire)"),
    ("thread_id", "listAgents", "thread_id of an Assignment"),
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
