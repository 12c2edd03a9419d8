//! `duvo-mcp http --oauth-issuer … --public-url …` as an OAuth 2.1 resource server, end to end on
//! loopback: an in-test authorization server (RFC 8414 metadata, dynamic client registration,
//! PKCE S256, an auto-approving `/authorize`, RS256 JWT access tokens with `aud` = the resource,
//! JWKS, RFC 7662 introspection) and rmcp's own client OAuth (discovery → registration →
//! authorize → token → `tools/call`) against the real binary, which calls the Duvo emulator with
//! its own key. Negative cases: no token, wrong `aud`/`iss`, expired, `alg: none`, HS256, unknown
//! `kid`, wrong key, missing `aud`, token in the query string, missing scope (403 step-up).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post as route_post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use duvo_emulator::{self as emulator, DEMO_API_KEY, EmulatorConfig, OTHER_TEAM_KEY};
use http_support::*;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const KEY_1: &str = include_str!("fixtures/oauth/test-key-1.pem");
const KEY_2: &str = include_str!("fixtures/oauth/test-key-2.pem");
const KID: &str = "k1";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

// ---------------------------------------------------------------------------------------------
// The in-test authorization server.

struct Code {
    challenge: String,
    scope: String,
    resource: Option<String>,
    client_id: String,
}

struct AuthServer {
    issuer: String,
    key: EncodingKey,
    jwk: Jwk,
    clients: Mutex<HashMap<String, Vec<String>>>,
    codes: Mutex<HashMap<String, Code>>,
    /// Opaque tokens and what introspection says about them.
    opaque: Mutex<HashMap<String, Value>>,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
    tokens_issued: Mutex<Vec<String>>,
    next: AtomicUsize,
}

impl AuthServer {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.next.fetch_add(1, Ordering::SeqCst))
    }

    /// Signs `claims` with key 1 (or `key`) under `kid`.
    fn sign(&self, claims: &Value, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
        let mut h = Header::new(alg);
        h.kid = kid.map(str::to_owned);
        h.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&h, claims, key).unwrap()
    }

    /// A valid access token for `aud` with `scope` (subject `sub`).
    fn token(&self, aud: &str, scope: &str, sub: &str) -> String {
        self.sign(
            &self.claims(aud, scope, sub),
            Algorithm::RS256,
            Some(KID),
            &self.key,
        )
    }

    fn claims(&self, aud: &str, scope: &str, sub: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": self.issuer, "sub": sub, "aud": aud, "scope": scope,
               "iat": now, "exp": now + 300, "jti": self.id("jti"), "client_id": "test"})
    }
}

async fn as_metadata(State(s): State<Arc<AuthServer>>) -> Json<Value> {
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "registration_endpoint": format!("{i}/register"),
        "jwks_uri": format!("{i}/jwks"),
        "introspection_endpoint": format!("{i}/introspect"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["duvo:read", "duvo:write"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn register(State(s): State<Arc<AuthServer>>, Json(body): Json<Value>) -> Response {
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let id = s.id("client");
    s.clients.lock().unwrap().insert(id.clone(), uris.clone());
    let mut out = body.clone();
    out["client_id"] = json!(id);
    out["redirect_uris"] = json!(uris);
    out["token_endpoint_auth_method"] = json!("none");
    (StatusCode::CREATED, Json(out)).into_response()
}

/// Approves at once: 302 to the registered redirect URI with a code (PKCE S256 only).
async fn authorize(
    State(s): State<Arc<AuthServer>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let client = q.get("client_id").cloned().unwrap_or_default();
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let registered = s.clients.lock().unwrap().get(&client).cloned();
    if !registered.is_some_and(|u| u.contains(&redirect)) {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect_uri").into_response();
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return (
            StatusCode::BAD_REQUEST,
            "PKCE S256 and response_type=code required",
        )
            .into_response();
    }
    let code = s.id("code");
    s.codes.lock().unwrap().insert(
        code.clone(),
        Code {
            challenge: q.get("code_challenge").cloned().unwrap_or_default(),
            scope: q.get("scope").cloned().unwrap_or_default(),
            resource: q.get("resource").cloned(),
            client_id: client,
        },
    );
    let mut to = url::Url::parse(&redirect).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""))
        .append_pair("iss", &s.issuer);
    (
        StatusCode::FOUND,
        [(http::header::LOCATION, to.to_string())],
    )
        .into_response()
}

async fn token(
    State(s): State<Arc<AuthServer>>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let err = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response();
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return err("unsupported_grant_type");
    }
    let Some(code) = f
        .get("code")
        .and_then(|c| s.codes.lock().unwrap().remove(c))
    else {
        return err("invalid_grant");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if B64.encode(Sha256::digest(verifier.as_bytes())) != code.challenge {
        return err("invalid_grant");
    }
    if f.get("client_id") != Some(&code.client_id) {
        return err("invalid_client");
    }
    // RFC 8707: the token is for the resource the client named (no resource: no audience).
    let resource = f.get("resource").cloned().or(code.resource);
    let mut claims = s.claims("", &code.scope, "alice");
    match resource {
        Some(r) => claims["aud"] = json!(r),
        None => {
            claims.as_object_mut().unwrap().remove("aud");
        }
    }
    let access = s.sign(&claims, Algorithm::RS256, Some(KID), &s.key);
    s.tokens_issued.lock().unwrap().push(access.clone());
    Json(
        json!({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                "scope": code.scope}),
    )
    .into_response()
}

async fn jwks(State(s): State<Arc<AuthServer>>) -> Json<JwkSet> {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(JwkSet {
        keys: vec![s.jwk.clone()],
    })
}

async fn introspect(
    State(s): State<Arc<AuthServer>>,
    Form(f): Form<HashMap<String, String>>,
) -> Json<Value> {
    let token = f.get("token").cloned().unwrap_or_default();
    s.introspections.fetch_add(1, Ordering::SeqCst);
    Json(
        s.opaque
            .lock()
            .unwrap()
            .get(&token)
            .cloned()
            .unwrap_or_else(|| json!({"active": false})),
    )
}

async fn start_auth_server() -> Arc<AuthServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let key = EncodingKey::from_rsa_pem(KEY_1.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(KID.to_owned());
    let s = Arc::new(AuthServer {
        issuer,
        key,
        jwk,
        clients: Mutex::default(),
        codes: Mutex::default(),
        opaque: Mutex::default(),
        jwks_fetches: AtomicUsize::new(0),
        introspections: AtomicUsize::new(0),
        tokens_issued: Mutex::default(),
        next: AtomicUsize::new(1),
    });
    let app = Router::new()
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/register", route_post(register))
        .route("/authorize", get(authorize))
        .route("/token", route_post(token))
        .route("/jwks", get(jwks))
        .route("/introspect", route_post(introspect))
        .with_state(s.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    s
}

// ---------------------------------------------------------------------------------------------
// The stack: authorization server, emulator, duvo-mcp http.

struct Stack {
    auth: Arc<AuthServer>,
    emu: emulator::RunningEmulator,
    server: Server,
    /// `--public-url`: the exact /mcp URL.
    mcp: String,
}

impl Stack {
    async fn start(extra: &[&str]) -> Self {
        let auth = start_auth_server().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emu = emulator::start(listener, EmulatorConfig::default())
            .await
            .unwrap();
        // The public URL names the port, so pick a free one first.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mcp = format!("http://{listen}/mcp");
        let mut args = vec![
            "--listen",
            listen.as_str(),
            "--oauth-issuer",
            auth.issuer.as_str(),
            "--public-url",
            mcp.as_str(),
        ];
        args.extend_from_slice(extra);
        let server = spawn(
            &args,
            &[
                ("DUVO_API_KEY", DEMO_API_KEY),
                ("DUVO_API_BASE_URL", emu.base_url()),
            ],
        )
        .await;
        Self {
            auth,
            emu,
            server,
            mcp,
        }
    }

    fn metadata_url(&self) -> String {
        self.server.url("/.well-known/oauth-protected-resource/mcp")
    }

    fn bearer(token: &str) -> reqwest::header::HeaderMap {
        headers(&[("authorization", &format!("Bearer {token}"))])
    }

    /// The emulator's request log.
    async fn duvo_requests(&self) -> Vec<Value> {
        let url = format!("{}/_emulator/requests", self.emu.base_url());
        let v: Value = http().get(url).send().await.unwrap().json().await.unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    /// What credential kinds reached the emulator.
    async fn credentials_seen(&self) -> Vec<String> {
        self.duvo_requests()
            .await
            .iter()
            .map(|e| e["credential"].as_str().unwrap_or("none").to_owned())
            .collect()
    }

    /// rmcp's client OAuth, from the server's own 401 challenge: discovery (RFC 9728, RFC 8414),
    /// dynamic client registration, PKCE authorize (the auto-approving redirect), token.
    async fn sign_in(&self, scopes: &[&str]) -> OAuthState {
        let challenge = http()
            .post(&self.mcp)
            .json(&initialize_body())
            .send()
            .await
            .unwrap();
        assert_eq!(challenge.status(), StatusCode::UNAUTHORIZED);
        let www = challenge.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let mut state = OAuthState::new(self.mcp.as_str(), None).await.unwrap();
        let request = AuthorizationRequest::new(REDIRECT)
            .with_client_name("duvo-mcp oauth test")
            .with_challenge(www)
            .with_scopes(scopes.iter().copied());
        state.start_authorization(request).await.unwrap();
        let url = state.get_authorization_url().await.unwrap();
        self.follow(&mut state, &url).await;
        state
    }

    /// Follows an authorization URL to its redirect and hands the callback to the client.
    async fn follow(&self, state: &mut OAuthState, url: &str) {
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = no_redirects.get(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "authorize: {url}");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        state.handle_callback_url(&location).await.unwrap();
    }
}

/// An rmcp client session over the signed-in state.
async fn connect(
    state: OAuthState,
    mcp: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let manager = state.into_authorization_manager().expect("authorized");
    let client = AuthClient::new(reqwest::Client::default(), manager);
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(mcp.to_owned()),
    );
    ().serve(transport)
        .await
        .expect("MCP session with the OAuth token")
}

fn call(name: &str, args: Value) -> rmcp::model::CallToolRequestParams {
    let mut p = rmcp::model::CallToolRequestParams::new(name.to_owned());
    p.arguments = args.as_object().cloned();
    p
}

fn text(r: &rmcp::model::CallToolResult) -> String {
    serde_json::to_string(r).unwrap()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rmcp_client_signs_in_and_calls_tools_with_the_servers_duvo_key() {
    let stack = Stack::start(&[]).await;
    let state = stack.sign_in(&["duvo:read", "duvo:write"]).await;
    let client = connect(state, &stack.mcp).await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(
        names.contains(&"startRun"),
        "write token lists write tools: {names:?}"
    );

    let listed = client
        .call_tool(call("listAgents", json!({})))
        .await
        .unwrap();
    assert!(
        text(&listed).contains("agent"),
        "listAgents: {}",
        text(&listed)
    );
    let agents = stack.duvo_requests().await;
    assert!(!agents.is_empty(), "the call reached Duvo");

    // The emulator saw the server's Duvo key on every request, and never the OAuth token.
    let seen = stack.credentials_seen().await;
    assert!(
        seen.iter().all(|c| c == "demo"),
        "credentials seen by Duvo: {seen:?}"
    );
    let issued = stack.auth.tokens_issued.lock().unwrap().clone();
    assert_eq!(issued.len(), 1, "one token was issued through the flow");
    let log = stack.server.log();
    assert!(
        !log.contains(&issued[0]),
        "the OAuth token must never be logged"
    );
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_read_token_sees_read_only_tools_and_a_write_call_gets_403_step_up() {
    let stack = Stack::start(&[]).await;
    let mut state = stack.sign_in(&["duvo:read"]).await;
    let token = state_token(&stack).await;
    // Raw HTTP, to see the list, the status and the challenge (direct, and through callTool).
    let mcp = Mcp::modern(&stack.mcp, Stack::bearer(&token));
    let listed = mcp.request("tools/list", json!({}), false).await;
    let tools = listed.result()["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"listAgents"), "{names:?}");
    assert!(
        !names.contains(&"startRun"),
        "a read token lists no write tools: {names:?}"
    );
    assert!(
        tools
            .iter()
            .all(|t| t["annotations"]["readOnlyHint"] == json!(true)),
        "every listed tool is read-only: {names:?}"
    );
    let expected = format!(
        "Bearer error=\"insufficient_scope\", error_description=\"startRun changes data and needs \
         the duvo:write scope\", resource_metadata=\"{}\", scope=\"duvo:read duvo:write\"",
        stack.metadata_url()
    );
    let direct = mcp
        .call("startRun", json!({"agent_id": "x", "message": "hi"}))
        .await;
    assert_eq!(direct.status, StatusCode::FORBIDDEN, "{}", direct.body);
    assert_eq!(direct.headers["www-authenticate"], expected.as_str());
    let via = mcp
        .call(
            "callTool",
            json!({"name": "startRun", "arguments": {"agent_id": "x", "message": "hi"}}),
        )
        .await;
    assert_eq!(via.status, StatusCode::FORBIDDEN, "{}", via.body);
    assert_eq!(via.headers["www-authenticate"], expected.as_str());
    let read = mcp.call("callTool", json!({"name": "listAgents"})).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(
        !stack
            .duvo_requests()
            .await
            .iter()
            .any(|e| e["method"] != "GET"),
        "no write reached Duvo"
    );

    // Step-up, as the spec describes it: the client asks for the scopes the 403 named, signs in
    // again, and the write goes through.
    let www = direct.headers["www-authenticate"].to_str().unwrap();
    let wanted = www
        .split("scope=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let url = state.request_scope_upgrade(wanted, REDIRECT).await.unwrap();
    stack.follow(&mut state, &url).await;
    let upgraded = state_token(&stack).await;
    assert_ne!(upgraded, token);
    let client = connect(state, &stack.mcp).await;
    let created = client
        .call_tool(call("createAgentFolder", json!({"name": "from a step-up"})))
        .await
        .unwrap();
    assert_ne!(created.is_error, Some(true), "{}", text(&created));
    assert!(
        stack
            .duvo_requests()
            .await
            .iter()
            .any(|e| e["method"] == "POST" && e["credential"] == "demo"),
        "the write reached Duvo with the server's key"
    );
    let _ = client.cancel().await;
}

/// The one token the authorization server issued.
async fn state_token(stack: &Stack) -> String {
    stack
        .auth
        .tokens_issued
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn tokens_for_another_audience_issuer_or_key_never_reach_a_tool() {
    // A second trusted issuer (unreachable): tokens are matched to their own issuer by `iss`.
    let stack = Stack::start(&["--oauth-issuer", "http://127.0.0.1:2/second"]).await;
    let a = &stack.auth;
    let now = chrono::Utc::now().timestamp();
    let key2 = EncodingKey::from_rsa_pem(KEY_2.as_bytes()).unwrap();
    let good = a.claims(&stack.mcp, "duvo:write", "alice");
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let mut no_aud = good.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
        B64.encode(good.to_string())
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            a.sign(
                &with("aud", json!("https://other.example/mcp")),
                Algorithm::RS256,
                Some(KID),
                &a.key,
            ),
        ),
        (
            "wrong iss",
            a.sign(
                &with("iss", json!("http://127.0.0.1:1")),
                Algorithm::RS256,
                Some(KID),
                &a.key,
            ),
        ),
        (
            "the other trusted issuer's iss, this issuer's key",
            a.sign(
                &with("iss", json!("http://127.0.0.1:2/second")),
                Algorithm::RS256,
                Some(KID),
                &a.key,
            ),
        ),
        (
            "expired",
            a.sign(
                &with("exp", json!(now - 600)),
                Algorithm::RS256,
                Some(KID),
                &a.key,
            ),
        ),
        ("alg none", none),
        (
            "HS256",
            a.sign(
                &good,
                Algorithm::HS256,
                Some(KID),
                &EncodingKey::from_secret(b"k1"),
            ),
        ),
        (
            "unknown kid",
            a.sign(&good, Algorithm::RS256, Some("k9"), &a.key),
        ),
        ("no kid", a.sign(&good, Algorithm::RS256, None, &a.key)),
        (
            "wrong key",
            a.sign(&good, Algorithm::RS256, Some(KID), &key2),
        ),
        (
            "missing aud",
            a.sign(&no_aud, Algorithm::RS256, Some(KID), &a.key),
        ),
        (
            "opaque, unknown to introspection",
            "opaque-nobody-knows".to_owned(),
        ),
        (
            "a dv_ key without --passthrough-auth",
            OTHER_TEAM_KEY.to_owned(),
        ),
    ];
    for (what, token) in &cases {
        let r = Mcp::modern(&stack.mcp, Stack::bearer(token))
            .call("listAgents", json!({}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
        let www = r.headers["www-authenticate"].to_str().unwrap();
        assert!(
            www.starts_with("Bearer error=\"invalid_token\"")
                && www.contains(&format!("resource_metadata=\"{}\"", stack.metadata_url())),
            "{what}: {www}"
        );
    }
    assert!(
        stack.duvo_requests().await.is_empty(),
        "nothing reached Duvo"
    );

    // The same request with a good token does reach Duvo (so the check above can fail).
    let ok = Mcp::modern(
        &stack.mcp,
        Stack::bearer(&a.token(&stack.mcp, "duvo:write", "alice")),
    )
    .call("listAgents", json!({}))
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(!stack.duvo_requests().await.is_empty());
    let seen = stack.credentials_seen().await;
    assert!(
        !seen.is_empty() && seen.iter().all(|c| c == "demo"),
        "{seen:?}"
    );

    // JWKS cached: one fetch for the first key lookup, none per request, and unknown kids do
    // not trigger a refetch inside the cooldown.
    for _ in 0..3 {
        let r = Mcp::modern(&stack.mcp, Stack::bearer(&cases[6].1))
            .call("listAgents", json!({}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        a.jwks_fetches.load(Ordering::SeqCst),
        1,
        "JWKS fetched once"
    );
    let log = stack.server.log();
    for (what, token) in &cases {
        assert!(!log.contains(token.as_str()), "{what}: token in the log");
    }
}

#[tokio::test]
async fn challenges_metadata_and_query_tokens() {
    let stack = Stack::start(&[]).await;
    let meta_url = stack.metadata_url();
    let expected = format!("Bearer resource_metadata=\"{meta_url}\", scope=\"duvo:read\"");
    for (method, path) in [
        ("POST", "/mcp"),
        ("GET", "/mcp"),
        ("GET", "/sse"),
        ("POST", "/message"),
    ] {
        let r = http()
            .request(method.parse().unwrap(), stack.server.url(path))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(
            r.headers()["www-authenticate"],
            expected.as_str(),
            "{method} {path}"
        );
        assert_eq!(
            r.headers()["access-control-expose-headers"],
            "WWW-Authenticate"
        );
    }

    // On the wire the header name is capitalised.
    let raw = raw_get(&stack.server.url("/mcp")).await;
    // (hyper writes Title-Case: `Www-Authenticate`; HTTP/2 is lower-case by protocol.)
    assert!(
        raw.contains("\r\nWww-Authenticate: Bearer resource_metadata="),
        "{raw}"
    );

    // RFC 9728 metadata, path-inserted and root form.
    let want = json!({
        "resource": stack.mcp,
        "authorization_servers": [stack.auth.issuer],
        "scopes_supported": ["duvo:read", "duvo:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "duvo-mcp",
    });
    for url in [
        meta_url.clone(),
        stack.server.url("/.well-known/oauth-protected-resource"),
    ] {
        let r = http().get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert_eq!(r.json::<Value>().await.unwrap(), want, "{url}");
    }

    // A token in the query string is refused, even a valid one.
    let token = stack.auth.token(&stack.mcp, "duvo:write", "alice");
    let url = format!("{}?access_token={token}", stack.mcp);
    let r = post(&url, &headers(&[]), &initialize_body()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_request\""),
    );
    // A token without any duvo scope: 403 asking for duvo:read.
    let none = stack.auth.token(&stack.mcp, "openid", "alice");
    let r = Mcp::modern(&stack.mcp, Stack::bearer(&none))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let www = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        www.starts_with("Bearer error=\"insufficient_scope\"")
            && www.ends_with("scope=\"duvo:read\""),
        "{www}"
    );
}

async fn raw_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let u = url::Url::parse(url).unwrap();
    let authority = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut s = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
        u.path()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn sessions_are_bound_to_the_subject_not_the_token() {
    let stack = Stack::start(&[]).await;
    let a = &stack.auth;
    let alice = Mcp::legacy(
        &stack.mcp,
        Stack::bearer(&a.token(&stack.mcp, "duvo:read", "alice")),
    )
    .await
    .unwrap();
    let session = alice.session.clone().unwrap();
    let on_session = |token: String| {
        let mut h = Stack::bearer(&token);
        h.insert("mcp-session-id", session.parse().unwrap());
        h.insert("mcp-protocol-version", "2025-06-18".parse().unwrap());
        h
    };
    let list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
    // A refreshed token of the same user keeps the session.
    let r = post(
        &stack.mcp,
        &on_session(a.token(&stack.mcp, "duvo:read", "alice")),
        &list,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Another user's valid token does not.
    let r = post(
        &stack.mcp,
        &on_session(a.token(&stack.mcp, "duvo:read", "bob")),
        &list,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn opaque_tokens_are_introspected() {
    let stack = Stack::start(&[]).await;
    let exp = chrono::Utc::now().timestamp() + 300;
    let issuer = stack.auth.issuer.clone();
    stack.auth.opaque.lock().unwrap().extend([
        (
            "opaque-good".to_owned(),
            json!({"active": true, "iss": issuer, "sub": "carol", "aud": [stack.mcp],
                   "scope": "duvo:read", "exp": exp}),
        ),
        (
            "opaque-other-aud".to_owned(),
            json!({"active": true, "iss": issuer, "sub": "carol",
                   "aud": "https://other.example/mcp", "scope": "duvo:write", "exp": exp}),
        ),
    ]);
    let ok = Mcp::modern(&stack.mcp, Stack::bearer("opaque-good"))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let denied = Mcp::modern(&stack.mcp, Stack::bearer("opaque-good"))
        .call("startRun", json!({"agent_id": "x", "message": "hi"}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "read scope only");
    // The active answer is reused (one introspection for both requests).
    assert_eq!(stack.auth.introspections.load(Ordering::SeqCst), 1);
    let other = Mcp::modern(&stack.mcp, Stack::bearer("opaque-other-aud"))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.body);
    let seen = stack.credentials_seen().await;
    assert!(
        !seen.is_empty() && seen.iter().all(|c| c == "demo"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn with_passthrough_a_dv_key_keeps_its_meaning_and_oauth_uses_the_server_key() {
    let stack = Stack::start(&["--passthrough-auth"]).await;
    let mine = Mcp::modern(&stack.mcp, Stack::bearer(OTHER_TEAM_KEY))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let seen = stack.credentials_seen().await;
    assert!(
        !seen.is_empty() && seen.iter().all(|c| c == "other_team"),
        "{seen:?}"
    );

    let token = stack.auth.token(&stack.mcp, "duvo:write", "alice");
    let oauth = Mcp::modern(&stack.mcp, Stack::bearer(&token))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(oauth.status, StatusCode::OK, "{}", oauth.body);
    let seen = stack.credentials_seen().await;
    assert!(seen.contains(&"demo".to_owned()), "{seen:?}");
    assert!(
        !seen.contains(&"not_dv".to_owned()),
        "the OAuth token never reaches Duvo: {seen:?}"
    );
    assert!(!stack.server.log().contains(&token));
}

#[tokio::test]
async fn the_shared_token_guards_metrics_only() {
    const SHARED: &str = "metrics-token-0123456789abcdef";
    let stack = Stack::start(&["--auth-token", SHARED]).await;
    let metrics = stack.server.url("/metrics");
    let r = http().get(&metrics).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http()
        .get(&metrics)
        .bearer_auth(SHARED)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // It is no MCP credential: only OAuth tokens are.
    let r = Mcp::modern(&stack.mcp, Stack::bearer(SHARED))
        .call("listAgents", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(stack.duvo_requests().await.is_empty());
}

#[tokio::test]
async fn refuses_to_start_with_unsafe_oauth_settings() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--oauth-issuer", "https://idp.example.com"],
            "--public-url",
        ),
        (
            &[
                "--oauth-issuer",
                "http://idp.example.com",
                "--public-url",
                "https://m.example.com/mcp",
            ],
            "must use https",
        ),
        (
            &[
                "--oauth-issuer",
                "https://idp.example.com",
                "--public-url",
                "https://m.example.com/",
            ],
            "/mcp",
        ),
    ];
    for (args, says) in cases {
        let (code, err) = run_to_exit(args, &[("DUVO_API_KEY", DEMO_API_KEY)]).await;
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
