// The host side of MCP Apps as its makers ship it: @modelcontextprotocol/ext-apps's AppBridge over
// the official TypeScript client 2.x, bundled by esbuild (tests/browser/official.py) into one
// script for a page served at the MCP server's own origin. The page connects to the server over
// streamable HTTP, finds the tool bound to a UI resource (`_meta.ui.resourceUri`), reads that
// resource, renders it in a sandboxed iframe and lets AppBridge answer the app: the handshake,
// the tool result, and the app's own tool calls (forwarded to the server by AppBridge itself).
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const HOST = { name: "livecalls-official-host-test", version: "1" };

async function start({ mcpUrl, token, theme }) {
  const client = new Client(HOST);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers } }));
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t._meta && t._meta.ui && t._meta.ui.resourceUri);
  if (!tool) throw new Error("no tool is bound to a UI resource");
  const uri = tool._meta.ui.resourceUri;
  const read = await client.readResource({ uri });
  const html = read.contents[0].text;
  const args = { limit: 100 };
  const result = await client.callTool({ name: tool.name, arguments: args });

  const frame = document.getElementById("app");
  const bridge = new AppBridge(client, HOST, { serverTools: {}, logging: {} }, {
    hostContext: { theme, displayMode: "inline", platform: "web" },
  });
  bridge.oninitialized = () => {
    bridge.sendToolInput({ arguments: args });
    bridge.sendToolResult(result);
  };
  // Listen first (the iframe's window stays the same object across the srcdoc navigation), then
  // load the app, whose first message is its ui/initialize request.
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = html;
  window.livecallsHost = { tool: tool.name, uri, bridge };
  return { tool: tool.name, uri };
}

window.startOfficialHost = start;
