// An MCP client built on the official TypeScript SDK, calling tools on a server protected by
// one of our adapters, with tokens from the OpenID provider (client_credentials):
//   1. with a token for `allowedScope`, list the tools and call `allowedTool`: it runs;
//   2. call `deniedTool`: the server answers 403 insufficient_scope; the SDK's own parser reads
//      the `scope` the challenge names;
//   3. obtain a token for exactly that scope and call `deniedTool` again: it runs.
// Prints one JSON line with what happened; exits non-zero on any failure.
//
// usage: node client.mjs <mcp url> <token endpoint> <client id> <client secret> <resource>
//                        <allowedScope> <allowedTool> <deniedTool>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

const [url, tokenEndpoint, clientId, secret, resource, allowedScope, allowedTool, deniedTool] =
  process.argv.slice(2);
const out = {};

async function token(scope) {
  const res = await fetch(tokenEndpoint, {
    method: "POST",
    headers: {
      authorization: "Basic " + Buffer.from(`${clientId}:${secret}`).toString("base64"),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope, resource }),
  });
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

// The last refusal the server sent, as the SDK's fetch saw it.
let refusal = null;
async function connect(accessToken) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 401 || res.status === 403) refusal = res.clone();
      return res;
    },
  });
  const client = new Client({ name: "jwt-rbac-test", version: "0.0.0" });
  await client.connect(transport);
  return client;
}

const text = (result) => result.content?.map((c) => c.text).join("") ?? "";

try {
  const first = await connect(await token(allowedScope));
  out.listed = (await first.listTools()).tools.map((t) => t.name);
  out.allowed = text(await first.callTool({ name: allowedTool, arguments: {} }));
  try {
    await first.callTool({ name: deniedTool, arguments: {} });
    out.denied = "ran";
  } catch (e) {
    out.denied = String(e?.message ?? e);
    out.deniedCode = e?.code ?? null;
  }
  if (refusal) {
    out.status = refusal.status;
    out.challenge = refusal.headers.get("www-authenticate");
    const params = extractWWWAuthenticateParams(refusal);
    out.error = params.error ?? null;
    out.scope = params.scope ?? null;
    out.resourceMetadata = params.resourceMetadataUrl?.toString() ?? null;
  }
  await first.close();
  if (out.scope) {
    const second = await connect(await token(out.scope));
    out.afterStepUp = text(await second.callTool({ name: deniedTool, arguments: {} }));
    await second.close();
  }
  console.log(JSON.stringify(out));
} catch (e) {
  out.failure = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
