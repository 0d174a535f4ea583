// Every probe of every workload points at a port its container really serves, with the meaning the
// probe has: liveness asks whether the process answers, readiness whether it can serve (for the
// reference service: each dependency answered in its own protocol). tests/runtime.test.ts runs the
// reference service's readiness against real PostgreSQL and Redis servers.
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import { type K8sObject, kubernetesObjects, podTemplate } from "./harness/k8s";
import { STACKS } from "./harness/stack-config";

type Obj = K8sObject & { $resource?: unknown };

const runsReferenceService = (c: any) => c.command?.[0] === "node" && String(c.command?.[1]).endsWith("/service.js");

/** The nginx server configuration a container reads (a ConfigMap mounted at /etc/nginx/conf.d). */
function nginxConf(objects: Obj[], ns: string, spec: any, c: any): string | undefined {
    const mount = (c.volumeMounts ?? []).find((m: any) => m.mountPath === "/etc/nginx/conf.d");
    const volume = mount && spec.volumes.find((v: any) => v.name === mount.name);
    const cm =
        volume?.configMap &&
        objects.find(
            (o) => o.kind === "ConfigMap" && o.metadata.namespace === ns && o.metadata.name === volume.configMap.name,
        );
    return cm ? Object.values<string>(cm.data).join("\n") : undefined;
}

/** Problems with the probes of every pod template of a stack. */
export function probeProblems(objects: Obj[]): string[] {
    const problems: string[] = [];
    for (const o of objects) {
        const t = podTemplate(o);
        if (!t) continue;
        const ns = o.metadata.namespace ?? "default";
        const id = `${o.kind} ${ns}/${o.metadata.name}`;
        // Run-to-completion pods (Jobs) have nothing to probe.
        if (o.kind === "Job" || o.kind === "CronJob") continue;
        if (t.metadata?.annotations?.["sidecar.istio.io/rewriteAppHTTPProbers"] === "false")
            problems.push(
                `${id}: probes not rewritten: the kubelet's plain text meets STRICT mTLS and deny-by-default`,
            );
        for (const c of t.spec.containers ?? []) {
            const where = `${id} container ${c.name}`;
            const ports = (c.ports ?? []) as { name?: string; containerPort: number }[];
            const serves = (p: number | string) => ports.some((x) => x.containerPort === p || x.name === p);
            for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
                const probe = c[kind];
                if (!probe) {
                    problems.push(`${where}: no ${kind}`);
                    continue;
                }
                if (probe.httpGet) {
                    if (!serves(probe.httpGet.port))
                        problems.push(`${where}: ${kind} port ${probe.httpGet.port} is not a port of the container`);
                    const path = probe.httpGet.path;
                    if (runsReferenceService(c)) {
                        const expected = kind === "readinessProbe" ? "/readyz" : "/healthz";
                        if (path !== expected)
                            problems.push(`${where}: ${kind} ${path}, expected ${expected} (apps/service.js)`);
                    } else if (/node-exporter/.test(c.image)) {
                        // node_exporter answers its landing page and /metrics as soon as it runs.
                        if (!["/", "/metrics"].includes(path))
                            problems.push(`${where}: ${kind} ${path} is not a path node_exporter serves`);
                    } else {
                        const conf = nginxConf(objects, ns, t.spec, c);
                        const escaped = String(path).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
                        if (!conf || !new RegExp(`location\\s+=\\s*${escaped}\\s*\\{[^}]*return 200`).test(conf))
                            problems.push(`${where}: ${kind} ${path} is not a path the container serves`);
                    }
                } else if (probe.tcpSocket) {
                    if (!serves(probe.tcpSocket.port))
                        problems.push(`${where}: ${kind} port ${probe.tcpSocket.port} is not a port of the container`);
                } else if (probe.exec) {
                    const cmd = probe.exec.command.join(" ");
                    if (!/pg_isready\b|redis-cli\b.*\bping\b/i.test(cmd))
                        problems.push(`${where}: ${kind} runs ${cmd}, not a protocol check`);
                } else problems.push(`${where}: ${kind} of no known kind`);
            }
            if (runsReferenceService(c)) {
                const deps = String((c.env ?? []).find((e: any) => e.name === "DEPENDS_ON")?.value ?? "");
                for (const d of deps.split(",").filter(Boolean))
                    if (!/^(postgres|redis|rediss|https?):\/\//.test(d))
                        problems.push(`${where}: readiness dependency ${d} is not checked in its protocol`);
            }
        }
    }
    return problems;
}

prefetch(...STACKS.map((stack) => ({ stack })));

describe("probes", function () {
    this.timeout(240_000);
    for (const stack of STACKS)
        it(`${stack}: every probe of every workload asks a port its container serves, with the probe's meaning`, async () => {
            const objects = kubernetesObjects((await deployedStack(stack)).resources);
            assert.deepEqual(probeProblems(objects), []);
        });

    it("the check catches a wrong path, port, command and a TCP-only dependency (self-test on a damaged copy of dev)", async () => {
        const objects: Obj[] = kubernetesObjects((await deployedStack("dev")).resources).map(
            ({ $resource: _r, ...o }) => structuredClone(o),
        );
        const container = (kind: string, name: string) =>
            podTemplate(objects.find((o) => o.kind === kind && o.metadata.name === name)!)!.spec.containers[0];
        container("Deployment", "backend").readinessProbe.httpGet.path = "/healthz";
        container("Deployment", "frontend").livenessProbe.httpGet.path = "/status";
        container("Deployment", "worker").startupProbe.httpGet.port = "metrics";
        container("StatefulSet", "postgres").readinessProbe.exec.command = ["sh", "-c", "true"];
        const deps = container("Deployment", "product-catalog").env.find((e: any) => e.name === "DEPENDS_ON");
        deps.value = "redis.warung-kopi.svc.cluster.local:6379";
        const problems = probeProblems(objects).join("\n");
        for (const expected of [
            /backend container backend: readinessProbe \/healthz, expected \/readyz/,
            /frontend container frontend: livenessProbe \/status is not a path/,
            /worker container worker: startupProbe port metrics is not a port/,
            /postgres container postgres: readinessProbe runs sh -c true/,
            /product-catalog: readiness dependency redis\.warung-kopi\.svc\.cluster\.local:6379 is not checked in its protocol/,
        ])
            assert.match(problems, expected);
    });
});
