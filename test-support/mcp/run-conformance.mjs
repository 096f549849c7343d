// Runs the official MCP conformance runner (@modelcontextprotocol/conformance, its `conformance`
// CLI) with the arguments given, e.g.
//   node run-conformance.mjs server --url http://127.0.0.1:PORT/mcp --scenario ping
//   node run-conformance.mjs list --server
//
// Why it exists: the runner needs Node 22 (`fs.globSync`); CI and the developers' machines have
// Node 20. On Node < 22 this first registers `globsync-hook.mjs`, which makes the runner take
// `globSync` from the `glob` package; on Node >= 22 it starts the runner as it is.
import { register } from "node:module";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  register("./globsync-hook.mjs", import.meta.url);
}
// The CLI parses process.argv itself: argv[2..] are this script's arguments.
await import("@modelcontextprotocol/conformance/dist/index.js");
