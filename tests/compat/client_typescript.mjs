// A compatibility run of the official MCP TypeScript SDK 1.x client (what Claude Desktop, VS Code,
// the MCP Inspector and mcp-remote are built on) against mcp-livecalls.
//
// Usage: node client_typescript.mjs NODE_MODULES CONFIG_JSON, with the same CONFIG as
// client_python_v1.py. It records what it observes, step by step, and writes one JSON report to
// stdout; a failing step records {"error": ...} and the run goes on. The pytest side
// (test_clients.py) makes the assertions. Every wait is bounded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bounded } from "./bounded.mjs";

const [modules, rawConfig] = process.argv.slice(2);
const config = JSON.parse(rawConfig);
const sdkDir = join(modules, "@modelcontextprotocol", "sdk");
const sdk = (path) => import(pathToFileURL(join(sdkDir, "dist", "esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StdioClientTransport } = await sdk("client/stdio.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const types = await sdk("types.js");

const STEP_TIMEOUT_MS = 60_000; // far above what a step takes: a server process starting on a busy machine
const UPDATE_WAIT_MS = 10_000;
const ACTIVE = "livecalls://calls/active";

function errorOf(exc) {
  return { error: `${exc?.name ?? "Error"}: ${exc?.message ?? String(exc)}`.slice(0, 500) };
}

/** notifications/resources/updated as they arrive, and a bounded wait for the next one. */
class Updates {
  constructor() {
    this.uris = [];
    this.waiters = [];
  }
  arrived(uri) {
    this.uris.push(uri);
    for (const wake of this.waiters.splice(0)) wake();
  }
  count(uri) {
    return this.uris.filter((u) => u === uri).length;
  }
  async waitFor(uri, moreThan, ms) {
    const deadline = Date.now() + ms;
    while (this.count(uri) <= moreThan) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer;
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }
}

/** The provider simulator's control routes: request counters and the manual clock. */
const sim = {
  async counters() {
    const response = await fetch(`${config.sim_url}/_sim/state`, { signal: AbortSignal.timeout(30_000) });
    const state = await response.json();
    return Object.fromEntries(state.requests.map((r) => [`${r.provider}/${r.route}`, r.count]));
  },
  async advance(seconds) {
    const response = await fetch(`${config.sim_url}/_sim/advance?seconds=${seconds}`, {
      method: "POST",
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`advance answered ${response.status}`);
  },
  async waitUntil(key, atLeast, ms) {
    const deadline = Date.now() + ms;
    for (;;) {
      const current = (await this.counters())[key] ?? 0;
      if (current >= atLeast) return current;
      if (Date.now() > deadline) throw new Error(`${key} stayed below ${atLeast} for ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },
};

/**
 * The transport, with the initialize request offering `protocolVersion` instead of the SDK's
 * latest (the SDK has no option for it), and the version the server answered recorded.
 */
function offering(transport, protocolVersion, seen) {
  return new Proxy(transport, {
    get(target, prop) {
      if (prop === "send") {
        return (message, options) => {
          if (protocolVersion && message.method === "initialize") {
            message = { ...message, params: { ...message.params, protocolVersion } };
          }
          return target.send(message, options);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(target, prop, value) {
      if (prop === "onmessage" && typeof value === "function") {
        const handler = value;
        value = (message, extra) => {
          if (message?.result?.protocolVersion && seen.negotiated === undefined) {
            seen.negotiated = message.result.protocolVersion;
          }
          return handler(message, extra);
        };
      }
      return Reflect.set(target, prop, value);
    },
  });
}

function transportFor(token) {
  if (config.transport === "stdio") {
    const { command, args, env } = config.server;
    return new StdioClientTransport({ command, args, env, stderr: "inherit" });
  }
  return new StreamableHTTPClientTransport(new URL(config.url), {
    requestInit: { headers: { Authorization: `Bearer ${token ?? config.token}` } },
  });
}

async function connect({ protocolVersion, updates, token } = {}) {
  const seen = {};
  const client = new Client({ name: "livecalls-compat", version: "1.0.0" }, { capabilities: {} });
  if (updates) {
    client.setNotificationHandler(types.ResourceUpdatedNotificationSchema, (n) => updates.arrived(n.params.uri));
  }
  await bounded(client.connect(offering(transportFor(token), protocolVersion, seen)), STEP_TIMEOUT_MS, "connect");
  return { client, seen };
}

const textOf = (result) => result.content.map((block) => block.text ?? "").join("\n");
const tool = (result) => ({ is_error: Boolean(result.isError), structured: result.structuredContent ?? null, text: textOf(result) });

async function initializeAs(protocolVersion) {
  let client;
  try {
    const connected = await connect({ protocolVersion });
    client = connected.client;
    const capabilities = client.getServerCapabilities() ?? {};
    const record = {
      negotiated: connected.seen.negotiated,
      server_name: client.getServerVersion()?.name,
      subscribe: Boolean(capabilities.resources?.subscribe),
    };
    const work = async () => {
      record.tools = (await client.listTools()).tools.map((t) => t.name).sort();
      const page = await client.callTool({ name: "list_active_calls", arguments: { limit: 1 } });
      record.tool_errors = { list_active_calls: Boolean(page.isError) };
      const call = page.structuredContent?.calls?.[0];
      if (call) {
        const args = { call_id: call.call_id, provider: call.provider };
        for (const [name, extra] of [
          ["get_live_call", {}],
          ["get_stream_details", {}],
          ["wait_for_call_state", { until: [call.status], timeout_s: 5 }],
        ]) {
          const result = await client.callTool({ name, arguments: { ...args, ...extra } });
          record.tool_errors[name] = Boolean(result.isError);
        }
      }
    };
    await bounded(work(), STEP_TIMEOUT_MS, `initialize ${protocolVersion}`);
    return record;
  } catch (exc) {
    return errorOf(exc);
  } finally {
    await client?.close().catch(() => {});
  }
}

async function step(steps, name, body) {
  try {
    steps[name] = await bounded(body(), STEP_TIMEOUT_MS, name);
  } catch (exc) {
    steps[name] = errorOf(exc);
  }
  return steps[name];
}

const statuses = (read) =>
  JSON.parse(read.contents[0].text)
    .calls.map((c) => `${c.call_id}:${c.status}`)
    .sort()
    .join(",");

async function walkthrough(steps) {
  const updates = new Updates();
  const { client, seen } = await connect({ updates });
  try {
    steps.initialize = { negotiated: seen.negotiated };
    const found = {};
    const callArgs = () => ({ call_id: found.call.call_id, provider: found.call.provider });
    const call = async (name, args) => tool(await client.callTool({ name, arguments: args }));
    const read = (uri) => client.readResource({ uri });
    const template = { type: "ref/resource", uri: "livecalls://calls/{provider}/{call_id}" };

    const plan = [
      ["tools_list", async () => {
        const tools = (await client.listTools()).tools;
        const wait = tools.find((t) => t.name === "wait_for_call_state");
        return {
          names: tools.map((t) => t.name).sort(),
          wait_timeout_max: wait?.inputSchema?.properties?.timeout_s?.maximum ?? null,
        };
      }],
      ["list_active_calls", async () => {
        const result = await call("list_active_calls", { limit: 100 });
        const calls = result.structured?.calls ?? [];
        found.call = calls.find((c) => c.status === "in_progress") ?? calls[0];
        return result;
      }],
      ["get_live_call", () => call("get_live_call", callArgs())],
      ["get_stream_details", () => call("get_stream_details", callArgs())],
      // The simulator's clock stands still: the call cannot end, so this times out.
      ["wait_for_call_state", async () => {
        let progress = 0;
        const result = await client.callTool(
          { name: "wait_for_call_state", arguments: { ...callArgs(), until: ["ended"], timeout_s: 0.6 } },
          undefined,
          { onprogress: () => { progress += 1; }, resetTimeoutOnProgress: true },
        );
        return { ...tool(result), progress_notifications: progress };
      }],
      ["unknown_call_id", () => call("get_live_call", { call_id: "no-such-call-000" })],
      ["malformed_call_id", () => call("get_live_call", { call_id: "../Account/x?status=queued" })],
      ["resources", async () => {
        const listed = await client.listResources();
        const templates = await client.listResourceTemplates();
        const providers = await read("livecalls://providers");
        const active = await read(ACTIVE);
        const one = await read(`livecalls://calls/${found.call.provider}/${found.call.call_id}`);
        return {
          uris: listed.resources.map((r) => r.uri).sort(),
          templates: templates.resourceTemplates.map((t) => t.uriTemplate).sort(),
          providers: JSON.parse(providers.contents[0].text),
          active_calls: (JSON.parse(active.contents[0].text).calls ?? []).length,
          call: JSON.parse(one.contents[0].text),
          mime_type: one.contents[0].mimeType,
        };
      }],
      ["prompts", async () => {
        const listed = await client.listPrompts();
        const health = await client.getPrompt({ name: "call_health_check", arguments: { call_id: found.call.call_id } });
        const overview = await client.getPrompt({ name: "supervisor_overview", arguments: { hold_minutes: "5" } });
        return {
          names: listed.prompts.map((p) => p.name).sort(),
          health_check: health.messages[0].content.text,
          overview: overview.messages[0].content.text,
        };
      }],
      ["completion", async () => {
        const prefix = found.call.call_id.slice(0, 4);
        const providers = await client.complete({ ref: template, argument: { name: "provider", value: "" } });
        const ids = await client.complete({
          ref: { type: "ref/prompt", name: "call_health_check" },
          argument: { name: "call_id", value: prefix },
        });
        const scoped = await client.complete({
          ref: template,
          argument: { name: "call_id", value: prefix },
          context: { arguments: { provider: found.call.provider } },
        });
        return {
          providers: providers.completion.values,
          prefix,
          call_ids: ids.completion.values,
          scoped_call_ids: scoped.completion.values,
        };
      }],
    ];
    for (const [name, body] of plan) await step(steps, name, body);

    const subscribed = await step(steps, "subscribe", async () => {
      await client.subscribeResource({ uri: ACTIVE });
      let advances = 0;
      let arrived = false;
      while (!arrived && advances < 4) {  // the first advance may land in the poller's first read
        await sim.advance(30);
        advances += 1;
        arrived = await updates.waitFor(ACTIVE, 0, UPDATE_WAIT_MS);
      }
      return { update_arrived: arrived, advances, uri: ACTIVE };
    });
    if (subscribed.error) return;
    await step(steps, "unsubscribe", async () => {
      const before = await read(ACTIVE);
      await client.unsubscribeResource({ uri: ACTIVE });
      const updatesAtUnsubscribe = updates.count(ACTIVE);
      await sim.advance(30);  // the active list changes while nobody is subscribed
      // A control subscription proves time passed on the server: its poller must run twice
      // while the unsubscribed resource's poller (if it still ran) would poll too.
      // Any live call will do: with the clock standing still it neither changes nor ends.
      const page = await client.callTool({ name: "list_active_calls", arguments: { provider: "zudu", limit: 1 } });
      const control = `livecalls://calls/zudu/${page.structuredContent.calls[0].call_id}`;
      const key = "zudu/get_call";
      const start = (await sim.counters())[key] ?? 0;
      await client.subscribeResource({ uri: control });
      const first = await sim.waitUntil(key, start + 1, 10_000);
      const countersBefore = await sim.counters();
      await sim.waitUntil(key, (countersBefore[key] ?? 0) + 2, 10_000);
      const countersAfter = await sim.counters();
      await client.unsubscribeResource({ uri: control });
      const after = await read(ACTIVE);
      const without = (counters) => Object.fromEntries(Object.entries(counters).filter(([k]) => k !== key));
      return {
        control_uri: control,
        control_polls_seen: (countersAfter[key] ?? 0) - first,
        counters_before: without(countersBefore),
        counters_after: without(countersAfter),
        updates_after_unsubscribe: updates.count(ACTIVE) - updatesAtUnsubscribe,
        active_changed_meanwhile: statuses(before) !== statuses(after),
      };
    });
  } finally {
    await client.close().catch(() => {});
  }
}

async function unauthorized() {
  const record = {};
  let client;
  try {
    client = (await connect({ token: "wrong-token" })).client;
    record.connected = true;
  } catch (exc) {
    record.connected = false;
    record.client_error = errorOf(exc).error;
  } finally {
    await client?.close().catch(() => {});
  }
  const raw = await fetch(config.url, {
    method: "POST",
    headers: {
      Authorization: "Bearer wrong-token",
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: types.LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "probe", version: "0" } },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  record.status = raw.status;
  record.www_authenticate = raw.headers.get("www-authenticate");
  return record;
}

const pkg = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8"));
const report = {
  client: { name: "typescript-sdk", version: pkg.version, offers: [...types.SUPPORTED_PROTOCOL_VERSIONS] },
  transport: config.transport,
  initialize: {},
  steps: {},
};
for (const version of config.versions ?? types.SUPPORTED_PROTOCOL_VERSIONS) {
  report.initialize[version] = await initializeAs(version);
}
if (config.mode === "full") {
  try {
    await walkthrough(report.steps);
  } catch (exc) {
    report.steps.connection = errorOf(exc);
  }
  if (config.transport === "http") report.steps.unauthorized = await unauthorized();
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
