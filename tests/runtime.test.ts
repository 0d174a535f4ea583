// Runtime tests: the code the program ships into pods, executed for real on this machine.
//
// Everything executed here is taken from the objects the dev stack sends to the cluster (the
// ConfigMaps' data, the containers' command, env and volume mounts), never copied into the test,
// so a broken script breaks the test. Only what cannot exist outside a cluster is changed, and
// each change is a narrow rewrite named where it happens:
//   - mount paths (/app, /migrations, /backups, /site, /tmp, ...) point at temp directories holding
//     what the volume would hold (ConfigMap data, an empty dir);
//   - in-cluster addresses (postgres.warung-kopi.svc.cluster.local:5432, DEPENDS_ON hosts, the
//     container ports) become loopback addresses on random free ports;
//   - the frontend's nginx `resolver` names the cluster DNS Service, which nginx resolves when it
//     loads the configuration: it becomes 127.0.0.1 here.
// Nothing here talks to anything but loopback.
//
// PostgreSQL (server 15 from Debian), Redis and nginx come from Debian packages that .ci/run
// installs. With CI=true a missing binary fails the tests; elsewhere those parts skip with a message.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createLocalJWKSet, jwtVerify } from "jose";
import { DATABASE, NAMES, PAYMENT_DATABASE, PORTS } from "../components/shop/plan";
import { DATABASES, NAMESPACES } from "../components/names";
import { deployedStack } from "./harness/evaluate";
import { type K8sObject, kubernetesObjects, named, ofKind, podTemplate } from "./harness/k8s";

const IN_CI = /^(true|1)$/i.test(process.env.CI ?? "");
const SHOP_NS = "warung-kopi";

type Obj = K8sObject & { $resource: unknown };

// ---------------------------------------------------------------------------------------------
// Helpers: reading containers out of the stack

/** The container's environment as the kubelet would build it (envFrom ConfigMaps, then env). */
function resolveEnv(objs: Obj[], namespace: string, c: any): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
        if (from.configMapRef) Object.assign(env, named(objs, "ConfigMap", from.configMapRef.name, namespace).data);
        else if (from.secretRef) Object.assign(env, secretData(named(objs, "Secret", from.secretRef.name, namespace)));
        else throw new Error(`envFrom ${JSON.stringify(from)} not understood`);
    }
    for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
        let value: string | undefined;
        if (e.value !== undefined) value = String(e.value);
        else if (e.valueFrom?.configMapKeyRef) value = named(objs, "ConfigMap", ref.name, namespace).data?.[ref.key];
        else if (e.valueFrom?.secretKeyRef) value = secretData(named(objs, "Secret", ref.name, namespace))[ref.key];
        else throw new Error(`env ${e.name}: ${JSON.stringify(e.valueFrom)} not understood`);
        assert.ok(value !== undefined, `env ${e.name} of ${c.name} refers to a missing key ${JSON.stringify(ref)}`);
        env[e.name] = value;
    }
    return env;
}

function secretData(secret: Obj): Record<string, string> {
    const out: Record<string, string> = { ...(secret.stringData ?? {}) };
    for (const [k, v] of Object.entries(secret.data ?? {}))
        out[k] ??= Buffer.from(String(v), "base64").toString("utf8");
    return out;
}

/**
 * Lay out the container's volume mounts under `root`: ConfigMap and Secret volumes get their files
 * (all keys, or the volume's items), every other volume is an empty directory. Returns mountPath ->
 * local directory.
 */
function materializeMounts(objs: Obj[], namespace: string, podSpec: any, c: any, root: string): Record<string, string> {
    const mounts: Record<string, string> = {};
    for (const m of c.volumeMounts ?? []) {
        const volume = (podSpec.volumes ?? []).find((v: any) => v.name === m.name);
        assert.ok(volume, `container ${c.name} mounts unknown volume ${m.name}`);
        const dir = path.join(root, "mnt", m.mountPath);
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        const source = volume.configMap
            ? {
                  items: volume.configMap.items,
                  data: named(objs, "ConfigMap", volume.configMap.name, namespace).data ?? {},
              }
            : volume.secret
              ? {
                    items: volume.secret.items,
                    data: secretData(named(objs, "Secret", volume.secret.secretName, namespace)),
                }
              : undefined;
        if (source) {
            const items: { key: string; path: string }[] =
                source.items ?? Object.keys(source.data).map((key) => ({ key, path: key }));
            for (const item of items)
                fs.writeFileSync(path.join(dir, item.path), source.data[item.key], { mode: 0o644 });
        }
        mounts[m.mountPath] = dir;
    }
    return mounts;
}

/** Replace whole mount paths (`/migrations`, `/migrations/x`, but not `/migrations2`) with local directories. */
function rewritePaths(text: string, mounts: Record<string, string>): string {
    const byLength = Object.keys(mounts).sort((a, b) => b.length - a.length);
    if (byLength.length === 0) return text;
    const alternatives = byLength.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
    // One pass, so a local directory (itself under /tmp) is never rewritten again.
    return text.replace(new RegExp(`(?<=^|[\\s"'=:(])(${alternatives})(?=/|[\\s"';)]|$)`, "gm"), (m) => mounts[m]);
}

function containerOf(objs: Obj[], kind: string, name: string, namespace: string, containerName?: string, init = false) {
    const spec = podTemplate(named(objs, kind, name, namespace))!.spec;
    const list = init ? (spec.initContainers ?? []) : spec.containers;
    const c = containerName ? list.find((x: any) => x.name === containerName) : list[0];
    assert.ok(c, `${kind} ${namespace}/${name} has no ${init ? "init " : ""}container ${containerName ?? ""}`);
    return { spec, c };
}

/** Deployments whose first container runs the reference service (`node <mount>/service.js`). */
function referenceServiceWorkloads(objs: Obj[]): { name: string; namespace: string }[] {
    return ofKind(objs, "Deployment")
        .filter((d) => {
            const c = podTemplate(d)!.spec.containers[0];
            return c.command?.[0] === "node" && String(c.command?.[1]).endsWith("/service.js");
        })
        .map((d) => ({ name: d.metadata.name!, namespace: d.metadata.namespace! }));
}

/**
 * The container's environment with its in-cluster addresses (`host:port` in DEPENDS_ON URLs, and
 * <X>_HOST/<X>_PORT pairs) pointed at loopback ports; an address with no local server is an error.
 */
function toLoopback(env: Record<string, string>, local: Map<string, number>): Record<string, string> {
    const out = { ...env };
    const at = (address: string) => {
        const p = local.get(address);
        assert.ok(p, `no local server stands in for ${address}`);
        return p;
    };
    if (out.DEPENDS_ON)
        out.DEPENDS_ON = out.DEPENDS_ON.replace(
            /(?<=:\/\/)([a-z0-9.-]+\.svc\.cluster\.local):(\d+)/g,
            (a) => `127.0.0.1:${at(a)}`,
        );
    for (const key of Object.keys(out).filter((k) => k.endsWith("_HOST") && out[k].endsWith(".svc.cluster.local"))) {
        const portKey = key.replace(/_HOST$/, "_PORT");
        if (!(portKey in out)) continue; // e.g. DATABASE_READ_HOST: not used by the reference service
        out[portKey] = String(at(`${out[key]}:${out[portKey]}`));
        out[key] = "127.0.0.1";
    }
    return out;
}

const portNamed = (c: any, name: string): number => {
    const p = (c.ports ?? []).find((x: any) => x.name === name);
    assert.ok(p, `container ${c.name} has no port named ${name}`);
    return p.containerPort;
};

/**
 * `kubectl` for the runbook's procedures (a Node script the runtime tests put first on PATH): `exec` runs
 * the command in the named pod's stead, with that pod's environment, stdin (with -i) and stdout passed
 * through pipes as the API server streams them; `get pod -l <selector> -o name` lists pods by label.
 * Pods come from KUBECTL_SHIM_PODS (JSON: "<namespace>/<pod>" -> {labels, env}); a pod without env may
 * not be exec'd into (e.g. a read-only standby). Anything else fails, so a procedure that needs more of
 * kubectl than this fails its test.
 */
const KUBECTL_SHIM = String.raw`
const { spawn } = require("node:child_process");
const pods = JSON.parse(process.env.KUBECTL_SHIM_PODS);
const args = process.argv.slice(2);
const fail = (m) => { process.stderr.write("kubectl (test shim): " + m + "\n"); process.exit(2); };
const flags = (list, known) => {
    const out = { rest: [] };
    for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (known[a] === "value") out[a] = list[++i];
        else if (known[a] === "flag") out[a] = true;
        else if (a.startsWith("-")) fail("unsupported flag " + a + " in: kubectl " + args.join(" "));
        else out.rest.push(a);
    }
    return out;
};
if (args[0] === "get") {
    const f = flags(args.slice(1), { "-n": "value", "-l": "value", "-o": "value" });
    if (f.rest.join(" ") !== "pod" || f["-o"] !== "name") fail("unsupported: kubectl " + args.join(" "));
    const want = Object.fromEntries((f["-l"] || "").split(",").filter(Boolean).map((kv) => kv.split("=")));
    for (const [id, pod] of Object.entries(pods)) {
        const [ns, name] = id.split("/");
        if (ns === f["-n"] && Object.entries(want).every(([k, v]) => pod.labels[k] === v))
            process.stdout.write("pod/" + name + "\n");
    }
} else if (args[0] === "exec") {
    const dash = args.indexOf("--");
    if (dash < 0) fail("exec needs -- before the command");
    const f = flags(args.slice(1, dash), { "-n": "value", "-c": "value", "-i": "flag" });
    const id = f["-n"] + "/" + String(f.rest[0] || "").replace(/^pod\//, "");
    const pod = pods[id];
    if (!pod || f.rest.length !== 1) fail("no pod " + id);
    if (!pod.env) fail("pod " + id + " is not one to exec into here");
    if (f["-c"] !== "postgres") fail("container " + f["-c"] + " of " + id);
    const cmd = args.slice(dash + 1);
    const child = spawn(cmd[0], cmd.slice(1), { env: pod.env, stdio: [f["-i"] ? "pipe" : "ignore", "pipe", "inherit"] });
    if (f["-i"]) process.stdin.pipe(child.stdin);
    child.stdout.pipe(process.stdout);
    child.on("error", (e) => fail(String(e)));
    child.on("close", (code) => { process.exitCode = code === null ? 1 : code; });
} else fail("unsupported: kubectl " + args.join(" "));
`;

// ---------------------------------------------------------------------------------------------
// Helpers: processes and HTTP on loopback

/** Ports handed out in this run: the OS may offer a just-closed port again before its user binds it. */
const handedOut = new Set<number>();

async function freePort(): Promise<number> {
    for (;;) {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as net.AddressInfo;
        await new Promise((resolve) => server.close(resolve));
        if (!handedOut.has(port)) {
            handedOut.add(port);
            return port;
        }
    }
}

async function listenOn(port: number): Promise<net.Server> {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
    });
    return server;
}

interface Answer {
    status: number;
    body: string;
    headers: http.IncomingHttpHeaders;
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = http.get(
            { host: "127.0.0.1", port, path: urlPath, headers, agent: false, timeout: 4000 },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (chunk) => (body += chunk));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET 127.0.0.1:${port}${urlPath} timed out`)));
        req.on("error", reject);
    });
}

/**
 * A DNS server on a loopback port that answers A queries for the given names (and NXDOMAIN for
 * others): nginx resolves the frontend's upstream per request, through its `resolver`.
 */
async function dnsServer(names: Record<string, string>): Promise<{ port: number; close: () => void }> {
    const socket = dgram.createSocket("udp4");
    socket.on("message", (query, peer) => {
        // Header (12 bytes), then the question: labels, type, class.
        let at = 12;
        const labels: string[] = [];
        while (query[at] !== 0) {
            labels.push(query.toString("ascii", at + 1, at + 1 + query[at]));
            at += query[at] + 1;
        }
        const questionEnd = at + 5;
        const type = query.readUInt16BE(at + 1);
        const address = names[labels.join(".").toLowerCase()];
        const found = address !== undefined && type === 1;
        const header = Buffer.from(query.subarray(0, 12));
        header.writeUInt16BE(0x8180 | (address === undefined ? 3 : 0), 2); // response, recursion available, NXDOMAIN
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(found ? 1 : 0, 6);
        header.writeUInt16BE(0, 8);
        header.writeUInt16BE(0, 10);
        const answer = found
            ? Buffer.concat([
                  Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]),
                  Buffer.from(address.split(".").map(Number)),
              ])
            : Buffer.alloc(0);
        socket.send(Buffer.concat([header, query.subarray(12, questionEnd), answer]), peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return { port: socket.address().port, close: () => socket.close() };
}

/** An HTTP request with an optional form body (application/x-www-form-urlencoded). */
function request(
    port: number,
    method: string,
    urlPath: string,
    form?: Record<string, string>,
    headers: Record<string, string> = {},
): Promise<Answer> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                host: "127.0.0.1",
                port,
                method,
                path: urlPath,
                agent: false,
                timeout: 4000,
                headers: {
                    ...headers,
                    ...(body
                        ? {
                              "content-type": "application/x-www-form-urlencoded",
                              "content-length": Buffer.byteLength(body),
                          }
                        : {}),
                },
            },
            (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (chunk) => (text += chunk));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
        req.on("error", reject);
        req.end(body);
    });
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 8000): Promise<void> {
    const deadline = Date.now() + ms;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            if (await check()) return;
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${what} did not happen within ${ms} ms${last ? `: ${JSON.stringify(last)}` : ""}`);
}

function exited(child: ChildProcess, ms: number): Promise<number | string> {
    return new Promise((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode!);
        const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still running after ${ms} ms`)), ms);
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            resolve(code ?? signal!);
        });
    });
}

/** Children this file started; each is stopped by its own pid when its block ends. */
const children: ChildProcess[] = [];
async function stopChildren() {
    await Promise.all(
        children
            .splice(0)
            .filter((c) => c.exitCode === null && c.signalCode === null)
            .map(async (child) => {
                // SIGTERM first: an nginx master stops its workers on SIGTERM, not on SIGKILL.
                child.kill("SIGTERM");
                await exited(child, 3000).catch(() => child.kill("SIGKILL"));
            }),
    );
}

function startNode(script: string, env: Record<string, string>, log: string[]): ChildProcess {
    const child = spawn(process.execPath, [script], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d) => log.push(String(d)));
    child.stderr.on("data", (d) => log.push(String(d)));
    children.push(child);
    return child;
}

/** Missing tooling: a failure in CI (where .ci/run installs it), a skip elsewhere. */
function requireTool(ctx: Mocha.Context, ok: boolean, message: string) {
    if (ok) return;
    if (IN_CI)
        throw new Error(
            `${message} (CI=true: .ci/run installs Debian's postgresql, redis-server and nginx packages; see its output)`,
        );
    console.log(`      skipped: ${message}`);
    ctx.skip();
}

// ---------------------------------------------------------------------------------------------
// Prometheus exposition format and PromQL

interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

/** Parse the Prometheus text format (0.0.4), failing on anything a scraper would reject. */
function parseExposition(text: string): Sample[] {
    const samples: Sample[] = [];
    const typed = new Map<string, string>();
    const seenFamilies: string[] = [];
    for (const line of text.split("\n")) {
        if (line === "") continue;
        const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
        if (type) {
            assert.ok(!typed.has(type[1]), `second TYPE line for ${type[1]}`);
            typed.set(type[1], type[2]);
            continue;
        }
        if (line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
        const labels: Record<string, string> = {};
        const labelText = m[2] ?? "";
        const labelRe = /([a-zA-Z_]\w*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
        while (labelRe.lastIndex < labelText.length) {
            const l = labelRe.exec(labelText);
            assert.ok(l, `bad label set in ${JSON.stringify(line)}`);
            labels[l[1]] = l[2];
        }
        const value = Number(m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : m[3]);
        assert.ok(!Number.isNaN(value) || m[3] === "NaN", `bad value in ${JSON.stringify(line)}`);
        const family = m[1].replace(/_(bucket|sum|count)$/, "");
        const familyKey = typed.get(family) === "histogram" ? family : m[1];
        // All lines of one metric form one group.
        if (seenFamilies[seenFamilies.length - 1] !== familyKey) {
            assert.ok(!seenFamilies.includes(familyKey), `samples of ${familyKey} are not grouped together`);
            seenFamilies.push(familyKey);
        }
        samples.push({ name: m[1], labels, value });
    }
    return samples;
}

const PROMQL_KEYWORDS = new Set([
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
]);

/** Metric names a PromQL expression (or Grafana `label_values(...)` query) reads. */
function metricNames(expr: string): string[] {
    // Grafana variables: label_values(<selector>, <label>) reads the selector; label_values(<label>) no metric.
    const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(expr);
    if (labelValues) return metricNames(labelValues[1]);
    if (/^\s*label_values\(\s*[a-zA-Z_]\w*\s*\)\s*$/.test(expr)) return [];
    const s = expr
        .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
        .replace(/\{[^}]*\}/g, " ")
        .replace(/\[[^\]]*\]/g, " ")
        .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
    const names = [...s.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1]);
    return [...new Set(names.filter((n) => !PROMQL_KEYWORDS.has(n) && !/^(inf|nan)$/i.test(n)))];
}

/** Label matchers of every selector of `metric` in the expression. */
function selectorsOf(expr: string, metric: string): Record<string, { op: string; value: string }>[] {
    const out: Record<string, { op: string; value: string }>[] = [];
    for (const m of expr.matchAll(new RegExp(`(?<![\\w:])${metric}(?![\\w:])\\s*(\\{[^}]*\\})?`, "g"))) {
        const matchers: Record<string, { op: string; value: string }> = {};
        for (const l of (m[1] ?? "").matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g))
            matchers[l[1]] = { op: l[2], value: l[3] };
        out.push(matchers);
    }
    return out;
}

/**
 * Metrics the platform's queries read that apps/service.js does not emit, because something else
 * does. Any other metric name in a query must be emitted by the reference service.
 */
const NON_APPLICATION_METRICS: Record<string, string> = {
    up: "Prometheus (scrape health)",
    ALERTS: "Prometheus (alert state)",
    kube_resourcequota: "kube-state-metrics",
    kube_pod_container_resource_limits: "kube-state-metrics",
    kube_pod_container_status_restarts_total: "kube-state-metrics",
    kube_horizontalpodautoscaler_status_current_replicas: "kube-state-metrics",
    kube_horizontalpodautoscaler_spec_max_replicas: "kube-state-metrics",
    kube_deployment_status_replicas_available: "kube-state-metrics",
    container_cpu_usage_seconds_total: "cAdvisor (kubelet)",
    container_memory_working_set_bytes: "cAdvisor (kubelet)",
    bdb_crdt_syncer_local_ingress_lag_time: "Redis Enterprise exporter (v1)",
    bdb_crdt_syncer_status: "Redis Enterprise exporter (v1)",
    database_syncer_lag_ms: "Redis Enterprise exporter (v2)",
    pg_up: "postgres_exporter (sidecar of the shop's PostgreSQL)",
    redis_up: "redis_exporter (sidecar of the shop's Redis)",
    nginx_up: "nginx-prometheus-exporter (sidecar of the shop's frontend)",
    cnpg_pg_replication_lag: "CloudNativePG instance manager (default monitoring queries)",
    cnpg_pg_replication_in_recovery: "CloudNativePG instance manager (default monitoring queries)",
    cnpg_pg_replication_streaming_replicas: "CloudNativePG instance manager (default monitoring queries)",
    cnpg_pg_stat_archiver_seconds_since_last_archival: "CloudNativePG instance manager (default monitoring queries)",
    cnpg_pg_stat_archiver_failed_count: "CloudNativePG instance manager (default monitoring queries)",
    barman_cloud_cloudnative_pg_io_last_available_backup_timestamp:
        "Barman Cloud plugin (through the instance manager)",
};

interface Query {
    where: string;
    expr: string;
}

/** Every PromQL query a stack ships: alert rules, KEDA prometheus triggers, dashboard panels and variables. */
function queriesOf(stack: string, objs: Obj[]): Query[] {
    const queries: Query[] = [];
    for (const rule of ofKind(objs, "PrometheusRule")) {
        for (const g of rule.spec.groups)
            for (const r of g.rules)
                queries.push({
                    where: `${stack} PrometheusRule ${rule.metadata.namespace}/${rule.metadata.name} ${r.alert ?? r.record}`,
                    expr: r.expr,
                });
    }
    for (const so of ofKind(objs, "ScaledObject")) {
        for (const t of so.spec.triggers)
            if (t.type === "prometheus")
                queries.push({
                    where: `${stack} ScaledObject ${so.metadata.namespace}/${so.metadata.name}`,
                    expr: t.metadata.query,
                });
    }
    for (const cm of ofKind(objs, "ConfigMap")) {
        for (const [file, text] of Object.entries<string>(cm.data ?? {})) {
            if (!file.endsWith(".json") || !/"panels"/.test(text)) continue;
            const dashboard = JSON.parse(text);
            const walk = (x: any) => {
                if (Array.isArray(x)) return x.forEach(walk);
                if (!x || typeof x !== "object") return;
                if (typeof x.expr === "string")
                    queries.push({
                        where: `${stack} dashboard ${file} "${x.legendFormat ?? x.refId ?? ""}"`,
                        expr: x.expr,
                    });
                Object.values(x).forEach(walk);
            };
            walk(dashboard.panels);
            for (const v of dashboard.templating?.list ?? []) {
                if (v.type !== "query") continue;
                const q = typeof v.query === "string" ? v.query : v.query?.query;
                if (q) queries.push({ where: `${stack} dashboard ${file} variable ${v.name}`, expr: q });
            }
        }
    }
    return queries;
}

// ---------------------------------------------------------------------------------------------

describe("runtime: the code the program ships into pods, executed", function () {
    this.timeout(60_000);
    let dev: Obj[];
    let us: Obj[];
    let root: string;

    before(async () => {
        const [d, u] = await Promise.all([deployedStack("dev"), deployedStack("us")]);
        dev = kubernetesObjects(d.resources);
        us = kubernetesObjects(u.resources);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "runtime-test-"));
        fs.chmodSync(root, 0o755);
    });
    after(async () => {
        await stopChildren();
        if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    describe("apps/service.js (the reference service, from ConfigMap app-runtime)", () => {
        let env: Record<string, string>;
        let script: string;
        let probes: { live: string; ready: string; startup: string };
        let appPort: number;
        let metricsPort: number;
        let child: ChildProcess;
        const log: string[] = [];
        let apiPrefix: string;
        let scrape: Answer;
        let samples: Sample[];
        const traffic: string[] = [];

        before(async () => {
            const { spec, c } = containerOf(dev, "Deployment", NAMES.backend, SHOP_NS);
            assert.equal(c.command[0], "node");
            const mounts = materializeMounts(dev, SHOP_NS, spec, c, path.join(root, "backend"));
            script = rewritePaths(c.command[1], mounts);
            assert.ok(fs.existsSync(script), `${c.command[1]} is not in a mounted volume`);
            env = resolveEnv(dev, SHOP_NS, c);
            // The ports the probes and the ServiceMonitor use are the ones the service listens on.
            assert.equal(Number(env.PORT), portNamed(c, "http"));
            assert.equal(Number(env.METRICS_PORT), portNamed(c, "http-metrics"));
            probes = {
                live: c.livenessProbe.httpGet.path,
                ready: c.readinessProbe.httpGet.path,
                startup: c.startupProbe.httpGet.path,
            };
            [appPort, metricsPort] = await Promise.all([freePort(), freePort()]);
            // The requests clients send reach the backend through the Ingress path (the frontend's
            // /api proxy and the Ingress keep the prefix).
            const ingress = named(dev, "Ingress", NAMES.ingress, SHOP_NS);
            apiPrefix = ingress.spec.rules[0].http.paths.find(
                (p: any) => p.backend.service.name === NAMES.backend,
            ).path;
            child = startNode(
                script,
                {
                    ...env,
                    PORT: String(appPort),
                    METRICS_PORT: String(metricsPort),
                    // Readiness against real servers: the block "readiness ..." below.
                    DEPENDS_ON: "",
                },
                log,
            );
            await waitFor("backend answers /healthz", async () => (await get(appPort, probes.live)).status === 200);
        });
        after(() => stopChildren());

        it("answers the liveness and startup probes with 200", async () => {
            for (const p of [probes.live, probes.startup]) {
                const answer = await get(appPort, p);
                assert.equal(answer.status, 200, `${p}: ${answer.body}`);
            }
        });

        it("exports request, latency and business metrics on METRICS_PORT after traffic", async () => {
            for (const p of ["/orders", "/orders", "/pay", "/products", "/"]) {
                const answer = await get(appPort, `${apiPrefix}${p}`);
                assert.equal(answer.status, 200);
                traffic.push(p);
            }
            scrape = await get(metricsPort, "/metrics");
            assert.equal(scrape.status, 200);
            assert.match(String(scrape.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
            samples = parseExposition(scrape.body);
            const value = (name: string, labels: Record<string, string> = {}) =>
                samples
                    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
                    .reduce((sum, s) => sum + s.value, 0);
            const svc = { service: env.SERVICE_NAME };
            // Probe requests are not counted; the five API requests are.
            assert.equal(value("http_requests_total", { ...svc, code: "200" }), traffic.length);
            assert.equal(value("http_request_duration_seconds_count", svc), traffic.length);
            assert.equal(value("http_request_duration_seconds_bucket", { ...svc, le: "+Inf" }), traffic.length);
            assert.ok(value("http_request_duration_seconds_sum", svc) > 0);
            const buckets = samples
                .filter((s) => s.name === "http_request_duration_seconds_bucket")
                .map((s) => s.value);
            assert.deepEqual(
                buckets,
                [...buckets].sort((a, b) => a - b),
                "histogram buckets are cumulative",
            );
            // Business counters, counted for requests under the public API prefix.
            assert.equal(
                value("shop_orders_total", svc),
                2,
                `shop_orders_total after 2 x ${apiPrefix}/orders:\n${scrape.body}`,
            );
            assert.ok(value("shop_revenue_idr_total", svc) > 0);
            assert.equal(value("payment_transactions_total", { ...svc, status: "success" }), 1);
            assert.equal(value("cache_requests_total", { ...svc, result: "hit" }), 1);
        });

        it("emits every application metric the dashboards, alerts and KEDA triggers query (dev and us)", () => {
            assert.ok(samples, "the metrics test ran first");
            const emitted = new Set(samples.map((s) => s.name));
            const queries = [...queriesOf("dev", dev), ...queriesOf("us", us)];
            assert.ok(
                queries.some((q) => q.where.includes("ScaledObject")) &&
                    queries.some((q) => q.where.includes("dashboard")) &&
                    queries.some((q) => q.where.includes("PrometheusRule")),
            );
            const missing: string[] = [];
            const application = new Set<string>();
            for (const q of queries) {
                for (const metric of metricNames(q.expr)) {
                    if (metric in NON_APPLICATION_METRICS) continue;
                    application.add(metric);
                    if (!emitted.has(metric)) missing.push(`${metric} (${q.where}: ${q.expr})`);
                }
            }
            assert.deepEqual(missing, [], "queried but never emitted by apps/service.js");
            assert.ok(
                application.has("http_requests_total") && application.has("http_request_duration_seconds_bucket"),
                [...application].join(),
            );
        });

        it("application-metric queries select services that run the reference service", () => {
            // Prometheus records the Kubernetes Service name as `service`; the reference service
            // runs wherever a container's command is `node <mount>/service.js`.
            const emitters = new Set<string>();
            for (const [stack, objs] of [
                ["dev", dev],
                ["us", us],
            ] as const) {
                for (const w of [
                    ...ofKind(objs, "Deployment"),
                    ...ofKind(objs, "StatefulSet"),
                    ...ofKind(objs, "DaemonSet"),
                ]) {
                    for (const c of podTemplate(w)!.spec.containers) {
                        if (c.command?.[0] !== "node" || !String(c.command?.[1]).endsWith("/service.js")) continue;
                        const name = (c.env ?? []).find((e: any) => e.name === "SERVICE_NAME")?.value;
                        named(objs, "Service", name, w.metadata.namespace);
                        emitters.add(`${stack}:${w.metadata.namespace}/${name}`);
                    }
                }
            }
            const wrong: string[] = [];
            for (const [stack, objs] of [
                ["dev", dev],
                ["us", us],
            ] as const) {
                for (const q of queriesOf(stack, objs)) {
                    for (const metric of metricNames(q.expr).filter((m) => !(m in NON_APPLICATION_METRICS))) {
                        for (const sel of selectorsOf(q.expr, metric)) {
                            const svc = sel.service?.op === "=" ? sel.service.value : undefined;
                            const ns = sel.namespace?.op === "=" ? sel.namespace.value : undefined;
                            if (!svc) continue;
                            const ok = [...emitters].some(
                                (e) =>
                                    e.startsWith(`${stack}:`) &&
                                    e.endsWith(`/${svc}`) &&
                                    (!ns || e === `${stack}:${ns}/${svc}`),
                            );
                            if (!ok) wrong.push(`${q.where}: ${metric}{namespace="${ns}",service="${svc}"}`);
                        }
                    }
                }
            }
            assert.deepEqual(
                [...new Set(wrong)],
                [],
                "queries of application metrics for services that do not emit them",
            );
        });

        it("container alerts name containers that exist (namespaces whose workloads the program defines)", () => {
            const wrong: string[] = [];
            for (const [stack, objs] of [
                ["dev", dev],
                ["us", us],
            ] as const) {
                const containers = new Map<string, Set<string>>();
                for (const w of [
                    ...ofKind(objs, "Deployment"),
                    ...ofKind(objs, "StatefulSet"),
                    ...ofKind(objs, "DaemonSet"),
                ]) {
                    const set = containers.get(w.metadata.namespace!) ?? new Set<string>();
                    for (const c of podTemplate(w)!.spec.containers) set.add(c.name);
                    containers.set(w.metadata.namespace!, set);
                }
                for (const q of queriesOf(stack, objs).filter((x) => x.where.includes("PrometheusRule"))) {
                    for (const metric of metricNames(q.expr)) {
                        for (const sel of selectorsOf(q.expr, metric)) {
                            if (sel.container?.op !== "=" || sel.namespace?.op !== "=") continue;
                            const known = containers.get(sel.namespace.value);
                            // Namespaces filled by Helm charts (monitoring, keda, redis-enterprise): not checked here.
                            if (known && !known.has(sel.container.value))
                                wrong.push(
                                    `${q.where}: container="${sel.container.value}" (have ${[...known].join(", ")})`,
                                );
                        }
                    }
                }
            }
            assert.deepEqual([...new Set(wrong)], []);
        });

        it("the metric-name parser finds selectors, skips functions, labels and keywords", () => {
            assert.deepEqual(
                metricNames('sum by (le) (rate(a_bucket{x="y{z}"}[5m])) / ignoring(t) b > 0.5 or vector(0)'),
                ["a_bucket", "b"],
            );
            assert.deepEqual(metricNames("label_values(shop_orders_total, namespace)"), ["shop_orders_total"]);
            assert.deepEqual(metricNames('absent(up{job="x"} == 1) and on(pod) c offset 5m'), ["up", "c"]);
        });

        it("ROLE=worker serves probes and metrics", async () => {
            const { spec, c } = containerOf(dev, "Deployment", NAMES.worker, SHOP_NS);
            const mounts = materializeMounts(dev, SHOP_NS, spec, c, path.join(root, "worker"));
            const workerEnv = resolveEnv(dev, SHOP_NS, c);
            assert.equal(workerEnv.ROLE, "worker");
            const [port, mport] = await Promise.all([freePort(), freePort()]);
            startNode(
                rewritePaths(c.command[1], mounts),
                {
                    ...workerEnv,
                    PORT: String(port),
                    METRICS_PORT: String(mport),
                    DEPENDS_ON: "",
                },
                log,
            );
            await waitFor(
                "worker answers /healthz",
                async () => (await get(port, c.livenessProbe.httpGet.path)).status === 200,
            );
            assert.equal((await get(port, c.readinessProbe.httpGet.path)).status, 200);
            const metrics = await get(mport, "/metrics");
            assert.equal(metrics.status, 200);
            parseExposition(metrics.body);
        });

        it("stops with exit code 0 on SIGTERM (pod termination)", async () => {
            child.kill("SIGTERM");
            assert.equal(await exited(child, 5000), 0, log.join(""));
        });

        it("ROLE=frontend-build (the frontend's init container) writes the site into OUTPUT_DIR and exits 0", async () => {
            const { spec, c } = containerOf(dev, "Deployment", NAMES.frontend, SHOP_NS, undefined, true);
            const buildEnv = resolveEnv(dev, SHOP_NS, c);
            assert.equal(buildEnv.ROLE, "frontend-build");
            const mounts = materializeMounts(dev, SHOP_NS, spec, c, path.join(root, "render-site"));
            const outDir = mounts[buildEnv.OUTPUT_DIR];
            assert.ok(outDir, `OUTPUT_DIR ${buildEnv.OUTPUT_DIR} is a volume mount of ${c.name}`);
            const buildLog: string[] = [];
            const build = startNode(rewritePaths(c.command[1], mounts), { ...buildEnv, OUTPUT_DIR: outDir }, buildLog);
            assert.equal(await exited(build, 10_000), 0, buildLog.join(""));
            const html = fs.readFileSync(path.join(outDir, "index.html"), "utf8");
            assert.match(html, /^<!doctype html>/);
            assert.ok(html.includes(`window.API_BASE=${JSON.stringify(buildEnv.API_BASE)}`), html);
            // The volume it wrote to is the one nginx serves.
            const site = c.volumeMounts.find((m: any) => m.mountPath === buildEnv.OUTPUT_DIR).name;
            assert.ok(
                spec.containers[0].volumeMounts.some(
                    (m: any) => m.name === site && m.mountPath === "/usr/share/nginx/html",
                ),
            );
        });
    });

    describe("frontend nginx configuration (ConfigMap frontend-nginx) with nginx", () => {
        let nginx: string | undefined;
        let dir: string;
        let conf: string;
        let port: number;
        let statusPort: number;
        /** What the backend received: the frontend's /api proxy forwards to a recording server here. */
        const received: http.IncomingHttpHeaders[] = [];
        let backendHost: string;
        let closeStandIns: () => Promise<void>;

        before(async function () {
            nginx = ["/usr/sbin/nginx", ...(process.env.PATH ?? "").split(":").map((d) => path.join(d, "nginx"))].find(
                (p) => fs.existsSync(p),
            );
            requireTool(this, !!nginx, "nginx is not installed (apt-get install nginx)");
            const { spec, c } = containerOf(dev, "Deployment", NAMES.frontend, SHOP_NS);
            dir = path.join(root, "nginx");
            const mounts = materializeMounts(dev, SHOP_NS, spec, c, dir);
            // The site the init container renders, by the same code path as above.
            const init = spec.initContainers[0];
            const initEnv = resolveEnv(dev, SHOP_NS, init);
            const initMounts = materializeMounts(dev, SHOP_NS, spec, init, path.join(root, "nginx-init"));
            const build = startNode(
                rewritePaths(init.command[1], initMounts),
                { ...initEnv, OUTPUT_DIR: mounts["/usr/share/nginx/html"] },
                [],
            );
            assert.equal(await exited(build, 10_000), 0);
            for (const d of Object.values(mounts)) fs.chmodSync(d, 0o755);
            port = await freePort();
            statusPort = await freePort();
            // The frontend image's main nginx.conf (nginx-unprivileged): pid and temp files in /tmp,
            // the server from /etc/nginx/conf.d.
            const local = (p: string) => rewritePaths(p, mounts);
            const confD = mounts["/etc/nginx/conf.d"];
            const serverFiles = fs.readdirSync(confD).filter((f) => f.endsWith(".conf"));
            assert.deepEqual(serverFiles, ["default.conf"]);
            const original = fs.readFileSync(path.join(confD, "default.conf"), "utf8");
            assert.match(original, /^\s*resolver kube-dns\.kube-system\.svc\.cluster\.local /m);
            assert.match(original, new RegExp(`^\\s*listen ${PORTS.frontendContainer};`, "m"));
            assert.match(original, new RegExp(`^\\s*listen 127\\.0\\.0\\.1:${PORTS.nginxStatus};`, "m"));
            // The backend's in-cluster name resolves (through a DNS server here) to a recording server on a
            // loopback port: only the port in the upstream address changes, so nginx sends the Host it would.
            const upstream = /^\s*set \$backend http:\/\/([a-z0-9.-]+):(\d+);/m.exec(original);
            assert.ok(upstream, "the /api upstream is set in a variable (resolved per request)");
            backendHost = upstream[1];
            const recorder = http.createServer((req, res) => {
                received.push(req.headers);
                res.writeHead(200, { "content-type": "application/json" });
                res.end(JSON.stringify({ path: req.url }));
            });
            const backendPort = await freePort();
            await new Promise<void>((resolve) => recorder.listen(backendPort, "127.0.0.1", resolve));
            const dns = await dnsServer({ [backendHost]: "127.0.0.1" });
            closeStandIns = async () => {
                dns.close();
                await new Promise((r) => recorder.close(r));
            };
            const server = local(original)
                .replace(/^(\s*resolver )kube-dns\.kube-system\.svc\.cluster\.local /m, `$1127.0.0.1:${dns.port} `)
                .replace(upstream[0], upstream[0].replace(`:${upstream[2]};`, `:${backendPort};`))
                .replace(new RegExp(`^(\\s*listen )${PORTS.frontendContainer};`, "m"), `$1127.0.0.1:${port};`)
                .replace(
                    new RegExp(`^(\\s*listen )127\\.0\\.0\\.1:${PORTS.nginxStatus};`, "m"),
                    `$1127.0.0.1:${statusPort};`,
                );
            fs.writeFileSync(path.join(confD, "default.conf"), server);
            conf = path.join(dir, "nginx.conf");
            fs.writeFileSync(
                conf,
                [
                    "worker_processes 1;",
                    `pid ${local("/tmp")}/nginx.pid;`,
                    `error_log ${local("/tmp")}/error.log warn;`,
                    "events { worker_connections 64; }",
                    "http {",
                    "    default_type application/octet-stream;",
                    "    types { text/html html; text/plain txt; }",
                    `    access_log off;`,
                    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
                        (t) => `    ${t}_temp_path ${local("/tmp")}/${t}_temp;`,
                    ),
                    `    include ${confD}/*.conf;`,
                    "}",
                    "",
                ].join("\n"),
            );
        });
        after(async () => {
            await stopChildren();
            await closeStandIns?.();
        });

        it("nginx -t accepts the configuration", () => {
            const r = spawnSync(nginx!, ["-t", "-p", dir, "-c", conf, "-e", path.join(dir, "test-error.log")], {
                encoding: "utf8",
                timeout: 15_000,
            });
            assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
            assert.match(r.stderr, /test is successful/);
        });

        it("serves the rendered site, client-side routes and /healthz", async () => {
            const child = spawn(
                nginx!,
                ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log"), "-g", "daemon off;"],
                { stdio: "ignore" },
            );
            children.push(child);
            await waitFor("nginx answers /healthz", async () => (await get(port, "/healthz")).status === 200);
            const health = await get(port, "/healthz");
            assert.equal(health.body, "ok\n");
            const index = await get(port, "/");
            assert.equal(index.status, 200, `${index.body}\n${fs.readFileSync(path.join(dir, "error.log"), "utf8")}`);
            assert.match(index.body, /<title>Warung Kopi<\/title>/);
            const deepLink = await get(port, "/kopi/gayo");
            assert.equal(deepLink.status, 200);
            assert.equal(deepLink.body, index.body);
        });

        it("redirects what the Istio gateway received over plain HTTP (X-Forwarded-Proto: http) to HTTPS; serves direct access and HTTPS", async () => {
            // The dev stack issues a certificate for the shop host (self-signed ClusterIssuer), so it redirects.
            const ingress = named(dev, "Ingress", NAMES.ingress, SHOP_NS);
            const host = ingress.spec.rules[0].host;
            assert.ok(ingress.spec.tls?.length, "the dev stack has TLS for the shop host");
            await waitFor("nginx answers /healthz", async () => (await get(port, "/healthz")).status === 200);
            const viaGatewayHttp = await get(port, "/kopi/gayo?cup=2", { Host: host, "X-Forwarded-Proto": "http" });
            assert.ok([301, 308].includes(viaGatewayHttp.status), `status ${viaGatewayHttp.status}`);
            assert.equal(viaGatewayHttp.headers.location, `https://${host}/kopi/gayo?cup=2`);
            const viaGatewayHttps = await get(port, "/kopi/gayo", { Host: host, "X-Forwarded-Proto": "https" });
            assert.equal(viaGatewayHttps.status, 200);
            const direct = await get(port, "/kopi/gayo", { Host: `localhost:${port}` });
            assert.equal(direct.status, 200, "frontend-nodeport / port-forward: no header, no redirect");
            assert.match(direct.body, /<title>Warung Kopi<\/title>/);
        });

        it("proxies /api with the backend's own name as Host (the sidecar routes by it) and the client's in X-Forwarded-Host", async () => {
            await waitFor("nginx answers /healthz", async () => (await get(port, "/healthz")).status === 200);
            for (const clientHost of [`localhost:8080`, "kopi.localtest.me", "10.20.30.40"]) {
                received.length = 0;
                const answer = await get(port, "/api/menu?page=2", { Host: clientHost });
                assert.equal(answer.status, 200, answer.body);
                assert.equal(JSON.parse(answer.body).path, "/api/menu?page=2", "the path arrives as sent");
                assert.equal(received.length, 1);
                assert.match(String(received[0].host), new RegExp(`^${backendHost.replace(/\./g, "\\.")}:\\d+$`));
                assert.equal(received[0]["x-forwarded-host"], clientHost.replace(/:\d+$/, ""));
            }
        });

        it("serves stub_status for the exporter sidecar on the loopback status port only", async () => {
            await waitFor("nginx answers /healthz", async () => (await get(port, "/healthz")).status === 200);
            const status = await get(statusPort, "/stub_status");
            assert.equal(status.status, 200);
            assert.match(status.body, /^Active connections: \d+/);
            assert.doesNotMatch(
                (await get(port, "/stub_status")).body,
                /Active connections/,
                "not on the serving port",
            );
        });
    });

    describe("PostgreSQL: roles, the migration Job db-migrate-* and CronJob postgres-backup, on both engines", () => {
        const PG_TOOLS = ["initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_restore", "pg_isready"];
        let bin: string;
        let asRoot: boolean;
        let pgUid: { uid: number; gid: number } | undefined;

        /** A local PostgreSQL 15 server; the harness reaches it as superuser over its Unix socket. */
        interface Server {
            name: string;
            dir: string;
            port: number;
            /** The bootstrap superuser (initdb -U), reached over the Unix socket. */
            superuser: string;
            /** libpq env of a TCP client of this server (as a pod reaches it). */
            tcp: (login: Record<string, string>) => Record<string, string>;
        }
        const servers: Server[] = [];

        /** Run a server-side command (initdb, pg_ctl): PostgreSQL refuses root, so as user postgres when root. */
        const asServer = (dir: string, tool: string, args: string[]): SpawnSyncReturns<string> => {
            const [cmd, argv] = asRoot
                ? ["/usr/sbin/runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]]
                : [path.join(bin, tool), args];
            return spawnSync(cmd, argv, {
                cwd: dir,
                encoding: "utf8",
                timeout: 30_000,
                env: { PATH: "/usr/bin:/bin", LANG: "C" },
            });
        };
        const own = (file: string) => {
            if (pgUid) fs.chownSync(file, pgUid.uid, pgUid.gid);
        };
        const psqlAs = (env: Record<string, string>, sql: string) => {
            const r = spawnSync(path.join(bin, "psql"), ["-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], {
                encoding: "utf8",
                timeout: 15_000,
                env: { PATH: `${bin}:/usr/bin:/bin`, PGCONNECT_TIMEOUT: "5", ...env },
            });
            return { ok: r.status === 0, out: r.stdout.trim(), err: r.stderr };
        };
        const must = (r: { ok: boolean; out: string; err: string }, what: string) => {
            assert.ok(r.ok, `${what}: ${r.err}`);
            return r.out;
        };
        /** Superuser over the socket (the harness plays the operator / the image's entrypoint). */
        const admin = (srv: Server, sql: string, database = "postgres") =>
            must(
                psqlAs({ PGHOST: srv.dir, PGPORT: String(srv.port), PGUSER: srv.superuser, PGDATABASE: database }, sql),
                sql,
            );

        async function startServer(
            name: string,
            o: { superuserPassword: string; ssl: boolean; hba: string[]; superuser?: string },
        ): Promise<Server> {
            const superuser = o.superuser ?? "postgres";
            const dir = path.join(root, `pg-${name}`);
            fs.mkdirSync(dir, { mode: 0o755 });
            own(dir);
            const pwfile = path.join(dir, "pwfile");
            fs.writeFileSync(pwfile, o.superuserPassword + "\n", { mode: 0o600 });
            own(pwfile);
            const data = path.join(dir, "data");
            const init = asServer(dir, "initdb", [
                "-D",
                data,
                "-U",
                superuser,
                `--pwfile=${pwfile}`,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]);
            assert.equal(init.status, 0, `initdb: ${init.stdout}${init.stderr}`);
            // Local socket for the harness; then the engine's client rules; then the engines' fallback.
            fs.writeFileSync(
                path.join(data, "pg_hba.conf"),
                ["local all all trust", ...o.hba, "host all all all scram-sha-256", ""].join("\n"),
            );
            own(path.join(data, "pg_hba.conf"));
            const opts = [`-c listen_addresses=127.0.0.1`, `-k ${dir}`, "-c fsync=off", "-c full_page_writes=off"];
            if (o.ssl) {
                // What CloudNativePG does with its operator-issued certificate: TLS on the server.
                const key = path.join(dir, "server.key");
                const crt = path.join(dir, "server.crt");
                const req = spawnSync(
                    "openssl",
                    [
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-days",
                        "1",
                        "-subj",
                        "/CN=postgres-rw",
                        "-keyout",
                        key,
                        "-out",
                        crt,
                    ],
                    { encoding: "utf8", timeout: 30_000 },
                );
                assert.equal(req.status, 0, req.stderr);
                fs.chmodSync(key, 0o600);
                own(key);
                own(crt);
                opts.push("-c ssl=on", `-c ssl_cert_file=${crt}`, `-c ssl_key_file=${key}`);
            }
            const port = await freePort();
            const start = asServer(dir, "pg_ctl", [
                "-D",
                data,
                "-l",
                path.join(dir, "server.log"),
                "-w",
                "-t",
                "20",
                "-o",
                `-p ${port} ${opts.join(" ")}`,
                "start",
            ]);
            assert.equal(
                start.status,
                0,
                `pg_ctl start: ${start.stdout}${start.stderr}\n${fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8") : ""}`,
            );
            const srv: Server = {
                name,
                dir,
                port,
                superuser,
                tcp: (login) => ({
                    PGHOST: "127.0.0.1",
                    PGPORT: String(port),
                    PGSSLMODE: o.ssl ? "require" : "disable",
                    ...login,
                }),
            };
            servers.push(srv);
            return srv;
        }

        /** Run a container's `sh -c` script with its env and mounts mapped onto this machine, against `srv`. */
        const runScript = (srv: Server, c: any, env: Record<string, string>, mounts: Record<string, string>) => {
            assert.deepEqual(c.command.slice(0, 2), ["sh", "-c"]);
            const localEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, rewritePaths(v, mounts)]));
            const r = spawnSync("sh", ["-c", rewritePaths(c.command[2], mounts)], {
                encoding: "utf8",
                timeout: 20_000,
                // Only the address changes: in-cluster host -> this machine's server (TLS mode, user, password, database as shipped).
                env: {
                    ...localEnv,
                    PATH: `${bin}:/usr/bin:/bin`,
                    PGHOST: "127.0.0.1",
                    PGPORT: String(srv.port),
                    PGCONNECT_TIMEOUT: "5",
                },
            });
            assert.equal(r.status, 0, `${c.name} exited ${r.status} ${r.signal ?? ""}\n${r.stdout}\n${r.stderr}`);
            return r;
        };
        const migrationJob = (objs: Obj[]) => {
            const job = ofKind(objs, "Job", SHOP_NS).find((j) => j.metadata.name!.startsWith(`${NAMES.migrate}-`));
            assert.ok(job, "no db-migrate Job");
            const spec = podTemplate(job)!.spec;
            return { spec, c: spec.containers[0], env: resolveEnv(objs, SHOP_NS, spec.containers[0]) };
        };
        /**
         * Least privilege, as the pods log in: the app role reads and writes the shop's rows and nothing
         * else; the migration role owns the schema; payment owns its ledger; none is a superuser, none
         * creates roles, none reaches the other's database.
         */
        function assertLeastPrivilege(srv: Server, logins: { app: any; migration: any; payment: any }) {
            const as = (login: any, sql: string) => psqlAs(srv.tcp(login), sql);
            const app = logins.app;
            must(as(app, "SELECT count(*) FROM menu_items"), "app reads");
            const id = must(
                as(app, "INSERT INTO customers (email, display_name) VALUES ('a@example.com', 'A') RETURNING id"),
                "app inserts",
            );
            must(as(app, `UPDATE customers SET display_name = 'B' WHERE id = ${id}`), "app updates");
            must(as(app, `INSERT INTO jobs (kind) VALUES ('report')`), "app uses sequences");
            must(as(app, `DELETE FROM customers WHERE id = ${id}`), "app deletes");
            const denied = (r: { ok: boolean; err: string }, re: RegExp, what: string) =>
                assert.ok(!r.ok && re.test(r.err), `${what} must be refused: ${r.ok ? "it succeeded" : r.err}`);
            denied(as(app, "CREATE TABLE app_made (id int)"), /permission denied/, "app creates a table");
            denied(as(app, "DROP TABLE orders"), /must be owner/, "app drops a table");
            for (const [who, login] of Object.entries(logins))
                denied(as(login, "CREATE ROLE intruder LOGIN"), /permission denied/, `${who} creates a role`);
            denied(
                as({ ...app, PGDATABASE: DATABASES.payment.name }, "SELECT 1"),
                /permission denied|rejects connection|no pg_hba/,
                "app reaches payment's database",
            );
            denied(
                as({ ...logins.migration, PGDATABASE: DATABASES.payment.name }, "SELECT 1"),
                /permission denied|rejects connection|no pg_hba/,
                "the migration reaches payment's database",
            );
            denied(
                as({ ...logins.payment, PGDATABASE: DATABASES.shop.name }, "SELECT 1"),
                /permission denied|rejects connection|no pg_hba/,
                "payment reaches the shop's database",
            );
            must(
                as(logins.payment, "CREATE TABLE IF NOT EXISTS ledger_check (id int); DROP TABLE ledger_check"),
                "payment owns its ledger",
            );
            assert.equal(
                must(as(logins.migration, "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"), "owner"),
                DATABASES.shop.roles.migration,
            );
            const names = Object.values(logins)
                .map((l) => `'${l.PGUSER}'`)
                .join(",");
            assert.equal(
                admin(
                    srv,
                    `SELECT count(*) FROM pg_roles WHERE rolname IN (${names}) AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)`,
                ),
                "0",
            );
            const wrong = as({ ...app, PGPASSWORD: "not-the-password" }, "SELECT 1");
            assert.ok(!wrong.ok && /password authentication failed/.test(wrong.err), wrong.err);
        }

        /**
         * A server set up the way the operator sets up the us Cluster: TLS, the Cluster's pg_hba, then what
         * it does with bootstrap.initdb (owner and database), the managed roles (attributes, and passwords
         * from their Secrets) and the Database resources (database and owner). No schema: the migration Job
         * (or a restore) brings it.
         */
        async function clusterShaped(name: string): Promise<Server> {
            const cluster = named(us, "Cluster", "postgres", "databases");
            const srv = await startServer(name, {
                superuserPassword: "operator-only",
                ssl: true,
                hba: cluster.spec.postgresql.pg_hba,
            });
            const secretOf = (secret: string) => secretData(named(us, "Secret", secret, "databases"));
            const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
            const initdb = cluster.spec.bootstrap.initdb;
            const ownerPw = secretOf(initdb.secret.name);
            assert.equal(ownerPw.username, initdb.owner, "the initdb Secret is the owner's login");
            admin(srv, `CREATE ROLE "${initdb.owner}" LOGIN PASSWORD ${quote(ownerPw.password)}`);
            admin(srv, `CREATE DATABASE "${initdb.database}" OWNER "${initdb.owner}"`);
            const flag = (on: boolean | undefined, attr: string) => (on ? attr : `NO${attr}`);
            for (const r of cluster.spec.managed.roles) {
                const pw = secretOf(r.passwordSecret.name);
                assert.equal(pw.username, r.name, `${r.passwordSecret.name} holds ${r.name}'s login`);
                const attrs = [
                    flag(r.login, "LOGIN"),
                    flag(r.superuser, "SUPERUSER"),
                    flag(r.createdb, "CREATEDB"),
                    flag(r.createrole, "CREATEROLE"),
                    flag(r.inherit ?? true, "INHERIT"),
                    flag(r.replication, "REPLICATION"),
                    flag(r.bypassrls, "BYPASSRLS"),
                ].join(" ");
                const exists = admin(srv, `SELECT count(*) FROM pg_roles WHERE rolname = ${quote(r.name)}`) === "1";
                admin(srv, `${exists ? "ALTER" : "CREATE"} ROLE "${r.name}" ${attrs} PASSWORD ${quote(pw.password)}`);
            }
            for (const db of ofKind(us, "Database", "databases"))
                admin(srv, `CREATE DATABASE "${db.spec.name}" OWNER "${db.spec.owner}"`);
            return srv;
        }

        before(function () {
            const dirs = [
                ...(fs.existsSync("/usr/lib/postgresql")
                    ? fs
                          .readdirSync("/usr/lib/postgresql")
                          .sort((a, b) => Number(b) - Number(a))
                          .map((v) => `/usr/lib/postgresql/${v}/bin`)
                    : []),
                ...(process.env.PATH ?? "").split(":").filter(Boolean),
            ];
            bin = dirs.find((d) => PG_TOOLS.every((t) => fs.existsSync(path.join(d, t)))) ?? "";
            requireTool(
                this,
                !!bin,
                `PostgreSQL server binaries (${PG_TOOLS.join(", ")}) not found in /usr/lib/postgresql/*/bin or PATH (apt-get install postgresql)`,
            );
            asRoot = process.getuid?.() === 0;
            const pgUser = asRoot ? spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }) : undefined;
            requireTool(
                this,
                !asRoot || (pgUser!.status === 0 && fs.existsSync("/usr/sbin/runuser")),
                "running as root, PostgreSQL needs the OS user postgres (created by Debian's postgresql package) and runuser",
            );
            requireTool(
                this,
                spawnSync("openssl", ["version"]).status === 0,
                "openssl (the TLS server of the CloudNativePG-shaped test)",
            );
            if (asRoot)
                pgUid = {
                    uid: Number(pgUser!.stdout.trim()),
                    gid: Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()),
                };
        });
        after(() => {
            for (const srv of servers.splice(0))
                asServer(srv.dir, "pg_ctl", ["-D", path.join(srv.dir, "data"), "-m", "immediate", "-w", "stop"]);
        });

        describe("dev: the shop's own StatefulSet, provisioned by Job postgres-roles-*", () => {
            let srv: Server;
            let job: ReturnType<typeof migrationJob> & { mounts: Record<string, string> };

            before(async () => {
                // The server as the StatefulSet configures it (the official image's POSTGRES_* env).
                const { c: server } = containerOf(dev, "StatefulSet", NAMES.postgres, SHOP_NS);
                const env = resolveEnv(dev, SHOP_NS, server);
                assert.equal(env.POSTGRES_USER, "postgres", "the image's superuser is not an application role");
                srv = await startServer("dev", { superuserPassword: env.POSTGRES_PASSWORD, ssl: false, hba: [] });
                // What the image's entrypoint does with POSTGRES_DB.
                admin(srv, `CREATE DATABASE "${env.POSTGRES_DB}"`);
            });

            it("the roles Job creates the login roles and databases, and the migration Job (as the migration role) the schema; both idempotent", () => {
                const rolesJob = ofKind(dev, "Job", SHOP_NS).find((j) =>
                    j.metadata.name!.startsWith(`${NAMES.roles}-`),
                );
                assert.ok(rolesJob, "a postgres-roles Job");
                const rc = podTemplate(rolesJob)!.spec.containers[0];
                const renv = resolveEnv(dev, SHOP_NS, rc);
                runScript(srv, rc, renv, {});
                runScript(srv, rc, renv, {});
                const m = migrationJob(dev);
                assert.equal(m.env.PGHOST, `${NAMES.postgres}.${SHOP_NS}.svc.cluster.local`);
                assert.equal(
                    m.env.PGUSER,
                    DATABASES.shop.roles.migration,
                    "migrates as the schema owner, not a superuser",
                );
                const mounts = materializeMounts(dev, SHOP_NS, m.spec, m.c, path.join(root, "migrate-dev"));
                job = { ...m, mounts };
                const first = runScript(srv, m.c, m.env, mounts);
                assert.match(first.stdout, /applying .*001_schema\.sql[\s\S]*applying .*002_app_grants\.sql/);
                const count = () =>
                    must(
                        psqlAs(
                            srv.tcp({
                                PGUSER: m.env.PGUSER,
                                PGPASSWORD: m.env.PGPASSWORD,
                                PGDATABASE: m.env.PGDATABASE,
                            }),
                            "SELECT count(*) FROM menu_items",
                        ),
                        "count",
                    );
                const menu = count();
                runScript(srv, m.c, m.env, mounts);
                assert.equal(count(), menu, "a second run adds no rows");
                assert.ok(Number(menu) > 0);
            });

            it("creates every table of the SQL in ConfigMap db-schema", () => {
                assert.ok(job, "the migration ran");
                const sql = Object.values<string>(named(dev, "ConfigMap", NAMES.dbSchema, SHOP_NS).data).join("\n");
                const expected = [...sql.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/gi)].map((m) => m[1]).sort();
                const tables = admin(
                    srv,
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                    DATABASE.name,
                ).split("\n");
                assert.deepEqual(
                    tables.filter((t) => expected.includes(t)),
                    expected,
                );
            });

            it("gives each role only what it needs, as the pods log in (backend's Secret, payment's Secret)", () => {
                assert.ok(job, "the migration ran");
                const { c } = containerOf(dev, "Deployment", PAYMENT_DATABASE.client, NAMESPACES.coreServices);
                const payment = resolveEnv(dev, NAMESPACES.coreServices, c);
                assert.equal(payment.TRANSACTION_DB_HOST, job.env.PGHOST, "payment's ledger is on the same server");
                const { c: backend } = containerOf(dev, "Deployment", NAMES.backend, SHOP_NS);
                const b = resolveEnv(dev, SHOP_NS, backend);
                assertLeastPrivilege(srv, {
                    app: { PGUSER: b.DATABASE_USER, PGPASSWORD: b.DATABASE_PASSWORD, PGDATABASE: b.DATABASE_NAME },
                    migration: {
                        PGUSER: job.env.PGUSER,
                        PGPASSWORD: job.env.PGPASSWORD,
                        PGDATABASE: job.env.PGDATABASE,
                    },
                    payment: {
                        PGUSER: payment.TRANSACTION_DB_USER,
                        PGPASSWORD: payment.TRANSACTION_DB_PASSWORD,
                        PGDATABASE: payment.TRANSACTION_DB_NAME,
                    },
                });
            });

            it("the backup CronJob's script writes a pg_dump archive to /backups, keeps the retention window and the archive restores", () => {
                assert.ok(job, "the migration ran");
                const cron = named(dev, "CronJob", NAMES.backup, SHOP_NS);
                const spec = podTemplate(cron)!.spec;
                const c = spec.containers[0];
                const env = resolveEnv(dev, SHOP_NS, c);
                assert.equal(env.PGHOST, job.env.PGHOST);
                const mounts = materializeMounts(dev, SHOP_NS, spec, c, path.join(root, "backup"));
                const backups = mounts["/backups"];
                assert.ok(backups, "the CronJob mounts the backup volume at /backups");
                const retention = Number(env.RETENTION_DAYS);
                assert.ok(retention > 0);
                const day = 86_400_000;
                const seed = (file: string, ageDays: number) => {
                    fs.writeFileSync(path.join(backups, file), "old");
                    const t = new Date(Date.now() - ageDays * day);
                    fs.utimesSync(path.join(backups, file), t, t);
                };
                seed(`${env.PGDATABASE}-20000101T000000Z.dump`, retention + 5);
                seed(`${env.PGDATABASE}-20000102T000000Z.dump`, 1);
                seed("someone-elses-file.dump", retention + 5);
                const r = runScript(srv, c, env, mounts);
                const files = fs.readdirSync(backups).sort();
                assert.ok(
                    !files.includes(`${env.PGDATABASE}-20000101T000000Z.dump`),
                    `archives older than ${retention} days are deleted: ${files.join(", ")}`,
                );
                assert.ok(
                    files.includes(`${env.PGDATABASE}-20000102T000000Z.dump`) &&
                        files.includes("someone-elses-file.dump"),
                    files.join(", "),
                );
                assert.ok(!files.some((f) => f.endsWith(".partial")), files.join(", "));
                const fresh = files.filter(
                    (f) =>
                        new RegExp(`^${env.PGDATABASE}-\\d{8}T\\d{6}Z\\.dump$`).test(f) &&
                        !f.startsWith(`${env.PGDATABASE}-2000`),
                );
                assert.equal(fresh.length, 1, `one new archive: ${files.join(", ")}\n${r.stdout}`);
                const archive = path.join(backups, fresh[0]);
                const list = spawnSync(path.join(bin, "pg_restore"), ["--list", archive], {
                    encoding: "utf8",
                    timeout: 15_000,
                });
                assert.equal(list.status, 0, list.stderr);
                assert.match(list.stdout, /TABLE public menu_items/);
                assert.match(list.stdout, /TABLE DATA public orders/);
                admin(srv, 'CREATE DATABASE "restore_check"');
                const restore = spawnSync(
                    path.join(bin, "pg_restore"),
                    [
                        "--no-owner",
                        "--exit-on-error",
                        "-h",
                        srv.dir,
                        "-p",
                        String(srv.port),
                        "-U",
                        "postgres",
                        "-d",
                        "restore_check",
                        archive,
                    ],
                    { encoding: "utf8", timeout: 15_000 },
                );
                assert.equal(restore.status, 0, restore.stderr);
                assert.equal(
                    admin(srv, "SELECT count(*) FROM menu_items", "restore_check"),
                    admin(srv, "SELECT count(*) FROM menu_items", DATABASE.name),
                );
            });

            describe("readiness of every workload that runs the reference service, against this PostgreSQL and a real Redis", () => {
                interface Instance {
                    workload: string;
                    namespace: string;
                    env: Record<string, string>;
                    port: number;
                    child: ChildProcess;
                }
                const instances: Instance[] = [];
                let redisPort: number;
                let redis: ChildProcess;
                let redisPassword: string;
                const serviceLog: string[] = [];
                const ready = async (i: Instance) => {
                    const answer = await get(i.port, "/readyz");
                    return { status: answer.status, body: JSON.parse(answer.body) };
                };
                const postmasterPid = () =>
                    Number(fs.readFileSync(path.join(srv.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);

                before(async function () {
                    assert.ok(srv, "PostgreSQL runs");
                    const redisServer = [
                        "/usr/bin/redis-server",
                        ...(process.env.PATH ?? "").split(":").map((d) => path.join(d, "redis-server")),
                    ].find((p) => fs.existsSync(p));
                    requireTool(this, !!redisServer, "redis-server is not installed (apt-get install redis-server)");
                    // The shop's Redis as its Deployment runs it (command and password), on a loopback port.
                    const { spec, c } = containerOf(dev, "Deployment", NAMES.redis, SHOP_NS);
                    const redisEnv = resolveEnv(dev, SHOP_NS, c);
                    redisPassword = redisEnv.REDIS_PASSWORD;
                    const mounts = materializeMounts(dev, SHOP_NS, spec, c, path.join(root, "redis"));
                    for (const d of Object.values(mounts)) fs.chmodSync(d, 0o777);
                    redisPort = await freePort();
                    assert.deepEqual(c.command.slice(0, 2), ["sh", "-c"]);
                    assert.match(c.command[2], new RegExp(`--port ${PORTS.redis}\\b`));
                    const script = rewritePaths(c.command[2], mounts).replace(
                        `--port ${PORTS.redis}`,
                        `--port ${redisPort} --bind 127.0.0.1`,
                    );
                    redis = spawn("sh", ["-c", script], {
                        env: { PATH: `${path.dirname(redisServer!)}:/usr/bin:/bin`, ...redisEnv },
                        stdio: "ignore",
                    });
                    children.push(redis);

                    // Every workload whose container runs `node <mount>/service.js`, with its own env and mounts;
                    // only its in-cluster addresses become these servers' loopback ports.
                    const local = new Map<string, number>([
                        [
                            `${named(dev, "Service", NAMES.postgres, SHOP_NS).metadata.name}.${SHOP_NS}.svc.cluster.local:${PORTS.postgres}`,
                            srv.port,
                        ],
                        [`${NAMES.redis}.${SHOP_NS}.svc.cluster.local:${PORTS.redis}`, redisPort],
                    ]);
                    for (const w of referenceServiceWorkloads(dev)) {
                        const { spec: wSpec, c: wc } = containerOf(dev, "Deployment", w.name, w.namespace);
                        const wMounts = materializeMounts(
                            dev,
                            w.namespace,
                            wSpec,
                            wc,
                            path.join(root, "ready", w.namespace, w.name),
                        );
                        const wEnv = toLoopback(resolveEnv(dev, w.namespace, wc), local);
                        for (const [k, v] of Object.entries(wEnv)) wEnv[k] = rewritePaths(v, wMounts);
                        const [appPort, mPort] = await Promise.all([freePort(), freePort()]);
                        const child = startNode(
                            rewritePaths(wc.command[1], wMounts),
                            { ...wEnv, PORT: String(appPort), METRICS_PORT: String(mPort) },
                            serviceLog,
                        );
                        instances.push({ workload: w.name, namespace: w.namespace, env: wEnv, port: appPort, child });
                    }
                    await Promise.all(
                        instances.map((i) =>
                            waitFor(
                                `${i.workload} answers /healthz`,
                                async () => (await get(i.port, "/healthz")).status === 200,
                            ),
                        ),
                    );
                });
                after(() => stopChildren());

                it("runs in every workload of the dev stack that should: the shop's backend and worker and each core service", () => {
                    assert.deepEqual(instances.map((i) => `${i.namespace}/${i.workload}`).sort(), [
                        "ecommerce/auth",
                        "ecommerce/payment",
                        "ecommerce/product-catalog",
                        "ecommerce/recommendation",
                        "warung-kopi/backend",
                        "warung-kopi/worker",
                    ]);
                    for (const i of instances) {
                        const kinds = i.env.DEPENDS_ON.split(",").map((d) => d.split(":")[0]);
                        assert.ok(
                            kinds.every((k) => ["postgres", "redis", "rediss"].includes(k)),
                            `${i.workload}: ${i.env.DEPENDS_ON}`,
                        );
                    }
                    const kindsOf = (w: string) =>
                        instances
                            .find((i) => i.workload === w)!
                            .env.DEPENDS_ON.split(",")
                            .map((d) => d.split(":")[0])
                            .sort();
                    assert.deepEqual(kindsOf("backend"), ["postgres", "redis"]);
                    assert.deepEqual(kindsOf("worker"), ["postgres", "redis"]);
                    assert.deepEqual(
                        kindsOf("payment"),
                        ["postgres", "redis"],
                        "payment cannot take a charge it cannot record",
                    );
                });

                it("each is ready (200) while PostgreSQL and Redis answer in their own protocol", async () => {
                    for (const i of instances) {
                        const r = await ready(i);
                        assert.equal(r.status, 200, `${i.workload}: ${JSON.stringify(r.body)}\n${serviceLog.join("")}`);
                        for (const d of r.body.dependencies)
                            assert.match(
                                d.detail,
                                d.dependency.startsWith("redis") ? /^PONG$/ : /asks for authentication/,
                                i.workload,
                            );
                    }
                });

                it("each is not ready (503) while Redis does not answer, and ready again once it does", async () => {
                    redis.kill("SIGSTOP");
                    try {
                        const answers = await Promise.all(instances.map(ready));
                        assert.deepEqual(
                            instances.filter((_, n) => answers[n].status !== 503).map((i) => i.workload),
                            [],
                            "ready with Redis stopped",
                        );
                    } finally {
                        redis.kill("SIGCONT");
                    }
                    for (const i of instances)
                        await waitFor(`${i.workload} ready again`, async () => (await ready(i)).status === 200);
                });

                it("the shop's workloads and payment are not ready while PostgreSQL does not answer", async () => {
                    const pid = postmasterPid();
                    process.kill(pid, "SIGSTOP");
                    try {
                        const users = instances.filter((x) => x.env.DEPENDS_ON.includes("postgres://"));
                        const answers = await Promise.all(users.map(ready));
                        assert.deepEqual(
                            users.filter((_, n) => answers[n].status !== 503).map((i) => i.workload),
                            [],
                            "ready with PostgreSQL stopped",
                        );
                    } finally {
                        process.kill(pid, "SIGCONT");
                    }
                    for (const i of instances)
                        await waitFor(`${i.workload} ready again`, async () => (await ready(i)).status === 200);
                });

                it("a port that accepts connections but speaks no protocol (the pod's own sidecar with its upstream gone) is not readiness", async () => {
                    const backend = instances.find((i) => i.workload === "backend")!;
                    const [silent, appPort, mPort] = await Promise.all([freePort(), freePort(), freePort()]);
                    const acceptor = await listenOn(silent);
                    const log: string[] = [];
                    const deps = backend.env.DEPENDS_ON.replace(/127\.0\.0\.1:\d+/g, `127.0.0.1:${silent}`);
                    startNode(
                        instances[0].child.spawnargs[1],
                        {
                            ...backend.env,
                            DEPENDS_ON: `${deps},tcp://127.0.0.1:${silent}`,
                            PORT: String(appPort),
                            METRICS_PORT: String(mPort),
                        },
                        log,
                    );
                    await waitFor(
                        "the copy answers /healthz",
                        async () => (await get(appPort, "/healthz")).status === 200,
                    );
                    const answer = await get(appPort, "/readyz");
                    acceptor.close();
                    assert.equal(answer.status, 503, answer.body);
                    const deps2 = JSON.parse(answer.body).dependencies;
                    assert.deepEqual(
                        deps2.map((d: any) => d.ready),
                        [false, false, true],
                        "a TCP connect alone would call it ready",
                    );
                });

                it("a wrong Redis password is not ready", async () => {
                    const backend = instances.find((i) => i.workload === "backend")!;
                    const [appPort, mPort] = await Promise.all([freePort(), freePort()]);
                    startNode(
                        instances[0].child.spawnargs[1],
                        {
                            ...backend.env,
                            REDIS_PASSWORD: `${redisPassword}x`,
                            PORT: String(appPort),
                            METRICS_PORT: String(mPort),
                        },
                        [],
                    );
                    await waitFor(
                        "the copy answers /healthz",
                        async () => (await get(appPort, "/healthz")).status === 200,
                    );
                    const answer = await get(appPort, "/readyz");
                    assert.equal(answer.status, 503);
                    assert.match(answer.body, /WRONGPASS/);
                });

                describe("auth: an OAuth2/OpenID Connect issuer, checked with a JOSE library", () => {
                    let auth: Instance;
                    let discovery: any;
                    let jwks: ReturnType<typeof createLocalJWKSet>;
                    const client = { id: "", redirect: "" };
                    const verifier = "a-verifier-of-at-least-43-characters-0123456789abcdef";
                    const challenge = createHash("sha256").update(verifier).digest("base64url");
                    const send = (
                        method: string,
                        urlPath: string,
                        form?: Record<string, string>,
                        headers: Record<string, string> = {},
                    ) => request(auth.port, method, urlPath, form, headers);
                    const login = async (nonce = "n-0S6_WzA2Mj") => {
                        const users = named(dev, "Secret", "auth-users", NAMESPACES.coreServices);
                        const form = {
                            response_type: "code",
                            client_id: client.id,
                            redirect_uri: client.redirect,
                            code_challenge: challenge,
                            code_challenge_method: "S256",
                            scope: "openid profile offline_access",
                            state: "xyz",
                            nonce,
                            username: "demo",
                            password: secretData(users)["demo-password"],
                        };
                        const answer = await send("POST", "/authorize", form);
                        assert.equal(answer.status, 302, answer.body);
                        const location = new URL(String(answer.headers.location));
                        assert.equal(location.searchParams.get("state"), "xyz");
                        return location.searchParams.get("code")!;
                    };
                    const exchange = (code: string, codeVerifier = verifier) =>
                        send("POST", "/token", {
                            grant_type: "authorization_code",
                            code,
                            code_verifier: codeVerifier,
                            client_id: client.id,
                            redirect_uri: client.redirect,
                        });

                    before(async () => {
                        auth = instances.find((i) => i.workload === "auth")!;
                        const clients = JSON.parse(auth.env.OIDC_CLIENTS);
                        client.id = clients[0].client_id;
                        client.redirect = clients[0].redirect_uris[0];
                        discovery = JSON.parse((await get(auth.port, "/.well-known/openid-configuration")).body);
                        const path = new URL(discovery.jwks_uri).pathname.replace(/^\/auth/, "");
                        jwks = createLocalJWKSet(JSON.parse((await get(auth.port, path)).body));
                    });

                    it("publishes a discovery document naming its issuer and public endpoints", () => {
                        assert.equal(discovery.issuer, auth.env.OIDC_ISSUER);
                        assert.equal(discovery.token_endpoint, `${auth.env.OIDC_ISSUER}/token`);
                        assert.equal(discovery.jwks_uri, `${auth.env.OIDC_ISSUER}/.well-known/jwks.json`);
                        assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
                        assert.deepEqual(discovery.id_token_signing_alg_values_supported, ["RS256"]);
                    });

                    it("issues RS256 access and ID tokens for a signed-in user (authorization code with PKCE) that verify against its JWKS and the mesh's", async () => {
                        const answer = await exchange(await login());
                        assert.equal(answer.status, 200, answer.body);
                        assert.equal(answer.headers["cache-control"], "no-store");
                        const tokens = JSON.parse(answer.body);
                        const access = await jwtVerify(tokens.access_token, jwks, {
                            issuer: auth.env.OIDC_ISSUER,
                            audience: auth.env.OIDC_AUDIENCE,
                            typ: "at+jwt",
                        });
                        assert.equal(access.payload.sub, "demo");
                        assert.equal(access.protectedHeader.kid, auth.env.SIGNING_KEY_ID);
                        const id = await jwtVerify(tokens.id_token, jwks, {
                            issuer: auth.env.OIDC_ISSUER,
                            audience: client.id,
                        });
                        assert.equal(id.payload.nonce, "n-0S6_WzA2Mj");
                        // The sidecars validate with the JWKS the program put in RequestAuthentication: the same key.
                        const ra = ofKind(dev, "RequestAuthentication", NAMESPACES.coreServices)[0];
                        const rule = ra.spec.jwtRules[0];
                        assert.equal(rule.issuer, auth.env.OIDC_ISSUER);
                        await jwtVerify(tokens.access_token, createLocalJWKSet(JSON.parse(rule.jwks)), {
                            issuer: rule.issuer,
                            audience: rule.audiences,
                        });
                        // userinfo acts for the user: it needs the token.
                        const me = await send("GET", "/userinfo", undefined, {
                            authorization: `Bearer ${tokens.access_token}`,
                        });
                        assert.deepEqual([me.status, JSON.parse(me.body).sub], [200, "demo"]);
                        assert.equal((await send("GET", "/userinfo")).status, 401);
                    });

                    it("keeps codes and refresh tokens in the cache, each usable once; refuses a wrong PKCE verifier, user or client", async () => {
                        const code = await login();
                        const keys = spawnSync(
                            "redis-cli",
                            [
                                "-p",
                                String(redisPort),
                                "--no-auth-warning",
                                "-a",
                                redisPassword,
                                "--scan",
                                "--pattern",
                                `${auth.env.SESSION_KEY_PREFIX}*`,
                            ],
                            { encoding: "utf8" },
                        );
                        assert.match(keys.stdout, /code:/, "the code is in Redis, shared by every replica");
                        assert.equal((await exchange(code, `${verifier}x`)).status, 400, "wrong verifier");
                        assert.equal(
                            (await exchange(code)).status,
                            400,
                            "a code is used once, even after a failed attempt",
                        );
                        const tokens = JSON.parse((await exchange(await login())).body);
                        const refresh = (token: string) =>
                            send("POST", "/token", {
                                grant_type: "refresh_token",
                                refresh_token: token,
                                client_id: client.id,
                            });
                        const renewed = await refresh(tokens.refresh_token);
                        assert.equal(renewed.status, 200, renewed.body);
                        await jwtVerify(JSON.parse(renewed.body).access_token, jwks, {
                            issuer: auth.env.OIDC_ISSUER,
                            audience: auth.env.OIDC_AUDIENCE,
                        });
                        assert.equal((await refresh(tokens.refresh_token)).status, 400, "a refresh token is rotated");
                        const wrongUser = await send("POST", "/authorize", {
                            response_type: "code",
                            client_id: client.id,
                            redirect_uri: client.redirect,
                            code_challenge: challenge,
                            code_challenge_method: "S256",
                            username: "demo",
                            password: "guess",
                        });
                        assert.equal(wrongUser.status, 401);
                        const wrongClient = await send(
                            "GET",
                            `/authorize?response_type=code&client_id=${client.id}&redirect_uri=https://evil.example.com/cb&code_challenge=${challenge}&code_challenge_method=S256`,
                        );
                        assert.equal(wrongClient.status, 400);
                    });
                });
            });
        });

        describe("us: the CloudNativePG Cluster's roles, databases and pg_hba, over TLS", () => {
            let srv: Server;
            let cluster: Obj;

            before(async () => {
                cluster = named(us, "Cluster", "postgres", "databases");
                srv = await clusterShaped("us");
            });

            it("the migration Job (as shipped for us) migrates the Cluster's database over TLS as the migration role", () => {
                const m = migrationJob(us);
                assert.equal(m.env.PGHOST, "postgres-rw.databases.svc.cluster.local", "the read-write endpoint");
                assert.equal(m.env.PGSSLMODE, "require");
                assert.equal(m.env.PGUSER, cluster.spec.bootstrap.initdb.owner);
                const mounts = materializeMounts(us, SHOP_NS, m.spec, m.c, path.join(root, "migrate-us"));
                runScript(srv, m.c, m.env, mounts);
                runScript(srv, m.c, m.env, mounts);
                const plain = psqlAs(
                    {
                        ...srv.tcp({
                            PGUSER: m.env.PGUSER,
                            PGPASSWORD: m.env.PGPASSWORD,
                            PGDATABASE: m.env.PGDATABASE,
                        }),
                        PGSSLMODE: "disable",
                    },
                    "SELECT 1",
                );
                assert.ok(
                    !plain.ok && /rejects connection|no pg_hba/.test(plain.err),
                    `plain text is refused: ${plain.err}`,
                );
            });

            it("gives each role only what it needs, as the pods log in (backend's Secret, payment's Secret)", () => {
                const { c: backend } = containerOf(us, "Deployment", NAMES.backend, SHOP_NS);
                const b = resolveEnv(us, SHOP_NS, backend);
                assert.equal(b.DATABASE_SSLMODE, "require");
                const { c } = containerOf(us, "Deployment", PAYMENT_DATABASE.client, NAMESPACES.coreServices);
                const payment = resolveEnv(us, NAMESPACES.coreServices, c);
                assert.equal(payment.TRANSACTION_DB_SSLMODE, "require");
                const m = migrationJob(us);
                assertLeastPrivilege(srv, {
                    app: { PGUSER: b.DATABASE_USER, PGPASSWORD: b.DATABASE_PASSWORD, PGDATABASE: b.DATABASE_NAME },
                    migration: { PGUSER: m.env.PGUSER, PGPASSWORD: m.env.PGPASSWORD, PGDATABASE: m.env.PGDATABASE },
                    payment: {
                        PGUSER: payment.TRANSACTION_DB_USER,
                        PGPASSWORD: payment.TRANSACTION_DB_PASSWORD,
                        PGDATABASE: payment.TRANSACTION_DB_NAME,
                    },
                });
                // The role Secrets in `databases` and the copies the pods read hold the same logins.
                assert.equal(
                    b.DATABASE_PASSWORD,
                    secretData(named(us, "Secret", "postgres-role-kopi-app", "databases")).password,
                );
            });
        });

        describe("us: the runbook's move of a region from the StatefulSet to the Cluster, run as written", () => {
            // docs/runbook.md "Moving an existing region ...": its bash blocks run here with `kubectl` answered
            // by a shim that executes `kubectl exec` in the pod's stead (same environment, stdin and stdout
            // through pipes as over the API server), against a server set up like the old StatefulSet and
            // one set up like the Cluster. The blocks that call `pulumi` are played by the harness.
            const OLD = { user: "kopi_app", password: "old-app-password", paymentPassword: "old-payment-password" };
            let old: Server;
            let fresh: Server;
            let work: string;
            let blocks: string[];
            let env: Record<string, string>;
            const oldRows: Record<string, string> = {};

            /** The bash blocks of the runbook's section, in order. */
            const sectionBlocks = (): string[] => {
                const text = fs.readFileSync(path.resolve(__dirname, "..", "docs", "runbook.md"), "utf8");
                const start = text.indexOf("### Moving an existing region from the StatefulSet to CloudNativePG");
                assert.ok(start >= 0, "the runbook has the move");
                const end = text.indexOf("\n## ", start);
                const section = text.slice(start, end < 0 ? undefined : end);
                return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
            };
            const runBlock = (i: number) => {
                const r = spawnSync("bash", ["-e", "-o", "pipefail", "-c", blocks[i]], {
                    cwd: work,
                    encoding: "utf8",
                    timeout: 60_000,
                    env,
                });
                assert.equal(r.status, 0, `runbook step ${i + 1} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
                return r;
            };
            const oldClient = (database: string) =>
                old.tcp({ PGUSER: OLD.user, PGPASSWORD: OLD.password, PGDATABASE: database });
            const countsOf = (srv: Server, database: string) =>
                admin(
                    srv,
                    "SELECT string_agg(format('%s=%s', relname, n), ',' ORDER BY relname) FROM (SELECT relname, " +
                        "(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', relname), false, true, '')))[1]::text AS n " +
                        "FROM pg_stat_user_tables) t",
                    database,
                );

            before(async () => {
                blocks = sectionBlocks();
                work = path.join(root, "move");
                fs.mkdirSync(work, { mode: 0o755 });
                // The StatefulSet of the version before CloudNativePG: the image's superuser was the shop's
                // login (POSTGRES_USER kopi_app), the shop's database warung_kopi, payment's ledger in
                // `payments` owned by its own role; some orders and ledger rows.
                old = await startServer("old", {
                    superuser: OLD.user,
                    superuserPassword: OLD.password,
                    ssl: false,
                    hba: [],
                });
                admin(old, `CREATE DATABASE warung_kopi OWNER ${OLD.user}`);
                const schema = named(dev, "ConfigMap", NAMES.dbSchema, SHOP_NS).data["001_schema.sql"];
                assert.ok(schema, "the schema file of ConfigMap db-schema");
                admin(old, schema, "warung_kopi");
                admin(
                    old,
                    `INSERT INTO customers (email, display_name) SELECT 'c' || i || '@example.com', 'C' || i FROM generate_series(1, 5) i;
                     INSERT INTO orders (customer_id, status, total_idr) SELECT 1 + i % 5, 'paid', 1000 * i FROM generate_series(1, 7) i;
                     INSERT INTO order_items (order_id, menu_item_id, quantity, price_idr)
                       SELECT o.id, m.id, 2, m.price_idr FROM orders o CROSS JOIN (SELECT id, price_idr FROM menu_items ORDER BY id LIMIT 2) m;
                     INSERT INTO jobs (kind) VALUES ('notification'), ('report')`,
                    "warung_kopi",
                );
                admin(old, `CREATE ROLE payment LOGIN PASSWORD '${OLD.paymentPassword}'`);
                admin(old, "CREATE DATABASE payments OWNER payment");
                must(
                    psqlAs(
                        old.tcp({ PGUSER: "payment", PGPASSWORD: OLD.paymentPassword, PGDATABASE: "payments" }),
                        `CREATE TABLE transactions (id BIGSERIAL PRIMARY KEY, order_ref TEXT NOT NULL, amount_idr INTEGER NOT NULL);
                         INSERT INTO transactions (order_ref, amount_idr) SELECT 'o' || i, 500 * i FROM generate_series(1, 4) i`,
                    ),
                    "payment's ledger",
                );
                for (const db of ["warung_kopi", "payments"]) oldRows[db] = countsOf(old, db);
                // What the targeted deploy of step 3 makes: the Cluster with its roles and databases.
                fresh = await clusterShaped("move");
                // `kubectl` on the operator's machine: exec into the two servers' "pods", list the primary.
                const shimDir = path.join(work, "bin");
                fs.mkdirSync(shimDir, { mode: 0o755 });
                const podEnv = (srv: Server, extra: Record<string, string>) => ({
                    PATH: `${bin}:/usr/bin:/bin`,
                    HOME: "/tmp",
                    PGHOST: srv.dir,
                    PGPORT: String(srv.port),
                    ...extra,
                });
                const pods = {
                    // The official image runs as OS user postgres: psql's default user, not a role there.
                    "warung-kopi/postgres-0": {
                        labels: { "app.kubernetes.io/name": "postgres" },
                        env: podEnv(old, { POSTGRES_USER: OLD.user, POSTGRES_DB: "warung_kopi", PGUSER: "postgres" }),
                    },
                    // CloudNativePG's instance: OS user postgres, the superuser over the socket (peer).
                    "databases/postgres-1": {
                        labels: { "cnpg.io/cluster": "postgres", "cnpg.io/instanceRole": "primary" },
                        env: podEnv(fresh, { PGUSER: "postgres" }),
                    },
                    "databases/postgres-2": {
                        labels: { "cnpg.io/cluster": "postgres", "cnpg.io/instanceRole": "replica" },
                        env: undefined,
                    },
                };
                fs.writeFileSync(path.join(shimDir, "kubectl"), `#!${process.execPath}\n${KUBECTL_SHIM}`, {
                    mode: 0o755,
                });
                env = {
                    PATH: `${shimDir}:/usr/bin:/bin`,
                    HOME: work,
                    LANG: "C",
                    KUBECTL_SHIM_PODS: JSON.stringify(pods),
                };
            });

            it("has the steps in order: freeze, dump, targeted deploy, restore, deploy, clean up", () => {
                const kinds = blocks.map((b) =>
                    /\bpulumi /.test(b) ? "pulumi" : /kubectl delete/.test(b) ? "cleanup" : "run",
                );
                assert.deepEqual(kinds, ["run", "run", "pulumi", "run", "pulumi", "cleanup"]);
                assert.match(blocks[2], /pulumi up -s us --target /, "step 3 creates the Cluster alone");
                assert.doesNotMatch(blocks[2], /unprotect/, "nothing is unprotected before the data is moved");
                assert.match(blocks[4], /pulumi state unprotect/);
            });

            it("step 1 freezes writes on the old server; reads go on", () => {
                const before = psqlAs(oldClient("warung_kopi"), "SHOW default_transaction_read_only");
                assert.equal(must(before, "a session before the freeze"), "off");
                runBlock(0);
                const write = psqlAs(oldClient("warung_kopi"), "INSERT INTO jobs (kind) VALUES ('report')");
                assert.ok(!write.ok && /read-only transaction/.test(write.err), `a write is refused: ${write.err}`);
                const ledger = psqlAs(
                    old.tcp({ PGUSER: "payment", PGPASSWORD: OLD.paymentPassword, PGDATABASE: "payments" }),
                    "INSERT INTO transactions (order_ref, amount_idr) VALUES ('late', 1)",
                );
                assert.ok(!ledger.ok && /read-only transaction/.test(ledger.err), `payment's write: ${ledger.err}`);
                assert.equal(must(psqlAs(oldClient("warung_kopi"), "SELECT count(*) FROM orders"), "a read"), "7");
            });

            it("step 2 dumps both databases to the operator's machine", () => {
                runBlock(1);
                for (const db of ["warung_kopi", "payments"])
                    assert.ok(fs.statSync(path.join(work, `${db}.dump`)).size > 0, `${db}.dump`);
                const list = spawnSync(path.join(bin, "pg_restore"), ["--list", path.join(work, "warung_kopi.dump")], {
                    encoding: "utf8",
                });
                assert.equal(list.status, 0, list.stderr);
                assert.match(list.stdout, /TABLE DATA public orders/);
                assert.doesNotMatch(list.stdout, /ACL|OWNER TO/, "no grants or owners of the old roles");
            });

            it("step 3 (the targeted deploy, played here) leaves the new databases empty for the restore", () => {
                assert.equal(
                    admin(fresh, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "warung_kopi"),
                    "0",
                );
                assert.equal(
                    admin(fresh, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "payments"),
                    "0",
                );
            });

            it("step 4 restores each database as its owner through the primary, and finds the same rows on both sides", () => {
                runBlock(3);
                for (const db of ["warung_kopi", "payments"]) assert.equal(countsOf(fresh, db), oldRows[db], db);
                assert.equal(
                    admin(
                        fresh,
                        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'",
                        "warung_kopi",
                    ),
                    DATABASES.shop.roles.migration,
                );
                assert.equal(
                    admin(
                        fresh,
                        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'",
                        "payments",
                    ),
                    DATABASES.payment.roles.owner,
                );
            });

            it("step 5 (the full deploy, played here): the migration Job grants the app role; the shop writes again and the freeze stayed behind", () => {
                const m = migrationJob(us);
                runScript(
                    fresh,
                    m.c,
                    m.env,
                    materializeMounts(us, SHOP_NS, m.spec, m.c, path.join(root, "migrate-move")),
                );
                assert.equal(countsOf(fresh, "warung_kopi"), oldRows.warung_kopi, "the migration adds no rows");
                const { c: backend } = containerOf(us, "Deployment", NAMES.backend, SHOP_NS);
                const b = resolveEnv(us, SHOP_NS, backend);
                const { c: pay } = containerOf(us, "Deployment", PAYMENT_DATABASE.client, NAMESPACES.coreServices);
                const p = resolveEnv(us, NAMESPACES.coreServices, pay);
                const app = { PGUSER: b.DATABASE_USER, PGPASSWORD: b.DATABASE_PASSWORD, PGDATABASE: b.DATABASE_NAME };
                const payment = {
                    PGUSER: p.TRANSACTION_DB_USER,
                    PGPASSWORD: p.TRANSACTION_DB_PASSWORD,
                    PGDATABASE: p.TRANSACTION_DB_NAME,
                };
                assert.equal(must(psqlAs(fresh.tcp(app), "SHOW default_transaction_read_only"), "app"), "off");
                // The restored sequences go on after the old rows.
                const id = must(
                    psqlAs(fresh.tcp(app), "INSERT INTO orders (customer_id, total_idr) VALUES (1, 1) RETURNING id"),
                    "app writes an order",
                );
                assert.equal(id, "8");
                must(
                    psqlAs(fresh.tcp(payment), "INSERT INTO transactions (order_ref, amount_idr) VALUES ('o8', 1)"),
                    "payment writes its ledger",
                );
                assertLeastPrivilege(fresh, {
                    app,
                    migration: { PGUSER: m.env.PGUSER, PGPASSWORD: m.env.PGPASSWORD, PGDATABASE: m.env.PGDATABASE },
                    payment,
                });
            });
        });
    });
});
