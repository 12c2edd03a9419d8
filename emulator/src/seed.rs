//! Realistic sample data: the "Acme Operations" team with four Assignments, past Jobs, a queue of
//! invoices, skills and a schedule; plus a second team ("Globex Logistics") for isolation tests.
//!
//! Seeded ids of teams, users, agents, builds, queues, cases, skills and schedules are stable
//! across restarts (derived from fixed labels); Job ids are random.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::agents::config_v2;
use super::auth::{demo_team, other_team};
use super::model::{Agent, AgentFolder, Build, Case, CaseLabel, Queue, Schedule, Team, User};
use super::runs::{self, NewRun};
use super::state::Store;
use super::transcripts::{self, Behaviour, Outcome};

/// User owning every default-team key ("Dana Whitfield").
pub const DEMO_USER_ID: Uuid = Uuid::from_u128(0x6a1f3c2e_8b4d_4f7a_9e2c_5d8b1a3f7c90);
/// User owning `OTHER_TEAM_KEY`.
pub const OTHER_USER_ID: Uuid = Uuid::from_u128(0x2e9b7d4c_1a6f_4c3e_8b5d_7f0a2c4e6b81);

/// A stable v4-shaped uuid derived from a label.
pub fn sid(label: &str) -> Uuid {
    let mut out = [0u8; 16];
    for (half, seed) in [0xcbf2_9ce4_8422_2325_u64, 0x8422_2325_cbf2_9ce4_u64]
        .into_iter()
        .enumerate()
    {
        let mut h = seed;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // splitmix64 finalizer, so similar labels give unrelated ids.
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        out[half * 8..half * 8 + 8].copy_from_slice(&h.to_be_bytes());
    }
    uuid::Builder::from_random_bytes(out).into_uuid()
}

fn integration(
    label: &str,
    kind: &str,
    name: &str,
    at: DateTime<Utc>,
    queues: Option<&[&str]>,
) -> Value {
    json!({
        "id": sid(&format!("ic:{label}")),
        "integration_id": sid(&format!("int:{kind}")),
        "integration_type": kind,
        "integration_name": name,
        "created_at": super::model::ts(&at),
        "icon_url": Value::Null,
        "is_connected": true,
        "linked_queue_names": queues.map(|q| q.iter().map(|s| Value::String((*s).to_string())).collect::<Vec<_>>()),
    })
}

struct AgentSeed {
    key: &'static str,
    name: &'static str,
    sops: &'static [(&'static str, &'static str)],
    model: &'static str,
    created_days_ago: i64,
    slack: bool,
}

const INVOICE_SOP_V1: &str = "You process supplier invoices that arrive in the Invoice Inbox queue.\n1. Open the invoice PDF and extract supplier, invoice number, date, line items and total.\n2. Match every line against the purchase order and goods receipt in NetSuite (3-way match).\n3. If the total is above EUR 5,000, request approval from the finance controller before posting.\n4. After approval, post the invoice in NetSuite and mark the case completed.";
const INVOICE_SOP_V2: &str = "You process supplier invoices that arrive in the Invoice Inbox queue.\n1. Open the invoice PDF and extract supplier, invoice number, date, line items and total.\n2. Match every line against the purchase order and goods receipt in NetSuite (3-way match); a deviation of up to 2% per line is acceptable.\n3. If the total is above EUR 5,000 or any line deviates by more than 2%, request approval from the finance controller before posting.\n4. After approval, post the invoice in NetSuite and mark the case completed.\n5. If approval is denied, put the invoice on hold and note the reason on the case.";
const SUPPLIER_SOP_V1: &str = "Onboard new suppliers from the vendor request form.\n1. Read the supplier's request from the 'Vendor requests' sheet.\n2. Create the vendor record in the ERP.";
const SUPPLIER_SOP_V2: &str = "Onboard new suppliers from the vendor request form.\n1. Read the supplier's request from the 'Vendor requests' sheet.\n2. Check the VAT number in VIES and the IBAN format.\n3. Create the vendor record in the ERP and send the welcome email.";
const SUPPLIER_SOP_V3: &str = "Onboard new suppliers from the vendor request form.\n1. Read the supplier's request from the 'Vendor requests' sheet.\n2. Check the VAT number in VIES and the IBAN format.\n3. Ask the procurement owner for the payment terms and any missing compliance documents before creating the vendor.\n4. Create the vendor record in the ERP and send the welcome email from procurement@acme-ops.example.";
const SALES_SOP: &str = "Every weekday morning, compile yesterday's sales.\n1. Query the orders table in Snowflake for yesterday's net sales by region and channel.\n2. Compare against the same weekday last week and the monthly target.\n3. Write a short summary with the top 3 movers and post it to #sales-daily in Slack.";
const PRICE_SOP_V1: &str = "Check competitor prices for the SKUs in the message at Tesco and Sainsbury's.\n1. Open each competitor product page in the browser.\n2. Record the shelf price, promo price and availability.";
const PRICE_SOP_V2: &str = "Check competitor prices for the SKUs in the message at Tesco and Sainsbury's.\n1. Open each competitor product page in the browser.\n2. Record the shelf price, promo price and availability.\n3. Flag any SKU where we are more than 5% more expensive.\nIf a competitor site blocks access, stop and report the failure.";

const AGENTS: &[AgentSeed] = &[
    AgentSeed {
        key: "invoice",
        name: "Invoice Approval",
        sops: &[
            ("Initial setup", INVOICE_SOP_V1),
            ("Add 2% line tolerance", INVOICE_SOP_V2),
        ],
        model: "claude-sonnet-4-6",
        created_days_ago: 41,
        slack: false,
    },
    AgentSeed {
        key: "supplier",
        name: "Supplier Onboarding",
        sops: &[
            ("Initial setup", SUPPLIER_SOP_V1),
            ("VAT and IBAN checks", SUPPLIER_SOP_V2),
            ("Ask procurement for terms", SUPPLIER_SOP_V3),
        ],
        model: "claude-opus-4-6",
        created_days_ago: 33,
        slack: false,
    },
    AgentSeed {
        key: "sales",
        name: "Daily Sales Report",
        sops: &[("Initial setup", SALES_SOP)],
        model: "claude-sonnet-4-6",
        created_days_ago: 27,
        slack: true,
    },
    AgentSeed {
        key: "price",
        name: "Price Check",
        sops: &[
            ("Initial setup", PRICE_SOP_V1),
            ("Flag 5% gaps", PRICE_SOP_V2),
        ],
        model: "claude-sonnet-4-5-20250929",
        created_days_ago: 12,
        slack: false,
    },
];

struct CaseSeed {
    key: &'static str,
    title: &'static str,
    supplier: &'static str,
    amount: f64,
    po: &'static str,
    priority: &'static str,
    created_hours_ago: i64,
}

const CASES: &[CaseSeed] = &[
    CaseSeed {
        key: "INV-10468",
        title: "Invoice INV-10468 from Litware Chemicals",
        supplier: "Litware Chemicals",
        amount: 3_120.40,
        po: "PO-88102",
        priority: "none",
        created_hours_ago: 70,
    },
    CaseSeed {
        key: "INV-10477",
        title: "Invoice INV-10477 from Northwind Traders",
        supplier: "Northwind Traders",
        amount: 7_845.00,
        po: "PO-88190",
        priority: "medium",
        created_hours_ago: 22,
    },
    CaseSeed {
        key: "INV-10482",
        title: "Invoice INV-10482 from Contoso Packaging",
        supplier: "Contoso Packaging",
        amount: 12_480.00,
        po: "PO-88213",
        priority: "high",
        created_hours_ago: 3,
    },
    CaseSeed {
        key: "INV-10490",
        title: "Invoice INV-10490 from Fabrikam Office Supplies",
        supplier: "Fabrikam Office Supplies",
        amount: 1_264.90,
        po: "PO-88240",
        priority: "high",
        created_hours_ago: 2,
    },
    CaseSeed {
        key: "INV-10491",
        title: "Invoice INV-10491 from Tailspin Freight",
        supplier: "Tailspin Freight",
        amount: 4_310.00,
        po: "PO-88244",
        priority: "none",
        created_hours_ago: 1,
    },
    CaseSeed {
        key: "INV-10495",
        title: "Invoice INV-10495 from Wide World Importers",
        supplier: "Wide World Importers",
        amount: 9_980.00,
        po: "PO-88251",
        priority: "medium",
        created_hours_ago: 5,
    },
];

/// Insert teams and users; with `full`, also the sample data.
pub fn seed(store: &mut Store, full: bool) {
    let team_created = Utc
        .with_ymd_and_hms(2025, 3, 14, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    store.teams.push(Team {
        id: demo_team(),
        name: "Acme Operations".into(),
        organization_id: Some(sid("org:acme")),
        created_at: team_created,
    });
    store.teams.push(Team {
        id: other_team(),
        name: "Globex Logistics".into(),
        organization_id: Some(sid("org:globex")),
        created_at: team_created,
    });
    store.users.push(User {
        id: DEMO_USER_ID,
        name: "Dana Whitfield".into(),
        email: "dana.whitfield@acme-ops.example".into(),
    });
    store.users.push(User {
        id: OTHER_USER_ID,
        name: "Olek Brandt".into(),
        email: "olek.brandt@globex.example".into(),
    });
    if full {
        sample_data(store, Utc::now());
    }
}

fn sample_data(store: &mut Store, now: DateTime<Utc>) {
    let team = demo_team();
    let queue_id = sid("queue:invoice-inbox");
    let skill_id = sid("skill:invoice-matching");
    let system_skill_id = sid("skill:pdf-extraction");

    store.queues.push(Queue {
        id: queue_id,
        team_id: team,
        name: "Invoice Inbox".into(),
        description: Some("Supplier invoices forwarded from ap@acme-ops.example".into()),
        created_at: now - Duration::days(40),
        has_approvals: true,
        folder_id: None,
        automation_id: None,
    });
    super::skills::seed(store, team, now);
    super::connections::seed(store, team, now);

    for a in AGENTS {
        let id = sid(&format!("agent:{}", a.key));
        let created = now - Duration::days(a.created_days_ago);
        let integrations = match a.key {
            "invoice" => vec![
                integration("invoice-netsuite", "custom_mcp", "NetSuite", created, None),
                integration(
                    "invoice-consumer",
                    "case-queue-consumer",
                    "Case queue consumer",
                    created,
                    Some(&["Invoice Inbox"]),
                ),
            ],
            "supplier" => vec![
                integration(
                    "supplier-sheets",
                    "googlesheets",
                    "Google Sheets",
                    created,
                    None,
                ),
                integration("supplier-gmail", "gmail", "Gmail", created, None),
            ],
            "sales" => vec![
                integration("sales-snowflake", "snowflake", "Snowflake", created, None),
                integration("sales-slack", "slack", "Slack", created, None),
            ],
            _ => Vec::new(),
        };
        store.agents.push(Agent {
            id,
            team_id: team,
            name: a.name.into(),
            slack_enabled: Some(a.slack),
            microsoft_teams_enabled: Some(false),
            agentic_memory_enabled: Some(a.key == "invoice"),
            thread_id: None,
            folder_id: None,
            automation_id: None,
            created_at: created,
            updated_at: created + Duration::days(a.sops.len() as i64 * 3),
            created_by: DEMO_USER_ID,
            updated_by: DEMO_USER_ID,
            pins: if a.key == "invoice" {
                [(DEMO_USER_ID, now - Duration::days(7))]
                    .into_iter()
                    .collect()
            } else {
                Default::default()
            },
            integration_configs: integrations,
            user_triggers: [a.slack, false, false],
            case_trigger_enabled: a.key == "invoice",
            case_queue_id: (a.key == "invoice").then_some(queue_id),
        });
        let mut parent = None;
        for (i, (bname, sop)) in a.sops.iter().enumerate() {
            let bid = sid(&format!("build:{}:{i}", a.key));
            let mut config = config_v2(sop, a.model);
            if a.key == "invoice"
                && let Some(skills) = config.pointer_mut("/data/skills")
            {
                *skills = json!([skill_id, system_skill_id]);
            }
            store.builds.push(Build {
                id: bid,
                agent_id: id,
                name: (*bname).into(),
                config,
                revision_number: i as u64 + 1,
                parent_build_id: parent,
                created_by: DEMO_USER_ID,
                created_at: created + Duration::days(i as i64 * 3),
                meta: Default::default(),
            });
            parent = Some(bid);
        }
    }

    let sales_id = sid("agent:sales");
    store.schedules.push(Schedule {
        id: sid("schedule:sales-daily"),
        agent_id: sales_id,
        build_id: sid("build:sales:0"),
        user_id: DEMO_USER_ID,
        enabled: true,
        frequency: "workday",
        time: Some("07:30".into()),
        timezone: "Europe/London".into(),
        day: None,
        day_of_month: None,
        cron: None,
        task: Some("Compile yesterday's sales report and post it to #sales-daily".into()),
        recurring: Some(true),
        created_at: now - Duration::days(26),
        updated_at: now - Duration::days(26),
    });
    seed_folders_and_labels(store, now, queue_id);

    for c in CASES {
        let created = now - Duration::hours(c.created_hours_ago);
        let data = json!({
            "invoice_number": c.key,
            "supplier": c.supplier,
            "amount": c.amount,
            "currency": "EUR",
            "po_number": c.po,
            "received_from": "ap@acme-ops.example",
        })
        .to_string();
        let mut labels = vec![sid("label:currency:EUR")];
        if c.amount > 5_000.0 {
            labels.push(sid("label:approval"));
        }
        if c.key == "INV-10491" {
            labels.push(sid("label:freight"));
        }
        let failed = c.key == "INV-10468";
        store.cases.push(Case {
            id: sid(&format!("case:{}", c.key)),
            queue_id,
            title: c.title.into(),
            data,
            status: if failed { "failed" } else { "pending" },
            priority: c.priority,
            claimed_at: failed.then(|| created + Duration::minutes(2)),
            claimed_by_run_id: None,
            completed_at: failed.then(|| created + Duration::minutes(9)),
            postponed_to: (c.key == "INV-10495").then(|| now + Duration::days(2)),
            created_at: created,
            updated_at: created + Duration::minutes(if failed { 9 } else { 0 }),
            created_by_user_id: None,
            agent_run_status: failed.then_some("failed"),
            agent_run_user_id: None,
            pending_human_request_id: None,
            labels,
        });
    }

    // Past Jobs.
    let sales_msg = None;
    past_run(
        store,
        "sales",
        sales_msg,
        "schedule",
        None,
        now - Duration::hours(49),
        Outcome::Complete,
        None,
    );
    past_run(
        store,
        "sales",
        None,
        "schedule",
        None,
        now - Duration::hours(25),
        Outcome::Complete,
        None,
    );
    past_run(
        store,
        "price",
        Some("Check prices for SKUs 4011, 4017 and 4203 at Tesco and Sainsbury's"),
        "api",
        None,
        now - Duration::hours(30),
        Outcome::Complete,
        None,
    );
    past_run(
        store,
        "price",
        Some("Check prices for SKUs 5520 and 5521 at Tesco and Sainsbury's"),
        "api",
        None,
        now - Duration::hours(6),
        Outcome::Fail,
        None,
    );
    past_run(
        store,
        "supplier",
        Some("Onboard Baltic Timber OÜ (vendor request row 42)"),
        "api",
        None,
        now - Duration::hours(28),
        Outcome::Question,
        Some(json!({"answers": {
            "Which payment terms should we set for Baltic Timber OÜ?": "Net 30",
            "Which documents are still missing?": "Bank confirmation letter"
        }})),
    );
    past_run(
        store,
        "invoice",
        Some("Process invoice INV-10477 from Northwind Traders (EUR 7,845.00, PO-88190)"),
        "case_queue",
        Some(sid("case:INV-10477")),
        now - Duration::hours(21),
        Outcome::Approval,
        Some(json!({"approved": true})),
    );
    // Still waiting for approval: the demo's "needs input" case.
    past_run(
        store,
        "invoice",
        Some("Process invoice INV-10482 from Contoso Packaging (EUR 12,480.00, PO-88213)"),
        "case_queue",
        Some(sid("case:INV-10482")),
        now - Duration::minutes(150),
        Outcome::Approval,
        None,
    );

    // The second team: one Assignment with one finished Job.
    let other_agent = sid("agent:globex-route");
    let other_created = now - Duration::days(15);
    store.agents.push(Agent {
        id: other_agent,
        team_id: other_team(),
        name: "Route Planner".into(),
        slack_enabled: Some(false),
        microsoft_teams_enabled: Some(false),
        agentic_memory_enabled: Some(false),
        thread_id: None,
        folder_id: None,
        automation_id: None,
        created_at: other_created,
        updated_at: other_created,
        created_by: OTHER_USER_ID,
        updated_by: OTHER_USER_ID,
        pins: Default::default(),
        integration_configs: Vec::new(),
        user_triggers: [false; 3],
        case_trigger_enabled: false,
        case_queue_id: None,
    });
    store.builds.push(Build {
        id: sid("build:globex-route:0"),
        agent_id: other_agent,
        name: "Initial setup".into(),
        config: config_v2(
            "Plan tomorrow's delivery routes from the dispatch sheet and share them with the drivers.",
            "gpt-5.1",
        ),
        revision_number: 1,
        parent_build_id: None,
        created_by: OTHER_USER_ID,
        created_at: other_created,
        meta: Default::default(),
    });
    if let Ok((id, s)) = runs::create_run(
        store,
        NewRun {
            team_id: other_team(),
            agent_id: other_agent,
            user_id: Some(OTHER_USER_ID),
            message: Some("Plan routes for Thursday".into()),
            sandbox_id: None,
            webhook_url: None,
            source: "api",
            case_id: None,
        },
        now - Duration::hours(10),
    ) {
        runs::replay(store, id, s, now - Duration::hours(10));
    }
}

/// The "Finance Operations" folder holding the invoice and supplier Assignments, and the
/// Invoice Inbox labels (`currency: EUR` on every case, the `needs-approval` tag above EUR 5,000,
/// `category: freight` on INV-10491).
fn seed_folders_and_labels(store: &mut Store, now: DateTime<Utc>, queue_id: Uuid) {
    let folder_id = sid("folder:finance-operations");
    store.folders.push(AgentFolder {
        id: folder_id,
        team_id: demo_team(),
        name: "Finance Operations".into(),
        parent_folder_id: None,
        created_at: now - Duration::days(30),
        updated_at: now - Duration::days(30),
    });
    for key in ["invoice", "supplier"] {
        let id = sid(&format!("agent:{key}"));
        if let Some(a) = store.agents.iter_mut().find(|a| a.id == id) {
            a.folder_id = Some(folder_id);
        }
    }
    for (label, key, value, hue) in [
        ("label:currency:EUR", "currency", "EUR", 210),
        ("label:approval", "", "needs-approval", 28),
        ("label:freight", "category", "freight", 140),
    ] {
        store.case_labels.push(CaseLabel {
            id: sid(label),
            queue_id,
            key: key.into(),
            value: value.into(),
            color_hue: hue,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn past_run(
    store: &mut Store,
    agent_key: &str,
    message: Option<&str>,
    source: &'static str,
    case_id: Option<Uuid>,
    at: DateTime<Utc>,
    outcome: Outcome,
    reply: Option<Value>,
) {
    let agent_id = sid(&format!("agent:{agent_key}"));
    let Ok((id, _)) = runs::create_run(
        store,
        NewRun {
            team_id: demo_team(),
            agent_id,
            user_id: Some(DEMO_USER_ID),
            message: message.map(str::to_string),
            sandbox_id: None,
            webhook_url: None,
            source,
            case_id,
        },
        at,
    ) else {
        return;
    };
    let name = store
        .agents
        .iter()
        .find(|a| a.id == agent_id)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let first = transcripts::personalize(
        transcripts::start(
            &name,
            Behaviour {
                outcome,
                slow: false,
            },
        ),
        message.unwrap_or(""),
    );
    let end = runs::replay(store, id, first, at);
    let Some(Value::Object(body)) = reply else {
        return;
    };
    let pending = store
        .runs
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| r.pending_request);
    let Some(req) = pending else {
        return;
    };
    let answered = end + Duration::minutes(7);
    let body: Map<String, Value> = body;
    if let Ok((_, next)) = runs::respond(store, demo_team(), id, req, &body, answered) {
        runs::replay(store, id, next, answered);
    }
}
