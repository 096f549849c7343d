// A module-load hook for `run-conformance.mjs`, needed on Node 20 only.
//
// Why it exists: @modelcontextprotocol/conformance (0.1.16) imports `globSync` from "node:fs",
// which Node added in version 22. On Node 20 that named import fails when the runner loads, so
// no scenario can run. This hook rewrites only the runner's own bundle (dist/*.js of that
// package): `globSync` is taken out of its import list from "fs" and imported from the `glob`
// package instead, whose `globSync(pattern, options)` accepts the same arguments the runner
// passes. Every other module loads untouched.
const RUNNER_DIST = "/@modelcontextprotocol/conformance/dist/";

export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  if (!url.includes(RUNNER_DIST) || loaded.source == null) {
    return loaded;
  }
  const source = String(loaded.source);
  // The bundle is minified: `import{a as b,globSync as c,...}from"fs";`.
  const patched = source.replace(/import\{([^}]*)\}from"(?:node:)?fs";/, (whole, list) => {
    const names = list.split(",");
    const fromGlob = names.filter((n) => n.trim().startsWith("globSync"));
    if (fromGlob.length === 0) {
      return whole;
    }
    const kept = names.filter((n) => !n.trim().startsWith("globSync"));
    const fsImport = kept.length > 0 ? `import{${kept.join(",")}}from"fs";` : "";
    return `${fsImport}import{${fromGlob.join(",")}}from"glob";`;
  });
  return { ...loaded, source: patched };
}
