// An authorization server for the sign-in test: panva's oidc-provider on loopback, configured as
// the README's oidc-provider row says (issuer without a trailing slash, dynamic registration,
// PKCE, resourceIndicators with JWT access tokens for the MCP server's URL).
//
// Usage: node oidc_server.mjs NODE_MODULES_DIR CONFIG_JSON, CONFIG {"port", "resource",
// "policy": {person: [scopes]}, "person"}. The login and consent screens are replaced by a
// policy: the current person (POST /_test/person/<name> changes who) signs in at once, and the
// grant holds the requested scopes their policy allows — as an organisation's own authorization
// server would decide. Prints one JSON line {"issuer"} once it listens; stops on SIGTERM.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { pathToFileURL } from "node:url";

const [modules, rawConfig] = process.argv.slice(2);
const config = JSON.parse(rawConfig);
const { default: Provider } = await import(pathToFileURL(`${modules}/oidc-provider/lib/index.js`).href);

const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "es256-1", alg: "ES256", use: "sig" };
const scopes = [...new Set(Object.values(config.policy).flat())];

const provider = new Provider(issuer, {
  clients: [],
  clientDefaults: { id_token_signed_response_alg: "ES256", grant_types: ["authorization_code"], response_types: ["code"] },
  jwks: { keys: [jwk] },
  scopes: ["openid", "offline_access", ...scopes], // dynamic registration checks a client's scope
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => config.resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== config.resource) throw new Error(`unknown resource ${resource}`);
        return {
          scope: scopes.join(" "),
          audience: config.resource,
          accessTokenFormat: "jwt",
          accessTokenTTL: 600,
          jwt: { sign: { alg: "ES256" } },
        };
      },
    },
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, Interaction: 600, Session: 600 },
});
provider.proxy = false;

let person = config.person;

async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: person } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: person, clientId: details.params.client_id });
  const allowed = new Set(config.policy[person] ?? []);
  const requested = String(details.params.scope ?? "").split(" ").filter(Boolean);
  const resource = details.params.resource ?? config.resource;
  const granted = requested.filter((scope) => allowed.has(scope));
  const refused = requested.filter((scope) => !allowed.has(scope) && scope !== "openid");
  // Known to the provider as its own scopes too (for registration): decided the same way twice.
  if (granted.length) {
    grant.addResourceScope(resource, granted.join(" "));
    grant.addOIDCScope(granted.join(" "));
  }
  if (refused.length) {
    grant.rejectResourceScope(resource, refused.join(" ")); // the policy says no
    grant.rejectOIDCScope(refused.join(" "));
  }
  if (requested.includes("openid")) grant.addOIDCScope("openid");
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url.startsWith("/_test/person/")) {
    person = decodeURIComponent(req.url.slice("/_test/person/".length)); // who signs in next
    res.end("ok");
    return;
  }
  if (req.url.startsWith("/interaction/")) {
    interact(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
});
server.listen(config.port, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
