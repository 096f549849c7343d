// A real OpenID provider (panva/oidc-provider) for the remote JWKS / discovery tests.
//
// Test support only: in-memory storage, freshly generated keys on every start, two confidential
// clients using the client_credentials grant (client_secret_basic). Tokens are RFC 9068 JWT
// access tokens (`typ: at+jwt`, `scope` as a space-delimited string) for any of the scopes in
// SCOPES: the AgentOS-style `agents:read agents:write` and the plain `orders.read orders.write`.
// The audience is AUDIENCE unless the token request names another one with a `resource`
// parameter (RFC 8707): `aud` is then that absolute URI. A token for OPAQUE_AUDIENCE
// (`resource=https://opaque.agentos.test`) is opaque: only introspection (RFC 7662, at
// /token/introspection) can check it; revocation (RFC 7009) is at /token/revocation.
//
// Clients:
//   agent-svc / agent-secret-0123456789   Bearer tokens; DPoP-bound (`token_type: DPoP`,
//                                         `cnf.jkt`) only if the request carries a DPoP proof
//   dpop-agent / dpop-secret-0123456789   `dpop_bound_access_tokens`: the token request must
//                                         carry a DPoP proof (RFC 9449) and every token is
//                                         DPoP-bound: `token_type: DPoP`, `cnf.jkt` = the
//                                         RFC 7638 thumbprint of the proof's key.
//                                         See dpop-client.mjs.
//   api-rs / api-rs-secret-0123456789     a resource server that introspects tokens
//                                         (client_secret_basic; no grant of its own)
//   api-rs-post / api-rs-post-secret-0123456789  the same with client_secret_post
//   api-rs-jwt                            the same with private_key_jwt, its public key from
//                                         RS_CLIENT_KEY (a PEM file), kid `api-rs-jwt-1`
//   mtls-agent                            only with MTLS_PORT: authenticates with its TLS client
//                                         certificate (`tls_client_auth`, subject `CN=mtls-agent`)
//                                         on the mutual TLS listener; every token is bound to that
//                                         certificate (RFC 8705: `cnf.x5t#S256`)
// DPoP proofs at the token endpoint: ES256 / EdDSA (Ed25519), `iat` within 5 minutes, replayed
// `jti` rejected.
//
// Environment:
//   PORT        port to listen on, on 127.0.0.1 (default 3999)
//   ALG         signing algorithm of access tokens: RS256 | ES256 | EdDSA (default RS256)
//   KID_PREFIX  prefix for the key ids (default ""): a restart with another prefix is a rotation
//   KEYS_OUT    optional directory: each private signing key is written there as
//               <kid>.pem (PKCS#8), so tests can forge tokens "signed by this issuer's key"
//   DPOP_REQUIRE_NONCE  "1": the token endpoint requires a server nonce in DPoP proofs: a proof
//               without one gets 400 `{"error":"use_dpop_nonce"}` with a `DPoP-Nonce` header
//               (default: no nonces, a proof needs none)
//   RS_CLIENT_KEY  optional path of api-rs-jwt's public key (SPKI PEM, ES256)
//   INTROSPECTION_DELAY_MS  optional: every introspection answer waits this long
//   MTLS_PORT, MTLS_CERT, MTLS_KEY, MTLS_CA  optional: a second listener, HTTPS on
//               127.0.0.1:MTLS_PORT with the server certificate and key (PEM files), requiring
//               a client certificate that chains to MTLS_CA (the RFC 8705 endpoints of
//               mtls-agent: `https://127.0.0.1:MTLS_PORT/token`)
//
// Test endpoint: GET /test/introspections answers {"count": n}, the introspection requests
// received so far.
//
// Prints `listening <issuer>` once it accepts connections; exits on SIGTERM / SIGINT.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyObject, X509Certificate, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, importSPKI } from 'jose';

const PORT = Number(process.env.PORT || 3999);
const ALG = process.env.ALG || 'RS256';
const KID_PREFIX = process.env.KID_PREFIX || '';
const KEYS_OUT = process.env.KEYS_OUT || '';
const DPOP_REQUIRE_NONCE = process.env.DPOP_REQUIRE_NONCE === '1';
const ISSUER = `http://127.0.0.1:${PORT}`;
const AUDIENCE = 'https://api.agentos.test';
const OPAQUE_AUDIENCE = 'https://opaque.agentos.test';
const RS_CLIENT_KEY = process.env.RS_CLIENT_KEY || '';
const INTROSPECTION_DELAY_MS = Number(process.env.INTROSPECTION_DELAY_MS || 0);
const MTLS_PORT = Number(process.env.MTLS_PORT || 0);
// AgentOS-style hierarchical scopes, and plain OAuth scopes as most APIs name them.
const SCOPES = process.env.SCOPES || 'agents:read agents:write orders.read orders.write';

if (!['RS256', 'ES256', 'EdDSA'].includes(ALG)) {
  console.error(`unsupported ALG ${ALG}`);
  process.exit(2);
}

async function privateJwk(alg, kid, options = {}) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  if (KEYS_OUT) {
    const pem = KeyObject.from(privateKey).export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(join(KEYS_OUT, `${kid}.pem`), pem);
  }
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

const keys = [
  await privateJwk('RS256', `${KID_PREFIX}rs-1`, { modulusLength: 2048 }),
  await privateJwk('ES256', `${KID_PREFIX}es-1`),
  await privateJwk('EdDSA', `${KID_PREFIX}ed-1`, { crv: 'Ed25519' }),
];

// Resource servers: they only introspect.
const resourceServer = (client_id, token_endpoint_auth_method, extra = {}) => ({
  client_id,
  grant_types: [],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method,
  ...extra,
});
const resourceServers = [
  resourceServer('api-rs', 'client_secret_basic', { client_secret: 'api-rs-secret-0123456789' }),
  resourceServer('api-rs-post', 'client_secret_post', {
    client_secret: 'api-rs-post-secret-0123456789',
  }),
];
if (RS_CLIENT_KEY) {
  const publicKey = await importSPKI(readFileSync(RS_CLIENT_KEY, 'utf8'), 'ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'api-rs-jwt-1', alg: 'ES256', use: 'sig' };
  resourceServers.push(resourceServer('api-rs-jwt', 'private_key_jwt', { jwks: { keys: [jwk] } }));
}

// The client certificate of a request on the mutual TLS listener (node verified its chain).
const peerCertificate = (ctx) => {
  const raw = ctx.req.socket.getPeerCertificate?.()?.raw;
  return raw ? new X509Certificate(raw) : undefined;
};
const mtlsClients = MTLS_PORT
  ? [
    {
      client_id: 'mtls-agent',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=mtls-agent',
      tls_client_certificate_bound_access_tokens: true,
      scope: SCOPES,
    },
  ]
  : [];

const provider = new Provider(ISSUER, {
  jwks: { keys },
  clients: [
    ...resourceServers,
    ...mtlsClients,
    {
      client_id: 'agent-svc',
      client_secret: 'agent-secret-0123456789',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SCOPES,
    },
    {
      client_id: 'dpop-agent',
      client_secret: 'dpop-secret-0123456789',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SCOPES,
      dpop_bound_access_tokens: true,
    },
  ],
  scopes: SCOPES.split(' '),
  clientAuthMethods: [
    'client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none',
    'tls_client_auth',
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // RFC 8705: client authentication by certificate and certificate-bound tokens.
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      getCertificate: peerCertificate,
      certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
        && peerCertificate(ctx)?.subject === expected,
    },
    revocation: { enabled: true },
    // RFC 9449 (on by default in oidc-provider 9; spelled out since dpop-agent depends on it).
    // Nonces only with DPOP_REQUIRE_NONCE: they need a 32-byte secret.
    dPoP: DPOP_REQUIRE_NONCE
      ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
      : { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => ({
        scope: SCOPES,
        audience: resourceIndicator,
        accessTokenTTL: 300,
        accessTokenFormat: resourceIndicator === OPAQUE_AUDIENCE ? 'opaque' : 'jwt',
        jwt: { sign: { alg: ALG } },
      }),
    },
  },
  extraTokenClaims: () => ({ roles: ['agent'], name: 'svc', email: 'svc@agentos.test' }),
});

let introspections = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/introspections') {
    ctx.body = { count: introspections };
    return;
  }
  if (ctx.path === '/token/introspection') {
    introspections += 1;
    if (INTROSPECTION_DELAY_MS) await new Promise((r) => setTimeout(r, INTROSPECTION_DELAY_MS));
  }
  await next();
});

const server = provider.listen(PORT, '127.0.0.1', () => console.log(`listening ${ISSUER}`));
server.on('error', (err) => {
  console.error(`cannot listen on 127.0.0.1:${PORT}: ${err.message}`);
  process.exit(3);
});
if (MTLS_PORT) {
  const tls = createHttpsServer({
    cert: readFileSync(process.env.MTLS_CERT),
    key: readFileSync(process.env.MTLS_KEY),
    ca: readFileSync(process.env.MTLS_CA),
    requestCert: true,
    rejectUnauthorized: true,
  }, provider.callback());
  tls.listen(MTLS_PORT, '127.0.0.1', () => console.log(`mutual TLS on ${MTLS_PORT}`));
  tls.on('error', (err) => {
    console.error(`cannot listen on 127.0.0.1:${MTLS_PORT}: ${err.message}`);
    process.exit(3);
  });
}
const stop = () => {
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open: don't wait for them.
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
