//! Access-token validation: a JWT signed by a configured issuer's key (algorithm allow-list,
//! `kid`, `iss`, `aud`, `exp` required), or an opaque token the issuer vouches for through RFC
//! 7662 introspection. Error strings never contain the token.

use super::issuer::Issuer;
use super::scopes::{self, Access};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Clock skew accepted on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Asymmetric algorithms accepted (never `none`, never HS* against a public JWKS).
pub const ALLOWED_ALGS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long an introspection answer is reused at most (and never past the token's `exp`).
pub const INTROSPECTION_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Introspection answers kept at once.
const INTROSPECTION_ENTRIES: usize = 10_000;

/// Active introspection answers by SHA-256 of the token (the token itself is not kept), so an
/// opaque token costs the issuer one call per minute, not one per request.
pub struct IntrospectionCache(
    std::sync::Mutex<lru::LruCache<[u8; 32], (Grant, std::time::Instant)>>,
);

impl Default for IntrospectionCache {
    fn default() -> Self {
        let cap = std::num::NonZeroUsize::new(INTROSPECTION_ENTRIES)
            .unwrap_or(std::num::NonZeroUsize::MIN);
        Self(std::sync::Mutex::new(lru::LruCache::new(cap)))
    }
}

impl IntrospectionCache {
    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, token: &str) -> Option<Grant> {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let k = Self::key(token);
        match c.get(&k) {
            Some((g, until)) if *until > std::time::Instant::now() => Some(g.clone()),
            Some(_) => {
                c.pop(&k);
                None
            }
            None => None,
        }
    }

    fn put(&self, token: &str, grant: Grant, exp: i64) {
        let left = exp.saturating_sub(chrono::Utc::now().timestamp());
        let ttl =
            std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0)).min(INTROSPECTION_TTL);
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.put(Self::key(token), (grant, std::time::Instant::now() + ttl));
    }
}

/// Who a validated token speaks for and what it may do.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The issuer that vouched for it (as configured).
    pub issuer: String,
    /// `sub` (or `client_id` when a token has no subject).
    pub subject: String,
    /// What its scopes allow.
    pub access: Access,
}

/// Validates `token` for the resource `audience` against `issuers`.
pub async fn validate(
    token: &str,
    audience: &str,
    issuers: &[Issuer],
    introspection_client: Option<&(String, String)>,
    cache: &IntrospectionCache,
) -> Result<Grant, String> {
    if token.split('.').count() == 3 {
        validate_jwt(token, audience, issuers).await
    } else if let Some(g) = cache.get(token) {
        Ok(g)
    } else {
        introspect(token, audience, issuers, introspection_client, cache).await
    }
}

async fn validate_jwt(token: &str, audience: &str, issuers: &[Issuer]) -> Result<Grant, String> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| format!("unreadable JWT header ({e}); alg \"none\" is never accepted"))?;
    if !ALLOWED_ALGS.contains(&header.alg) {
        return Err(format!("algorithm {:?} is not accepted", header.alg));
    }
    let kid = header.kid.as_deref().ok_or("the JWT header has no kid")?;
    // The unverified `iss` only picks which issuer's keys to try; it is verified below.
    let claimed: Value = jsonwebtoken::dangerous::insecure_decode(token)
        .map(|d| d.claims)
        .map_err(|e| format!("unreadable JWT claims ({e})"))?;
    let iss = claimed
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("the token has no iss")?;
    let issuer = issuers
        .iter()
        .find(|i| i.url == iss)
        .ok_or_else(|| format!("issuer {iss:?} is not trusted by this server"))?;
    let jwk = issuer.key(kid).await?;
    if let Some(alg) = jwk.common.key_algorithm
        && alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(format!(
            "key {kid:?} is for {alg}, the token says {:?}",
            header.alg
        ));
    }
    if matches!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
    ) {
        return Err(format!("key {kid:?} is an encryption key"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("key {kid:?} unusable: {e}"))?;
    let mut v = Validation::new(header.alg);
    v.leeway = LEEWAY_SECS;
    v.validate_nbf = true;
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer.url.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| e.to_string())?;
    let claims = data.claims;
    // Whatever the library does with absent claims: all three must be there.
    if claims.get("aud").is_none() || claims.get("exp").is_none() {
        return Err("the token lacks aud or exp".to_owned());
    }
    Ok(grant(issuer.url.clone(), &claims))
}

fn grant(issuer: String, claims: &Value) -> Grant {
    let subject = claims
        .get("sub")
        .or_else(|| claims.get("client_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let scopes = scopes::collect(claims.get("scope"), claims.get("scp"));
    Grant {
        issuer,
        subject,
        access: Access::from_scopes(&scopes),
    }
}

fn audience_matches(aud: Option<&Value>, audience: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == audience,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(audience)),
        _ => false,
    }
}

async fn introspect(
    token: &str,
    audience: &str,
    issuers: &[Issuer],
    client: Option<&(String, String)>,
    cache: &IntrospectionCache,
) -> Result<Grant, String> {
    let mut offered = false;
    for issuer in issuers {
        let Some(answer) = issuer.introspect(token, client).await else {
            continue;
        };
        offered = true;
        let claims = match answer {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(issuer = %issuer.url, error = %e, "token introspection failed");
                continue;
            }
        };
        if claims.get("active").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        if claims
            .get("iss")
            .and_then(Value::as_str)
            .is_some_and(|i| i != issuer.url)
        {
            return Err("introspection names another issuer".to_owned());
        }
        if !audience_matches(claims.get("aud"), audience) {
            return Err("the token was issued for another audience".to_owned());
        }
        let now = chrono::Utc::now().timestamp();
        let exp = claims.get("exp").and_then(Value::as_i64);
        let Some(exp) = exp.filter(|e| e + LEEWAY_SECS as i64 > now) else {
            return Err("the token has expired (or has no exp)".to_owned());
        };
        let g = grant(issuer.url.clone(), &claims);
        cache.put(token, g.clone(), exp);
        return Ok(g);
    }
    Err(if offered {
        "the token is not active".to_owned()
    } else {
        "not a JWT, and no trusted issuer offers token introspection".to_owned()
    })
}
