// The official TypeScript SDK's client, with a bearer token: lists the server's tools and calls
// one. Prints one JSON line: {"tools": [names], "call": "ok" | "<error>"}; exits non-zero when
// it cannot even connect.
//
// usage: node list-tools.mjs <mcp url> <token> <tool to call>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, tool] = process.argv.slice(2);
const out = {};
try {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "jwt-rbac-list-tools", version: "0.0.0" });
  await client.connect(transport);
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  try {
    await client.callTool({ name: tool, arguments: {} });
    out.call = "ok";
  } catch (e) {
    out.call = String(e?.message ?? e);
  }
  await client.close();
  console.log(JSON.stringify(out));
} catch (e) {
  out.failure = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
