// The reference service every application workload runs on the public `node` image, mounted from a
// ConfigMap (no image build needed to try the platform). It stands in for the real service images,
// which stacks set in config, and behaves as the platform expects a service to behave:
//   GET /healthz   liveness: the process answers
//   GET /readyz    readiness: every dependency in DEPENDS_ON (host:port,...) accepts TCP connections
//   GET /metrics   Prometheus metrics on METRICS_PORT (request rate/latency and business counters)
//   anything else  a JSON answer naming the service, counted in the metrics
// Configuration: SERVICE_NAME, PORT, METRICS_PORT, DEPENDS_ON, ROLE (api|worker|frontend-build).
"use strict";
const http = require("node:http");
const net = require("node:net");
const fs = require("node:fs");

const name = process.env.SERVICE_NAME || "service";
const port = Number(process.env.PORT || 8080);
const metricsPort = Number(process.env.METRICS_PORT || 9464);
const role = process.env.ROLE || "api";
const deps = (process.env.DEPENDS_ON || "")
    .split(",")
    .filter(Boolean)
    .map((d) => {
        const [host, p] = d.split(":");
        return { host, port: Number(p) };
    });

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

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const counters = new Map();
const histogram = { counts: buckets.map(() => 0), sum: 0, count: 0 };
function inc(metric, labels, by = 1) {
    const key = `${metric}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`;
    counters.set(key, (counters.get(key) || 0) + by);
}

function tcpReachable({ host, port: p }) {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port: p, timeout: 1000 }, () => {
            socket.end();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
        socket.on("timeout", () => {
            socket.destroy();
            resolve(false);
        });
    });
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

const app = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url || "/").split("?")[0];
    let code = 200;
    let body;
    if (path === "/healthz") {
        body = { status: "ok" };
    } else if (path === "/readyz") {
        const results = await Promise.all(deps.map(tcpReachable));
        code = results.every(Boolean) ? 200 : 503;
        body = { ready: code === 200, dependencies: deps.map((d, i) => ({ ...d, reachable: results[i] })) };
    } else {
        recordBusiness(path);
        body = { service: name, role, path };
    }
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
    if (path !== "/healthz" && path !== "/readyz") {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        inc("http_requests_total", { service: name, code: String(code) });
        histogram.sum += seconds;
        histogram.count += 1;
        buckets.forEach((b, i) => {
            if (seconds <= b) histogram.counts[i] += 1;
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
