// A real DPoP client (RFC 9449) for the resource-server tests: panva's oauth4webapi gets a
// DPoP-bound access token from server.mjs (client `dpop-agent`, client_credentials,
// client_secret_basic) and calls the given protected-resource URLs with it, once correctly and
// then with deliberately bad proofs built with panva's `dpop` package. It judges nothing: it
// prints what each request got back, as JSON, for the Rust test to assert on.
//
// usage: node dpop-client.mjs [--scope=<scopes>] [--resource=<uri>] <issuer> <url> [<url> ...]
//   issuer      e.g. http://127.0.0.1:3999 (discovery: <issuer>/.well-known/openid-configuration)
//   url         a full protected-resource URL, e.g. http://127.0.0.1:45678/agents/a1?x=1
//   --scope     scope of the token request (default "agents:read agents:write")
//   --resource  RFC 8707 resource indicator: the token's `aud` (default: the provider's
//               https://api.agentos.test)
//
// For each url, every request is a GET, in this order (scenario names as printed):
//   accepted      oauth4webapi's protectedResourceRequest with the DPoP handle (it builds the
//                 proof and `Authorization: DPoP <token>`); on 401 `use_dpop_nonce` retried once
//                 with the nonce the handle remembered; the final response is recorded
//   as_bearer     `Authorization: Bearer <token>`, no DPoP header
//   replay_first  a proof from `dpop`'s generateProof (bound key, htu = url without query and
//                 fragment, htm GET, ath of the token) with `Authorization: DPoP <token>` ...
//   replayed      ... and the very same proof sent again
//   other_url     fresh proof whose htu is <url origin + path>/other
//   other_method  fresh proof with htm POST
//   wrong_ath     fresh proof whose ath is the hash of another token string
//   other_key     fresh proof signed by a newly generated ES256 key (not the bound one)
//   no_proof      `Authorization: DPoP <token>`, no DPoP header
// Proofs carry the resource's latest `DPoP-Nonce` (per origin) when it sent one, so a bad proof
// fails for its own reason; a bad proof answered with 401 `use_dpop_nonce` and a nonce it did
// not carry is rebuilt with that nonce and sent once more (for the replay pair: both again).
//
// Output (stdout, one JSON document), exit 0 whatever the statuses:
//   {"token_type": "DPoP", "jkt": "<thumbprint of the bound key>", "access_token": "<jwt>",
//    "results": [{"url", "scenario", "status", "www_authenticate", "dpop_nonce", "body",
//                 "proof"}, ...]}
//   www_authenticate, dpop_nonce: the response header or null; body: the response body as text;
//   proof: the DPoP header sent (null when none).
// Exit 1 with a message on stderr when no DPoP-bound token can be had (discovery or token
// request failed, or token_type is not DPoP) or a resource cannot be reached at all (no HTTP
// response), 2 on bad usage. DPOP_CLIENT_DEBUG=1 logs each proof's header and payload to stderr.

import * as oauth from 'oauth4webapi';
import { generateProof, generateKeyPair } from 'dpop';

const CLIENT_ID = 'dpop-agent';
const CLIENT_SECRET = 'dpop-secret-0123456789';
const DEBUG = process.env.DPOP_CLIENT_DEBUG === '1';

function usage(message) {
  console.error(`${message}\nusage: node dpop-client.mjs [--scope=<scopes>] [--resource=<uri>] <issuer> <url> [<url> ...]`);
  process.exit(2);
}

function fail(message, err) {
  const detail = err ? `: ${err.message ?? err}${err.error ? ` (${err.error}: ${err.error_description ?? ''})` : ''}` : '';
  console.error(`dpop-client: ${message}${detail}`);
  process.exit(1);
}

let scope = 'agents:read agents:write';
let resource;
const positional = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith('--scope=')) scope = arg.slice('--scope='.length);
  else if (arg.startsWith('--resource=')) resource = arg.slice('--resource='.length);
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
if (positional.length < 2) usage('need an issuer and at least one url');
const [issuerArg, ...urlArgs] = positional;
let issuer;
let urls;
try {
  issuer = new URL(issuerArg);
  urls = urlArgs.map((u) => new URL(u));
} catch (err) {
  usage(err.message);
}

function debugProof(label, proof) {
  if (!DEBUG || !proof) return;
  const [h, p] = proof.split('.');
  const dec = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  console.error(`[debug] ${label} proof header=${JSON.stringify(dec(h))} payload=${JSON.stringify(dec(p))}`);
}

// Plain HTTP on 127.0.0.1 is all a test has.
const insecure = { [oauth.allowInsecureRequests]: true };

// --- the token -----------------------------------------------------------------------------

let as;
try {
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
} catch (err) {
  fail(`discovery of ${issuer.href} failed`, err);
}

const client = { client_id: CLIENT_ID };
const clientAuth = oauth.ClientSecretBasic(CLIENT_SECRET);
// A non-extractable private key; the public key must be extractable (it goes into the proofs).
const keyPair = await generateKeyPair('ES256');
const DPoP = oauth.DPoP(client, keyPair);
const jkt = await DPoP.calculateThumbprint();

const tokenParams = new URLSearchParams({ scope });
if (resource) tokenParams.set('resource', resource);

async function tokenRequest() {
  const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, tokenParams, {
    ...insecure,
    DPoP,
  });
  // token_type exactly as the provider spelled it (oauth4webapi lower-cases it).
  const raw = await response.clone().json().catch(() => ({}));
  const result = await oauth.processClientCredentialsResponse(as, client, response);
  return { ...result, token_type: typeof raw.token_type === 'string' ? raw.token_type : result.token_type };
}

let token;
try {
  try {
    token = await tokenRequest();
  } catch (err) {
    // The provider wants a nonce (400 use_dpop_nonce + DPoP-Nonce): the handle has cached it.
    if (!oauth.isDPoPNonceError(err)) throw err;
    token = await tokenRequest();
  }
} catch (err) {
  fail('token request failed', err);
}
if (String(token.token_type).toLowerCase() !== 'dpop') {
  fail(`token_type is ${JSON.stringify(token.token_type)}, not DPoP: the access token is not DPoP-bound`);
}
const accessToken = token.access_token;

// --- the requests --------------------------------------------------------------------------

// The latest DPoP-Nonce each resource origin sent.
const nonces = new Map();
function remember(url, response) {
  const nonce = response.headers.get('dpop-nonce');
  if (nonce) nonces.set(url.origin, nonce);
}

async function record(url, scenario, response, proof) {
  return {
    url: url.href,
    scenario,
    status: response.status,
    www_authenticate: response.headers.get('www-authenticate'),
    dpop_nonce: response.headers.get('dpop-nonce'),
    body: await response.text(),
    proof: proof ?? null,
  };
}

async function send(url, authorization, proof, label) {
  debugProof(label, proof);
  const headers = { authorization };
  if (proof) headers.dpop = proof;
  const response = await fetch(url.href, { method: 'GET', headers, redirect: 'manual' });
  remember(url, response);
  return response;
}

function htuOf(url) {
  return `${url.origin}${url.pathname}`;
}

// 401 + `use_dpop_nonce` with a nonce that the proof did not carry: the resource wants the new
// nonce first; rebuilding the (still bad) proof with it lets it fail for its own reason.
function wantsFreshNonce(response, usedNonce) {
  const challenge = response.headers.get('www-authenticate') ?? '';
  const nonce = response.headers.get('dpop-nonce');
  return response.status === 401 && /use_dpop_nonce/.test(challenge) && nonce && nonce !== usedNonce;
}

// One bad-proof scenario: `build(nonce)` makes the proof; one retry on a fresh nonce.
async function badProof(url, scenario, build) {
  let nonce = nonces.get(url.origin);
  let proof = await build(nonce);
  let response = await send(url, `DPoP ${accessToken}`, proof, `${scenario} ${url.href}`);
  if (wantsFreshNonce(response, nonce)) {
    await response.arrayBuffer();
    nonce = nonces.get(url.origin);
    proof = await build(nonce);
    response = await send(url, `DPoP ${accessToken}`, proof, `${scenario} (new nonce) ${url.href}`);
  }
  return record(url, scenario, response, proof);
}

async function accepted(url) {
  let sent;
  // Only to see (and record) the proof the library built.
  const seeProof = (input, init) => {
    sent = new Headers(init?.headers).get('dpop');
    debugProof(`accepted ${url.href}`, sent);
    return fetch(input, init);
  };
  const request = () =>
    oauth.protectedResourceRequest(accessToken, 'GET', url, undefined, undefined, {
      ...insecure,
      DPoP,
      [oauth.customFetch]: seeProof,
    });
  let response;
  try {
    response = await request();
  } catch (err) {
    if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err;
    // 401 use_dpop_nonce: the handle cached the resource's DPoP-Nonce; once more.
    if (oauth.isDPoPNonceError(err)) {
      await err.response.arrayBuffer();
      try {
        response = await request();
      } catch (again) {
        if (!(again instanceof oauth.WWWAuthenticateChallengeError)) throw again;
        response = again.response;
      }
    } else {
      response = err.response;
    }
  }
  remember(url, response);
  return record(url, 'accepted', response, sent);
}

const results = [];
async function scenarios(url) {
  const htu = htuOf(url);

  results.push(await accepted(url));

  {
    const response = await send(url, `Bearer ${accessToken}`, undefined, `as_bearer ${url.href}`);
    results.push(await record(url, 'as_bearer', response, null));
  }

  {
    let nonce = nonces.get(url.origin);
    let proof = await generateProof(keyPair, htu, 'GET', nonce, accessToken);
    let first = await send(url, `DPoP ${accessToken}`, proof, `replay_first ${url.href}`);
    if (wantsFreshNonce(first, nonce)) {
      await first.arrayBuffer();
      nonce = nonces.get(url.origin);
      proof = await generateProof(keyPair, htu, 'GET', nonce, accessToken);
      first = await send(url, `DPoP ${accessToken}`, proof, `replay_first (new nonce) ${url.href}`);
    }
    results.push(await record(url, 'replay_first', first, proof));
    const second = await send(url, `DPoP ${accessToken}`, proof, `replayed ${url.href}`);
    results.push(await record(url, 'replayed', second, proof));
  }

  const otherUrl = `${url.origin}${url.pathname.replace(/\/$/, '')}/other`;
  results.push(await badProof(url, 'other_url', (n) => generateProof(keyPair, otherUrl, 'GET', n, accessToken)));
  results.push(await badProof(url, 'other_method', (n) => generateProof(keyPair, htu, 'POST', n, accessToken)));
  results.push(
    await badProof(url, 'wrong_ath', (n) => generateProof(keyPair, htu, 'GET', n, `${accessToken}x`)),
  );
  const otherKey = await generateKeyPair('ES256');
  results.push(await badProof(url, 'other_key', (n) => generateProof(otherKey, htu, 'GET', n, accessToken)));

  {
    const response = await send(url, `DPoP ${accessToken}`, undefined, `no_proof ${url.href}`);
    results.push(await record(url, 'no_proof', response, null));
  }
}
for (const url of urls) {
  try {
    await scenarios(url);
  } catch (err) {
    fail(`requests to ${url.href} failed`, err.cause ?? err);
  }
}

process.stdout.write(
  `${JSON.stringify({ token_type: token.token_type, jkt, access_token: accessToken, results }, null, 2)}\n`,
);
