// A real OpenID Provider for the single sign-on tests: panva's oidc-provider (OpenID
// Certified) with one static client, test accounts and a plain login page of its own.
//
//   node provider.mjs '{"port": 0, "client": {...}, "accounts": {...}}'
//
// prints one line {"issuer": "..."} when it listens. POST /__test/tamper?mode=M makes the
// next token answer carry an ID token changed by M and signed again with the provider's own
// key (or, for "foreign_key", with another key under the same kid): the relying party must
// refuse each one. POST /__test/claims?account=ID (form field "claims", JSON) changes what
// the provider says about an account.
import http from "node:http";
import { generateKeyPair, exportJWK, SignJWT, decodeJwt } from "jose";
import Provider from "oidc-provider";

const options = JSON.parse(process.argv[2] || "{}");
const accounts = options.accounts || {};

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
const foreign = await generateKeyPair("RS256", { extractable: true });

const server = http.createServer();
await new Promise((resolve) => server.listen(options.port || 0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [options.client],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ["filebay-test-cookie-key"] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "groups", "offline_access"],
  claims: {
    openid: ["sub"],
    profile: ["preferred_username", "name"],
    email: ["email", "email_verified"],
    groups: ["groups"],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
});
provider.proxy = false;

let tamper = null;

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Test provider</title></head>
<body><h1>Test provider sign-in</h1>${message ? `<p id="op-error">${escape(message)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<input name="login" id="op-login" autofocus><input name="password" id="op-password" type="password">
<button type="submit" id="op-submit">Sign in</button></form></body></html>`;
}

async function forged(idToken, mode) {
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === "wrong_audience") claims.aud = "another-client";
  else if (mode === "expired") Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  else if (mode === "wrong_nonce") claims.nonce = "not-the-nonce-you-sent";
  else if (mode === "wrong_issuer") claims.iss = "http://127.0.0.1:1/";
  else if (mode === "foreign_key") key = foreign.privateKey;
  else throw new Error(`unknown tamper mode ${mode}`);
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: signingJwk.kid }).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === "/__test/claims" && ctx.method === "POST") {
    // The account's claims from now on (its groups changed at the provider, say).
    const account = accounts[ctx.query.account];
    account.claims = JSON.parse((await formBody(ctx.req)).get("claims"));
    ctx.status = 204;
    return;
  }
  if (ctx.path === "/__test/tamper" && ctx.method === "POST") {
    tamper = ctx.query.mode || null;
    ctx.status = 204;
    return;
  }
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (match) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!match[2]) {
      ctx.type = "html";
      ctx.body = loginPage(details.uid, "");
      return;
    }
    const form = await formBody(ctx.req);
    const account = accounts[form.get("login")];
    if (!account || account.password !== form.get("password")) {
      ctx.type = "html";
      ctx.body = loginPage(details.uid, "wrong login or password");
      return;
    }
    const accountId = form.get("login");
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const result = { login: { accountId }, consent: { grantId } };
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.redirect(redirectTo);
    return;
  }
  await next();
  if (ctx.path === "/token" && tamper && ctx.status === 200 && ctx.body && ctx.body.id_token) {
    const mode = tamper;
    tamper = null;
    ctx.body = { ...ctx.body, id_token: await forged(ctx.body.id_token, mode) };
  }
});

server.on("request", provider.callback());
console.log(JSON.stringify({ issuer }));
