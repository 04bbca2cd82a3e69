// Sign-in end to end with the official TypeScript SDK 1.x client's OAuth (what Claude Desktop,
// VS Code and mcp-remote use): discovery from the 401, dynamic registration, PKCE, RFC 8707
// resource, against a real authorization server (oidc_server.mjs), then tool calls.
//
// Usage: node oidc_signin.mjs NODE_MODULES CONFIG_JSON, CONFIG {"url"} (the MCP endpoint). The
// browser is played by following the authorization server's redirects (with its cookies) to
// the redirect URI. Writes one JSON report to stdout. Every wait is bounded.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bounded } from "./bounded.mjs";

const [modules, rawConfig] = process.argv.slice(2);
const config = JSON.parse(rawConfig);
const sdk = (path) =>
  import(pathToFileURL(join(modules, "@modelcontextprotocol", "sdk", "dist", "esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { UnauthorizedError } = await sdk("client/auth.js");

const REDIRECT = "http://127.0.0.1:3334/oauth/callback";
const STEP_TIMEOUT_MS = 60_000;

/** An in-memory OAuthClientProvider whose "browser" follows redirects to the callback. */
class Provider {
  constructor() {
    this.seen = { authorization_url: null, registered_scope: null };
    this.code = null;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: "mcp-livecalls sign-in test",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
    this.seen.registered_scope = info.scope ?? null;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
    this.seen.token_scope = tokens.scope ?? null;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url) {
    const asked = new URL(url);
    this.seen.authorization_url = {
      scope: asked.searchParams.get("scope"),
      resource: asked.searchParams.get("resource"),
      code_challenge_method: asked.searchParams.get("code_challenge_method"),
    };
    const cookies = new Map();
    const hops = [];
    let next = url.toString();
    for (let hop = 0; hop < 10; hop++) {
      if (next.startsWith(REDIRECT)) {
        const back = new URL(next);
        if (back.searchParams.get("error")) throw new Error(`authorization refused: ${back.search}`);
        this.code = back.searchParams.get("code");
        return;
      }
      const response = await fetch(next, {
        redirect: "manual",
        headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const at = pair.indexOf("=");
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const location = response.headers.get("location");
      if (!location) throw new Error(`the authorization server answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      next = new URL(location, next).toString();
      hops.push(`${response.status} ${new URL(next).pathname}`);
    }
    throw new Error(`too many redirects: ${hops.join(", ")}`);
  }
}

async function connect(provider) {
  const client = new Client({ name: "oidc-signin", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(config.url), { authProvider: provider });
  try {
    await bounded(client.connect(transport), STEP_TIMEOUT_MS, "connect");
    return { client, transport };
  } catch (exc) {
    if (!(exc instanceof UnauthorizedError) || provider.code === null) throw exc;
    await bounded(transport.finishAuth(provider.code), STEP_TIMEOUT_MS, "finishAuth");
    const again = new Client({ name: "oidc-signin", version: "1.0.0" });
    const signedIn = new StreamableHTTPClientTransport(new URL(config.url), { authProvider: provider });
    await bounded(again.connect(signedIn), STEP_TIMEOUT_MS, "connect after sign-in");
    return { client: again, transport: signedIn };
  }
}

const report = {};
try {
  const provider = new Provider();
  const { client } = await connect(provider);
  report.signin = provider.seen;
  const page = await bounded(client.callTool({ name: "list_active_calls", arguments: { limit: 100 } }), STEP_TIMEOUT_MS, "list");
  report.list = { is_error: page.isError ?? false, calls: page.structuredContent?.calls ?? [] };
  await client.close();
} catch (exc) {
  report.error = `${exc?.name ?? "Error"}: ${exc?.message ?? String(exc)}`.slice(0, 1000);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
