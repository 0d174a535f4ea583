// The user journeys, hop by hop, against the one model of what a cluster does with the objects a
// stack sends (tests/harness/cluster/): NetworkPolicy at both ends (ipBlocks against the profile's
// pod and service ranges), the caller's sidecar routing by Host and speaking mTLS or plain text,
// PeerAuthentication, RequestAuthentication and AuthorizationPolicy at the destination, the
// ingress gateway's routes and the east-west gateway's passthrough. A journey is data: its hops,
// with only what the stack decides (the Host the frontend's nginx sends, the database address in
// the ConfigMap, the token the auth service issues) read from the stack.
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import { named, ofKind, unsecret } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import { ALL_PEERS_OF_US } from "./harness/peer-outputs";
import { EXTRA_SERVICE } from "./harness/variants";
import type { PlatformConfig } from "../config";
import { chartPod } from "./harness/cluster/charts";
import { publicJwk, type Token } from "./harness/cluster/mesh";
import { rangesMeetBlock } from "./harness/cluster/network";
import { nginxUpstreamRequest } from "./harness/cluster/proxy";
import { type Hop, type Outcome, TrafficModel } from "./harness/cluster/traffic";
import { type ClusterView, clusterView, findPod, findService, type Pod } from "./harness/cluster/view";

const ECOMMERCE = "ecommerce";

// ---- Reading what the stack decides -------------------------------------------------------

const shopNs = (v: ClusterView) => v.cfg.shop.namespace;
const env = (v: ClusterView, pod: Pod, container = 0): Record<string, string> => {
    const c = pod.spec.containers[container];
    const out: Record<string, string> = {};
    for (const from of c.envFrom ?? [])
        if (from.configMapRef)
            Object.assign(out, named(v.objects, "ConfigMap", from.configMapRef.name, pod.namespace).data);
    for (const e of c.env ?? []) {
        if (e.value !== undefined) out[e.name] = e.value;
        else if (e.valueFrom?.configMapKeyRef)
            out[e.name] = named(v.objects, "ConfigMap", e.valueFrom.configMapKeyRef.name, pod.namespace).data[
                e.valueFrom.configMapKeyRef.key
            ];
    }
    return out;
};

/** The Service behind an in-cluster address `<service>.<namespace>.svc.cluster.local`. */
function serviceAt(v: ClusterView, host: string, port: number): Hop["to"] {
    const [service, namespace] = host.split(".");
    assert.ok(findService(v, namespace, service), `${host} names a Service of the stack`);
    return { namespace, service, port };
}

/** An address in `cidr` outside the cluster's pod and service ranges (a machine on that network). */
function clientIn(v: ClusterView, cidr: string): string {
    const cluster = [...v.profile.network.podCidrs, ...v.profile.network.serviceCidrs];
    const [base] = cidr.split("/");
    if (base.includes(":")) return base.replace(/::$/, "::10");
    const octets = base.split(".").map(Number);
    for (let second = 0; second < 256; second++)
        for (let third = 0; third < 256; third += 17) {
            const ip = [octets[0], cidr.endsWith("/8") ? 250 - second : octets[1], third, 10].join(".");
            if (rangesMeetBlock([`${ip}/32`], cidr) && !cluster.some((c) => rangesMeetBlock([`${ip}/32`], c)))
                return ip;
        }
    throw new Error(`no address of ${cidr} outside the cluster's ranges`);
}

/** The access token the auth service issues, as its Deployment, ConfigMap and signing-key Secret configure it. */
function issuedToken(v: ClusterView): Token {
    const auth = findPod(v, ECOMMERCE, "auth");
    const e = env(v, auth);
    const mount = auth.spec.containers[0].volumeMounts.find((m: any) => e.SIGNING_KEY_PATH?.startsWith(m.mountPath));
    assert.ok(mount, "auth mounts its signing key");
    const volume = auth.spec.volumes.find((x: any) => x.name === mount.name);
    const secret = named(v.objects, "Secret", volume.secret.secretName, ECOMMERCE);
    const pem = unsecret(secret.stringData)[e.SIGNING_KEY_PATH.slice(mount.mountPath.length + 1)];
    return {
        iss: e.OIDC_ISSUER,
        sub: "shopper-1",
        aud: e.OIDC_AUDIENCE ? [e.OIDC_AUDIENCE] : [],
        kid: e.SIGNING_KEY_ID,
        key: publicJwk(pem),
    };
}

/** A request path of a service that its userPaths (Istio path matches) cover, and one they do not. */
function pathsOf(userPaths: string[]) {
    const covered = (p: string) =>
        userPaths.some((u) => (u.endsWith("*") ? p.startsWith(u.slice(0, -1)) : p === u || u === "/*"));
    const user = userPaths.length ? userPaths[0].replace(/\*$/, "orders") : undefined;
    const open = ["/.well-known/openid-configuration", "/products", "/"].find((p) => !covered(p));
    return { user, open };
}

// ---- Journeys -------------------------------------------------------------------------------

interface Step {
    what: string;
    /** The hop to follow, or (for what is not a request to a Service) a check of the model. */
    hop?: Hop;
    check?: (model: TrafficModel) => Outcome;
    /** Expected: delivered (default), or refused somewhere on the way. */
    refused?: boolean;
    /** The workload it must reach. */
    reaches?: string;
}

interface Journey {
    name: string;
    /**
     * Where the journey exists, from the stack's configuration alone: a journey the configuration
     * promises must then work, so a missing object fails it instead of skipping it.
     */
    applies: (cfg: PlatformConfig) => boolean;
    steps: (v: ClusterView) => Step[];
}

const shopOn = (cfg: PlatformConfig) => cfg.layers.shop;
const meshOn = (cfg: PlatformConfig) => cfg.layers.mesh;

/** The frontend's nginx proxying /api (the Host and address it sends come from its ConfigMap). */
function frontendProxiesApi(v: ClusterView, clientHost: string): Step {
    const conf = named(v.objects, "ConfigMap", "frontend-nginx", shopNs(v)).data["default.conf"];
    const upstream = nginxUpstreamRequest(conf, "/api/", clientHost);
    return {
        what: `frontend's nginx -> backend /api (Host ${upstream.headers.host})`,
        hop: {
            from: { pod: findPod(v, shopNs(v), "frontend") },
            to: serviceAt(v, upstream.host, upstream.port),
            http: { host: upstream.headers.host, path: "/api/menu" },
        },
        reaches: "backend",
    };
}

/** The backend's data: PostgreSQL and the cache, at the addresses its ConfigMap names. */
function backendData(v: ClusterView, client = "backend"): Step[] {
    const pod = findPod(v, shopNs(v), client);
    const e = env(v, pod);
    return [
        {
            what: `${client} -> PostgreSQL`,
            hop: { from: { pod }, to: serviceAt(v, e.DATABASE_HOST, Number(e.DATABASE_PORT)) },
        },
        { what: `${client} -> cache`, hop: { from: { pod }, to: serviceAt(v, e.REDIS_HOST, Number(e.REDIS_PORT)) } },
    ];
}

const JOURNEYS: Journey[] = [
    {
        name: "a shopper on the public HTTPS host: the site, /api, and the backend's database and cache",
        applies: (cfg) => shopOn(cfg) && meshOn(cfg),
        steps: (v) => {
            const host = v.cfg.shop.ingressHost;
            const https = v.cfg.layers.certManager;
            return [
                {
                    what: `GET ${host}/`,
                    hop: { from: { internet: true }, http: { host, path: "/", https } },
                    reaches: "frontend",
                },
                {
                    what: `GET ${host}/api/menu`,
                    hop: { from: { internet: true }, http: { host, path: "/api/menu", https } },
                    reaches: "backend",
                },
                ...backendData(v),
                ...backendData(v, "worker"),
            ];
        },
    },
    {
        name: "the seed's `kubectl port-forward svc/frontend -n warung-kopi 8080:80`, then /api",
        applies: shopOn,
        steps: (v) => [
            {
                what: "port-forward svc/frontend 8080:80",
                hop: { from: { portForward: true }, to: { namespace: shopNs(v), service: "frontend", port: 80 } },
                reaches: "frontend",
            },
            frontendProxiesApi(v, "localhost:8080"),
        ],
    },
    {
        name: "the internal direct-access load balancer frontend-public, from the private network, then /api",
        applies: shopOn,
        steps: (v) => {
            const client = clientIn(v, v.cfg.shop.directAccessCidrs[0]);
            return [
                {
                    what: `${client} -> frontend-public:80`,
                    hop: {
                        from: { address: client, via: "load-balancer" },
                        to: { namespace: shopNs(v), service: "frontend-public", port: 80 },
                        http: { host: client, path: "/" },
                    },
                    reaches: "frontend",
                },
                frontendProxiesApi(v, client),
            ];
        },
    },
    {
        name: "the laptop's NodePort frontend-nodeport (dev only)",
        applies: (cfg) => shopOn(cfg) && cfg.tier === "dev",
        steps: (v) => [
            {
                what: "laptop -> frontend-nodeport",
                hop: {
                    from: { address: "172.18.0.1", via: "node-port" },
                    to: { namespace: shopNs(v), service: "frontend-nodeport", port: 80 },
                    http: { host: "localhost:30080", path: "/" },
                },
                reaches: "frontend",
            },
            frontendProxiesApi(v, "localhost:30080"),
        ],
    },
    {
        name: "nothing else reaches the shop: pods of other namespaces, the frontend to the data, the internet to the plain-text port",
        applies: shopOn,
        steps: (v) => {
            const stranger: Pod = {
                id: "Pod default/stranger",
                owner: { kind: "Pod", name: "stranger" },
                namespace: "default",
                labels: { app: "stranger" },
                annotations: {},
                serviceAccount: "default",
                ports: [],
                hostNetwork: false,
            };
            const ns = shopNs(v);
            const frontend = findPod(v, ns, "frontend");
            const e = env(v, findPod(v, ns, "backend"));
            return [
                {
                    what: "a pod of another namespace -> frontend:80 (its plain-text port)",
                    hop: { from: { pod: stranger }, to: { namespace: ns, service: "frontend", port: 80 } },
                    refused: true,
                },
                {
                    what: "a pod of another namespace -> backend",
                    hop: {
                        from: { pod: stranger },
                        to: { namespace: ns, service: "backend", port: 8080 },
                        http: { path: "/api/menu" },
                    },
                    refused: true,
                },
                {
                    what: "a pod of another namespace -> PostgreSQL",
                    hop: { from: { pod: stranger }, to: serviceAt(v, e.DATABASE_HOST, Number(e.DATABASE_PORT)) },
                    refused: true,
                },
                {
                    what: "frontend -> PostgreSQL",
                    hop: { from: { pod: frontend }, to: serviceAt(v, e.DATABASE_HOST, Number(e.DATABASE_PORT)) },
                    refused: true,
                },
                {
                    what: "the internet -> frontend-public",
                    hop: {
                        from: { address: "198.51.100.7", via: "load-balancer" },
                        to: { namespace: ns, service: "frontend-public", port: 80 },
                        http: { path: "/" },
                    },
                    refused: true,
                },
            ];
        },
    },
    {
        name: "each core service's public route through the API gateway, with and without a token",
        applies: (cfg) => cfg.layers.coreServices && meshOn(cfg),
        steps: (v) => {
            const api = `api.${v.cfg.domain}`;
            const https = v.cfg.layers.certManager;
            const token = issuedToken(v);
            return v.cfg.services
                .filter((s) => s.publicPrefix)
                .flatMap((s) => {
                    const { user, open } = pathsOf(s.userPaths);
                    const get = (path: string, t?: Token): Hop => ({
                        from: { internet: true },
                        http: { host: api, path: `${s.publicPrefix}${path}`, https, token: t },
                    });
                    return [
                        ...(open
                            ? [
                                  {
                                      what: `GET ${s.publicPrefix}${open} without a token`,
                                      hop: get(open),
                                      reaches: s.name,
                                  },
                              ]
                            : []),
                        // Readiness names internal hosts: the kubelet's answer, not the internet's.
                        { what: `GET ${s.publicPrefix}/readyz`, hop: get("/readyz", token), refused: true },
                        ...(user
                            ? [
                                  {
                                      what: `GET ${s.publicPrefix}${user} without a token`,
                                      hop: get(user),
                                      refused: true,
                                  },
                                  {
                                      what: `GET ${s.publicPrefix}${user} with a valid token`,
                                      hop: get(user, token),
                                      reaches: s.name,
                                  },
                                  {
                                      what: `GET ${s.publicPrefix}${user} with a token signed by another key`,
                                      hop: get(user, { ...token, key: { ...token.key, n: `x${token.key.n}` } }),
                                      refused: true,
                                  },
                              ]
                            : []),
                    ];
                });
        },
    },
    {
        name: "service-to-service calls: each configured call is delivered, a call nobody configured is refused",
        applies: (cfg) => cfg.layers.coreServices,
        steps: (v) => {
            const token = v.meshInstalled ? issuedToken(v) : undefined;
            const steps: Step[] = [];
            for (const s of v.cfg.services) {
                const caller = findPod(v, ECOMMERCE, s.name);
                for (const other of v.cfg.services.filter((o) => o.name !== s.name)) {
                    const calls = s.calls.includes(other.name);
                    steps.push({
                        what: `${s.name} -> ${other.name}${calls ? "" : " (not configured)"}`,
                        hop: {
                            from: { pod: caller },
                            to: { namespace: ECOMMERCE, service: other.name, port: 80 },
                            http: { path: pathsOf(other.userPaths).user ?? "/", token },
                        },
                        refused: !calls,
                        reaches: calls ? other.name : undefined,
                    });
                }
            }
            return steps;
        },
    },
    {
        name: "cross-region failover: callers in other regions reach every core service through the east-west gateway; the shop stays regional",
        applies: (cfg) => cfg.layers.multiCluster && cfg.layers.coreServices,
        steps: (v) => {
            const token = issuedToken(v);
            const steps: Step[] = [];
            for (const s of v.cfg.services) {
                const callers = [
                    ...v.cfg.services
                        .filter((c) => c.calls.includes(s.name))
                        .map((c) => ({ namespace: ECOMMERCE, serviceAccount: c.name })),
                    ...(s.publicPrefix ? [{ namespace: "istio-ingress", serviceAccount: "istio-ingressgateway" }] : []),
                ];
                for (const c of callers)
                    steps.push({
                        what: `${c.serviceAccount} in another region -> ${s.name}`,
                        hop: {
                            from: { peerRegion: c },
                            to: { namespace: ECOMMERCE, service: s.name, port: 80 },
                            http: { path: pathsOf(s.userPaths).user ?? "/", token },
                        },
                        reaches: s.name,
                    });
            }
            if (v.cfg.layers.shop)
                steps.push({
                    what: "the ingress gateway of another region -> this region's backend",
                    hop: {
                        from: { peerRegion: { namespace: "istio-ingress", serviceAccount: "istio-ingressgateway" } },
                        to: { namespace: shopNs(v), service: "backend", port: 8080 },
                        http: { path: "/api/menu" },
                    },
                    refused: true,
                });
            return steps;
        },
    },
    {
        name: "the migration Job and the backup CronJob reach PostgreSQL",
        applies: shopOn,
        steps: (v) =>
            v.pods
                .filter((p) => p.namespace === shopNs(v) && (p.owner.kind === "Job" || p.owner.kind === "CronJob"))
                .map((pod) => {
                    const e = env(v, pod);
                    return {
                        what: `${pod.id} -> ${e.PGHOST}`,
                        hop: { from: { pod }, to: serviceAt(v, e.PGHOST, Number(e.PGPORT)) },
                    };
                }),
    },
    {
        name: "payment keeps its records in the shop's PostgreSQL",
        applies: (cfg) => shopOn(cfg) && cfg.layers.coreServices,
        steps: (v) => {
            const pod = findPod(v, ECOMMERCE, "payment");
            const e = env(v, pod);
            return [
                {
                    what: "payment -> PostgreSQL",
                    hop: { from: { pod }, to: serviceAt(v, e.TRANSACTION_DB_HOST, Number(e.TRANSACTION_DB_PORT)) },
                },
            ];
        },
    },
    {
        name: "Prometheus scrapes every metrics port its ServiceMonitors and PodMonitors name",
        applies: (cfg) => cfg.layers.monitoring,
        steps: (v) => {
            const prometheus = chartPod(v.pods, "prometheus")!;
            const steps: Step[] = [];
            for (const m of ofKind(v.objects, "ServiceMonitor")) {
                const namespaces: string[] = m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace];
                const services = v.objects.filter(
                    (o) =>
                        o.kind === "Service" &&
                        namespaces.includes(o.metadata.namespace!) &&
                        Object.entries(m.spec.selector.matchLabels ?? {}).every(
                            ([k, x]) => o.metadata.labels?.[k] === x,
                        ),
                );
                for (const svc of services)
                    for (const ep of m.spec.endpoints) {
                        const sp = svc.spec.ports.find((p: any) => p.name === ep.port);
                        if (!sp) continue;
                        steps.push({
                            what: `Prometheus -> ${svc.metadata.namespace}/${svc.metadata.name}:${ep.port}`,
                            hop: {
                                from: { pod: prometheus },
                                to: { namespace: svc.metadata.namespace!, service: svc.metadata.name!, port: sp.port },
                                http: { path: ep.path ?? "/metrics" },
                            },
                        });
                    }
            }
            // The envoy-sidecars PodMonitor: every pod with a sidecar, on its proxy's stats port.
            for (const pod of v.pods.filter((p) => p.proxy === "sidecar"))
                steps.push({
                    what: `Prometheus -> ${pod.id} Envoy stats`,
                    hop: { from: { pod: prometheus }, to: { pod, port: 15090 }, http: { path: "/stats/prometheus" } },
                });
            assert.ok(steps.length > 0, "Prometheus scrapes something");
            return steps;
        },
    },
    {
        name: "DNS: every pod of every namespace the program creates resolves names (cluster DNS, or the node-local cache)",
        applies: () => true,
        steps: (v) => {
            const ours = new Set(v.objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
            return v.pods
                .filter((p) => ours.has(p.namespace) && !p.hostNetwork)
                .map((pod) => ({ what: `${pod.id} resolves names`, check: (m: TrafficModel) => m.resolves(pod) }));
        },
    },
    {
        name: "KEDA's operator queries Prometheus for every ScaledObject's prometheus trigger",
        applies: (cfg) => cfg.layers.customMetricsAutoscaling && cfg.layers.coreServices,
        steps: (v) => {
            const keda = chartPod(v.pods, "kedaOperator")!;
            return ofKind(v.objects, "ScaledObject").flatMap((so) =>
                (so.spec.triggers as any[])
                    .filter((t) => t.type === "prometheus")
                    .map((t) => {
                        const url = new URL(t.metadata.serverAddress);
                        return {
                            what: `KEDA -> ${url.host} for ${so.metadata.name}`,
                            hop: {
                                from: { pod: keda },
                                to: serviceAt(v, url.hostname, Number(url.port)),
                                http: { path: "/api/v1/query" },
                            },
                        };
                    }),
            );
        },
    },
];

// ---- Running them ---------------------------------------------------------------------------

function run(v: ClusterView, j: Journey): string[] {
    const model = new TrafficModel(v);
    const problems: string[] = [];
    for (const step of j.steps(v)) {
        const out: Outcome = step.check ? step.check(model) : model.deliver(step.hop!);
        if (step.refused) {
            if (out.ok) problems.push(`${step.what}: delivered to ${out.pod?.id}, expected refused`);
        } else if (!out.ok) problems.push(`${step.what}: ${out.why}`);
        else if (step.reaches && out.pod?.owner.name !== step.reaches)
            problems.push(`${step.what}: reached ${out.pod?.id}, expected ${step.reaches}`);
    }
    return problems;
}

// us once its peers are deployed: the same published outputs the Redis Enterprise tests give it.
const US_WITH_PEERS = { stackOutputs: ALL_PEERS_OF_US };
const VARIANTS: { label: string; stack: string; configOverrides?: Record<string, unknown>; stackOutputs?: any }[] = [
    ...STACKS.map((stack) => ({ label: stack, stack })),
    { label: "us with the Redis Enterprise database (peers published)", stack: "us", ...US_WITH_PEERS },
    { label: "dev with a core service added in config", stack: "dev", configOverrides: EXTRA_SERVICE },
];
prefetch(...VARIANTS.map(({ stack, configOverrides, stackOutputs }) => ({ stack, configOverrides, stackOutputs })));

const views = new Map<string, Promise<ClusterView>>();
function viewOf(variant: (typeof VARIANTS)[number]): Promise<ClusterView> {
    if (!views.has(variant.label))
        views.set(
            variant.label,
            deployedStack(variant.stack, {
                configOverrides: variant.configOverrides,
                stackOutputs: variant.stackOutputs,
            }).then((r) => clusterView(variant.stack, r, variant.configOverrides)),
        );
    return views.get(variant.label)!;
}

describe("user journeys, hop by hop, in every stack where they apply", function () {
    this.timeout(240_000);
    for (const variant of VARIANTS)
        describe(variant.label, () => {
            const cfg = configOf(variant.stack, variant.configOverrides);
            for (const j of JOURNEYS.filter((journey) => journey.applies(cfg)))
                it(j.name, async () => assert.deepEqual(run(await viewOf(variant), j), []));
        });
});

/** A copy of a stack's view with some objects changed (the pods keep their templates). */
function damaged(v: ClusterView, change: (objects: ClusterView["objects"]) => void): ClusterView {
    const objects = v.objects.map((o) => ({ ...structuredClone({ ...o, $resource: undefined }) }));
    change(objects);
    return { ...v, objects };
}
const journey = (name: string) => JOURNEYS.find((j) => j.name.startsWith(name))!;
const obj = (objects: ClusterView["objects"], kind: string, name: string, ns: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns)!;

describe("the journeys see each defect the issue names (damaged copies of the stacks)", function () {
    this.timeout(240_000);

    it("a proxy that forwards the client's Host: /api leaves the frontend in plain text and the backend refuses it", async () => {
        const v = await viewOf(VARIANTS[0]);
        const broken = damaged(v, (objects) => {
            const cm = obj(objects, "ConfigMap", "frontend-nginx", "warung-kopi");
            cm.data["default.conf"] = cm.data["default.conf"].replace("Host $proxy_host", "Host $host");
        });
        const problems = run(broken, journey("the seed's `kubectl port-forward"));
        assert.match(problems.join("\n"), /Host localhost.*STRICT mTLS and the request is plain text/);
    });

    it("an internal core service that admits only its local callers drops failover from other regions", async () => {
        const v = await viewOf(VARIANTS.find((x) => x.stack === "eu")!);
        const broken = damaged(v, (objects) => {
            const np = obj(objects, "NetworkPolicy", "recommendation", "ecommerce");
            for (const rule of np.spec.ingress)
                rule.from = rule.from.filter((p: any) => p.podSelector?.matchLabels?.istio !== "eastwestgateway");
        });
        const problems = run(broken, journey("cross-region failover"));
        assert.match(problems.join("\n"), /-> recommendation: east-west gateway -> .*ingress policies refuse 8080/);
    });

    it("a direct-access network that contains the pod range lets every pod reach the frontend's plain-text port", async () => {
        for (const stack of ["dev", "eu", "asia"]) {
            const v = await viewOf(VARIANTS.find((x) => x.label === stack)!);
            const broken = damaged(v, (objects) => {
                for (const rule of obj(objects, "NetworkPolicy", "frontend", "warung-kopi").spec.ingress)
                    for (const p of rule.from) if (p.ipBlock) delete p.ipBlock.except;
                // The AuthorizationPolicy holds the same line (by source address): damage it too.
                for (const rule of obj(objects, "AuthorizationPolicy", "frontend", "warung-kopi").spec.rules)
                    for (const f of rule.from ?? []) delete f.source.notIpBlocks;
            });
            const problems = run(broken, journey("nothing else reaches the shop"));
            assert.match(problems.join("\n"), /another namespace -> frontend:80.*expected refused/, stack);
        }
    });

    it("authorization by principal and user tokens: a missing ALLOW or DENY policy breaks a journey", async () => {
        const v = await viewOf(VARIANTS[0]);
        const noAllow = damaged(v, (objects) => {
            obj(objects, "AuthorizationPolicy", "backend", "warung-kopi").spec.rules = [];
        });
        assert.match(run(noAllow, journey("a shopper")).join("\n"), /403: no ALLOW rule/);
        const noDeny = damaged(v, (objects) => {
            const i = objects.findIndex(
                (o) => o.kind === "AuthorizationPolicy" && o.metadata.name === "payment-require-user-token",
            );
            objects.splice(i, 1);
        });
        assert.match(
            run(noDeny, journey("each core service's public route")).join("\n"),
            /without a token: delivered to .*payment, expected refused/,
        );
        const otherIssuer = damaged(v, (objects) => {
            const ra = objects.find((o) => o.kind === "RequestAuthentication")!;
            ra.spec.jwtRules[0].issuer = "https://someone-else.example.com";
        });
        assert.match(run(otherIssuer, journey("each core service's public route")).join("\n"), /401: no jwtRule/);
    });
});

/**
 * Pods that may reach the cloud's metadata endpoint, and why: the DNS writers where GKE workload
 * identity answers there, and istiod, whose chart allows every egress (docs/security-notes/traffic.md).
 */
function metadataExceptions(v: ClusterView): Record<string, string> {
    const gkeIdentity =
        v.cfg.cluster.distribution === "gke" && v.cfg.dns.provider === "google" && !!v.cfg.dns.workloadIdentity;
    return {
        ...(gkeIdentity
            ? {
                  "chart external-dns/externalDns": "GKE workload identity (Cloud DNS)",
                  ...(v.cfg.tls.issuer === "acme-dns01"
                      ? { "chart cert-manager/certManager": "GKE workload identity (DNS-01 on Cloud DNS)" }
                      : {}),
              }
            : {}),
        "chart istio-system/istiod": "the istiod chart's NetworkPolicy allows every egress",
    };
}

describe("the cloud's metadata endpoint", function () {
    this.timeout(240_000);
    // Laptops have none.
    for (const variant of VARIANTS.slice(0, STACKS.length).filter(
        (x) => configOf(x.stack).cluster.profile.metadataEndpoint,
    ))
        it(`${variant.label}: no pod reaches it but those whose workload identity needs it`, async () => {
            const v = await viewOf(variant);
            const metadata = v.profile.metadataEndpoint!;
            const model = new TrafficModel(v);
            const allowed = metadataExceptions(v);
            // Pods in the namespaces the program creates (kube-system is the cluster's own).
            const ours = new Set(v.objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
            const reaching = v.pods
                .filter((p) => ours.has(p.namespace) && !p.hostNetwork)
                .filter((p) => [80, 988, 8080].some((port) => model.toAddress(p, metadata, port).ok))
                .map((p) => p.id);
            assert.deepEqual(
                reaching.sort(),
                Object.keys(allowed)
                    .filter((id) => v.pods.some((p) => p.id === id))
                    .sort(),
            );
        });

    it("sees a port-only egress rule reaching it (self-test on a damaged copy of us)", async () => {
        const v = await viewOf(VARIANTS.find((x) => x.label === "us")!);
        const broken = damaged(v, (objects) => {
            const np = obj(objects, "NetworkPolicy", "allow-platform-egress", "external-dns");
            np.spec.egress.push({ ports: [{ protocol: "TCP", port: 80 }] });
        });
        const pod = broken.pods.find((p) => p.id === "chart external-dns/externalDns")!;
        assert.ok(new TrafficModel(broken).toAddress(pod, "169.254.169.254", 80).ok);
        assert.ok(!new TrafficModel(v).toAddress(pod, "169.254.169.254", 80).ok);
    });
});
