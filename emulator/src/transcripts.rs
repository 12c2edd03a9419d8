//! Canned, realistic Job transcripts: which messages a run appends and when it pauses or ends.
//!
//! A [`Script`] is a list of `(base_seconds, Step)`; the lifecycle task sleeps
//! `base_seconds * time_scale` before applying each step. The content depends on the
//! Assignment's "flavor" (guessed from its name): invoices, supplier onboarding, sales
//! reporting, price checks, or a generic fallback.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::model::{HumanRequestKind, RunStatus};

/// What the run does at the end of its first pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finish `completed`.
    Complete,
    /// Pause `waiting` on an approval request.
    Approval,
    /// Pause `waiting` on a question request.
    Question,
    /// Finish `failed`.
    Fail,
}

/// Behaviour chosen for a run (see the trigger words in `runs.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    /// End of the first pass.
    pub outcome: Outcome,
    /// Run ~20 extra tool steps first.
    pub slow: bool,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The outcome a text asks for, if any.
pub fn outcome_of(text: &str) -> Option<Outcome> {
    let lower = text.to_lowercase();
    if lower.contains("[fail]") {
        return Some(Outcome::Fail);
    }
    if lower.contains("[approval]") {
        return Some(Outcome::Approval);
    }
    if lower.contains("[question]") {
        return Some(Outcome::Question);
    }
    if words(text).any(|w| w == "approve" || w == "approval") {
        return Some(Outcome::Approval);
    }
    if words(text).any(|w| w == "ask") {
        return Some(Outcome::Question);
    }
    None
}

/// Decide a run's behaviour from its start message, then the SOP text.
pub fn decide(message: Option<&str>, sop: &str) -> Behaviour {
    let msg = message.unwrap_or("");
    let outcome = outcome_of(msg)
        .or_else(|| outcome_of(sop))
        .unwrap_or(Outcome::Complete);
    let slow = msg.to_lowercase().contains("[slow]") || sop.to_lowercase().contains("[slow]");
    Behaviour { outcome, slow }
}

/// Whether an SOP asks for human input (→ `human_in_the_loop_enabled`).
pub fn sop_asks(sop: &str) -> bool {
    matches!(outcome_of(sop), Some(Outcome::Approval | Outcome::Question))
}

/// A human request the run will raise.
#[derive(Debug, Clone)]
pub struct AskSpec {
    /// Approval or question.
    pub kind: HumanRequestKind,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Questions (question kind).
    pub questions: Vec<Value>,
}

/// One lifecycle step.
#[derive(Debug, Clone)]
pub enum Step {
    /// Move to `starting` / `running`.
    Status(RunStatus),
    /// Assistant text message.
    Say(String),
    /// Assistant tool call.
    Call {
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        args: Value,
    },
    /// Tool result.
    Result {
        /// Tool call id answered.
        call_id: String,
        /// Output.
        result: Value,
        /// Error text, if the tool failed.
        error: Option<String>,
    },
    /// Raise a human request and pause `waiting`.
    Ask(AskSpec),
    /// Finish in a terminal status.
    Finish(RunStatus),
}

/// A timed list of steps.
pub type Script = Vec<(f64, Step)>;

/// Content family of an Assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Invoice processing.
    Invoice,
    /// Supplier onboarding.
    Supplier,
    /// Sales reporting.
    Sales,
    /// Competitor price checks.
    Price,
    /// Anything else.
    Generic,
}

fn call_id() -> String {
    let u = Uuid::new_v4().simple().to_string();
    format!("toolu_{}", &u[..20])
}

struct Tool {
    name: &'static str,
    args: Value,
    result: Value,
}

impl Flavor {
    /// Guess the flavor from an Assignment name.
    pub fn of(agent_name: &str) -> Self {
        let n = agent_name.to_lowercase();
        if n.contains("invoice") {
            Self::Invoice
        } else if n.contains("supplier") || n.contains("vendor") {
            Self::Supplier
        } else if n.contains("sales") || n.contains("report") {
            Self::Sales
        } else if n.contains("price") {
            Self::Price
        } else {
            Self::Generic
        }
    }

    fn intro(self, agent_name: &str) -> String {
        match self {
            Self::Invoice => "I'll process the invoice: extract the header and line items, then run a 3-way match against the purchase order and goods receipt.".into(),
            Self::Supplier => "I'll onboard the new supplier: read the request from the vendor form, validate the VAT number and bank details, then create the vendor record.".into(),
            Self::Sales => "I'll pull yesterday's orders from Snowflake, compare them with the same weekday last week and the monthly target, and post the summary to #sales-daily.".into(),
            Self::Price => "I'll open each competitor product page, record shelf price, promo price and availability, and flag SKUs where we are more than 5% more expensive.".into(),
            Self::Generic => format!("I'll work through the instructions for \"{agent_name}\" step by step."),
        }
    }

    fn first_tool(self) -> Tool {
        match self {
            Self::Invoice => Tool {
                name: "netsuite.lookup_purchase_order",
                args: json!({"po_number": "PO-88213"}),
                result: json!({"po_number": "PO-88213", "supplier": "Contoso Packaging", "open_amount": 12480.0, "currency": "EUR", "goods_receipt": "GR-4471", "lines": 3}),
            },
            Self::Supplier => Tool {
                name: "sheets.read_range",
                args: json!({"spreadsheet": "Vendor requests", "range": "A42:H42"}),
                result: json!({"supplier": "Baltic Timber OÜ", "vat": "EE102345678", "iban": "EE382200221020145685", "contact": "liis@baltictimber.example"}),
            },
            Self::Sales => Tool {
                name: "snowflake.query",
                args: json!({"sql": "SELECT region, channel, SUM(net_amount) AS net FROM orders WHERE order_date = CURRENT_DATE - 1 GROUP BY 1, 2"}),
                result: json!({"columns": ["region", "channel", "net"], "rows": [["North", "web", 48210.5], ["North", "store", 31877.0], ["South", "web", 39954.25], ["South", "store", 28410.75]], "row_count": 4}),
            },
            Self::Price => Tool {
                name: "browser.open_page",
                args: json!({"url": "https://www.tesco.example/groceries/product/4011"}),
                result: json!({"title": "Organic Bananas 5 pack", "shelf_price": 1.35, "promo_price": null, "in_stock": true}),
            },
            Self::Generic => Tool {
                name: "workspace.read_file",
                args: json!({"path": "/workspace/input.md"}),
                result: json!({"bytes": 1834, "lines": 42}),
            },
        }
    }

    fn second_tool(self) -> Tool {
        match self {
            Self::Invoice => Tool {
                name: "netsuite.post_vendor_bill",
                args: json!({"invoice_number": "INV-10482", "amount": 12480.0, "currency": "EUR"}),
                result: json!({"vendor_bill_id": "VB-55102", "status": "posted"}),
            },
            Self::Supplier => Tool {
                name: "erp.create_vendor",
                args: json!({"name": "Baltic Timber OÜ", "vat": "EE102345678", "payment_terms": "Net 30"}),
                result: json!({"vendor_id": "V-20931", "status": "active"}),
            },
            Self::Sales => Tool {
                name: "slack.post_message",
                args: json!({"channel": "#sales-daily", "text": "Daily sales: EUR 148,452 (+6.2% vs last week)"}),
                result: json!({"ok": true, "ts": "1714550000.000200"}),
            },
            Self::Price => Tool {
                name: "browser.open_page",
                args: json!({"url": "https://www.sainsburys.example/gol-ui/product/4017"}),
                result: json!({"title": "Greek Style Yoghurt 500g", "shelf_price": 2.25, "promo_price": 1.99, "in_stock": true}),
            },
            Self::Generic => Tool {
                name: "workspace.write_file",
                args: json!({"path": "/workspace/output.md"}),
                result: json!({"bytes_written": 2210}),
            },
        }
    }

    fn summary(self) -> String {
        match self {
            Self::Invoice => "Invoice INV-10482 from Contoso Packaging (EUR 12,480.00) matched PO-88213 and goods receipt GR-4471 within tolerance and was posted as vendor bill VB-55102.".into(),
            Self::Supplier => "Baltic Timber OÜ is onboarded as vendor V-20931 (VAT EE102345678 verified in VIES, IBAN format valid). Welcome email sent to liis@baltictimber.example.".into(),
            Self::Sales => "Yesterday's net sales were EUR 148,452 (+6.2% vs the same weekday last week, 97% of the daily target). Top movers: North web +14%, garden furniture +22%, South store -8%. Posted to #sales-daily.".into(),
            Self::Price => "Checked 3 SKUs at Tesco and Sainsbury's. We are more than 5% more expensive on SKU 4017 (Greek Style Yoghurt 500g: EUR 2.49 vs 2.25 at Sainsbury's). The other SKUs are within range.".into(),
            Self::Generic => "Done. I followed the instructions and saved the result to /workspace/output.md.".into(),
        }
    }

    fn failure(self) -> (String, String) {
        match self {
            Self::Invoice => (
                "NetSuite returned 503 Service Unavailable while posting the vendor bill".into(),
                "I couldn't post invoice INV-10482: NetSuite was unavailable after 3 attempts. Nothing was booked; the job can be retried.".into(),
            ),
            Self::Supplier => (
                "VIES VAT validation service timed out".into(),
                "I couldn't verify the VAT number EE102345678 because the VIES service timed out, so I did not create the vendor.".into(),
            ),
            Self::Sales => (
                "Snowflake: warehouse REPORTING_WH is suspended".into(),
                "I couldn't build the sales report: the Snowflake warehouse REPORTING_WH is suspended. No message was posted to #sales-daily.".into(),
            ),
            Self::Price => (
                "Access denied (HTTP 403): the competitor site blocked the automated browser".into(),
                "I couldn't finish the price check: Sainsbury's blocked the browser session (HTTP 403). Prices were collected for 1 of 3 SKUs.".into(),
            ),
            Self::Generic => (
                "Tool execution failed: upstream service returned 500".into(),
                "I couldn't complete the job because a required service returned an error.".into(),
            ),
        }
    }

    fn approval(self, agent_name: &str) -> (String, AskSpec) {
        let (say, title, desc) = match self {
            Self::Invoice => (
                "The invoice total is above the EUR 5,000 threshold, so I need approval from finance before posting it.",
                "Approve invoice INV-10482 (EUR 12,480.00)".to_string(),
                "Contoso Packaging invoice exceeds the EUR 5,000 auto-approval threshold. 3-way match passed; line 2 deviates by 1.4% (within tolerance). Approve posting to NetSuite?".to_string(),
            ),
            Self::Supplier => (
                "The supplier is ready to be created; vendor creation needs procurement approval.",
                "Approve new supplier Baltic Timber OÜ".to_string(),
                "VAT and IBAN checks passed. Approve creating the vendor record in the ERP?".to_string(),
            ),
            Self::Sales => (
                "The report is ready; I need approval before posting it to the channel.",
                "Approve posting the daily sales report".to_string(),
                "Net sales EUR 148,452 (+6.2% week over week). Approve posting to #sales-daily?".to_string(),
            ),
            Self::Price => (
                "I found SKUs priced more than 5% above competitors; changing prices needs approval.",
                "Approve price match for SKU 4017".to_string(),
                "Lower Greek Style Yoghurt 500g from EUR 2.49 to EUR 2.29 to stay within 5% of Sainsbury's?".to_string(),
            ),
            Self::Generic => (
                "I have prepared the changes and need your approval before applying them.",
                format!("Approve next step of {agent_name}"),
                "Approve to apply the prepared changes, or deny to stop without applying them.".to_string(),
            ),
        };
        (
            say.to_string(),
            AskSpec {
                kind: HumanRequestKind::Approval,
                title,
                description: Some(desc),
                questions: Vec::new(),
            },
        )
    }

    fn question(self, agent_name: &str) -> (String, AskSpec) {
        match self {
            Self::Supplier => (
                "Before I create the vendor I need the payment terms and the list of documents still missing.".into(),
                AskSpec {
                    kind: HumanRequestKind::Question,
                    title: "Details needed to onboard Baltic Timber OÜ".into(),
                    description: Some("The vendor request form does not specify payment terms or which compliance documents were received.".into()),
                    questions: vec![
                        json!({
                            "question": "Which payment terms should we set for Baltic Timber OÜ?",
                            "header": "Payment terms",
                            "options": [
                                {"label": "Net 30", "description": "Standard terms for new suppliers"},
                                {"label": "Net 45"},
                                {"label": "Net 60", "description": "Requires CFO sign-off"}
                            ],
                            "multi_select": false
                        }),
                        json!({
                            "question": "Which documents are still missing?",
                            "header": "Documents",
                            "options": [
                                {"label": "W-8BEN-E"},
                                {"label": "Bank confirmation letter"},
                                {"label": "Insurance certificate"}
                            ],
                            "multi_select": true
                        }),
                    ],
                },
            ),
            Self::Invoice => (
                "The purchase order has no cost center, so I need to know where to book this invoice.".into(),
                AskSpec {
                    kind: HumanRequestKind::Question,
                    title: "Cost center for invoice INV-10482".into(),
                    description: Some("PO-88213 has no cost center assigned.".into()),
                    questions: vec![json!({
                        "question": "Which cost center should this invoice be booked to?",
                        "header": "Cost center",
                        "options": [
                            {"label": "CC-100 Operations"},
                            {"label": "CC-200 Logistics"},
                            {"label": "CC-300 Facilities"}
                        ],
                        "multi_select": false
                    })],
                },
            ),
            _ => (
                "I need a decision from you before I continue.".into(),
                AskSpec {
                    kind: HumanRequestKind::Question,
                    title: format!("Input needed for {agent_name}"),
                    description: None,
                    questions: vec![json!({
                        // Quotes the Assignment's name: question texts carry user-written text.
                        "question": format!("How should I continue with {agent_name}?"),
                        "header": "Next step",
                        "options": [
                            {"label": "Use the defaults", "description": "Continue with the standard settings"},
                            {"label": "Skip this item", "description": "Leave it for a human to handle"}
                        ],
                        "multi_select": false
                    })],
                },
            ),
        }
    }
}

fn tool_steps(tool: Tool, call_secs: f64, result_secs: f64) -> [(f64, Step); 2] {
    let id = call_id();
    [
        (
            call_secs,
            Step::Call {
                id: id.clone(),
                name: tool.name.to_string(),
                args: tool.args,
            },
        ),
        (
            result_secs,
            Step::Result {
                call_id: id,
                result: tool.result,
                error: None,
            },
        ),
    ]
}

fn slow_steps(script: &mut Script) {
    for i in 1..=10 {
        script.extend(tool_steps(
            Tool {
                name: "workspace.process_item",
                args: json!({"item": i, "of": 10}),
                result: json!({"item": i, "status": "ok"}),
            },
            1.0,
            1.5,
        ));
    }
}

fn tail(script: &mut Script, flavor: Flavor, agent_name: &str, outcome: Outcome) {
    match outcome {
        Outcome::Complete => {
            script.extend(tool_steps(flavor.second_tool(), 1.0, 1.5));
            script.push((2.0, Step::Say(flavor.summary())));
            script.push((0.5, Step::Finish(RunStatus::Completed)));
        }
        Outcome::Fail => {
            let tool = flavor.second_tool();
            let (error, text) = flavor.failure();
            let id = call_id();
            script.push((
                1.0,
                Step::Call {
                    id: id.clone(),
                    name: tool.name.to_string(),
                    args: tool.args,
                },
            ));
            script.push((
                1.5,
                Step::Result {
                    call_id: id,
                    result: Value::Null,
                    error: Some(error),
                },
            ));
            script.push((1.0, Step::Say(text)));
            script.push((0.5, Step::Finish(RunStatus::Failed)));
        }
        Outcome::Approval => {
            let (say, ask) = flavor.approval(agent_name);
            script.push((1.0, Step::Say(say)));
            script.push((0.5, Step::Ask(ask)));
        }
        Outcome::Question => {
            let (say, ask) = flavor.question(agent_name);
            script.push((1.0, Step::Say(say)));
            script.push((0.5, Step::Ask(ask)));
        }
    }
}

/// The first pass of a new run.
pub fn start(agent_name: &str, behaviour: Behaviour) -> Script {
    let flavor = Flavor::of(agent_name);
    let mut s: Script = vec![
        (1.0, Step::Status(RunStatus::Starting)),
        (1.5, Step::Status(RunStatus::Running)),
        (1.5, Step::Say(flavor.intro(agent_name))),
    ];
    s.extend(tool_steps(flavor.first_tool(), 1.0, 2.0));
    if behaviour.slow {
        slow_steps(&mut s);
    }
    tail(&mut s, flavor, agent_name, behaviour.outcome);
    s
}

/// Continuation after an approval decision (denied → completes without acting).
pub fn after_approval(agent_name: &str, approved: bool) -> Script {
    let flavor = Flavor::of(agent_name);
    if approved {
        let mut s: Script = vec![(1.0, Step::Say("Approval received, continuing.".into()))];
        tail(&mut s, flavor, agent_name, Outcome::Complete);
        s
    } else {
        let text = match flavor {
            Flavor::Invoice => "The approval was denied, so I did not post invoice INV-10482. I put it on hold and noted the reason.".to_string(),
            _ => "The approval was denied, so I stopped without applying the changes.".to_string(),
        };
        vec![
            (1.0, Step::Say(text)),
            (0.5, Step::Finish(RunStatus::Completed)),
        ]
    }
}

/// Continuation after questions were answered.
pub fn after_answers(agent_name: &str, answers: &Map<String, Value>) -> Script {
    let flavor = Flavor::of(agent_name);
    let listed: Vec<String> = answers
        .iter()
        .map(|(q, a)| format!("{q} → {}", a.as_str().unwrap_or_default()))
        .collect();
    let mut s: Script = vec![(
        1.0,
        Step::Say(format!("Thanks. Continuing with: {}.", listed.join("; "))),
    )];
    tail(&mut s, flavor, agent_name, Outcome::Complete);
    s
}

/// Continuation after a user message resumed the run (behaviour from the message only).
pub fn after_message(agent_name: &str, message: &str) -> Script {
    let flavor = Flavor::of(agent_name);
    let b = decide(Some(message), "");
    let mut s: Script = vec![(1.5, Step::Say("Got it, picking this up again.".into()))];
    s.extend(tool_steps(flavor.first_tool(), 1.0, 2.0));
    if b.slow {
        slow_steps(&mut s);
    }
    tail(&mut s, flavor, agent_name, b.outcome);
    s
}

/// Default invoice number used in the invoice transcripts.
const DEFAULT_INVOICE: &str = "INV-10482";

fn invoice_number(context: &str) -> Option<&str> {
    let start = context.find("INV-")?;
    let digits = context[start + 4..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    (digits > 0).then(|| &context[start..start + 4 + digits])
}

/// Replace the default invoice number with the one mentioned in `context` (start message / title).
pub fn personalize(script: Script, context: &str) -> Script {
    let Some(inv) = invoice_number(context).filter(|i| *i != DEFAULT_INVOICE) else {
        return script;
    };
    let fix = |s: String| s.replace(DEFAULT_INVOICE, inv);
    let fix_json = |v: Value| serde_json::from_str(&fix(v.to_string())).unwrap_or(Value::Null);
    script
        .into_iter()
        .map(|(secs, step)| {
            let step = match step {
                Step::Say(t) => Step::Say(fix(t)),
                Step::Call { id, name, args } => Step::Call {
                    id,
                    name,
                    args: fix_json(args),
                },
                Step::Result {
                    call_id,
                    result,
                    error,
                } => Step::Result {
                    call_id,
                    result: fix_json(result),
                    error: error.map(fix),
                },
                Step::Ask(mut a) => {
                    a.title = fix(a.title);
                    a.description = a.description.map(fix);
                    Step::Ask(a)
                }
                other => other,
            };
            (secs, step)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        assert_eq!(decide(Some("do it [fail]"), "").outcome, Outcome::Fail);
        assert_eq!(decide(Some("[approval]"), "").outcome, Outcome::Approval);
        assert_eq!(
            decide(Some("please approve"), "").outcome,
            Outcome::Approval
        );
        assert_eq!(decide(Some("[question]"), "").outcome, Outcome::Question);
        assert_eq!(decide(Some("Ask me first"), "").outcome, Outcome::Question);
        assert_eq!(decide(Some("run the task"), "").outcome, Outcome::Complete);
        assert_eq!(decide(None, "request approval").outcome, Outcome::Approval);
        assert_eq!(decide(Some("[fail]"), "approval").outcome, Outcome::Fail);
        assert!(decide(Some("[slow]"), "").slow);
        assert!(sop_asks("Ask the owner"));
        assert!(!sop_asks("Compile the tasks"));
    }

    #[test]
    fn personalizes_invoice_numbers() {
        assert_eq!(invoice_number("Process INV-10477 now"), Some("INV-10477"));
        assert_eq!(invoice_number("no invoice"), None);
        let s = personalize(
            start(
                "Invoice Approval",
                Behaviour {
                    outcome: Outcome::Approval,
                    slow: false,
                },
            ),
            "INV-777",
        );
        let has = s
            .iter()
            .any(|(_, st)| matches!(st, Step::Ask(a) if a.title.contains("INV-777")));
        assert!(has);
    }
}
