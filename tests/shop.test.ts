// The Warung Kopi shop (issue 3), checked over what `pulumi up` would send for every stack: the seed's
// categories and names, Pod Security "restricted", references that resolve, the traffic the
// NetworkPolicies allow and deny, the quota, secrets, laptop fit and production protections.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deployedStack, prefetch } from "./harness/evaluate";
import { kubernetesObjects, named, ofKind, podTemplate, unsecret, type K8sObject } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import { ALL_PEERS_OF_US } from "./harness/peer-outputs";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import { podSecurityProblems, selectorMatches } from "../policy/rules";
import { type Endpoint as NetEndpoint, NetworkModel } from "./harness/cluster/network";
import { parseQuantity } from "../config/quantity";
import { migrationJobName, migrationScripts } from "../components/shop/plan";
import { IMAGES, parseConfig } from "../config";

const NS = "warung-kopi";
const AGENTS_NS = "warung-kopi-node-agents";
const SHOP_NAMESPACES = [NS, AGENTS_NS];
const SHOP_CLUSTER_OBJECTS: [string, string][] = [
    ["StorageClass", "warung-kopi-standard"],
    ["PersistentVolume", "warung-kopi-backups"],
];
const ROOT = path.resolve(__dirname, "..");

type Obj = K8sObject & { $resource: RecordedResource };

interface Shop {
    result: StackEvaluation;
    /** Every Kubernetes object of the stack. */
    all: Obj[];
    /** The shop's objects: its two namespaces' contents, the namespaces, StorageClass and PersistentVolume. */
    shop: Obj[];
}

function shopView(result: StackEvaluation): Shop {
    const all = kubernetesObjects(result.resources) as Obj[];
    const shop = all.filter(
        (o) =>
            SHOP_NAMESPACES.includes(o.metadata.namespace ?? "") ||
            (o.kind === "Namespace" && SHOP_NAMESPACES.includes(o.metadata.name!)) ||
            SHOP_CLUSTER_OBJECTS.some(([k, n]) => o.kind === k && o.metadata.name === n),
    );
    return { result, all, shop };
}

const views = new Map<string, Promise<Shop>>();
function stackShop(stack: string, options: Parameters<typeof deployedStack>[1] = {}): Promise<Shop> {
    const key = JSON.stringify([stack, options]);
    if (!views.has(key)) views.set(key, deployedStack(stack, options).then(shopView));
    return views.get(key)!;
}

// ---------------------------------------------------------------------------------------------
// Pod templates

interface PodT {
    owner: Obj;
    id: string;
    ns: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    spec: any;
}

function pods(objects: Obj[]): PodT[] {
    return objects.flatMap((o) => {
        const t = podTemplate(o);
        if (!t) return [];
        return [
            {
                owner: o,
                id: `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`,
                ns: o.metadata.namespace ?? "default",
                labels: t.metadata?.labels ?? {},
                annotations: t.metadata?.annotations ?? {},
                spec: t.spec,
            },
        ];
    });
}
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const containerPorts = (spec: any): any[] => containersOf(spec).flatMap((c) => c.ports ?? []);

/** Resources one pod counts against a quota (max of the containers' sum and the largest init container). */
function footprint(spec: any) {
    const q = (c: any, path: [string, string]) => {
        const v = c.resources?.[path[0]]?.[path[1]];
        return v === undefined ? NaN : parseQuantity(v);
    };
    const dim = (path: [string, string]) =>
        Math.max(
            (spec.containers ?? []).reduce((a: number, c: any) => a + q(c, path), 0),
            ...(spec.initContainers ?? []).map((c: any) => q(c, path)),
        );
    return {
        cpu: dim(["requests", "cpu"]),
        memory: dim(["requests", "memory"]),
        cpuLimit: dim(["limits", "cpu"]),
        memoryLimit: dim(["limits", "memory"]),
    };
}

// ---------------------------------------------------------------------------------------------
// References

/** Every reference among the shop's objects that does not resolve, as readable lines. */
function referenceProblems(shop: Obj[], all: Obj[]): string[] {
    const out: string[] = [];
    const find = (kind: string, name: string, ns?: string) =>
        all.find(
            (o) => o.kind === kind && o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns),
        );
    const keysOf = (o: Obj | undefined) =>
        new Set(Object.keys({ ...(o?.data ?? {}), ...(o?.stringData ?? {}), ...(o?.binaryData ?? {}) }));
    const allPods = pods(all);
    const podsIn = (ns: string) => allPods.filter((p) => p.ns === ns);
    const knownNamespaces = new Set(allPods.map((p) => p.ns));

    for (const p of pods(shop)) {
        const where = p.id;
        if (!find("ServiceAccount", p.spec.serviceAccountName, p.ns))
            out.push(`${where}: ServiceAccount ${p.spec.serviceAccountName} missing`);
        const claimTemplates = new Set(
            ((p.owner.spec?.volumeClaimTemplates ?? []) as any[]).map((t) => t.metadata.name),
        );
        const volumes = new Set([...(p.spec.volumes ?? []).map((v: any) => v.name), ...claimTemplates]);
        for (const v of p.spec.volumes ?? []) {
            if (v.configMap) {
                const cm = find("ConfigMap", v.configMap.name, p.ns);
                if (!cm) out.push(`${where}: volume ${v.name}: ConfigMap ${v.configMap.name} missing`);
                for (const item of v.configMap.items ?? [])
                    if (!keysOf(cm).has(item.key))
                        out.push(`${where}: ConfigMap ${v.configMap.name} has no key ${item.key}`);
            }
            if (v.secret && !find("Secret", v.secret.secretName, p.ns))
                out.push(`${where}: volume ${v.name}: Secret ${v.secret.secretName} missing`);
            if (v.persistentVolumeClaim && !find("PersistentVolumeClaim", v.persistentVolumeClaim.claimName, p.ns))
                out.push(
                    `${where}: volume ${v.name}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} missing`,
                );
        }
        for (const c of containersOf(p.spec)) {
            for (const m of c.volumeMounts ?? [])
                if (!volumes.has(m.name)) out.push(`${where}: container ${c.name} mounts unknown volume ${m.name}`);
            for (const e of c.env ?? []) {
                const s = e.valueFrom?.secretKeyRef;
                if (s && !keysOf(find("Secret", s.name, p.ns)).has(s.key))
                    out.push(`${where}: env ${e.name}: Secret ${s.name} key ${s.key} missing`);
                const m = e.valueFrom?.configMapKeyRef;
                if (m && !keysOf(find("ConfigMap", m.name, p.ns)).has(m.key))
                    out.push(`${where}: env ${e.name}: ConfigMap ${m.name} key ${m.key} missing`);
            }
            for (const e of c.envFrom ?? []) {
                if (e.configMapRef && !find("ConfigMap", e.configMapRef.name, p.ns))
                    out.push(`${where}: envFrom ConfigMap ${e.configMapRef.name} missing`);
                if (e.secretRef && !find("Secret", e.secretRef.name, p.ns))
                    out.push(`${where}: envFrom Secret ${e.secretRef.name} missing`);
            }
            for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
                if (typeof port === "string" && !(c.ports ?? []).some((cp: any) => cp.name === port))
                    out.push(`${where}: ${c.name} ${probe} names unknown port ${port}`);
            }
        }
        for (const t of (p.owner.spec?.volumeClaimTemplates ?? []) as any[]) {
            const sc = t.spec?.storageClassName;
            if (sc && !find("StorageClass", sc))
                out.push(`${where}: claim template ${t.metadata.name}: StorageClass ${sc} missing`);
        }
    }

    for (const o of shop) {
        const ns = o.metadata.namespace!;
        const where = `${o.kind} ${ns}/${o.metadata.name}`;
        switch (o.kind) {
            case "Service": {
                const selected = podsIn(ns).filter(
                    (p) => o.spec.selector && Object.entries(o.spec.selector).every(([k, v]) => p.labels[k] === v),
                );
                if (selected.length === 0) {
                    out.push(`${where}: selector ${JSON.stringify(o.spec.selector)} matches no pod template`);
                    break;
                }
                for (const port of o.spec.ports ?? []) {
                    const target = port.targetPort ?? port.port;
                    const ok = selected.every((p) =>
                        containerPorts(p.spec).some((cp) =>
                            typeof target === "string" ? cp.name === target : cp.containerPort === target,
                        ),
                    );
                    if (!ok)
                        out.push(
                            `${where}: port ${port.name ?? port.port} targets ${target}, which a selected pod does not expose`,
                        );
                }
                break;
            }
            case "PersistentVolumeClaim": {
                const sc = o.spec.storageClassName;
                if (sc && !find("StorageClass", sc)) out.push(`${where}: StorageClass ${sc} missing`);
                if (o.spec.volumeName) {
                    const pv = find("PersistentVolume", o.spec.volumeName);
                    if (!pv) out.push(`${where}: PersistentVolume ${o.spec.volumeName} missing`);
                    else if (
                        pv.spec.claimRef &&
                        (pv.spec.claimRef.name !== o.metadata.name || pv.spec.claimRef.namespace !== ns)
                    )
                        out.push(`${where}: PersistentVolume ${o.spec.volumeName} is reserved for another claim`);
                    else if ((pv.spec.storageClassName ?? "") !== (sc ?? ""))
                        out.push(`${where}: storageClassName differs from its PersistentVolume's`);
                    else if (parseQuantity(pv.spec.capacity.storage) < parseQuantity(o.spec.resources.requests.storage))
                        out.push(`${where}: requests more than the PersistentVolume holds`);
                }
                break;
            }
            case "RoleBinding": {
                if (o.roleRef.kind === "Role" && !find("Role", o.roleRef.name, ns))
                    out.push(`${where}: Role ${o.roleRef.name} missing`);
                if (o.roleRef.kind === "ClusterRole" && !find("ClusterRole", o.roleRef.name))
                    out.push(`${where}: ClusterRole ${o.roleRef.name} missing`);
                for (const s of o.subjects ?? [])
                    if (s.kind === "ServiceAccount" && !find("ServiceAccount", s.name, s.namespace ?? ns))
                        out.push(`${where}: ServiceAccount ${s.name} missing`);
                break;
            }
            case "HorizontalPodAutoscaler": {
                const ref = o.spec.scaleTargetRef;
                if (!find(ref.kind, ref.name, ns)) out.push(`${where}: target ${ref.kind} ${ref.name} missing`);
                break;
            }
            case "PodDisruptionBudget":
                if (!podsIn(ns).some((p) => selectorMatches(o.spec.selector, p.labels)))
                    out.push(`${where}: selector matches no pod template`);
                break;
            case "Ingress": {
                for (const rule of o.spec.rules ?? [])
                    for (const p of rule.http?.paths ?? []) {
                        const b = p.backend.service;
                        const svc = find("Service", b.name, ns);
                        if (!svc) {
                            out.push(`${where}: backend Service ${b.name} missing`);
                            continue;
                        }
                        if (
                            !(svc.spec.ports ?? []).some((sp: any) =>
                                b.port.number !== undefined ? sp.port === b.port.number : sp.name === b.port.name,
                            )
                        )
                            out.push(`${where}: Service ${b.name} has no port ${b.port.number ?? b.port.name}`);
                    }
                for (const t of o.spec.tls ?? []) {
                    const issued = all.some((c) => c.kind === "Certificate" && c.spec?.secretName === t.secretName);
                    if (!find("Secret", t.secretName) && !issued)
                        out.push(`${where}: TLS Secret ${t.secretName} is neither created nor issued by a Certificate`);
                }
                break;
            }
            case "NetworkPolicy": {
                if (!podsIn(ns).some((p) => selectorMatches(o.spec.podSelector, p.labels)))
                    out.push(`${where}: podSelector matches no pod template`);
                const peers = [
                    ...(o.spec.ingress ?? []).flatMap((r: any) => r.from ?? []),
                    ...(o.spec.egress ?? []).flatMap((r: any) => r.to ?? []),
                ];
                for (const peer of peers) {
                    if (!peer.podSelector) continue;
                    const peerNs = peer.namespaceSelector
                        ? peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"]
                        : ns;
                    // Pods of layers run by charts (gateways, Prometheus, Redis Enterprise) are not visible here.
                    if (!peerNs || !knownNamespaces.has(peerNs)) continue;
                    if (!podsIn(peerNs).some((p) => selectorMatches(peer.podSelector, p.labels)))
                        out.push(`${where}: peer ${JSON.stringify(peer)} matches no pod template`);
                }
                break;
            }
            case "ServiceMonitor": {
                const svcs = ofKind(all, "Service", ns).filter((s) =>
                    selectorMatches(o.spec.selector, s.metadata.labels ?? {}),
                );
                if (svcs.length === 0) out.push(`${where}: selector matches no Service`);
                for (const e of o.spec.endpoints ?? [])
                    if (e.port && !svcs.some((s) => (s.spec.ports ?? []).some((p: any) => p.name === e.port)))
                        out.push(`${where}: no selected Service has port ${e.port}`);
                break;
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy semantics: the shared cluster model (tests/harness/cluster/network.ts), with the
// stack's pod and service ranges.

interface Endpoint {
    ns?: string;
    labels?: Record<string, string>;
    /** For clients outside the cluster. */
    ip?: string;
    ports?: any[];
}

const asEndpoint = (e: Endpoint): NetEndpoint =>
    e.ns ? { kind: "pod", namespace: e.ns, labels: e.labels ?? {}, ports: e.ports } : { kind: "address", ip: e.ip! };
const networkOf = (s: Pick<Shop, "all" | "result">) =>
    new NetworkModel(s.all, configOf(s.result.stack).cluster.profile.network);

/** Both ends admit the connection. */
function allowed(
    s: Pick<Shop, "all" | "result">,
    src: Endpoint,
    dst: Endpoint,
    port: number,
    protocol = "TCP",
): boolean {
    return networkOf(s).allows(asEndpoint(src), asEndpoint(dst), port, protocol);
}

/** The policies on `subject`'s side admit `other` in `dir` on `port`. */
function directionAllowed(
    s: Pick<Shop, "all" | "result">,
    subject: Endpoint,
    other: Endpoint,
    port: number,
    dir: "Ingress" | "Egress",
): boolean {
    return networkOf(s).side(asEndpoint(subject), dir, asEndpoint(other), port);
}

/** Whether a rule's port list names `port` (by number or by the container port's name). */
function rulePortMatches(rulePorts: any[] | undefined, port: number, containerPortsOf: any[]): boolean {
    const name = containerPortsOf.find((p) => p.containerPort === port)?.name;
    return !rulePorts?.length || rulePorts.some((p) => p.port === port || (name && p.port === name));
}

function workloadEndpoint(all: Obj[], kind: string, name: string, ns = NS): Endpoint {
    const t = podTemplate(named(all, kind, name, ns))!;
    return { ns, labels: t.metadata?.labels ?? {}, ports: containerPorts(t.spec) };
}

// ---------------------------------------------------------------------------------------------
// Helpers over a stack

const isProduction = (stack: string) => stack !== "dev";
const ownsRedis = (s: Shop) =>
    named(s.all, "ConfigMap", "warung-kopi-config", NS).data.REDIS_HOST === `redis.${NS}.svc.cluster.local`;
/** The shop runs its own PostgreSQL (the seed's StatefulSet, dev); the regions use the CloudNativePG Cluster. */
const ownsDatabase = (s: Shop) => s.all.some((o) => o.kind === "StatefulSet" && o.metadata.name === "postgres");
/** The database servers the shop's pods talk to, and the port Prometheus scrapes on them. */
const databaseServers = (s: Shop): { endpoint: Endpoint; metricsPort: number } =>
    ownsDatabase(s)
        ? { endpoint: workloadEndpoint(s.all, "StatefulSet", "postgres", NS), metricsPort: 9464 }
        : {
              endpoint: { ns: "databases", labels: { "cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance" } },
              metricsPort: 9187,
          };
const hpaFor = (s: Shop, kind: string, name: string) =>
    ofKind(s.all, "HorizontalPodAutoscaler", NS).find(
        (h) => h.spec.scaleTargetRef.kind === kind && h.spec.scaleTargetRef.name === name,
    );
const kindNode = {
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": "kind-control-plane",
    "node-role.kubernetes.io/control-plane": "",
};

function nodeTermSatisfied(term: any, labels: Record<string, string>): boolean {
    return (term.matchExpressions ?? []).every((e: any) => {
        const has = e.key in labels;
        switch (e.operator) {
            case "In":
                return has && e.values.includes(labels[e.key]);
            case "NotIn":
                return !has || !e.values.includes(labels[e.key]);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            default:
                return false;
        }
    });
}

/** Most pods of a workload alive at once (HPA maximum or replicas, plus the rollout surge). */
function maxPods(s: Shop, o: Obj): number {
    if (o.kind === "Deployment") {
        const n = hpaFor(s, "Deployment", o.metadata.name!)?.spec.maxReplicas ?? o.spec.replicas ?? 1;
        const surge = o.spec.strategy?.type === "Recreate" ? 0 : (o.spec.strategy?.rollingUpdate?.maxSurge ?? 1);
        assert.equal(typeof surge, "number", `${o.metadata.name}: maxSurge as a number`);
        return n + surge;
    }
    if (o.kind === "StatefulSet") return o.spec.replicas ?? 1;
    if (o.kind === "Job") return o.spec.parallelism ?? 1;
    if (o.kind === "CronJob") return o.spec.concurrencyPolicy === "Forbid" ? 1 : Infinity;
    throw new Error(`unexpected workload ${o.kind}`);
}

const isSecret = (v: unknown) => !!v && typeof v === "object" && Object.keys(v).length === 1 && "$secret" in v;

/** `v` with every Pulumi-secret subtree removed (what a state file or output shows in plain text). */
function withoutSecrets(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(withoutSecrets);
    if (v && typeof v === "object") {
        if (Object.keys(v).length === 1 && "$secret" in v) return "[secret]";
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecrets(x)]));
    }
    return v;
}

prefetch(
    ...STACKS.map((stack) => ({ stack })),
    { stack: "us", stackOutputs: ALL_PEERS_OF_US },
    { stack: "dev", configOverrides: { layers: { mesh: false, tracing: false } } },
    { stack: "us", configOverrides: { shop: { directAccessCidrs: ["10.42.0.0/16", "172.31.7.0/24"] } } },
);

// ---------------------------------------------------------------------------------------------

for (const stack of STACKS) {
    describe(`Warung Kopi shop, stack ${stack}`, function () {
        this.timeout(240_000);
        let s: Shop;
        before(async () => {
            s = await stackShop(stack);
        });

        it("creates every category of the seed, each in the shop's namespaces (the database's in production: its Cluster)", () => {
            const kinds = new Set(s.shop.map((o) => o.kind));
            // In production the database's volumes, StatefulSet and backups are the operator's (the Cluster).
            const databaseKinds = ["PersistentVolume", "PersistentVolumeClaim", "StatefulSet", "CronJob"];
            for (const kind of [
                "Namespace",
                "ResourceQuota",
                "LimitRange",
                "ConfigMap",
                "Secret",
                "StorageClass",
                "PersistentVolume",
                "PersistentVolumeClaim",
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "NetworkPolicy",
                "StatefulSet",
                "Deployment",
                "DaemonSet",
                "Job",
                "CronJob",
                "Service",
                "Ingress",
                "HorizontalPodAutoscaler",
            ].filter((k) => ownsDatabase(s) || !databaseKinds.includes(k)))
                assert.ok(kinds.has(kind), `no ${kind}`);
            if (!ownsDatabase(s)) named(s.all, "Cluster", "postgres", "databases");
            const types = new Set(ofKind(s.shop, "Service").map((o) => o.spec.type ?? "ClusterIP"));
            // The seed's NodePort is the laptop's entry: production stacks serve nothing on node ports.
            for (const type of ["ClusterIP", "LoadBalancer", ...(stack === "dev" ? ["NodePort"] : [])])
                assert.ok(types.has(type), `a ${type} Service`);
            const ps = pods(s.shop);
            // An emptyDir written by one container and read by another of the same pod.
            assert.ok(
                ps.some((p) =>
                    (p.spec.volumes ?? []).some(
                        (v: any) =>
                            v.emptyDir &&
                            containersOf(p.spec).filter((c) =>
                                (c.volumeMounts ?? []).some((m: any) => m.name === v.name),
                            ).length >= 2,
                    ),
                ),
                "a shared emptyDir",
            );
            assert.ok(
                ps.some((p) => Object.keys(p.spec.nodeSelector ?? {}).length > 0),
                "a nodeSelector",
            );
            assert.ok(
                ps.some((p) => p.spec.affinity?.nodeAffinity || p.spec.affinity?.podAntiAffinity),
                "an affinity",
            );
            assert.ok(
                ps.some((p) => (p.spec.tolerations ?? []).length > 0),
                "tolerations",
            );
            // Readiness and liveness probes, requests and memory limits: the policy pack's container-probes
            // and container-resources rules, on every stack (tests/policy-rules.test.ts). The startup probe
            // is the shop's own choice (slow first starts).
            for (const p of ps.filter((x) => ["Deployment", "StatefulSet", "DaemonSet"].includes(x.owner.kind)))
                for (const c of p.spec.containers) assert.ok(c.startupProbe, `${p.id} ${c.name}: startupProbe`);
        });

        it("uses the seed's names, so its commands work (get all, port-forward svc/frontend 8080:80)", () => {
            named(s.all, "Namespace", NS);
            for (const name of ["frontend", "backend", "worker", ...(ownsRedis(s) ? ["redis"] : [])])
                named(s.all, "Deployment", name, NS);
            // The seed's database objects where the shop runs its own PostgreSQL (dev); the regions run a
            // CloudNativePG Cluster instead (tests/data.test.ts).
            if (!isProduction(stack)) {
                named(s.all, "StatefulSet", "postgres", NS);
                named(s.all, "CronJob", "postgres-backup", NS);
                named(s.all, "PersistentVolume", "warung-kopi-backups");
                named(s.all, "PersistentVolumeClaim", "postgres-backups", NS);
            } else assert.ok(!ownsDatabase(s), "no single-pod PostgreSQL in production");
            named(s.all, "DaemonSet", "node-metrics", AGENTS_NS);
            assert.equal(
                ofKind(s.shop, "Job", NS).filter((j) => /^db-migrate-[0-9a-f]{8}$/.test(j.metadata.name!)).length,
                1,
            );
            named(s.all, "ConfigMap", "warung-kopi-config", NS);
            named(s.all, "StorageClass", "warung-kopi-standard");
            named(s.all, "Ingress", "warung-kopi", NS);
            const frontend = named(s.all, "Service", "frontend", NS);
            assert.equal(frontend.spec.type ?? "ClusterIP", "ClusterIP");
            assert.ok(
                frontend.spec.ports.some((p: any) => p.port === 80),
                "Service frontend listens on 80",
            );
            assert.equal(
                (s.result.outputs.portForward as any).frontend,
                "kubectl port-forward svc/frontend -n warung-kopi 8080:80",
            );
            assert.match((s.result.outputs.endpoints as any).shop, /^https:\/\/kopi\./);
            for (const o of s.shop) assert.ok(o.metadata.name, `${o.kind} ${o.$resource.name} has a fixed name`);
        });

        it('meets Pod Security "restricted" in every pod template; the node agent\'s exception is minimal and documented', () => {
            const ns = named(s.all, "Namespace", NS);
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
            const problems = pods(s.shop)
                .filter((p) => p.ns === NS)
                .flatMap((p) => podSecurityProblems(p.spec).map((m) => `${p.id}: ${m}`));
            assert.deepEqual(problems, []);

            const agents = named(s.all, "Namespace", AGENTS_NS);
            assert.equal(agents.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
            assert.equal(agents.metadata.labels?.["pod-security.kubernetes.io/warn"], "restricted");
            assert.ok(
                Object.values(agents.metadata.annotations ?? {}).some((a) => /hostPath/.test(a)),
                "the reason is recorded on the namespace",
            );
            const agentPods = pods(s.shop).filter((p) => p.ns === AGENTS_NS);
            assert.deepEqual(
                agentPods.map((p) => p.id),
                [`DaemonSet ${AGENTS_NS}/node-metrics`],
            );
            const [agent] = agentPods;
            assert.deepEqual(podSecurityProblems(agent.spec, { nodeAgentException: true }), []);
            // Everything but read-only /proc and /sys still meets "restricted".
            const hostPaths = agent.spec.volumes
                .filter((v: any) => v.hostPath)
                .map((v: any) => v.hostPath.path)
                .sort();
            assert.deepEqual(hostPaths, ["/proc", "/sys"]);
            const rest = { ...agent.spec, volumes: agent.spec.volumes.filter((v: any) => !v.hostPath) };
            assert.deepEqual(podSecurityProblems(rest), []);
            assert.ok(agent.spec.containers.every((c: any) => c.securityContext.readOnlyRootFilesystem === true));
            // On every node: tolerates every taint (NoSchedule and NoExecute alike).
            assert.ok(
                agent.spec.tolerations.some((t: any) => t.operator === "Exists" && !t.key && !t.effect),
                JSON.stringify(agent.spec.tolerations),
            );
        });

        it("resolves every reference: selectors and ports, Secrets, ConfigMaps, claims, ServiceAccounts, bindings, HPA/PDB targets, Ingress backends, NetworkPolicy selectors", () => {
            assert.deepEqual(referenceProblems(s.shop, s.all), []);
        });

        it("gives each workload its own ServiceAccount, mounts an API token only into the worker, and grants named verbs on named resources", () => {
            const ps = pods(s.shop);
            const sas = ps.map((p) => `${p.ns}/${p.spec.serviceAccountName}`);
            assert.equal(new Set(sas).size, sas.length, `shared ServiceAccounts: ${sas.join(", ")}`);
            const tokens = ps.filter((p) => p.spec.automountServiceAccountToken !== false).map((p) => p.id);
            assert.deepEqual(tokens, [`Deployment ${NS}/worker`]);
            for (const sa of ofKind(s.shop, "ServiceAccount"))
                assert.equal(
                    sa.automountServiceAccountToken,
                    sa.metadata.name === "worker" ? true : false,
                    `ServiceAccount ${sa.metadata.name}`,
                );
            const roles = ofKind(s.shop, "Role");
            assert.deepEqual(
                roles.map((r) => r.metadata.name),
                ["worker"],
            );
            for (const rule of roles[0].rules)
                for (const f of ["verbs", "resources", "apiGroups"])
                    assert.ok(!rule[f].includes("*"), `no wildcard in ${f}`);
            const cm = roles[0].rules.find((r: any) => r.resources.includes("configmaps"));
            assert.deepEqual(cm.resourceNames, ["warung-kopi-config"]);
            assert.deepEqual([...cm.verbs].sort(), ["get", "list", "watch"]);
            assert.ok(roles[0].rules.some((r: any) => r.resources.includes("events") && r.verbs.join() === "create"));
            const binding = named(s.all, "RoleBinding", "worker", NS);
            assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "worker", namespace: NS }]);
        });

        it("denies by default and allows each real flow, nothing else", () => {
            for (const ns of SHOP_NAMESPACES) {
                const deny = ofKind(s.all, "NetworkPolicy", ns).filter(
                    (p) =>
                        Object.keys(p.spec.podSelector?.matchLabels ?? {}).length === 0 &&
                        !p.spec.ingress &&
                        !p.spec.egress,
                );
                assert.equal(deny.length, 1, `default-deny in ${ns}`);
            }
            const w = (kind: string, name: string, ns = NS) => workloadEndpoint(s.all, kind, name, ns);
            const frontend = w("Deployment", "frontend"),
                backend = w("Deployment", "backend"),
                worker = w("Deployment", "worker");
            const { endpoint: postgres, metricsPort: pgMetrics } = databaseServers(s);
            const migrate = w(
                "Job",
                ofKind(s.all, "Job", NS).find((j) => j.metadata.name!.startsWith("db-migrate-"))!.metadata.name!,
            );
            const agent = w("DaemonSet", "node-metrics", AGENTS_NS);
            const prometheus: Endpoint = { ns: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" } };
            const dns: Endpoint = { ns: "kube-system", labels: { "k8s-app": "kube-dns" } };
            const internet: Endpoint = { ip: "198.51.100.7" };
            // A machine on the private network (VPC/VPN in the regions, the laptop's Docker bridge in dev).
            const privateClient: Endpoint = { ip: "10.20.30.40" };
            const stranger: Endpoint = { ns: "default", labels: { app: "stranger" } };
            const cache: Endpoint = ownsRedis(s) ? w("Deployment", "redis") : { ns: "redis-enterprise", labels: {} };
            const cachePort = Number(named(s.all, "ConfigMap", "warung-kopi-config", NS).data.REDIS_PORT);

            const must: [string, Endpoint, Endpoint, number][] = [
                [
                    "private network -> frontend (frontend-public; frontend-nodeport in dev)",
                    privateClient,
                    frontend,
                    8080,
                ],
                ["frontend -> backend", frontend, backend, 8080],
                ["backend -> postgres", backend, postgres, 5432],
                ["worker -> postgres", worker, postgres, 5432],
                ["db-migrate -> postgres", migrate, postgres, 5432],
                ...(ownsDatabase(s)
                    ? ([["postgres-backup -> postgres", w("CronJob", "postgres-backup"), postgres, 5432]] as [
                          string,
                          Endpoint,
                          Endpoint,
                          number,
                      ][])
                    : []),
                ["monitoring -> backend metrics", prometheus, backend, 9464],
                ["monitoring -> worker metrics", prometheus, worker, 9464],
                ["monitoring -> node-metrics", prometheus, agent, 9100],
                ["monitoring -> frontend metrics", prometheus, frontend, 9464],
                ["monitoring -> postgres metrics", prometheus, postgres, pgMetrics],
            ];
            if (ownsRedis(s))
                must.push(
                    ["backend -> redis", backend, cache, 6379],
                    ["worker -> redis", worker, cache, 6379],
                    ["monitoring -> redis metrics", prometheus, cache, 9464],
                );
            const mustNot: [string, Endpoint, Endpoint, number][] = [
                // The internet reaches the shop through the Istio ingress gateway only (HTTPS).
                ["internet -> frontend", internet, frontend, 8080],
                ["stranger -> frontend", stranger, frontend, 8080],
                ["stranger -> frontend metrics", stranger, frontend, 9464],
                ["stranger -> postgres metrics", stranger, postgres, pgMetrics],
                ["internet -> backend", internet, backend, 8080],
                ["stranger -> backend", stranger, backend, 8080],
                ["stranger -> postgres", stranger, postgres, 5432],
                ["frontend -> postgres", frontend, postgres, 5432],
                ["frontend -> redis", frontend, cache, cachePort],
                ["frontend -> worker", frontend, worker, 8080],
                ["db-migrate -> backend", migrate, backend, 8080],
                ["postgres -> backend", postgres, backend, 8080],
                ["stranger -> node-metrics", stranger, agent, 9100],
                ["stranger -> backend metrics", stranger, backend, 9464],
            ];
            if (ownsRedis(s))
                mustNot.push(
                    ["stranger -> redis", stranger, cache, 6379],
                    ["stranger -> redis metrics", stranger, cache, 9464],
                );
            assert.deepEqual(
                must.filter(([, a, b, port]) => !allowed(s, a, b, port)).map(([n]) => n),
                [],
                "flows that must be allowed",
            );
            assert.deepEqual(
                mustNot.filter(([, a, b, port]) => allowed(s, a, b, port)).map(([n]) => n),
                [],
                "flows that must be denied",
            );
            for (const p of pods(s.shop))
                assert.ok(allowed(s, { ns: p.ns, labels: p.labels }, dns, 53, "UDP"), `${p.id} resolves names`);

            const mesh = ofKind(s.all, "Namespace").some((n) => n.metadata.name === "istio-system");
            if (mesh) {
                const gateway: Endpoint = {
                    ns: "istio-ingress",
                    labels: { app: "istio-ingressgateway", istio: "ingressgateway" },
                };
                // The gateway's own egress is the mesh chart's; what the shop decides is who it admits.
                const admits = (dst: Endpoint, port: number) => directionAllowed(s, dst, gateway, port, "Ingress");
                assert.ok(admits(frontend, 8080), "ingress gateway -> frontend");
                assert.ok(admits(backend, 8080), "ingress gateway -> backend (/api)");
                assert.ok(!admits(postgres, 5432), "ingress gateway -/-> postgres");
            }
        });

        it("sets a ResourceQuota that fits every workload at its autoscaling maximum plus the Jobs", () => {
            const hard = named(s.all, "ResourceQuota", "compute", NS).spec.hard;
            const workloads = s.shop.filter((o) => o.metadata.namespace === NS && podTemplate(o));
            let cpu = 0,
                memory = 0,
                memoryLimit = 0,
                cpuLimit = 0,
                count = 0;
            for (const o of workloads) {
                const n = maxPods(s, o);
                const f = footprint(podTemplate(o)!.spec);
                cpu += n * f.cpu;
                memory += n * f.memory;
                memoryLimit += n * f.memoryLimit;
                cpuLimit += n * f.cpuLimit;
                count += n;
            }
            assert.ok(
                parseQuantity(hard["requests.cpu"]) >= cpu - 1e-9,
                `requests.cpu ${hard["requests.cpu"]} < ${cpu}`,
            );
            assert.ok(
                parseQuantity(hard["requests.memory"]) >= memory,
                `requests.memory ${hard["requests.memory"]} < ${memory / 2 ** 20}Mi`,
            );
            assert.ok(
                parseQuantity(hard["limits.memory"]) >= memoryLimit,
                `limits.memory ${hard["limits.memory"]} < ${memoryLimit / 2 ** 20}Mi`,
            );
            if (hard["limits.cpu"])
                assert.ok(
                    parseQuantity(hard["limits.cpu"]) >= cpuLimit - 1e-9,
                    `limits.cpu ${hard["limits.cpu"]} < ${cpuLimit}`,
                );
            assert.ok(Number(hard.pods) >= count, `pods ${hard.pods} < ${count}`);
            const claims = [
                ...ofKind(s.shop, "PersistentVolumeClaim", NS).map((c) => c.spec.resources.requests.storage),
                ...ofKind(s.shop, "StatefulSet", NS).flatMap((st) =>
                    (st.spec.volumeClaimTemplates ?? []).flatMap((t: any) =>
                        Array(st.spec.replicas ?? 1).fill(t.spec.resources.requests.storage),
                    ),
                ),
            ];
            assert.ok(Number(hard.persistentvolumeclaims) >= claims.length);
            assert.ok(parseQuantity(hard["requests.storage"]) >= claims.reduce((a, q) => a + parseQuantity(q), 0));
            const services = ofKind(s.shop, "Service", NS);
            assert.ok(
                Number(hard["services.loadbalancers"]) >= services.filter((x) => x.spec.type === "LoadBalancer").length,
            );
            assert.ok(
                Number(hard["services.nodeports"]) >=
                    services
                        .filter((x) => ["NodePort", "LoadBalancer"].includes(x.spec.type))
                        .flatMap((x) => x.spec.ports).length,
            );
            // Every container counts against the quota, so the LimitRange gives defaults to those that set none.
            const limits = named(s.all, "LimitRange", "container-defaults", NS).spec.limits[0];
            assert.ok(limits.default?.memory && limits.defaultRequest?.cpu && limits.defaultRequest?.memory);
        });

        it("keeps every credential in a Secret, generated and held as a Pulumi secret, and nowhere else", () => {
            const secrets = s.shop.filter((o) => o.kind === "Secret");
            assert.deepEqual(secrets.map((x) => x.metadata.name).sort(), [
                "db-app-credentials",
                "db-migrate-credentials",
                // The own server's superuser and payment's login: created here only where the shop runs its database.
                ...(ownsDatabase(s) ? ["payment-db-credentials", "postgres-credentials"] : []),
                "redis-credentials",
                "warung-kopi-api-key",
            ]);
            const values: string[] = [];
            for (const secret of secrets) {
                for (const field of ["data", "stringData"]) {
                    const raw = secret.$resource.inputs[field];
                    for (const [k, v] of Object.entries<any>(unsecret(raw) ?? {})) {
                        assert.ok(
                            isSecret(raw) || isSecret(raw[k]),
                            `${secret.metadata.name}.${field}.${k} is a Pulumi secret`,
                        );
                        if (k !== "username") values.push(String(v));
                    }
                }
            }
            assert.ok(
                values.length >= 3 && values.every((v) => v.length >= 16),
                "generated credentials of at least 16 characters",
            );
            const byUrn = new Map(s.result.resources.map((r) => [r.urn, r]));
            const underShop = (r: RecordedResource): boolean =>
                !!r.parent && (r.parent.includes("ecommerce:platform:WarungKopi::") || underShop(byUrn.get(r.parent)!));
            const generated = s.result.resources.filter(
                (r) => r.type === "random:index/randomPassword:RandomPassword" && underShop(r),
            );
            assert.ok(
                generated.length >= (ownsRedis(s) ? 3 : 2) - (ownsDatabase(s) ? 0 : 1),
                "credentials come from RandomPassword",
            );
            const elsewhere = s.result.resources
                .filter((r) => r.type !== "kubernetes:core/v1:Secret")
                .map((r) => [`${r.type} ${r.name}`, JSON.stringify(unsecret(r.inputs))] as const);
            elsewhere.push(["stack outputs", JSON.stringify(withoutSecrets(s.result.outputs))]);
            const leaks = elsewhere.flatMap(([where, text]) => values.filter((v) => text.includes(v)).map(() => where));
            assert.deepEqual(leaks, []);
            // Pods read them through secretKeyRef only: no literal value anywhere in a pod template.
            for (const p of pods(s.shop)) {
                const text = JSON.stringify(p.spec);
                assert.ok(!values.some((v) => text.includes(v)), `${p.id} holds a credential`);
            }
        });

        it("gives the payment service a database and login of its own, end to end, whichever engine serves it", () => {
            const paymentLogin = named(s.all, "Secret", "payment-db", "ecommerce");
            // One generated password on both sides: the role's Secret where the server is, payment's copy.
            const roleSecret = ownsDatabase(s)
                ? named(s.all, "Secret", "payment-db-credentials", NS)
                : named(s.all, "Secret", "postgres-role-payment", "databases");
            assert.equal(
                unsecret(paymentLogin.$resource.inputs.stringData).password,
                unsecret(roleSecret.$resource.inputs.stringData).password,
                "one generated password on both sides",
            );
            const stringData = paymentLogin.$resource.inputs.stringData;
            assert.ok(
                "$secret" in stringData || "$secret" in stringData.password,
                "still a Pulumi secret in ecommerce",
            );
            if (ownsDatabase(s)) {
                // The provisioning Job creates the role and database from the shop-side Secret.
                const job = ofKind(s.all, "Job", NS).find((j) => j.metadata.name!.startsWith("postgres-roles-"))!;
                const c = job.spec.template.spec.containers[0];
                assert.match(c.command.join(" "), /CREATE ROLE[\s\S]*ALTER ROLE[\s\S]*CREATE DATABASE/);
                assert.deepEqual(c.env.find((e: any) => e.name === "PAYMENT_DB_PASSWORD").valueFrom, {
                    secretKeyRef: { name: "payment-db-credentials", key: "password" },
                });
            } else {
                // The operator declares the role (managed role) and its database (Database resource).
                const cluster = named(s.all, "Cluster", "postgres", "databases");
                assert.ok(
                    cluster.spec.managed.roles.some(
                        (r: any) => r.name === "payment" && r.passwordSecret.name === "postgres-role-payment",
                    ),
                );
                assert.equal(named(s.all, "Database", "payments", "databases").spec.owner, "payment");
            }
            // Traffic: payment may leave for the servers, and the servers admit payment from ecommerce.
            const { endpoint: servers } = databaseServers(s);
            const payment = named(s.all, "Deployment", "payment", "ecommerce");
            const paymentPod: Endpoint = { ns: "ecommerce", labels: payment.spec.template.metadata.labels };
            assert.ok(allowed(s, paymentPod, servers, 5432), "payment -> its database");
            const env = payment.spec.template.spec.containers[0].env;
            assert.equal(
                env.find((e: any) => e.name === "TRANSACTION_DB_HOST").value,
                ownsDatabase(s) ? `postgres.${NS}.svc.cluster.local` : "postgres-rw.databases.svc.cluster.local",
            );
        });

        it("runs the migration SQL the program ships, in a Job named after its digest, once PostgreSQL is up", () => {
            const { files, digest } = migrationScripts(path.join(ROOT, "sql"));
            const jobs = ofKind(s.all, "Job", NS).filter((j) => j.metadata.name!.startsWith(`db-migrate-${digest}`));
            assert.equal(jobs.length, 1, `one Job db-migrate-${digest}`);
            const [job] = jobs;
            const schema = named(
                s.all,
                "ConfigMap",
                job.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name,
                NS,
            );
            assert.deepEqual(
                schema.data,
                Object.fromEntries(
                    fs
                        .readdirSync(path.join(ROOT, "sql"))
                        .filter((f) => f.endsWith(".sql"))
                        .map((f) => [f, fs.readFileSync(path.join(ROOT, "sql", f), "utf8")]),
                ),
            );
            assert.deepEqual(Object.keys(files), Object.keys(schema.data));
            assert.match(job.spec.template.spec.containers[0].command.join(" "), /psql -v ON_ERROR_STOP=1/);
            // It waits for the server: the StatefulSet, or the Cluster (Ready) where the operator runs it.
            const server = ownsDatabase(s)
                ? named(s.all, "StatefulSet", "postgres", NS)
                : named(s.all, "Cluster", "postgres", "databases");
            assert.ok(job.$resource.dependencies.includes(server.$resource.urn), "waits for the database server");
            assert.ok(job.spec.backoffLimit >= 1 && job.spec.activeDeadlineSeconds > 0);
            assert.equal(job.spec.template.spec.restartPolicy, "Never");
        });

        // The shop's own PostgreSQL (dev); the regions' Cluster backs up through its operator (tests/data.test.ts).
        if (!isProduction(stack))
            it("backs PostgreSQL up daily to the backup volume, one run at a time", () => {
                const cron = named(s.all, "CronJob", "postgres-backup", NS);
                assert.equal(cron.spec.schedule, "0 2 * * *");
                assert.equal(cron.spec.concurrencyPolicy, "Forbid");
                assert.ok(cron.spec.successfulJobsHistoryLimit >= 1 && cron.spec.failedJobsHistoryLimit >= 1);
                const spec = cron.spec.jobTemplate.spec.template.spec;
                assert.ok(spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "postgres-backups"));
                assert.match(spec.containers[0].command.join(" "), /pg_dump/);
                const pv = named(s.all, "PersistentVolume", "warung-kopi-backups");
                assert.deepEqual([pv.spec.claimRef.namespace, pv.spec.claimRef.name], [NS, "postgres-backups"]);
                assert.equal(pv.spec.storageClassName, "");
                assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
                // Job pods let an Istio sidecar exit with them.
                for (const p of pods(s.shop).filter((x) => ["Job", "CronJob"].includes(x.owner.kind)))
                    assert.equal(p.annotations["sidecar.istio.io/nativeSidecar"], "true", p.id);
            });

        it("pins every image by tag and runs them as the non-root users they are built for", () => {
            for (const p of pods(s.shop))
                for (const c of containersOf(p.spec)) {
                    assert.match(c.image, /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, `${p.id} ${c.name}`);
                    assert.doesNotMatch(c.image, /:latest$/);
                }
            const uid = (kind: string, name: string, ns = NS) =>
                podTemplate(named(s.all, kind, name, ns))!.spec.securityContext.runAsUser;
            if (ownsDatabase(s)) assert.equal(uid("StatefulSet", "postgres"), 70);
            assert.equal(uid("Deployment", "frontend"), 101);
            assert.equal(uid("Deployment", "backend"), 1000);
            if (ownsRedis(s)) assert.equal(uid("Deployment", "redis"), 999);
        });

        it(`reaches the frontend directly only from the private networks: ClusterIP \`frontend\` 80, LoadBalancer \`frontend-public\`${stack === "dev" ? ", NodePort `frontend-nodeport`" : ""}`, () => {
            const svc = (name: string) => named(s.all, "Service", name, NS);
            const frontendPods = podTemplate(named(s.all, "Deployment", "frontend", NS))!;
            const httpPort = containerPorts(frontendPods.spec).find((p) => p.name === "http").containerPort;
            assert.equal(svc("frontend").spec.type ?? "ClusterIP", "ClusterIP");
            assert.equal(svc("frontend-public").spec.type, "LoadBalancer");
            // A NodePort serves plain HTTP on every node's address, and a pod cannot refuse its own node's
            // traffic: only the laptop has one; no production stack exposes any Service on node ports.
            const nodePorts = ofKind(s.all, "Service").filter((o) => o.spec.type === "NodePort");
            assert.deepEqual(
                nodePorts.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
                stack === "dev" ? [`${NS}/frontend-nodeport`] : [],
            );
            assert.ok(
                nodePorts.every((o) => o.spec.externalTrafficPolicy === "Local"),
                "client addresses reach the frontend's policies",
            );
            for (const name of ["frontend", ...(stack === "dev" ? ["frontend-nodeport"] : []), "frontend-public"]) {
                const port = svc(name).spec.ports.find((p: any) => p.name === "http");
                assert.equal(port.port, 80, `${name} listens on 80`);
                assert.ok(
                    selectorMatches({ matchLabels: svc(name).spec.selector }, frontendPods.metadata.labels),
                    `${name} selects the frontend`,
                );
            }
            const cidrs =
                stack === "dev" ? ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"] : ["10.0.0.0/8"];
            assert.deepEqual(svc("frontend-public").spec.loadBalancerSourceRanges, cidrs);
            assert.equal(svc("frontend-public").spec.externalTrafficPolicy, "Local");
            // The frontend's NetworkPolicy: those networks and the ingress gateway, nothing wider.
            const policies = ofKind(s.all, "NetworkPolicy", NS).filter((p) =>
                selectorMatches(p.spec.podSelector, frontendPods.metadata.labels),
            );
            const peers = policies.flatMap((p) =>
                (p.spec.ingress ?? [])
                    .filter((r: any) => rulePortMatches(r.ports, httpPort, containerPorts(frontendPods.spec)))
                    .flatMap((r: any) => r.from ?? [{}]),
            );
            assert.deepEqual(
                peers.filter((p: any) => p.ipBlock).map((p: any) => p.ipBlock.cidr),
                cidrs,
            );
            assert.ok(!peers.some((p: any) => p.ipBlock?.cidr === "0.0.0.0/0"), "not the whole internet");
            assert.ok(
                !peers.some(
                    (p: any) =>
                        p.namespaceSelector &&
                        !p.namespaceSelector.matchLabels &&
                        !p.namespaceSelector.matchExpressions,
                ),
                "not every namespace",
            );
            assert.ok(
                !peers.some((p: any) => !p.ipBlock && !p.podSelector && !p.namespaceSelector),
                "no rule without sources",
            );
            // The public entry: the Ingress through the Istio gateway, HTTPS.
            const ingress = named(s.all, "Ingress", "warung-kopi", NS);
            assert.ok(
                ingress.spec.rules[0].http.paths.some(
                    (p: any) => p.path === "/" && p.backend.service.name === "frontend",
                ),
            );
        });

        it("accepts plain text from outside the mesh only on metrics ports and the frontend's serving port", () => {
            const pas = ofKind(s.all, "PeerAuthentication", NS);
            if (!ofKind(s.all, "Namespace").some((n) => n.metadata.name === "istio-system"))
                return assert.equal(pas.length, 0);
            const workloads = pods(s.shop).filter((p) => p.ns === NS);
            const frontend = podTemplate(named(s.all, "Deployment", "frontend", NS))!;
            const servingPort = containerPorts(frontend.spec).find((p) => p.name === "http").containerPort;
            const wrong: string[] = [];
            for (const pa of pas) {
                assert.equal(pa.spec.mtls?.mode, "STRICT", `${pa.metadata.name}: STRICT by default`);
                const selected = workloads.filter((w) => selectorMatches(pa.spec.selector, w.labels));
                for (const [port, setting] of Object.entries<any>(pa.spec.portLevelMtls ?? {})) {
                    if (setting.mode !== "PERMISSIVE") continue;
                    const metrics =
                        selected.length > 0 &&
                        selected.every((w) =>
                            containerPorts(w.spec).some(
                                (p) => p.name === "http-metrics" && p.containerPort === Number(port),
                            ),
                        );
                    const serving =
                        selected.some((w) => w.owner === named(s.all, "Deployment", "frontend", NS)) &&
                        Number(port) === servingPort;
                    if (!metrics && !serving) wrong.push(`${pa.metadata.name}: ${port}`);
                }
            }
            assert.deepEqual(wrong, []);
            const permissive = (workload: string, kind: string, port: number) => {
                const labels = podTemplate(named(s.all, kind, workload, NS))!.metadata.labels;
                return pas
                    .filter((p) => selectorMatches(p.spec.selector, labels))
                    .some((p) => p.spec.portLevelMtls?.[String(port)]?.mode === "PERMISSIVE");
            };
            assert.ok(permissive("frontend", "Deployment", servingPort), "direct access reaches the frontend");
            for (const [kind, w] of [
                ["Deployment", "frontend"],
                ["Deployment", "backend"],
                ["Deployment", "worker"],
                ...(ownsDatabase(s) ? [["StatefulSet", "postgres"]] : []),
                ...(ownsRedis(s) ? [["Deployment", "redis"]] : []),
            ])
                assert.ok(permissive(w, kind, 9464), `Prometheus scrapes ${w}`);
            assert.ok(!permissive("backend", "Deployment", 8080), "the backend's API stays mTLS-only");
            if (ownsDatabase(s)) assert.ok(!permissive("postgres", "StatefulSet", 5432), "PostgreSQL stays mTLS-only");
        });

        it("monitors every service it runs: frontend, backend, worker, postgres, redis and node-metrics each have a ServiceMonitor and alerts", () => {
            const monitors = ofKind(s.all, "ServiceMonitor").filter((m) =>
                SHOP_NAMESPACES.includes(m.metadata.namespace!),
            );
            // The CloudNativePG Cluster has its PodMonitor and alerts in its own namespace (tests/data.test.ts).
            const services = [
                "frontend",
                "backend",
                "worker",
                ...(ownsDatabase(s) ? ["postgres"] : []),
                ...(ownsRedis(s) ? ["redis"] : []),
            ];
            for (const name of services) {
                const monitor = monitors.find((m) => m.metadata.namespace === NS && m.metadata.name === name);
                assert.ok(monitor, `ServiceMonitor ${name}`);
                const svc = named(s.all, "Service", name, NS);
                assert.ok(
                    selectorMatches(monitor.spec.selector, svc.metadata.labels),
                    `${name}: selects Service ${name}`,
                );
                assert.equal(monitor.spec.endpoints[0].port, "http-metrics");
                assert.ok(
                    svc.spec.ports.some((p: any) => p.name === "http-metrics" && p.targetPort === "http-metrics"),
                    `${name}: Service port http-metrics`,
                );
                const rules = named(s.all, "PrometheusRule", `${name}-slo`, NS);
                assert.ok(
                    rules.spec.groups[0].rules.some((r: any) => r.alert === "ServiceDown"),
                    `${name}: alerts`,
                );
            }
            assert.ok(monitors.some((m) => m.metadata.namespace === AGENTS_NS && m.metadata.name === "node-metrics"));
        });

        it("runs pinned exporter sidecars (restricted, small, reading the watched process on loopback, credentials from Secrets)", () => {
            const expected: [string, string, string, string, string][] = [
                ["Deployment", "frontend", IMAGES.nginxExporter, "nginx_up", "nginx-exporter"],
                ...(ownsDatabase(s)
                    ? [
                          ["StatefulSet", "postgres", IMAGES.postgresExporter, "pg_up", "postgres-exporter"] as [
                              string,
                              string,
                              string,
                              string,
                              string,
                          ],
                      ]
                    : []),
                ...(ownsRedis(s)
                    ? [
                          ["Deployment", "redis", IMAGES.redisExporter, "redis_up", "redis-exporter"] as [
                              string,
                              string,
                              string,
                              string,
                              string,
                          ],
                      ]
                    : []),
            ];
            for (const [kind, name, image, upMetric, resourcesKey] of expected) {
                const spec = podTemplate(named(s.all, kind, name, NS))!.spec;
                const exporter = spec.containers.find((c: any) => c.name === "metrics");
                assert.ok(exporter, `${name}: container metrics`);
                assert.equal(exporter.image, image);
                assert.deepEqual(exporter.ports, [{ name: "http-metrics", containerPort: 9464, protocol: "TCP" }]);
                assert.deepEqual(podSecurityProblems({ ...spec, containers: [exporter], initContainers: [] }), []);
                assert.equal(exporter.securityContext.readOnlyRootFilesystem, true);
                for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"])
                    assert.ok(exporter[probe], `${name}: ${probe}`);
                assert.ok(
                    parseQuantity(exporter.resources.requests.memory) <= 64 * 2 ** 20 &&
                        parseQuantity(exporter.resources.limits.memory) <= 128 * 2 ** 20,
                    `${name}: small (${resourcesKey})`,
                );
                for (const e of exporter.env ?? [])
                    assert.ok(!/PASS/.test(e.name) || e.valueFrom?.secretKeyRef, `${name}: ${e.name} from a Secret`);
                const rules = named(s.all, "PrometheusRule", `${name}-slo`, NS).spec.groups[0].rules;
                assert.ok(
                    rules.some((r: any) => r.expr.includes(`${upMetric}{`)),
                    `${name}: alert on ${upMetric}`,
                );
                assert.ok(
                    !rules.some((r: any) => /http_requests_total/.test(r.expr)),
                    `${name}: no HTTP SLO alerts for an exporter without request metrics`,
                );
            }
            if (ownsDatabase(s)) {
                const pg = podTemplate(named(s.all, "StatefulSet", "postgres", NS))!.spec.containers.find(
                    (c: any) => c.name === "metrics",
                );
                const env = Object.fromEntries(pg.env.map((e: any) => [e.name, e]));
                assert.match(env.DATA_SOURCE_URI.value, /^127\.0\.0\.1:5432\/warung_kopi\?sslmode=disable$/);
                assert.deepEqual(env.DATA_SOURCE_USER.valueFrom, {
                    secretKeyRef: { name: "postgres-credentials", key: "username" },
                });
                assert.deepEqual(env.DATA_SOURCE_PASS.valueFrom, {
                    secretKeyRef: { name: "postgres-credentials", key: "password" },
                });
            }
            if (ownsRedis(s)) {
                const redis = podTemplate(named(s.all, "Deployment", "redis", NS))!.spec.containers.find(
                    (c: any) => c.name === "metrics",
                );
                assert.deepEqual(redis.env.find((e: any) => e.name === "REDIS_PASSWORD").valueFrom, {
                    secretKeyRef: { name: "redis-credentials", key: "password" },
                });
            }
            // nginx's stub_status listens on the pod's loopback only; the exporter reads it there.
            const conf = named(s.all, "ConfigMap", "frontend-nginx", NS).data["default.conf"];
            const status = /server \{\s*listen ([^;]+);[^}]*stub_status/.exec(conf);
            assert.ok(status, "a stub_status server");
            assert.match(status[1], /^127\.0\.0\.1:\d+$/);
            const nginxExporter = podTemplate(named(s.all, "Deployment", "frontend", NS))!.spec.containers.find(
                (c: any) => c.name === "metrics",
            );
            assert.ok(nginxExporter.args.includes(`--nginx.scrape-uri=http://${status[1]}/stub_status`));
        });

        it("names the migration Job after the SQL alone: no digest of any password in an object name", () => {
            const { digest } = migrationScripts(path.join(ROOT, "sql"));
            const job = ofKind(s.all, "Job", NS).find((j) => j.metadata.name!.startsWith("db-migrate-"))!;
            assert.equal(job.metadata.name, migrationJobName(digest));
            const roles = ofKind(s.all, "Job", NS).filter((j) => j.metadata.name!.startsWith("postgres-roles-"));
            if (isProduction(stack)) assert.equal(roles.length, 0, "the operator declares the roles");
            else {
                assert.equal(roles.length, 1, "dev provisions its roles with a Job");
                // Re-run on rotation by a random generation whose keepers hold the passwords (as a secret).
                const generation = s.result.resources.find(
                    (r) => r.type === "random:index/randomId:RandomId" && /roles-generation$/.test(r.name),
                );
                assert.ok(generation, "a generation for the roles Job");
                const keepers = generation.inputs.keepers;
                assert.ok("$secret" in keepers || "$secret" in keepers.passwords, "keepers are a secret");
            }
        });

        if (isProduction(stack)) {
            it("runs serving workloads replicated, with PodDisruptionBudgets, spread across nodes and zones", () => {
                for (const name of ["frontend", "backend"]) {
                    const d = named(s.all, "Deployment", name, NS);
                    const min = hpaFor(s, "Deployment", name)?.spec.minReplicas ?? d.spec.replicas;
                    assert.ok(min >= 2, `${name}: at least 2 replicas`);
                    const labels = d.spec.template.metadata.labels;
                    assert.ok(
                        ofKind(s.all, "PodDisruptionBudget", NS).some((p) => selectorMatches(p.spec.selector, labels)),
                        `${name}: PodDisruptionBudget`,
                    );
                    const keys = d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey);
                    assert.deepEqual(keys.sort(), ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
                }
            });

            it("protects PostgreSQL data from deletion by Pulumi and by the operator", () => {
                for (const [kind, name, ns] of [
                    ["Cluster", "postgres", "databases"],
                    ["Database", "payments", "databases"],
                    ["ObjectStore", "postgres-backups", "databases"],
                ] as const) {
                    const o = named(s.all, kind, name, ns);
                    assert.ok(o.$resource.protect && o.$resource.retainOnDelete, `${kind} ${name}`);
                }
                assert.equal(named(s.all, "Database", "payments", "databases").spec.databaseReclaimPolicy, "retain");
                assert.equal(named(s.all, "StorageClass", "platform-standard").reclaimPolicy, "Retain");
            });

            it("exposes frontend-public as an INTERNAL load balancer of the cloud, for the private network only, and uses the cloud's CSI provisioner", () => {
                const distribution = configOf(stack).cluster.distribution;
                const pub = named(s.all, "Service", "frontend-public", NS);
                assert.equal(pub.spec.type, "LoadBalancer");
                const internal: Record<string, Record<string, string>> = {
                    eks: {
                        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
                        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                    },
                    gke: { "networking.gke.io/load-balancer-type": "Internal" },
                    aks: { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" },
                };
                for (const [k, v] of Object.entries(internal[distribution]))
                    assert.equal(pub.metadata.annotations?.[k], v, `${distribution}: ${k}`);
                assert.equal(
                    pub.metadata.annotations?.["pulumi.com/skipAwait"],
                    undefined,
                    "a region waits for its load balancer",
                );
                assert.deepEqual(pub.spec.loadBalancerSourceRanges, ["10.0.0.0/8"]);
                assert.equal(pub.spec.externalTrafficPolicy, "Local", "client addresses reach the NetworkPolicy");
                const sc = named(s.all, "StorageClass", "warung-kopi-standard");
                const csi: Record<string, string> = {
                    eks: "ebs.csi.aws.com",
                    gke: "pd.csi.storage.gke.io",
                    aks: "disk.csi.azure.com",
                };
                assert.equal(sc.provisioner, csi[distribution], distribution);
                assert.equal(sc.allowVolumeExpansion, true);
            });
        } else {
            it("fits well within a 4 CPU / 8 GiB laptop, at start and with every autoscaler at its maximum", () => {
                const sum = (at: "start" | "max") =>
                    pods(s.shop).reduce(
                        (a, p) => {
                            const n =
                                p.owner.kind === "DaemonSet"
                                    ? 1
                                    : at === "start"
                                      ? (p.owner.spec.replicas ?? 1)
                                      : maxPods(s, p.owner);
                            const f = footprint(p.spec);
                            return { cpu: a.cpu + n * f.cpu, memory: a.memory + n * f.memory };
                        },
                        { cpu: 0, memory: 0 },
                    );
                const start = sum("start"),
                    max = sum("max");
                assert.ok(
                    start.cpu <= 0.5 && start.memory <= 2 ** 30,
                    `at start ${start.cpu} CPU, ${start.memory / 2 ** 20}Mi`,
                );
                assert.ok(
                    max.cpu <= 1 && max.memory <= 2 * 2 ** 30,
                    `at maximum ${max.cpu} CPU, ${max.memory / 2 ** 20}Mi`,
                );
            });

            it("waits for nothing a laptop cluster never provides: no awaited LoadBalancer or Ingress, one node suffices", () => {
                assert.deepEqual(
                    ofKind(s.all, "Service")
                        .filter(
                            (o) =>
                                o.spec?.type === "LoadBalancer" &&
                                o.metadata.annotations?.["pulumi.com/skipAwait"] !== "true",
                        )
                        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
                    [],
                );
                assert.deepEqual(
                    ofKind(s.all, "Ingress")
                        .filter((o) => o.metadata.annotations?.["pulumi.com/skipAwait"] !== "true")
                        .map((o) => o.metadata.name),
                    [],
                );
                assert.equal(
                    named(s.all, "Service", "frontend-nodeport", NS).spec.type,
                    "NodePort",
                    "the laptop entry",
                );
                assert.equal(
                    named(s.all, "Service", "frontend-public", NS).spec.type,
                    "LoadBalancer",
                    "Docker Desktop assigns it an address",
                );
                for (const p of pods(s.shop)) {
                    for (const [k, v] of Object.entries<string>(p.spec.nodeSelector ?? {}))
                        assert.equal((kindNode as any)[k], v, `${p.id}: nodeSelector ${k}=${v}`);
                    const required =
                        p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
                            ?.nodeSelectorTerms;
                    if (required)
                        assert.ok(
                            required.some((t: any) => nodeTermSatisfied(t, kindNode)),
                            `${p.id}: required node affinity`,
                        );
                    assert.ok(
                        !p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
                        `${p.id}: required anti-affinity`,
                    );
                    for (const t of p.spec.topologySpreadConstraints ?? [])
                        assert.equal(t.whenUnsatisfiable, "ScheduleAnyway", p.id);
                }
                const pv = named(s.all, "PersistentVolume", "warung-kopi-backups");
                assert.ok(
                    pv.spec.nodeAffinity.required.nodeSelectorTerms.some((t: any) => nodeTermSatisfied(t, kindNode)),
                );
                assert.equal(named(s.all, "StorageClass", "warung-kopi-standard").provisioner, "rancher.io/local-path");
                assert.equal(
                    named(s.all, "StorageClass", "warung-kopi-standard").volumeBindingMode,
                    "WaitForFirstConsumer",
                );
            });

            it("leaves nothing protected, so `pulumi destroy` cleans up", () => {
                assert.deepEqual(
                    s.shop.filter((o) => o.$resource.protect).map((o) => `${o.kind} ${o.metadata.name}`),
                    [],
                );
            });

            it("lets the core services (namespace ecommerce) share its Redis", () => {
                const ecommerce: Endpoint = {
                    ns: "ecommerce",
                    labels: { "app.kubernetes.io/name": "product-catalog" },
                };
                const redis = workloadEndpoint(s.all, "Deployment", "redis");
                assert.ok(directionAllowed(s, redis, ecommerce, 6379, "Ingress"));
            });
        }
    });
}

describe("Warung Kopi shop, variations", function () {
    this.timeout(240_000);

    it("uses the region's Redis Enterprise cache, never a Redis of its own, before and after the peers link", async () => {
        for (const options of [{}, { stackOutputs: ALL_PEERS_OF_US }])
            usesRedisEnterprise(await stackShop("us", options));
    });

    function usesRedisEnterprise(s: Shop) {
        const host = named(s.all, "ConfigMap", "warung-kopi-config", NS).data.REDIS_HOST;
        assert.notEqual(host, `redis.${NS}.svc.cluster.local`, "points at the external cache");
        assert.ok(!ofKind(s.all, "Deployment", NS).some((d) => d.metadata.name === "redis"), "no Redis of its own");
        assert.ok(!ofKind(s.all, "Service", NS).some((d) => d.metadata.name === "redis"));
        const secret = named(s.all, "Secret", "redis-credentials", NS);
        const raw = secret.$resource.inputs.stringData;
        assert.ok(isSecret(raw) || isSecret(raw.password), "the copied password stays a Pulumi secret");
        const backend = workloadEndpoint(s.all, "Deployment", "backend");
        const [svc, ns] = host.split(".");
        const cacheNs = ofKind(s.all, "Namespace").find((n) => n.metadata.name === ns);
        assert.ok(cacheNs, `cache namespace ${ns} exists`);
        const cachePod: Endpoint = {
            ns,
            labels:
                ofKind(s.all, "NetworkPolicy", NS)
                    .find((p) => p.metadata.name === "backend")!
                    .spec.egress.flatMap((r: any) => r.to)
                    .find((peer: any) => peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === ns)
                    ?.podSelector?.matchLabels ?? {},
        };
        assert.ok(
            directionAllowed(
                s,
                backend,
                cachePod,
                Number(named(s.all, "ConfigMap", "warung-kopi-config", NS).data.REDIS_PORT),
                "Egress",
            ),
            `backend may reach ${svc}`,
        );
        assert.deepEqual(referenceProblems(s.shop, s.all), []);
    }

    it("leaves room in the quota for the sidecars the mesh injects", async () => {
        const [withMesh, without] = await Promise.all([
            stackShop("dev"),
            stackShop("dev", { configOverrides: { layers: { mesh: false, tracing: false } } }),
        ]);
        const cpu = (s: Shop) => parseQuantity(named(s.all, "ResourceQuota", "compute", NS).spec.hard["requests.cpu"]);
        const podsOf = (s: Shop) => Number(named(s.all, "ResourceQuota", "compute", NS).spec.hard.pods);
        assert.equal(named(without.all, "Namespace", NS).metadata.labels?.["istio-injection"], undefined);
        assert.equal(named(withMesh.all, "Namespace", NS).metadata.labels?.["istio-injection"], "enabled");
        assert.ok(
            cpu(withMesh) >= cpu(without) + podsOf(withMesh) * 0.01 - 1e-9,
            `${cpu(withMesh)} vs ${cpu(without)}`,
        );
    });

    it("takes the direct-access networks from shop.directAccessCidrs, for the load balancer and the NetworkPolicy alike", async () => {
        const s = await stackShop("us", {
            configOverrides: { shop: { directAccessCidrs: ["10.42.0.0/16", "172.31.7.0/24"] } },
        });
        assert.deepEqual(named(s.all, "Service", "frontend-public", NS).spec.loadBalancerSourceRanges, [
            "10.42.0.0/16",
            "172.31.7.0/24",
        ]);
        const frontend = workloadEndpoint(s.all, "Deployment", "frontend");
        assert.ok(allowed(s, { ip: "10.42.1.2" }, frontend, 8080));
        assert.ok(allowed(s, { ip: "172.31.7.9" }, frontend, 8080));
        assert.ok(!allowed(s, { ip: "10.43.1.2" }, frontend, 8080), "outside the configured ranges");
    });

    it("rejects direct-access ranges that are not networks, and the whole internet in production", () => {
        const raw = (shop: object, tier = "production") => ({
            tier,
            region: tier === "dev" ? "local" : "us",
            cluster: {
                context: "c",
                identifier: "c",
                distribution: tier === "dev" ? "kind" : "eks",
                egressCidrs: ["192.0.2.16/28"],
                ...(tier === "dev"
                    ? {}
                    : {
                          apiServer: "https://api.example.com",
                          zones: ["a", "b"],
                          nodePools: [{ name: "general", minNodes: 3 }],
                      }),
            },
            ...(tier === "dev"
                ? {}
                : {
                      tls: { acmeEmail: "platform@example.com" },
                      cloudNativePg: { backup: { destinationPath: "s3://b/p", workloadIdentity: { annotations: {} } } },
                      redisEnterprise: { licenseSecretName: "redis-enterprise-license" },
                  }),
            shop,
        });
        assert.throws(
            () => parseConfig("us", raw({ directAccessCidrs: ["0.0.0.0/0"] })),
            /shop\.directAccessCidrs\[0\].*Istio ingress gateway/,
        );
        assert.throws(
            () => parseConfig("us", raw({ directAccessCidrs: ["10.1.2.3/8"] })),
            /directAccessCidrs\[0\].*network address/,
        );
        assert.throws(
            () => parseConfig("us", raw({ directAccessCidrs: ["example.com"] })),
            /directAccessCidrs\[0\].*CIDR/,
        );
        assert.throws(() => parseConfig("us", raw({ directAccessCidrs: [] })), /directAccessCidrs.*at least one/);
        assert.deepEqual(
            parseConfig("us", raw({ directAccessCidrs: ["10.0.0.0/8", "fd00::/8"] })).shop.directAccessCidrs,
            ["10.0.0.0/8", "fd00::/8"],
        );
        assert.deepEqual(
            parseConfig("dev", raw({ directAccessCidrs: ["0.0.0.0/0"] }, "dev")).shop.directAccessCidrs,
            ["0.0.0.0/0"],
            "a laptop may open it up",
        );
    });

    it("names the migration Job after the SQL alone", () => {
        const { digest } = migrationScripts(path.join(ROOT, "sql"));
        assert.equal(migrationJobName(digest), `db-migrate-${digest}`);
        assert.ok(migrationJobName(digest).length <= 63, "a valid label value (job-name)");
    });

    it("orders injected workloads after the mesh's control plane", async () => {
        const s = await stackShop("dev");
        const istiod = s.result.resources.find(
            (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "istiod",
        );
        assert.ok(istiod, "the dev stack runs istiod");
        for (const [kind, name] of [
            ["Deployment", "frontend"],
            ["Deployment", "backend"],
            ["Deployment", "worker"],
            ["StatefulSet", "postgres"],
        ])
            assert.ok(named(s.all, kind, name, NS).$resource.dependencies.includes(istiod.urn), `${kind} ${name}`);
    });

    it("has checkers that catch broken references and wrong traffic rules (self-test on a damaged copy of dev)", async () => {
        const s = await stackShop("dev");
        const copy = (o: Obj): Obj => ({ ...structuredClone({ ...o, $resource: undefined }), $resource: o.$resource });
        const all = s.all.map(copy);
        const shop = all.filter((o) => s.shop.some((x) => x.$resource.urn === o.$resource.urn));
        const find = (kind: string, name: string) =>
            all.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? NS) === NS)!;
        find("Service", "backend").spec.ports[0].targetPort = "nope";
        podTemplate(find("Deployment", "worker"))!.spec.containers[0].env.find(
            (e: any) => e.valueFrom?.secretKeyRef,
        ).valueFrom.secretKeyRef.key = "nokey";
        find("HorizontalPodAutoscaler", "frontend").spec.scaleTargetRef.name = "frontend-old";
        find("RoleBinding", "worker").subjects[0].name = "nobody";
        find("Ingress", "warung-kopi").spec.rules[0].http.paths[0].backend.service.port = { number: 9999 };
        const problems = referenceProblems(shop, all).join("\n");
        for (const expected of [
            /Service warung-kopi\/backend: port http targets nope/,
            /Secret \S+ key nokey missing/,
            /target Deployment frontend-old missing/,
            /ServiceAccount nobody missing/,
            /has no port 9999/,
        ])
            assert.match(problems, expected);

        const backend = workloadEndpoint(all, "Deployment", "backend");
        const postgres = workloadEndpoint(all, "StatefulSet", "postgres");
        assert.ok(allowed({ all, result: s.result }, backend, postgres, 5432));
        find("NetworkPolicy", "postgres").spec.ingress[0].from = [
            { podSelector: { matchLabels: { "app.kubernetes.io/name": "frontend" } } },
        ];
        assert.ok(!allowed({ all, result: s.result }, backend, postgres, 5432), "a narrowed policy denies the flow");
    });

    it("names the migration Job after the SQL: a change to any file means a new Job", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sql-"));
        fs.writeFileSync(path.join(dir, "001_a.sql"), "CREATE TABLE IF NOT EXISTS a (id int);\n");
        const first = migrationScripts(dir).digest;
        assert.equal(migrationScripts(dir).digest, first, "stable for the same SQL");
        fs.writeFileSync(path.join(dir, "002_b.sql"), "CREATE TABLE IF NOT EXISTS b (id int);\n");
        const second = migrationScripts(dir).digest;
        assert.notEqual(second, first);
        fs.writeFileSync(path.join(dir, "001_a.sql"), "CREATE TABLE IF NOT EXISTS a (id bigint);\n");
        assert.notEqual(migrationScripts(dir).digest, second);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("places PostgreSQL on database nodes when config names them, without contradicting the node selector", async () => {
        const s = await stackShop("us");
        // The CloudNativePG Cluster's placement (its pods get these terms).
        const spec = named(s.all, "Cluster", "postgres", "databases").spec;
        assert.equal(spec.nodeSelector?.["workload-class"], undefined);
        const required = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
        const databaseNode = { "kubernetes.io/os": "linux", "workload-class": "database" };
        const generalNode = { "kubernetes.io/os": "linux", "workload-class": "general" };
        assert.ok(
            required.some((t: any) => nodeTermSatisfied(t, databaseNode)) &&
                required.some((t: any) => nodeTermSatisfied(t, generalNode)),
        );
        assert.ok(
            !required.some((t: any) =>
                nodeTermSatisfied(t, { "kubernetes.io/os": "linux", "workload-class": "batch" }),
            ),
        );
        const preferred = spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
        assert.ok(
            preferred.some(
                (p: any) =>
                    nodeTermSatisfied(p.preference, databaseNode) && !nodeTermSatisfied(p.preference, generalNode),
            ),
        );
    });
});
