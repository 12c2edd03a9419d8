//! HTTP-level tests of the emulator's Skills, Sandboxes and Connections (incl. Composio OAuth).
// Tests: unwrapping and panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).

mod common;

use common::emu_http::{self, Resp};

use std::io::{Cursor, Read, Write};

use duvo_emulator::{self as emulator, DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig, OTHER_TEAM_KEY};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Ctx {
    emu: emulator::RunningEmulator,
    http: reqwest::Client,
}

impl Ctx {
    async fn new() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let emu = emulator::start(
            listener,
            EmulatorConfig {
                time_scale: 0.01,
                validate_responses: true,
                ..EmulatorConfig::default()
            },
        )
        .await
        .expect("start emulator");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self { emu, http }
    }

    /// Every response so far matched `spec/openapi.json`, except on paths containing `skip`
    /// (operations the spec does not have).
    fn assert_contract(&self, skip: Option<&str>) {
        let report = self.emu.contract_report();
        assert!(
            report["checked"].as_u64().is_some_and(|n| n > 0),
            "{report}"
        );
        let violations: Vec<&Value> = report["violations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|x| {
                        skip.is_none_or(|s| !x["path"].as_str().is_some_and(|p| p.contains(s)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            violations.is_empty(),
            "contract violations: {violations:#?}"
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    async fn send_as(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        emu_http::send(
            &self.http,
            self.emu.base_url(),
            (method, path),
            Some(key),
            body.as_ref(),
            None,
        )
        .await
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send_as(DEMO_API_KEY, method, path, body).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn multipart(&self, path: &str, form: Form) -> Resp {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(DEMO_API_KEY)
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        emu_http::read(path, resp).await
    }
}

fn team(path: &str) -> String {
    format!("/v2/teams/{DEMO_TEAM_ID}{path}")
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, data) in entries {
        zip.start_file(*path, opts).expect("start zip entry");
        zip.write_all(data).expect("write zip entry");
    }
    zip.finish().expect("finish zip").into_inner()
}

fn file_form(field: &str, name: &str, data: Vec<u8>) -> Form {
    Form::new().part(
        field.to_string(),
        Part::bytes(data).file_name(name.to_string()),
    )
}

fn error_fields(body: &Value) -> Vec<String> {
    body["validationErrors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn create_skill_validates_frontmatter_and_upserts_by_name() {
    let ctx = Ctx::new().await;
    let body = json!({
        "name": "csv-cleaner",
        "description": "Clean CSV exports: trim cells, drop duplicate rows.",
        "content": "# CSV cleaner\n\n1. Trim every cell.\n",
        "allowed-tools": "Bash Read",
        "metadata": {"owner": "finance"},
    });
    let r = ctx.post(&team("/skills"), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["skill"]["id"]
        .as_str()
        .expect("skill id")
        .to_string();
    assert_eq!(r.body["skill"]["team_id"], DEMO_TEAM_ID);

    let r = ctx.get(&format!("/v2/skills/{id}/files/SKILL.md")).await;
    assert_eq!(r.status, StatusCode::OK);
    let md = r.body["content"].as_str().expect("content");
    assert!(md.starts_with("---\nname: csv-cleaner\n"), "{md}");
    assert!(md.contains("allowed-tools: Bash Read"), "{md}");
    assert!(
        md.ends_with("# CSV cleaner\n\n1. Trim every cell.\n"),
        "{md}"
    );

    let mut again = body.clone();
    again["description"] = json!("Clean CSV exports, now with date normalisation.");
    let r = ctx.post(&team("/skills"), again).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["skill"]["id"], id.as_str());

    let r = ctx.get(&team("/skills")).await;
    let listed: Vec<&Value> = r.body["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .filter(|s| s["name"] == "csv-cleaner")
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["description"],
        "Clean CSV exports, now with date normalisation."
    );
    assert!(listed[0]["updated_by_user_name"].is_string());
    assert!(listed[0]["source"].is_null());

    let r = ctx
        .post(
            &team("/skills"),
            json!({"name": "Bad--Name-", "content": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let fields = error_fields(&r.body);
    assert!(fields.contains(&"name".to_string()), "{}", r.body);
    assert!(fields.contains(&"description".to_string()), "{}", r.body);
    assert!(r.body["error"].is_string() && r.body["message"].is_string());

    let r = ctx
        .post(
            &team("/skills"),
            json!({"name": "ok-name", "description": "d".repeat(1025), "content": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&r.body), ["description"]);
    ctx.assert_contract(None);
}

#[tokio::test]
async fn uploaded_zip_skill_can_be_read_edited_downloaded_and_deleted() {
    let ctx = Ctx::new().await;
    let skill_md = b"---\nname: vendor-checks\ndescription: Check a new vendor's VAT number and IBAN.\n---\n\n# Vendor checks\n";
    let zip = zip_of(&[
        ("SKILL.md", skill_md),
        ("references/guide.md", b"# Guide\nUse VIES.\n"),
        ("scripts/iban.py", b"print('ok')\n"),
    ]);
    let r = ctx
        .multipart(
            &team("/skills/upload"),
            file_form("file", "vendor-checks.zip", zip),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["skill"]["name"], "vendor-checks");
    let id = r.body["skill"]["id"].as_str().expect("id").to_string();

    let r = ctx.get(&format!("/v2/skills/{id}/files")).await;
    assert_eq!(r.status, StatusCode::OK);
    let files = r.body["files"].as_array().expect("files");
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(
        paths,
        ["SKILL.md", "references/guide.md", "scripts/iban.py"]
    );
    assert_eq!(files[1]["name"], "guide.md");
    assert_eq!(files[1]["size"], 18);
    assert_eq!(files[1]["contentType"], "text/markdown");

    let r = ctx
        .get(&format!("/v2/skills/{id}/files/references/guide.md"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["content"], "# Guide\nUse VIES.\n");
    assert_eq!(r.body["path"], "references/guide.md");

    let r = ctx
        .get(&format!("/v2/skills/{id}/files/references/missing.md"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = ctx
        .send(
            Method::PUT,
            &format!("/v2/skills/{id}/files/references/guide.md"),
            Some(json!({"content": "# Guide\nUse VIES, then the national registry.\n"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert!(r.body.get("skill").is_none());

    let r = ctx
        .send(
            Method::PUT,
            &format!("/v2/skills/{id}/files/SKILL.md"),
            Some(json!({"content": "---\nname: Vendor_Checks\n---\nbody\n"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(error_fields(&r.body).contains(&"name".to_string()));

    let r = ctx
        .send(
            Method::PUT,
            &format!("/v2/skills/{id}/files/SKILL.md"),
            Some(json!({"content": "---\nname: vendor-checks\ndescription: Check VAT, IBAN and sanctions lists.\n---\n# Vendor checks\n"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["skill"]["description"],
        "Check VAT, IBAN and sanctions lists."
    );

    let resp = ctx
        .http
        .get(ctx.url(&format!("/v2/skills/{id}/download")))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/zip")
    );
    let bytes = resp.bytes().await.expect("zip bytes");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("valid zip");
    assert_eq!(archive.len(), 3);
    let mut guide = String::new();
    archive
        .by_name("references/guide.md")
        .expect("guide in zip")
        .read_to_string(&mut guide)
        .expect("read guide");
    assert_eq!(guide, "# Guide\nUse VIES, then the national registry.\n");

    // A bare SKILL.md re-uploads the same skill by name: 200, files replaced.
    let r = ctx
        .multipart(
            &team("/skills/upload"),
            file_form("file", "SKILL.md", skill_md.to_vec()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["skill"]["id"], id.as_str());
    let r = ctx.get(&format!("/v2/skills/{id}/files")).await;
    assert_eq!(r.body["files"].as_array().map(Vec::len), Some(1));

    let evil = zip_of(&[("SKILL.md", skill_md), ("../../etc/cron.d/x", b"boom")]);
    let r = ctx
        .multipart(&team("/skills/upload"), file_form("file", "evil.zip", evil))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let no_root = zip_of(&[("docs/README.md", b"# no skill here")]);
    let r = ctx
        .multipart(&team("/skills/upload"), file_form("file", "x.zip", no_root))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let bad_md = b"---\nname: x--y\n---\n".to_vec();
    let r = ctx
        .multipart(
            &team("/skills/upload"),
            file_form("file", "SKILL.md", bad_md),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let fields = error_fields(&r.body);
    assert!(fields.contains(&"name".to_string()) && fields.contains(&"description".to_string()));

    let r = ctx
        .send(Method::DELETE, &format!("/v2/skills/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["success"], true);
    let r = ctx.get(&format!("/v2/skills/{id}/files")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    ctx.assert_contract(None);
}

#[tokio::test]
async fn system_skills_are_read_only_and_team_skills_are_private() {
    let ctx = Ctx::new().await;
    let r = ctx.get("/v2/skills/system").await;
    assert_eq!(r.status, StatusCode::OK);
    let system = r.body["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .find(|s| s["name"] == "pdf-extraction")
        .cloned()
        .expect("seeded system skill");
    let sys_id = system["id"].as_str().expect("id").to_string();

    let r = ctx.get(&team("/skills")).await;
    let all = r.body["skills"].as_array().expect("skills");
    let team_skill = all
        .iter()
        .find(|s| s["name"] == "invoice-matching")
        .expect("seeded team skill");
    assert_eq!(team_skill["team_id"], DEMO_TEAM_ID);
    let team_id = team_skill["id"].as_str().expect("id").to_string();
    assert!(
        all.iter()
            .any(|s| s["id"] == sys_id.as_str() && s["team_id"].is_null())
    );

    let r = ctx
        .get(&format!("/v2/skills/{sys_id}/files/SKILL.md"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = ctx
        .send(
            Method::PUT,
            &format!("/v2/skills/{sys_id}/files/SKILL.md"),
            Some(json!({"content": "---\nname: pdf-extraction\ndescription: mine now\n---\n"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ctx
        .send(Method::DELETE, &format!("/v2/skills/{sys_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ctx.get(&format!("/v2/skills/{sys_id}/download")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = ctx.get(&format!("/v2/skills/{team_id}/assignments")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["assignments"][0]["name"], "Invoice Approval");

    let r = ctx
        .send_as(
            OTHER_TEAM_KEY,
            Method::GET,
            &format!("/v2/skills/{team_id}/files"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ctx
        .send_as(
            OTHER_TEAM_KEY,
            Method::GET,
            &format!("/v2/skills/{sys_id}/files"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    ctx.assert_contract(None);
}

#[tokio::test]
async fn sandbox_direct_and_presigned_uploads_are_listed() {
    let ctx = Ctx::new().await;
    let r = ctx.send(Method::POST, "/v2/sandboxes", None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sbx = r.body["sandbox_id"]
        .as_str()
        .expect("sandbox_id")
        .to_string();
    assert!(sbx.starts_with("sbx_"));
    assert!(r.body["expires_at"].is_string());

    let csv = b"sku,price\nA-1,9.99\n".to_vec();
    let r = ctx
        .multipart(
            &format!("/v2/sandboxes/{sbx}/files"),
            file_form("file", "prices.csv", csv.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["path"], "/workspace/prices.csv");
    assert_eq!(r.body["size_bytes"], csv.len());

    let form = file_form("file", "notes.txt", b"hello".to_vec()).text("path", "/workspace/in/");
    let r = ctx
        .multipart(&format!("/v2/sandboxes/{sbx}/files"), form)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["path"], "/workspace/in/notes.txt");

    let r = ctx
        .post(
            &format!("/v2/sandboxes/{sbx}/upload-urls"),
            json!({"path": "/workspace/big/orders.parquet"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["path"], "/workspace/big/orders.parquet");
    assert!(
        r.body["expires_in_seconds"]
            .as_f64()
            .is_some_and(|s| s > 0.0)
    );
    let upload_url = r.body["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();
    assert!(
        upload_url.starts_with(ctx.emu.base_url()),
        "{upload_url} is served by the emulator"
    );

    let big = vec![7u8; 300_000];
    let put = ctx
        .http
        .put(&upload_url)
        .body(big.clone())
        .send()
        .await
        .expect("presigned PUT");
    assert_eq!(put.status(), StatusCode::OK);
    let again = ctx
        .http
        .put(&upload_url)
        .body(b"second".to_vec())
        .send()
        .await
        .expect("second PUT");
    assert_eq!(
        again.status(),
        StatusCode::FORBIDDEN,
        "the URL is single-use"
    );

    let r = ctx.get(&format!("/v2/sandboxes/{sbx}/files")).await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["files"].as_array().expect("files");
    let names: Vec<(&str, &str)> = items
        .iter()
        .filter_map(|f| Some((f["name"].as_str()?, f["type"].as_str()?)))
        .collect();
    assert_eq!(
        names,
        [("big", "dir"), ("in", "dir"), ("prices.csv", "file")]
    );
    assert_eq!(items[0]["size_bytes"], 0);
    assert_eq!(items[2]["size_bytes"], csv.len());

    let r = ctx
        .get(&format!("/v2/sandboxes/{sbx}/files?path=/workspace/big"))
        .await;
    assert_eq!(r.body["files"][0]["path"], "/workspace/big/orders.parquet");
    assert_eq!(r.body["files"][0]["size_bytes"], big.len());

    let r = ctx
        .get(&format!("/v2/sandboxes/{sbx}/files?path=/nowhere"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ctx.get("/v2/sandboxes/sbx_does_not_exist/files").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ctx
        .send_as(
            OTHER_TEAM_KEY,
            Method::GET,
            &format!("/v2/sandboxes/{sbx}/files"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    ctx.assert_contract(None);
}

#[tokio::test]
async fn direct_upload_over_10_mb_is_413() {
    let ctx = Ctx::new().await;
    let r = ctx.send(Method::POST, "/v2/sandboxes", None).await;
    let sbx = r.body["sandbox_id"]
        .as_str()
        .expect("sandbox_id")
        .to_string();
    let too_big = vec![0u8; 10 * 1024 * 1024 + 1];
    let r = ctx
        .multipart(
            &format!("/v2/sandboxes/{sbx}/files"),
            file_form("file", "huge.bin", too_big),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body["error"].is_string() && r.body["message"].is_string());
    let r = ctx.get(&format!("/v2/sandboxes/{sbx}/files")).await;
    assert_eq!(r.body["files"], json!([]));
    ctx.assert_contract(None);
}

#[tokio::test]
async fn user_mcp_connection_lifecycle_keeps_secrets() {
    let ctx = Ctx::new().await;
    let r = ctx.get(&team("/connections")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 2, "seeded connections: {}", r.body);
    assert_eq!(r.body["limit"], 100);

    let secret = "sk_live_super_secret_value";
    let r = ctx
        .post(
            &team("/connections"),
            json!({
                "name": "Inventory MCP",
                "provider": "user",
                "auth_method": "headers",
                "server_url": "https://mcp.inventory.example/mcp",
                "headers": {"plaintext": {"X-Tenant": "acme"}, "secret": {"Authorization": secret}},
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!r.body.to_string().contains(secret));
    assert_eq!(r.body["provider"], "user");
    assert_eq!(r.body["type"], "custom_mcp");
    assert_eq!(r.body["has_headers"], true);
    let id = r.body["id"].as_str().expect("id").to_string();

    let r = ctx.get(&format!("/v2/connections/{id}/credentials")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["headers"],
        json!({"X-Tenant": "acme", "Authorization": ""})
    );

    let r = ctx
        .post(
            &team("/connections/mcp/probe"),
            json!({"server_url": "https://mcp.inventory.example/mcp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["success"], true);
    let tools = r.body["tools"].as_array().map_or(0, Vec::len);
    assert!((2..=3).contains(&tools), "{}", r.body);
    let r = ctx
        .post(
            &team("/connections/mcp/probe"),
            json!({"server_url": "https://unreachable.example.com/mcp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["success"], false);
    assert!(r.body["error"].is_string());
    let r = ctx
        .post(
            &team("/connections/mcp/probe"),
            json!({"integration_slug": "gmail"}),
        )
        .await;
    assert_eq!(r.body["success"], true);

    // "" keeps the stored secret; a new key with "" has nothing to keep.
    let r = ctx
        .send(
            Method::PATCH,
            &format!("/v2/connections/{id}"),
            Some(json!({"name": "Inventory", "headers": {"secret": {"Authorization": ""}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Inventory");
    let r = ctx.get(&format!("/v2/connections/{id}/credentials")).await;
    assert_eq!(
        r.body["headers"],
        json!({"X-Tenant": "acme", "Authorization": ""})
    );
    let r = ctx
        .send(
            Method::PATCH,
            &format!("/v2/connections/{id}"),
            Some(json!({"headers": {"secret": {"X-Api-Key": ""}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = ctx
        .send_as(
            OTHER_TEAM_KEY,
            Method::GET,
            &format!("/v2/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = ctx
        .send(Method::DELETE, &format!("/v2/connections/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["success"], true);
    let r = ctx.get(&format!("/v2/connections/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    ctx.assert_contract(None);
}

#[tokio::test]
async fn native_oauth_start_and_callback_create_a_connection() {
    let ctx = Ctx::new().await;
    let r = ctx
        .post(&team("/connections/oauth/native/gmail/start"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let auth = url::Url::parse(r.body["authorization_url"].as_str().expect("url")).expect("url");
    assert_eq!(auth.scheme(), "https");
    let q: std::collections::HashMap<String, String> = auth.query_pairs().into_owned().collect();
    let state = q.get("state").expect("state param");
    let redirect = q.get("redirect_uri").expect("redirect_uri param");
    assert!(redirect.starts_with(ctx.emu.base_url()));

    let r = ctx
        .post(&team("/connections/oauth/native/myspace/start"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The provider redirects the browser back with a code: the connection appears.
    let resp = ctx
        .http
        .get(format!("{redirect}?code=fake-code&state={state}"))
        .send()
        .await
        .expect("callback");
    let r = emu_http::read("callback", resp).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["connection"]["type"], "gmail");
    let r = ctx.get(&team("/connections?type=gmail")).await;
    assert_eq!(r.body["total"], 2);

    let r = ctx
        .post(
            "/v2/connections/oauth/mcp/check",
            json!({"mcp_server_url": "https://mcp.crm.example/mcp"}),
        )
        .await;
    assert_eq!(r.body["supports_dcr"], true);
    let r = ctx
        .post(
            &team("/connections/oauth/mcp/start"),
            json!({"mcp_server_url": "https://mcp.crm.example/mcp", "name": "CRM"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["authorization_url"]
            .as_str()
            .is_some_and(|u| u.contains("state="))
    );
    ctx.assert_contract(None);
}

#[tokio::test]
async fn composio_start_then_finalize_lists_the_connection() {
    let ctx = Ctx::new().await;
    let r = ctx
        .post(
            &team("/connections/composio/start"),
            json!({"auth_config_id": "ac_slack_123", "callback_url": "https://app.acme.example/done", "auth_scheme": "OAUTH2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "INITIATED");
    assert!(r.body["redirect_url"].is_string());
    let account = r.body["connected_account_id"]
        .as_str()
        .expect("account")
        .to_string();

    let finalize = json!({"app": "slack", "integration_name": "Slack (Acme)", "connected_account_id": account});
    let r = ctx
        .post(&team("/connections/composio/finalize"), finalize.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let integration = r.body["integration_id"].as_str().expect("id").to_string();
    assert!(
        r.body["mcp_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );

    let r = ctx.get(&team("/connections?type=slack")).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["integrations"][0]["id"], integration.as_str());
    assert_eq!(r.body["integrations"][0]["name"], "Slack (Acme)");
    let r = ctx.get(&format!("/v2/connections/{integration}")).await;
    assert_eq!(r.status, StatusCode::OK);

    let r = ctx
        .post(&team("/connections/composio/finalize"), finalize)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = ctx
        .post(
            &team("/connections/composio/finalize"),
            json!({"app": "slack", "integration_name": "x", "connected_account_id": "ca_made_up"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = ctx
        .post(
            &team("/connections/composio/start"),
            json!({"auth_config_id": "ac_hubspot", "callback_url": "https://app.acme.example/done", "auth_scheme": "API_KEY", "auth_fields": {"api_key": "k"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ACTIVE");
    assert!(r.body["redirect_url"].is_null());
    let r = ctx
        .post(
            &team("/connections/composio/start"),
            json!({"auth_config_id": "ac_x", "callback_url": "not a url"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    ctx.assert_contract(Some("/composio/"));
}
