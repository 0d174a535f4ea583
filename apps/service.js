// The reference service every application workload runs on the public `node` image, mounted from a
// ConfigMap (no image build, no npm packages in the pod: node's own modules only). It stands in for
// the real service images, which stacks set in config, and behaves as the platform expects a
// service to behave:
//   GET /healthz   liveness: the process answers (never its dependencies)
//   GET /readyz    readiness: every dependency in DEPENDS_ON answers in its own protocol
//   GET /metrics   Prometheus metrics on METRICS_PORT (request rate/latency and business counters)
//   anything else  a JSON answer naming the service, counted in the metrics
// DEPENDS_ON lists dependencies as URLs without credentials; query parameters name the environment
// variables that hold them:
//   postgres://host:5432/db?userFrom=DATABASE_USER[&databaseFrom=VAR][&sslmode=require]
//       a PostgreSQL startup message; ready when the server asks for authentication
//   redis://host:6379?passwordFrom=REDIS_PASSWORD[&userFrom=VAR]   (rediss:// for TLS, verified
//       against the CA in the file caFileFrom=VAR names)
//       AUTH and PING; ready on PONG
//   http://host:port/path   a GET answered with 2xx;   tcp://host:port   a TCP connect (only
//       meaningful without a sidecar: the pod's own proxy accepts every connection)
// ROLE: api | worker | auth | frontend-build. The auth role is an OAuth2/OpenID Connect issuer:
//   GET  /.well-known/openid-configuration   discovery (public URLs from OIDC_* settings)
//   GET  /.well-known/jwks.json              the signing key's public half (kid SIGNING_KEY_ID)
//   GET  /authorize, POST /authorize         authorization code with PKCE (S256), users from USERS_PATH
//   POST /token                              authorization_code and refresh_token grants; RS256 JWTs
//   GET  /userinfo                           the subject of a valid access token
// signing with the RSA key at SIGNING_KEY_PATH (a Secret's file); codes and refresh tokens live in
// the cache (CACHE_* settings, keys under SESSION_KEY_PREFIX), in memory when there is none.
"use strict";
const nodeCrypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const tls = require("node:tls");

const name = process.env.SERVICE_NAME || "service";
const port = Number(process.env.PORT || 8080);
const metricsPort = Number(process.env.METRICS_PORT || 9464);
const role = process.env.ROLE || "api";
const CHECK_TIMEOUT_MS = 1500;

if (role === "frontend-build") {
    // Init container of the frontend: renders the static site into the shared emptyDir.
    const out = process.env.OUTPUT_DIR || "/site";
    const apiBase = process.env.API_BASE || "/api";
    fs.writeFileSync(
        `${out}/index.html`,
        `<!doctype html><html><head><meta charset="utf-8"><title>Warung Kopi</title></head>` +
            `<body><h1>Warung Kopi</h1><p>Kopi Indonesia, diantar ke rumah.</p>` +
            `<script>window.API_BASE=${JSON.stringify(apiBase)}</script></body></html>\n`,
    );
    fs.writeFileSync(`${out}/healthz`, "ok\n");
    process.exit(0);
}

// ---- Dependencies, each checked in its own protocol ------------------------------------------

/** A DEPENDS_ON entry: URL (credentials by environment variable name only), or legacy host:port. */
function parseDependency(text) {
    const url = new URL(/^[a-z]+:\/\//.test(text) ? text : `tcp://${text}`);
    const from = (param) => {
        const variable = url.searchParams.get(param);
        return variable ? process.env[variable] : undefined;
    };
    return {
        kind: url.protocol.replace(/:$/, ""),
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        user: from("userFrom"),
        password: from("passwordFrom"),
        database: from("databaseFrom") || url.pathname.replace(/^\//, ""),
        ssl: url.protocol === "rediss:" || url.searchParams.get("sslmode") === "require",
        // The CA that signs the server's certificate (rediss: verified against it and the host name).
        ca: from("caFileFrom") ? fs.readFileSync(from("caFileFrom"), "utf8") : undefined,
        // What /readyz shows: the address, never a credential.
        label: `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`,
    };
}
const deps = (process.env.DEPENDS_ON || "")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean)
    .map(parseDependency);

/**
 * Open a connection (TLS for rediss) and let `talk` decide the outcome, writing once the connection is
 * established (the event it is given); always settles within the timeout.
 */
function converse(dep, talk) {
    return new Promise((resolve) => {
        let done = false;
        let socket;
        const finish = (ready, detail) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (socket) socket.destroy();
            resolve({ ready, detail });
        };
        const timer = setTimeout(() => finish(false, "no answer in time"), CHECK_TIMEOUT_MS);
        const opts = { host: dep.host, port: dep.port };
        socket =
            dep.ssl && dep.kind === "rediss"
                ? tls.connect({ ...opts, servername: dep.host, ...(dep.ca ? { ca: dep.ca } : {}) })
                : net.connect(opts);
        socket.on("error", (e) => finish(false, e.code || e.message));
        socket.on("close", () => finish(false, "connection closed without an answer"));
        talk(socket, finish, dep.kind === "rediss" ? "secureConnect" : "connect");
    });
}

/** RESP: encode a command, and read complete replies from a buffer. */
const resp = (...args) =>
    `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join("");
function readReply(buf, at = 0) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(buf[at]);
    const line = buf.toString("utf8", at + 1, eol);
    if (type === "+" || type === "-" || type === ":")
        return { value: type === ":" ? Number(line) : line, error: type === "-", next: eol + 2 };
    if (type === "$") {
        const n = Number(line);
        if (n < 0) return { value: null, next: eol + 2 };
        if (buf.length < eol + 2 + n + 2) return undefined;
        return { value: buf.toString("utf8", eol + 2, eol + 2 + n), next: eol + 4 + n };
    }
    if (type === "*") {
        const items = [];
        let next = eol + 2;
        for (let i = 0; i < Number(line); i++) {
            const r = readReply(buf, next);
            if (!r) return undefined;
            items.push(r.value);
            next = r.next;
        }
        return { value: items, next };
    }
    return { value: line, error: true, next: eol + 2 };
}

/** Send commands (after AUTH when the dependency has a password) and collect one reply each. */
function redisCall(dep, commands) {
    const auth = dep.password ? [dep.user ? ["AUTH", dep.user, dep.password] : ["AUTH", dep.password]] : [];
    const all = [...auth, ...commands];
    return new Promise((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const replies = [];
        converse(dep, (socket, finish, established) => {
            socket.on(established, () => socket.write(all.map((c) => resp(...c)).join("")));
            socket.on("data", (chunk) => {
                buf = Buffer.concat([buf, chunk]);
                let r;
                while (replies.length < all.length && (r = readReply(buf))) {
                    replies.push(r);
                    buf = buf.subarray(r.next);
                }
                if (replies.length === all.length) finish(true, "");
            });
        }).then(({ ready, detail }) => {
            if (!ready) return reject(new Error(detail));
            const failed = replies.find((r) => r.error);
            if (failed) return reject(new Error(failed.value));
            resolve(replies.slice(auth.length).map((r) => r.value));
        });
    });
}

async function checkRedis(dep) {
    try {
        const [pong] = await redisCall(dep, [["PING"]]);
        return pong === "PONG" ? { ready: true, detail: "PONG" } : { ready: false, detail: String(pong) };
    } catch (e) {
        return { ready: false, detail: e.message };
    }
}

/** PostgreSQL: a startup message; the server asks for authentication (R) when it accepts sessions. */
function checkPostgres(dep) {
    const params = ["user", dep.user || "postgres", "database", dep.database || dep.user || "postgres"];
    params.push("application_name", `${name}-readiness`);
    const body = Buffer.concat([
        Buffer.from([0, 3, 0, 0]), // protocol 3.0
        ...params.map((p) => Buffer.from(`${p}\0`)),
        Buffer.from([0]),
    ]);
    const startup = Buffer.concat([int32(body.length + 4), body]);
    return converse(dep, (socket, finish) => {
        let stage = dep.ssl ? "ssl" : "startup";
        let buf = Buffer.alloc(0);
        const onData = (chunk) => {
            buf = Buffer.concat([buf, chunk]);
            if (stage === "ssl") {
                if (buf[0] !== 0x53) return finish(false, "the server refuses TLS");
                stage = "startup";
                buf = Buffer.alloc(0);
                socket.removeListener("data", onData);
                const secure = tls.connect({ socket, servername: dep.host, rejectUnauthorized: false }, () =>
                    secure.write(startup),
                );
                secure.on("data", onData);
                secure.on("error", (e) => finish(false, e.message));
                return;
            }
            if (buf.length < 5) return;
            const type = String.fromCharCode(buf[0]);
            if (type === "R") {
                // Terminate politely; the server logs no error for a client that leaves here.
                socket.write(Buffer.concat([Buffer.from("X"), int32(4)]));
                return finish(true, "the server asks for authentication");
            }
            if (type === "E") {
                const fields = buf.toString("utf8", 5).split("\0");
                const message = fields.find((f) => f.startsWith("M"));
                return finish(false, message ? message.slice(1) : "error response");
            }
            finish(false, `unexpected answer ${JSON.stringify(type)}`);
        };
        socket.on("data", onData);
        socket.on("connect", () => socket.write(dep.ssl ? Buffer.concat([int32(8), int32(80877103)]) : startup));
    });
}

function int32(n) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
}

function checkHttp(dep) {
    return new Promise((resolve) => {
        const req = http.get({ host: dep.host, port: dep.port, path: dep.path, timeout: CHECK_TIMEOUT_MS }, (res) => {
            res.resume();
            const ok = res.statusCode >= 200 && res.statusCode < 300;
            resolve({ ready: ok, detail: `HTTP ${res.statusCode}` });
        });
        req.on("timeout", () => req.destroy(new Error("no answer in time")));
        req.on("error", (e) => resolve({ ready: false, detail: e.code || e.message }));
    });
}

function checkTcp(dep) {
    return converse(dep, (socket, finish) => socket.on("connect", () => finish(true, "connected")));
}

function check(dep) {
    switch (dep.kind) {
        case "postgres":
        case "postgresql":
            return checkPostgres(dep);
        case "redis":
        case "rediss":
            return checkRedis(dep);
        case "http":
            return checkHttp(dep);
        default:
            return checkTcp(dep);
    }
}

// ---- Metrics -----------------------------------------------------------------------------------

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const counters = new Map();
const histogram = { counts: buckets.map(() => 0), sum: 0, count: 0 };
function inc(metric, labels, by = 1) {
    const key = `${metric}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`;
    counters.set(key, (counters.get(key) || 0) + by);
}

// Requests keep the public API prefix (API_BASE, e.g. /api: the Ingress and the frontend's proxy
// forward /api/orders as is); the business routes are matched without it.
const routePrefix = (process.env.API_BASE || "").startsWith("/") ? process.env.API_BASE.replace(/\/+$/, "") : "";

function recordBusiness(requestPath) {
    // Business counters the dashboards chart; the real services emit the same names.
    const path =
        routePrefix && requestPath.startsWith(`${routePrefix}/`) ? requestPath.slice(routePrefix.length) : requestPath;
    if (path.startsWith("/orders")) {
        inc("shop_orders_total", { service: name });
        inc("shop_revenue_idr_total", { service: name }, 45000);
    }
    if (path.startsWith("/pay")) inc("payment_transactions_total", { service: name, status: "success" });
    if (path.startsWith("/products")) inc("cache_requests_total", { service: name, result: "hit" });
}

// ---- OAuth2 / OpenID Connect issuer (ROLE=auth) ------------------------------------------------

const b64url = (data) => Buffer.from(data).toString("base64url");
const seconds = (ttl, fallback) => {
    const m = /^(\d+)([smhd]?)$/.exec(String(ttl || ""));
    if (!m) return fallback;
    return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
};

function issuer() {
    const env = process.env;
    const key = nodeCrypto.createPrivateKey(fs.readFileSync(env.SIGNING_KEY_PATH, "utf8"));
    const kid = env.SIGNING_KEY_ID || "signing-key";
    const jwk = nodeCrypto.createPublicKey(key).export({ format: "jwk" });
    const iss = env.OIDC_ISSUER;
    const audience = env.OIDC_AUDIENCE || iss;
    const accessTtl = seconds(env.ACCESS_TOKEN_TTL, 900);
    const refreshTtl = seconds(env.REFRESH_TOKEN_TTL, 14 * 86400);
    const clients = JSON.parse(env.OIDC_CLIENTS || "[]");
    const users =
        env.USERS_PATH && fs.existsSync(env.USERS_PATH) ? JSON.parse(fs.readFileSync(env.USERS_PATH, "utf8")) : {};
    const prefix = `${env.SESSION_KEY_PREFIX || "session:"}${name}:`;

    // Codes and refresh tokens: in the cache (shared by every replica), else in this process.
    const cache = env.CACHE_HOST
        ? parseDependency(
              `${env.CACHE_TLS === "true" ? "rediss" : "redis"}://${env.CACHE_HOST}:${env.CACHE_PORT || 6379}?passwordFrom=CACHE_PASSWORD${env.CACHE_USERNAME ? "&userFrom=CACHE_USERNAME" : ""}${env.CACHE_CA_FILE ? "&caFileFrom=CACHE_CA_FILE" : ""}`,
          )
        : undefined;
    const memory = new Map();
    const store = {
        async put(key, value, ttl) {
            if (cache) await redisCall(cache, [["SET", prefix + key, JSON.stringify(value), "EX", String(ttl)]]);
            else memory.set(key, { value, until: Date.now() + ttl * 1000 });
        },
        /** Read and delete (a code or refresh token is used once). */
        async take(key) {
            if (cache) {
                const [v] = await redisCall(cache, [["GETDEL", prefix + key]]);
                return v ? JSON.parse(v) : undefined;
            }
            const e = memory.get(key);
            memory.delete(key);
            return e && e.until > Date.now() ? e.value : undefined;
        },
    };

    const sign = (claims, typ = "JWT") => {
        const header = b64url(JSON.stringify({ alg: "RS256", typ, kid }));
        const payload = b64url(JSON.stringify(claims));
        const signature = nodeCrypto.sign("RSA-SHA256", Buffer.from(`${header}.${payload}`), key).toString("base64url");
        return `${header}.${payload}.${signature}`;
    };
    const verify = (token) => {
        const [h, p, s] = String(token || "").split(".");
        if (!s) return undefined;
        const ok = nodeCrypto.verify("RSA-SHA256", Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"));
        if (!ok) return undefined;
        const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
        const now = Math.floor(Date.now() / 1000);
        return claims.iss === iss && claims.exp > now ? claims : undefined;
    };
    const sameSecret = (a, b) => {
        const x = nodeCrypto.createHash("sha256").update(String(a)).digest();
        const y = nodeCrypto.createHash("sha256").update(String(b)).digest();
        return nodeCrypto.timingSafeEqual(x, y);
    };
    const checkPassword = (username, password) => {
        const u = users[username];
        if (!u || !password) return false;
        const hash = nodeCrypto.scryptSync(String(password), Buffer.from(u.salt, "base64"), 32);
        return nodeCrypto.timingSafeEqual(hash, Buffer.from(u.hash, "base64"));
    };

    async function tokens(sub, clientId, scope, nonce) {
        const now = Math.floor(Date.now() / 1000);
        const accessToken = sign(
            {
                iss,
                sub,
                aud: audience,
                client_id: clientId,
                scope,
                iat: now,
                exp: now + accessTtl,
                jti: b64url(nodeCrypto.randomBytes(12)),
            },
            "at+jwt",
        );
        const out = { access_token: accessToken, token_type: "Bearer", expires_in: accessTtl, scope };
        if (scope.split(" ").includes("openid"))
            out.id_token = sign({
                iss,
                sub,
                aud: clientId,
                iat: now,
                exp: now + accessTtl,
                ...(nonce ? { nonce } : {}),
            });
        if (scope.split(" ").includes("offline_access")) {
            const refresh = b64url(nodeCrypto.randomBytes(32));
            await store.put(`refresh:${refresh}`, { sub, clientId, scope }, refreshTtl);
            out.refresh_token = refresh;
        }
        return out;
    }

    const discovery = {
        issuer: iss,
        authorization_endpoint: env.OIDC_AUTHORIZATION_ENDPOINT || `${iss}/authorize`,
        token_endpoint: env.OIDC_TOKEN_ENDPOINT || `${iss}/token`,
        userinfo_endpoint: env.OIDC_USERINFO_ENDPOINT || `${iss}/userinfo`,
        jwks_uri: env.OIDC_JWKS_URI || `${iss}/.well-known/jwks.json`,
        response_types_supported: ["code"],
        grant_types_supported: (env.OIDC_GRANT_TYPES || "authorization_code,refresh_token").split(","),
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        scopes_supported: (env.OIDC_SCOPES || "openid").split(" "),
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
    };
    const jwks = { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: "RS256", use: "sig" }] };

    /** Answer an OIDC route; undefined when the path is not one. */
    return async function route(req, path, body) {
        const oauthError = (status, error, description) => ({
            status,
            body: { error, error_description: description },
        });
        if (req.method === "GET" && path === "/.well-known/openid-configuration")
            return { status: 200, body: discovery };
        if (req.method === "GET" && path === "/.well-known/jwks.json") return { status: 200, body: jwks };
        if (path === "/authorize") {
            const q = req.method === "POST" ? body : new URL(req.url, "http://x").searchParams;
            const client = clients.find((c) => c.client_id === q.get("client_id"));
            if (!client || !(client.redirect_uris || []).includes(q.get("redirect_uri")))
                return oauthError(400, "invalid_request", "unknown client_id or redirect_uri");
            if (q.get("response_type") !== "code") return oauthError(400, "unsupported_response_type", "code only");
            if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
                return oauthError(400, "invalid_request", "PKCE with S256 is required");
            if (req.method !== "POST")
                return { status: 200, body: { login: "POST username and password with these parameters" } };
            const user = q.get("username");
            if (!checkPassword(user, q.get("password")))
                return oauthError(401, "access_denied", "wrong username or password");
            const code = b64url(nodeCrypto.randomBytes(32));
            await store.put(
                `code:${code}`,
                {
                    sub: user,
                    clientId: client.client_id,
                    redirectUri: q.get("redirect_uri"),
                    challenge: q.get("code_challenge"),
                    scope: q.get("scope") || "openid",
                    nonce: q.get("nonce") || undefined,
                },
                60,
            );
            const to = new URL(q.get("redirect_uri"));
            to.searchParams.set("code", code);
            if (q.get("state")) to.searchParams.set("state", q.get("state"));
            return { status: 302, headers: { location: to.toString() }, body: {} };
        }
        if (path === "/token" && req.method === "POST") {
            const grant = body.get("grant_type");
            if (grant === "authorization_code") {
                const c = await store.take(`code:${body.get("code")}`);
                if (!c || c.clientId !== body.get("client_id") || c.redirectUri !== body.get("redirect_uri"))
                    return oauthError(400, "invalid_grant", "unknown, used or expired code");
                const challenge = nodeCrypto
                    .createHash("sha256")
                    .update(String(body.get("code_verifier") || ""))
                    .digest("base64url");
                if (!sameSecret(challenge, c.challenge))
                    return oauthError(400, "invalid_grant", "PKCE verifier does not match");
                return { status: 200, body: await tokens(c.sub, c.clientId, c.scope, c.nonce), noStore: true };
            }
            if (grant === "refresh_token") {
                const r = await store.take(`refresh:${body.get("refresh_token")}`);
                if (!r || r.clientId !== body.get("client_id"))
                    return oauthError(400, "invalid_grant", "unknown or used refresh token");
                return { status: 200, body: await tokens(r.sub, r.clientId, r.scope), noStore: true };
            }
            return oauthError(400, "unsupported_grant_type", `${grant}`);
        }
        if (path === "/userinfo") {
            const claims = verify((req.headers.authorization || "").replace(/^Bearer /, ""));
            if (!claims || claims.aud !== audience) return { status: 401, body: { error: "invalid_token" } };
            return { status: 200, body: { sub: claims.sub } };
        }
        return undefined;
    };
}

const oidc = role === "auth" ? issuer() : undefined;

function readBody(req) {
    return new Promise((resolve) => {
        if (req.method !== "POST") return resolve(new URLSearchParams());
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (c) => {
            text += c;
            if (text.length > 65536) req.destroy();
        });
        req.on("end", () => resolve(new URLSearchParams(text)));
    });
}

// ---- Servers -----------------------------------------------------------------------------------

const app = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url || "/").split("?")[0];
    let code = 200;
    let body;
    const headers = { "content-type": "application/json" };
    try {
        if (path === "/healthz") {
            body = { status: "ok" };
        } else if (path === "/readyz") {
            const results = await Promise.all(deps.map(check));
            code = results.every((r) => r.ready) ? 200 : 503;
            body = {
                ready: code === 200,
                dependencies: deps.map((d, i) => ({ dependency: d.label, ...results[i] })),
            };
        } else {
            const answer = oidc ? await oidc(req, path, await readBody(req)) : undefined;
            if (answer) {
                code = answer.status;
                body = answer.body;
                Object.assign(headers, answer.headers || {});
                if (answer.noStore) headers["cache-control"] = "no-store";
            } else {
                recordBusiness(path);
                body = { service: name, role, path };
            }
        }
    } catch (e) {
        code = 503;
        body = { error: "temporarily_unavailable", error_description: e.message };
    }
    res.writeHead(code, headers);
    res.end(JSON.stringify(body));
    if (path !== "/healthz" && path !== "/readyz") {
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        inc("http_requests_total", { service: name, code: String(code) });
        histogram.sum += elapsed;
        histogram.count += 1;
        buckets.forEach((b, i) => {
            if (elapsed <= b) histogram.counts[i] += 1;
        });
    }
});

const metrics = http.createServer((req, res) => {
    const lines = ["# TYPE http_requests_total counter"];
    for (const [key, value] of counters) lines.push(`${key} ${value}`);
    lines.push("# TYPE http_request_duration_seconds histogram");
    buckets.forEach((b, i) =>
        lines.push(`http_request_duration_seconds_bucket{service="${name}",le="${b}"} ${histogram.counts[i]}`),
    );
    lines.push(`http_request_duration_seconds_bucket{service="${name}",le="+Inf"} ${histogram.count}`);
    lines.push(`http_request_duration_seconds_sum{service="${name}"} ${histogram.sum}`);
    lines.push(`http_request_duration_seconds_count{service="${name}"} ${histogram.count}`);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(lines.join("\n") + "\n");
});

if (role === "worker") {
    // Background jobs (notifications, reports): a heartbeat loop; the HTTP server serves probes only.
    setInterval(() => inc("worker_jobs_total", { service: name, job: "notification" }), 10000).unref();
}

app.listen(port, () => console.log(`${name} (${role}) listening on ${port}, metrics on ${metricsPort}`));
metrics.listen(metricsPort);
for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
        app.close();
        metrics.close();
        setTimeout(() => process.exit(0), 2000).unref();
    });
}
