// How a remote MCP client (the official TypeScript SDK 1.x: Claude's connectors, mcp-remote, VS
// Code, the Inspector) signs in to mcp-livecalls under OAuth: it connects without a token, reads
// the 401's WWW-Authenticate, discovers the protected resource metadata (RFC 9728) and the
// authorization server's metadata (RFC 8414), and sends the user to the authorization endpoint.
// No dynamic client registration is needed: the client here is pre-registered, like a connector
// an administrator configured.
//
// Usage: node oauth_discovery.mjs NODE_MODULES MCP_URL. Writes one JSON report to stdout:
// {"refused": "...", "authorization_url": "...", "discovery": {...}}. Every wait is bounded.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, mcpUrl] = process.argv.slice(2);
const sdkDir = join(modules, "@modelcontextprotocol", "sdk");
const sdk = (path) => import(pathToFileURL(join(sdkDir, "dist", "esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");

const REDIRECT = "http://127.0.0.1:9/callback";
const report = { refused: null, authorization_url: null, discovery: null };

const provider = {
  get redirectUrl() {
    return REDIRECT;
  },
  get clientMetadata() {
    return { redirect_uris: [REDIRECT], client_name: "mcp-livecalls compat" };
  },
  clientInformation() {
    return { client_id: "pre-registered-connector" };
  },
  tokens() {
    return undefined;
  },
  saveTokens() {},
  redirectToAuthorization(url) {
    report.authorization_url = url.href;
  },
  saveCodeVerifier() {},
  codeVerifier() {
    return "unused";
  },
  saveDiscoveryState(state) {
    report.discovery = state;
  },
};

const client = new Client({ name: "mcp-livecalls-oauth-compat", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
let timer;
try {
  await Promise.race([
    client.connect(transport),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("connect did not finish within 60000 ms")), 60_000);
    }),
  ]);
  report.refused = "connected without a token";
} catch (exc) {
  report.refused = `${exc?.name ?? "Error"}: ${exc?.message ?? String(exc)}`.slice(0, 500);
} finally {
  clearTimeout(timer);
  await transport.close().catch(() => {});
}
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
