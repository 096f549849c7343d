// What an MCP client does when a protected MCP server answers 401, with the official SDK's own
// functions: read the resource metadata URL from the challenge, fetch the RFC 9728 document
// (the SDK validates it against its schema), then fetch the authorization server's metadata.
// Prints one JSON line with what it found; exits non-zero on any failure.
//
// usage: node discover.mjs <mcp server url> [challenge|well-known]
//   challenge: POST to the server without a token and follow the WWW-Authenticate challenge;
//   well-known: no challenge; the SDK probes the well-known locations itself (path-suffixed
//   first, RFC 9728 §3.1).
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractResourceMetadataUrl,
} from "@modelcontextprotocol/sdk/client/auth.js";

const [serverUrl, mode = "challenge"] = process.argv.slice(2);
const out = { mode };
try {
  let resourceMetadataUrl;
  if (mode === "challenge") {
    const res = await fetch(serverUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } },
      }),
    });
    out.status = res.status;
    out.challenge = res.headers.get("www-authenticate");
    resourceMetadataUrl = extractResourceMetadataUrl(res);
    out.resourceMetadataUrl = resourceMetadataUrl?.toString() ?? null;
  }
  const metadata = await discoverOAuthProtectedResourceMetadata(
    serverUrl,
    resourceMetadataUrl ? { resourceMetadataUrl } : undefined,
  );
  out.metadata = metadata;
  const as = metadata.authorization_servers?.[0];
  if (as) {
    const asMetadata = await discoverAuthorizationServerMetadata(as);
    out.authorizationServer = asMetadata
      ? { issuer: asMetadata.issuer, token_endpoint: asMetadata.token_endpoint }
      : null;
  }
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
