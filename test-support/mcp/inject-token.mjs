// A token-injecting reverse proxy for the MCP conformance runner.
//
// Why it exists: the official conformance runner (@modelcontextprotocol/conformance) cannot send
// an Authorization header, while the server under test sits behind our JWT layer. This proxy
// forwards every request to the upstream server with `Authorization: Bearer <token>` added, so
// the runner's MCP traffic reaches the server exactly as sent, plus a valid token.
//
// - The request (method, path, headers, body) is forwarded as is; the `Host` header is kept,
//   so the server's own Host / DNS-rebinding checks see what the runner sent.
// - Responses are streamed back chunk by chunk as they arrive: Server-Sent Events pass through
//   unbuffered; when either side goes away, the other connection is closed too.
// - Listens on 127.0.0.1, on an ephemeral port (0) unless one is given, and prints one line
//   `listening <port>` on stdout once it accepts connections.
//
// usage: node inject-token.mjs <upstream base url> <token> [port]
import http from "node:http";

const [upstreamArg, token, portArg] = process.argv.slice(2);
if (!upstreamArg || !token) {
  console.error("usage: node inject-token.mjs <upstream base url> <token> [port]");
  process.exit(2);
}
const upstream = new URL(upstreamArg);
const agent = new http.Agent({ keepAlive: true });
// Hop-by-hop headers describe one connection; Node frames each side's messages itself.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

function endToEnd(headers) {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
  );
}

const server = http.createServer((req, res) => {
  const headers = { ...endToEnd(req.headers), authorization: `Bearer ${token}` };
  const forward = http.request(
    {
      agent,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      // Send the head now: an SSE stream may wait a while for its first event.
      res.flushHeaders();
      // Each chunk is written as it arrives (with backpressure); the end ends the answer.
      answer.on("error", () => res.destroy());
      answer.pipe(res);
    },
  );
  forward.on("error", (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`inject-token proxy: upstream error: ${err.message}\n`);
    } else {
      res.destroy();
    }
  });
  // The client hung up (e.g. it cancelled an SSE stream): drop the upstream request as well.
  res.on("close", () => {
    if (!res.writableFinished) {
      forward.destroy();
    }
  });
  req.pipe(forward);
});
// Long-lived SSE streams must not be cut by the server's idle timers.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 5000;
server.timeout = 0;

server.listen(Number(portArg ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
