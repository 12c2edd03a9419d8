// OAuth interop, loopback only: a real third-party authorization server (npm `oidc-provider`,
// with dynamic client registration, PKCE and RFC 8707 resource indicators issuing RS256 JWT access
// tokens) and the TypeScript SDK's OAuth client, against `duvo-mcp http --demo --oauth-issuer …`.
//
// The client starts unauthenticated, gets the 401 challenge, discovers the protected resource and
// the authorization server, registers, authorizes (this script plays the user: it follows the
// redirects, and the login interaction signs in "alice" at once), exchanges the code and then
// lists and calls tools. The challenge asks for `duvo:read`, so the token is read-only: the
// listing must hold read-only tools only, and a write call must be refused (HTTP 403).
//
// Usage: node oauth_interop.mjs /path/to/duvo-mcp        Exit 0 on success.

import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import Provider from 'oidc-provider';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const BIN = process.argv[2];
if (!BIN) {
  console.error('usage: node oauth_interop.mjs /path/to/duvo-mcp');
  process.exit(2);
}
const REDIRECT = 'http://127.0.0.1:9/callback';
const deadline = setTimeout(() => fail('timed out after 60 s'), 60_000);
let server;
process.on('exit', () => server?.kill('SIGKILL'));
process.on('SIGTERM', () => fail('terminated'));

function fail(msg) {
  console.error(`oauth interop: FAIL: ${msg}`);
  if (server) server.kill('SIGKILL');
  process.exit(1);
}

function assert(cond, msg) {
  if (!cond) fail(msg);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// --- the authorization server ------------------------------------------------------------------
const asPort = await freePort();
const mcpPort = await freePort();
const issuer = `http://127.0.0.1:${asPort}`;
const resource = `http://127.0.0.1:${mcpPort}/mcp`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [signing] },
  // Listed as OIDC scopes too: oidc-provider checks a registering client's `scope` against them.
  scopes: ['openid', 'duvo:read', 'duvo:write'],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new Error(`unexpected resource ${indicator}`);
        return {
          scope: 'duvo:read duvo:write',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Consent is implied: every client gets the scopes it asks for on the one resource.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid duvo:read duvo:write');
    grant.addResourceScope(resource, 'duvo:read duvo:write');
    await grant.save();
    return grant;
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
const callback = provider.callback();
const asServer = http.createServer(async (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    // The user signs in as alice without a form.
    try {
      const details = await provider.interactionDetails(req, res);
      let result;
      if (details.prompt.name === 'login') {
        result = { login: { accountId: 'alice' } };
      } else {
        const grant = new provider.Grant({
          accountId: details.session.accountId,
          clientId: details.params.client_id,
        });
        grant.addOIDCScope('openid duvo:read duvo:write');
        grant.addResourceScope(resource, 'duvo:read duvo:write');
        result = { consent: { grantId: await grant.save() } };
      }
      if (process.env.DEBUG_BROWSE) console.error('prompt', details.prompt);
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
    return;
  }
  callback(req, res);
});
await new Promise((r) => asServer.listen(asPort, '127.0.0.1', r));

// --- duvo-mcp ----------------------------------------------------------------------------------
let log = '';
server = spawn(
  BIN,
  ['http', '--demo', '--listen', `127.0.0.1:${mcpPort}`, '--oauth-issuer', issuer, '--public-url', resource],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, DUVO_MCP_LOG: 'info' } },
);
await new Promise((resolve) => {
  server.stderr.on('data', (d) => {
    log += d;
    if (log.includes('listening on')) resolve();
  });
  server.on('exit', (code) => fail(`duvo-mcp exited (${code}):\n${log}`));
});

// --- the user's browser: follow redirects (with cookies) to the client's redirect URI ----------
async function browse(url) {
  const jar = new Map();
  for (let hop = 0; hop < 12; hop++) {
    if (url.startsWith(REDIRECT)) {
      const u = new URL(url);
      if (u.searchParams.get('error')) fail(`authorization error: ${url}`);
      return u.searchParams.get('code');
    }
    if (process.env.DEBUG_BROWSE) console.error('hop', url);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const kv = c.split(';')[0];
      const i = kv.indexOf('=');
      jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
    const loc = res.headers.get('location');
    if (!loc) fail(`no redirect from ${url}: ${res.status} ${await res.text()}`);
    url = new URL(loc, url).toString();
  }
  fail('too many redirects');
}

// --- the TypeScript SDK client -----------------------------------------------------------------
class InMemoryProvider {
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'duvo-mcp interop (TypeScript SDK)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url) {
    this.code = await browse(url.toString());
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

const auth = new InMemoryProvider();
const newClient = () => new Client({ name: 'duvo-mcp-oauth-interop', version: '1.0.0' });
let client = newClient();
let transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: auth });
try {
  await client.connect(transport);
  fail('connected without signing in');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) fail(`expected UnauthorizedError, got ${e}`);
}
assert(auth.info?.client_id, 'dynamic client registration did not happen');
assert(auth.code, 'no authorization code');
await transport.finishAuth(auth.code);
const token = auth.saved?.access_token;
assert(token && token.split('.').length === 3, 'the access token is not a JWT');
const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
assert(claims.aud === resource || claims.aud?.includes?.(resource), `aud ${JSON.stringify(claims.aud)}`);
assert(claims.iss === issuer, `iss ${claims.iss}`);

client = newClient();
transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: auth });
await client.connect(transport);
const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
assert(names.includes('listAgents'), `tools: ${names}`);
const scope = String(claims.scope ?? '');
if (!scope.split(' ').includes('duvo:write')) {
  assert(!names.includes('startRun'), `a read token lists write tools: ${names}`);
  assert(tools.every((t) => t.annotations?.readOnlyHint === true), 'a listed tool is not read-only');
}
const listed = await client.callTool({ name: 'listAgents', arguments: {} });
assert(!listed.isError, `listAgents: ${JSON.stringify(listed)}`);

// A write with the read token: HTTP 403 insufficient_scope (raw, to see the header).
if (!scope.split(' ').includes('duvo:write')) {
  const res = await fetch(resource, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'startRun',
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 9, method: 'tools/call',
      params: { name: 'startRun', arguments: { agent_id: 'x', message: 'hi' } },
    }),
  });
  const www = res.headers.get('www-authenticate') ?? '';
  assert(res.status === 403, `write with a read token: HTTP ${res.status}`);
  assert(www.includes('error="insufficient_scope"') && www.includes('scope="duvo:read duvo:write"'), www);
}
assert(!log.includes(token), 'the access token appears in the server log');
await client.close();
console.log(
  `oauth interop: PASS (oidc-provider ${issuer}, TypeScript SDK client, scope "${scope}", ${names.length} tools listed)`,
);
clearTimeout(deadline);
server.removeAllListeners('exit');
server.kill('SIGTERM');
asServer.close();
process.exit(0);
