// The one place stack configuration is read. Everything else imports `loadConfig()`'s result.
//
// Stack files set only what differs from the tier defaults below; the merged result is validated
// as a whole, and any problem stops the program before a single resource is registered, with a
// message naming the key, the value it got and what it expects.
import { isIPv6 } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isQuantity, parseQuantity } from "./components/quantity";

export const PROJECT = "ecommerce-platform";

export const TIERS = ["dev", "staging", "production"] as const;
export const REGIONS = ["local", "us", "eu", "asia"] as const;
export const DISTRIBUTIONS = ["kind", "k3d", "minikube", "docker-desktop", "eks", "gke", "aks"] as const;
export type Tier = (typeof TIERS)[number];
export type Region = (typeof REGIONS)[number];
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** The keys this program reads, as declared (with types and descriptions) in Pulumi.yaml. */
export const CONFIG_KEYS = [
    "tier",
    "region",
    "cluster",
    "domain",
    "layers",
    "images",
    "resources",
    "scheduling",
    "shop",
    "services",
    "mesh",
    "peers",
    "redisEnterprise",
    "monitoring",
    "tls",
    "dns",
    "dnsCredentials",
] as const;

/**
 * Keys holding credentials: never part of the plain `cfg` object; validated by key name only and
 * read as Pulumi secrets (dnsCredentials() below).
 */
export const SECRET_CONFIG_KEYS = ["dnsCredentials"] as const;

/** Distributions that come without a metrics API (k3d/k3s bundle metrics-server; GKE and AKS run their own). */
export const DISTRIBUTIONS_WITHOUT_METRICS_SERVER: readonly Distribution[] = [
    "kind",
    "minikube",
    "docker-desktop",
    "eks",
];
/** Laptop distributions (kubelets serve self-signed serving certificates). */
export const LOCAL_DISTRIBUTIONS: readonly Distribution[] = ["kind", "k3d", "minikube", "docker-desktop"];

export const DNS_PROVIDERS = ["aws", "google", "azure", "cloudflare"] as const;
export type DnsProvider = (typeof DNS_PROVIDERS)[number];
/** The keys of the secret `dnsCredentials` object per DNS provider (when workload identity is not used). */
export const DNS_CREDENTIAL_KEYS: Record<DnsProvider, readonly string[]> = {
    aws: ["accessKeyId", "secretAccessKey"],
    google: ["serviceAccountKey"],
    azure: ["clientSecret"],
    cloudflare: ["apiToken"],
};

// ---------------------------------------------------------------------------------------------
// Field types with the messages a platform engineer needs to fix a bad value.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const dnsLabel = z.string().refine((s) => s.length <= 63 && DNS1123_LABEL.test(s), {
    message:
        "expected a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)",
});
const hostName = z.string().refine((s) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s), {
    message: "expected a DNS name such as shop.example.com (lower-case, dot-separated DNS-1123 labels)",
});
const cpu = z.string().refine((s) => isQuantity(s) && /^(\d+m|\d+(\.\d+)?)$/.test(s) && parseQuantity(s) > 0, {
    message: "expected a positive CPU quantity such as 250m or 1.5",
});
const memory = z.string().refine((s) => isQuantity(s) && !/m$/.test(s) && parseQuantity(s) > 0, {
    message: "expected a positive memory quantity such as 256Mi or 2Gi",
});
const storage = memory.describe("storage size");

/** An IPv4 network in canonical form (no host bits set), e.g. 10.0.0.0/8; or an IPv6 prefix. */
export function cidrProblem(s: string): string | undefined {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
    if (v4) {
        const octets = v4.slice(1, 5).map(Number);
        const bits = Number(v4[5]);
        if (octets.some((o) => o > 255) || bits > 32) return "expected an IPv4 network such as 10.0.0.0/8";
        const n = octets.reduce((a, o) => a * 256 + o, 0);
        const hostBits = 2 ** (32 - bits);
        if (n % hostBits !== 0) return "expected the network address of the range (no host bits set), e.g. 10.0.0.0/8";
        return undefined;
    }
    const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
    if (v6 && isIPv6(v6[1]) && Number(v6[2]) <= 128) return undefined;
    return "expected a CIDR range such as 10.0.0.0/8";
}
const cidr = z.string().superRefine((s, ctx) => {
    const problem = cidrProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** An image reference pinned by a tag other than `latest`, or by digest. */
export function imageProblem(ref: string): string | undefined {
    if (/\s/.test(ref) || ref.length === 0) return "expected an image reference such as postgres:16.4-alpine";
    if (/@sha256:[a-f0-9]{64}$/.test(ref)) return undefined;
    const lastSegment = ref.split("/").pop()!;
    const colon = lastSegment.lastIndexOf(":");
    if (colon < 0)
        return "expected an image pinned by tag or digest (e.g. redis:7.4.1-alpine); an untagged image means `latest`";
    const tag = lastSegment.slice(colon + 1);
    if (tag === "latest") return "expected a pinned tag; `latest` changes under a running cluster";
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return "expected a valid image tag";
    return undefined;
}
const image = z.string().superRefine((s, ctx) => {
    const problem = imageProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const resources = z
    .strictObject({
        requests: z.strictObject({ cpu, memory }),
        limits: z.strictObject({ cpu: cpu.optional(), memory }),
    })
    .superRefine((r, ctx) => {
        // Runs even when a quantity above is malformed (zod reports both): compare only well-formed ones.
        const q = (v: string) => (isQuantity(v) ? parseQuantity(v) : NaN);
        if (r.limits.cpu && q(r.limits.cpu) < q(r.requests.cpu))
            ctx.addIssue({
                code: "custom",
                path: ["limits", "cpu"],
                message: `expected limits.cpu >= requests.cpu (${r.requests.cpu})`,
            });
        if (q(r.limits.memory) < q(r.requests.memory))
            ctx.addIssue({
                code: "custom",
                path: ["limits", "memory"],
                message: `expected limits.memory >= requests.memory (${r.requests.memory})`,
            });
    });
export type Resources = z.infer<typeof resources>;

const replicas = z.number().int("expected an integer").min(1, "expected an integer >= 1");

const autoscaling = z
    .strictObject({
        minReplicas: replicas,
        maxReplicas: replicas,
        cpuUtilization: z
            .number()
            .int("expected an integer percentage")
            .min(1, "expected a CPU utilisation between 1 and 100")
            .max(100, "expected a CPU utilisation between 1 and 100"),
        /** Target average requests per second per pod (Prometheus metric), when custom-metric autoscaling is on. */
        requestsPerSecond: z.number().positive("expected a positive number of requests per second").optional(),
    })
    .superRefine((a, ctx) => {
        if (a.minReplicas > a.maxReplicas)
            ctx.addIssue({
                code: "custom",
                path: ["minReplicas"],
                message: `expected minReplicas <= maxReplicas (${a.maxReplicas})`,
            });
    });
export type Autoscaling = z.infer<typeof autoscaling>;

const scalable = z.strictObject({ replicas, autoscaling: autoscaling.optional() });

const toleration = z.strictObject({
    key: z.string().min(1, "expected a taint key"),
    operator: z.enum(["Equal", "Exists"]).default("Equal"),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

// ---------------------------------------------------------------------------------------------
// The configuration object.

const layerNames = [
    "shop",
    "coreServices",
    "mesh",
    "multiCluster",
    "redisEnterprise",
    "monitoring",
    "tracing",
    "customMetricsAutoscaling",
    "metricsServer",
    "certManager",
    "externalDns",
] as const;
export type LayerName = (typeof layerNames)[number];

const schema = z
    .strictObject({
        stack: z.string(),
        tier: z.enum(TIERS, { message: `expected one of ${TIERS.join(", ")}` }),
        region: z.enum(REGIONS, { message: `expected one of ${REGIONS.join(", ")}` }),
        cluster: z.strictObject({
            /** kubeconfig context; empty means the kubeconfig's current context (local clusters only). */
            context: z.string().optional(),
            /** Stable identity of the cluster, so a kubeconfig rotation never replaces the provider. */
            identifier: dnsLabel,
            distribution: z.enum(DISTRIBUTIONS, { message: `expected one of ${DISTRIBUTIONS.join(", ")}` }),
            /** Availability zones the cluster's nodes run in (topology.kubernetes.io/zone values). */
            zones: z.array(z.string().min(1)).default([]),
            /** API server URL as peer clusters reach it (multi-cluster mesh remote secrets). */
            apiServer: z.string().url("expected the API server URL, e.g. https://api.us.example.com").optional(),
        }),
        /** Public base domain; hosts are <app>.<domain>. */
        domain: hostName,
        layers: z.strictObject(
            Object.fromEntries(layerNames.map((l) => [l, z.boolean({ message: "expected true or false" })])) as Record<
                LayerName,
                z.ZodBoolean
            >,
        ),
        images: z.strictObject({
            frontend: image,
            frontendBuilder: image,
            backend: image,
            worker: image,
            postgres: image,
            redis: image,
            nodeMetrics: image,
            service: image,
            /** Metrics exporters run as sidecars of PostgreSQL, Redis and the frontend's nginx. */
            postgresExporter: image,
            redisExporter: image,
            nginxExporter: image,
        }),
        resources: z.record(dnsLabel, resources),
        scheduling: z.strictObject({
            nodeSelector: z.record(z.string(), z.string()).default({}),
            tolerations: z.array(toleration).default([]),
            /** Spread replicas across zones as well as nodes (needs cluster.zones or zone-labelled nodes). */
            spreadAcrossZones: z.boolean(),
            /** Label of the nodes PostgreSQL prefers (node affinity), e.g. {key: "node-role/database", value: "true"}. */
            databaseNodeAffinity: z.strictObject({ key: z.string().min(1), value: z.string() }).optional(),
        }),
        shop: z.strictObject({
            namespace: dnsLabel,
            frontend: scalable,
            backend: scalable,
            worker: scalable,
            postgres: z.strictObject({
                storage,
                backupStorage: storage,
                backupSchedule: z
                    .string()
                    .regex(/^(\S+\s+){4}\S+$/, "expected a five-field cron schedule such as '0 2 * * *'"),
            }),
            redis: z.strictObject({ storage: storage.optional() }),
            /**
             * Networks allowed to reach the frontend directly (plain HTTP through frontend-nodeport and
             * frontend-public, bypassing the Istio ingress gateway): frontend-public's
             * loadBalancerSourceRanges and the frontend NetworkPolicy's ipBlocks. Public internet traffic
             * enters only through the gateway (Ingress `warung-kopi`).
             */
            directAccessCidrs: z.array(cidr).min(1, "expected at least one CIDR range, e.g. [10.0.0.0/8]"),
            /** Static PersistentVolume for backups. */
            backupVolume: z.discriminatedUnion("type", [
                z.strictObject({
                    type: z.literal("local"),
                    path: z.string().startsWith("/", "expected an absolute path"),
                }),
                z.strictObject({
                    type: z.literal("nfs"),
                    server: hostName,
                    path: z.string().startsWith("/", "expected an absolute path"),
                }),
            ]),
            ingressHost: hostName,
        }),
        services: z
            .array(
                z.strictObject({
                    name: dnsLabel,
                    replicas,
                    autoscaling: autoscaling.optional(),
                }),
            )
            .superRefine((list, ctx) => {
                const seen = new Set<string>();
                list.forEach((s, i) => {
                    if (seen.has(s.name))
                        ctx.addIssue({
                            code: "custom",
                            path: [i, "name"],
                            message: `expected unique service names; "${s.name}" appears twice`,
                        });
                    seen.add(s.name);
                });
            }),
        mesh: z.strictObject({
            meshId: dnsLabel,
            network: dnsLabel,
            /** Service type of the ingress and east-west gateways: NodePort on laptops (nothing assigns a LoadBalancer address). */
            gatewayServiceType: z.enum(["NodePort", "LoadBalancer"]),
            /** Region whose stack generates the mesh's shared root CA (multi-cluster); each region signs its own intermediate. */
            rootCaFrom: z.enum(REGIONS).optional(),
        }),
        /** Peer region stacks, region -> fully qualified stack name (org/project/stack). */
        peers: z.partialRecord(
            z.enum(REGIONS),
            z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "expected a fully qualified stack name org/project/stack"),
        ),
        redisEnterprise: z.strictObject({
            nodes: z.number().int().min(3, "expected at least 3 nodes (Redis Enterprise needs a quorum)"),
            nodeResources: z.strictObject({ cpu, memory }),
            databaseMemory: z
                .string()
                .regex(/^\d+(MB|GB)$/, "expected a Redis Enterprise memory size such as 512MB or 2GB"),
            storageSize: storage,
            /**
             * Region whose stack creates the Active-Active database (RedisEnterpriseActiveActiveDatabase); the
             * operator creates its replica in every other participating region. It must be this region or a peer.
             */
            activeActiveOwner: z.enum(REGIONS).optional(),
        }),
        monitoring: z.strictObject({
            namespace: dnsLabel,
            retention: z.string().regex(/^\d+[hdwy]$/, "expected a Prometheus retention such as 15d"),
            prometheusStorage: storage.optional(),
        }),
        tls: z.strictObject({
            issuer: z.enum(["self-signed", "acme-http01", "acme-dns01"]),
            acmeEmail: z.string().email("expected an e-mail address for the ACME account").optional(),
            acmeServer: z.string().url("expected the ACME directory URL").optional(),
        }),
        dns: z.strictObject({
            provider: z.enum(DNS_PROVIDERS).optional(),
            /** Zone external-dns may write to; it never touches names outside it. */
            zone: hostName.optional(),
            /** Route 53: region of the API calls and, optionally, the hosted zone's ID. */
            aws: z
                .strictObject({ region: z.string().min(1).optional(), hostedZoneId: z.string().min(1).optional() })
                .optional(),
            /** Cloud DNS: the project holding the zone (detected on GKE; required for DNS-01). */
            google: z.strictObject({ project: z.string().min(1, "expected a GCP project ID") }).optional(),
            /** Azure DNS: where the zone lives (identifiers, not credentials). */
            azure: z
                .strictObject({
                    subscriptionId: z.string().min(1, "expected the Azure subscription ID"),
                    resourceGroup: z.string().min(1, "expected the resource group of the DNS zone"),
                    tenantId: z.string().min(1).optional(),
                    /** Client ID of the service principal or managed identity (an identifier; its secret goes in dnsCredentials). */
                    clientId: z.string().min(1).optional(),
                })
                .optional(),
            /**
             * Workload identity of the DNS writers (external-dns and cert-manager's DNS-01 solver): annotations
             * for their ServiceAccounts (e.g. eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account,
             * azure.workload.identity/client-id) and labels for their pods (azure.workload.identity/use).
             */
            workloadIdentity: z
                .strictObject({
                    annotations: z.record(z.string(), z.string()).default({}),
                    podLabels: z.record(z.string(), z.string()).default({}),
                })
                .optional(),
        }),
    })
    .superRefine((c, ctx) => {
        if (c.tier !== "dev" && !c.cluster.context)
            ctx.addIssue({
                code: "custom",
                path: ["cluster", "context"],
                message: `expected a kubeconfig context for a ${c.tier} stack (only dev may use the current context)`,
            });
        if (c.tier !== "dev" && c.region === "local")
            ctx.addIssue({
                code: "custom",
                path: ["region"],
                message: `expected one of us, eu, asia for a ${c.tier} stack`,
            });
        if (c.peers[c.region])
            ctx.addIssue({
                code: "custom",
                path: ["peers", c.region],
                message: "expected only other regions as peers, not the stack's own region",
            });
        if (c.layers.multiCluster && !c.layers.mesh)
            ctx.addIssue({
                code: "custom",
                path: ["layers", "multiCluster"],
                message: "expected layers.mesh to be true when layers.multiCluster is true",
            });
        for (const svc of c.services)
            if (!c.resources[svc.name])
                ctx.addIssue({
                    code: "custom",
                    path: ["resources", svc.name],
                    message: `expected {requests: {cpu, memory}, limits: {memory}} for service "${svc.name}"`,
                });
        if (c.layers.multiCluster && !c.cluster.apiServer)
            ctx.addIssue({
                code: "custom",
                path: ["cluster", "apiServer"],
                message: "expected the API server URL peers use when layers.multiCluster is true",
            });
        if (c.layers.multiCluster && !c.mesh.rootCaFrom)
            ctx.addIssue({
                code: "custom",
                path: ["mesh", "rootCaFrom"],
                message: "expected the region (us, eu or asia) whose stack holds the shared mesh root CA",
            });
        if (c.layers.redisEnterprise && !c.layers.mesh)
            ctx.addIssue({
                code: "custom",
                path: ["layers", "redisEnterprise"],
                message:
                    "expected layers.mesh to be true when layers.redisEnterprise is true (peer regions reach the cluster through the Istio ingress gateway)",
            });
        const aaOwner = c.redisEnterprise.activeActiveOwner;
        if (
            c.layers.redisEnterprise &&
            Object.keys(c.peers).length > 0 &&
            (!aaOwner || (aaOwner !== c.region && !c.peers[aaOwner]))
        )
            ctx.addIssue({
                code: "custom",
                path: ["redisEnterprise", "activeActiveOwner"],
                message: `expected this region (${c.region}) or one of its peers (${Object.keys(c.peers).join(", ")}): the region whose stack creates the Active-Active database`,
            });
        c.shop.directAccessCidrs.forEach((range, i) => {
            if (c.tier !== "dev" && /\/0$/.test(range))
                ctx.addIssue({
                    code: "custom",
                    path: ["shop", "directAccessCidrs", i],
                    message: `expected a private network range in a ${c.tier} stack: the internet reaches the shop through the Istio ingress gateway (HTTPS), not the plain-HTTP frontend-public`,
                });
        });
        if (c.layers.customMetricsAutoscaling && !c.layers.monitoring)
            ctx.addIssue({
                code: "custom",
                path: ["layers", "customMetricsAutoscaling"],
                message: "expected layers.monitoring to be true (the metrics come from Prometheus)",
            });
        if (c.layers.externalDns && (!c.dns.provider || !c.dns.zone))
            ctx.addIssue({
                code: "custom",
                path: ["dns"],
                message: "expected dns.provider and dns.zone when layers.externalDns is true",
            });
        if (c.tls.issuer !== "self-signed" && !c.tls.acmeEmail)
            ctx.addIssue({
                code: "custom",
                path: ["tls", "acmeEmail"],
                message: `expected an e-mail address when tls.issuer is ${c.tls.issuer}`,
            });
        if (c.tls.issuer === "acme-dns01" && !c.layers.externalDns && !c.dns.provider)
            ctx.addIssue({
                code: "custom",
                path: ["tls", "issuer"],
                message: "expected dns.provider to be set for the DNS-01 solver",
            });
        const writesDns = c.layers.externalDns || (c.layers.certManager && c.tls.issuer === "acme-dns01");
        if (writesDns && c.dns.provider === "azure" && !c.dns.azure)
            ctx.addIssue({
                code: "custom",
                path: ["dns", "azure"],
                message: "expected {subscriptionId, resourceGroup} of the Azure DNS zone when dns.provider is azure",
            });
        if (c.layers.certManager && c.tls.issuer === "acme-dns01" && c.dns.provider === "google" && !c.dns.google)
            ctx.addIssue({
                code: "custom",
                path: ["dns", "google"],
                message: "expected {project} of the Cloud DNS zone for the DNS-01 solver",
            });
        if (c.layers.externalDns && c.dns.zone) {
            const zone = c.dns.zone;
            const inZone = (h: string) => h === zone || h.endsWith(`.${zone}`);
            if (!inZone(c.domain))
                ctx.addIssue({
                    code: "custom",
                    path: ["domain"],
                    message: `expected a name inside dns.zone ${zone} (external-dns only writes names in the zone)`,
                });
            if (!inZone(c.shop.ingressHost))
                ctx.addIssue({
                    code: "custom",
                    path: ["shop", "ingressHost"],
                    message: `expected a name inside dns.zone ${zone} (external-dns only writes names in the zone)`,
                });
        }
    });

export type PlatformConfig = z.infer<typeof schema>;
export type ShopConfig = PlatformConfig["shop"];
export type ServiceConfig = PlatformConfig["services"][number];

// ---------------------------------------------------------------------------------------------
// Defaults per tier. Stack files override any part; objects merge key by key, arrays replace.

const IMAGES: PlatformConfig["images"] = {
    frontend: "nginxinc/nginx-unprivileged:1.27.3-alpine",
    frontendBuilder: "node:22.12.0-alpine",
    backend: "node:22.12.0-alpine",
    worker: "node:22.12.0-alpine",
    service: "node:22.12.0-alpine",
    postgres: "postgres:16.6-alpine",
    redis: "redis:7.4.1-alpine",
    nodeMetrics: "quay.io/prometheus/node-exporter:v1.8.2",
    postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
    redisExporter: "oliver006/redis_exporter:v1.62.0",
    nginxExporter: "nginx/nginx-prometheus-exporter:1.3.0",
};

const small = (cpuReq: string, memReq: string, cpuLim: string, memLim: string): Resources => ({
    requests: { cpu: cpuReq, memory: memReq },
    limits: { cpu: cpuLim, memory: memLim },
});

/** Laptop-sized requests; production doubles them. Keys are workload names. */
const DEV_RESOURCES: Record<string, Resources> = {
    frontend: small("25m", "32Mi", "200m", "64Mi"),
    backend: small("50m", "64Mi", "500m", "192Mi"),
    worker: small("25m", "64Mi", "250m", "128Mi"),
    postgres: small("100m", "256Mi", "1", "512Mi"),
    redis: small("25m", "32Mi", "250m", "128Mi"),
    "node-metrics": small("10m", "24Mi", "100m", "48Mi"),
    // Exporter sidecars (containers `metrics` of postgres, redis and frontend pods).
    "postgres-exporter": small("10m", "24Mi", "100m", "64Mi"),
    "redis-exporter": small("5m", "16Mi", "100m", "32Mi"),
    "nginx-exporter": small("5m", "12Mi", "50m", "32Mi"),
    "db-migrate": small("25m", "32Mi", "250m", "128Mi"),
    "db-backup": small("50m", "64Mi", "500m", "256Mi"),
    "product-catalog": small("50m", "64Mi", "500m", "192Mi"),
    payment: small("50m", "64Mi", "500m", "192Mi"),
    recommendation: small("50m", "96Mi", "500m", "256Mi"),
    auth: small("50m", "64Mi", "500m", "192Mi"),
};

function scaled(r: Resources, factor: number): Resources {
    const mul = (q: string, cpuUnit: boolean) => {
        const v = parseQuantity(q) * factor;
        return cpuUnit ? `${Math.round(v * 1000)}m` : `${Math.round(v / 2 ** 20)}Mi`;
    };
    return {
        requests: { cpu: mul(r.requests.cpu, true), memory: mul(r.requests.memory, false) },
        limits: { cpu: r.limits.cpu && mul(r.limits.cpu, true), memory: mul(r.limits.memory, false) },
    };
}

const CORE_SERVICES = ["product-catalog", "payment", "recommendation", "auth"];

function defaults(
    tier: Tier,
    region: Region,
    stack: string,
    distribution?: Distribution,
): Omit<PlatformConfig, "stack" | "tier" | "region"> {
    const prod = tier !== "dev";
    const dist: Distribution = distribution ?? (prod ? "eks" : "kind");
    const hpa = (min: number, max: number): Autoscaling => ({
        minReplicas: min,
        maxReplicas: max,
        cpuUtilization: 70,
        requestsPerSecond: 20,
    });
    return {
        cluster: { identifier: prod ? `${region}-${tier}` : "dev-local", distribution: dist, zones: [] },
        domain: prod ? `${region}.shop.example.com` : "localtest.me",
        layers: {
            shop: true,
            coreServices: true,
            mesh: true,
            multiCluster: prod,
            redisEnterprise: prod,
            monitoring: true,
            tracing: true,
            customMetricsAutoscaling: true,
            // Only where the cluster has no metrics API (a second metrics-server would fight over the APIService).
            metricsServer: DISTRIBUTIONS_WITHOUT_METRICS_SERVER.includes(dist),
            certManager: true,
            externalDns: false,
        },
        images: IMAGES,
        resources: prod
            ? Object.fromEntries(Object.entries(DEV_RESOURCES).map(([k, v]) => [k, scaled(v, 2)]))
            : DEV_RESOURCES,
        scheduling: { nodeSelector: {}, tolerations: [], spreadAcrossZones: prod },
        shop: {
            namespace: "warung-kopi",
            frontend: { replicas: prod ? 3 : 1, autoscaling: prod ? hpa(3, 10) : hpa(1, 3) },
            backend: { replicas: prod ? 2 : 1, autoscaling: prod ? hpa(2, 8) : hpa(1, 3) },
            worker: { replicas: prod ? 2 : 1 },
            postgres: {
                storage: prod ? "50Gi" : "2Gi",
                backupStorage: prod ? "100Gi" : "2Gi",
                backupSchedule: "0 2 * * *",
            },
            redis: {},
            // Laptop: the machine's own networks (loopback, Docker/kind bridges, home LAN); regions:
            // the private network (VPC/VNet, VPN) only.
            directAccessCidrs: prod ? ["10.0.0.0/8"] : ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"],
            // A directory that exists on laptop node images and holds nothing else: kubelet gives a local
            // volume's files to the pod's fsGroup, so it must not be shared with other volumes' data
            // (e.g. the local-path provisioner's directory, where PostgreSQL's own volume lives).
            backupVolume: { type: "local", path: "/mnt" },
            ingressHost: prod ? `kopi.${region}.shop.example.com` : "kopi.localtest.me",
        },
        services: CORE_SERVICES.map((name) => ({
            name,
            replicas: prod ? 3 : 1,
            autoscaling: prod ? hpa(3, 10) : hpa(1, 2),
        })),
        mesh: {
            meshId: "ecommerce-mesh",
            network: `network-${prod ? region : stack}`,
            gatewayServiceType: prod ? "LoadBalancer" : "NodePort",
            rootCaFrom: prod ? "us" : undefined,
        },
        peers: {},
        redisEnterprise: {
            nodes: 3,
            nodeResources: { cpu: "2", memory: "4Gi" },
            databaseMemory: "1GB",
            storageSize: "20Gi",
            activeActiveOwner: prod ? "us" : undefined,
        },
        monitoring: {
            namespace: "monitoring",
            retention: prod ? "15d" : "2d",
            prometheusStorage: prod ? "50Gi" : undefined,
        },
        tls: {
            issuer: prod ? "acme-http01" : "self-signed",
            acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
        },
        dns: {},
    };
}

// ---------------------------------------------------------------------------------------------
// Loading.

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

const named = (v: unknown): v is Plain & { name: string } => isPlain(v) && typeof v.name === "string";

/**
 * Objects merge key by key. Lists of named entries (e.g. `services`) merge by `name`: an entry
 * naming an existing one changes it, a new name adds one (so `services[0].name: payment` plus
 * `services[0].replicas: 5` adjusts payment alone). Other arrays and scalars in `override` replace.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
    if (override === undefined) return base;
    if (isPlain(base) && isPlain(override)) {
        const out: Plain = { ...base };
        for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
        return out;
    }
    if (Array.isArray(base) && Array.isArray(override) && base.every(named) && override.every(named)) {
        const out: unknown[] = [...base];
        const merged = new Set<string>();
        for (const entry of override) {
            const i = base.findIndex((b) => b.name === entry.name);
            // A second entry with the same name stays separate, so validation reports the duplicate.
            if (i >= 0 && !merged.has(entry.name)) {
                out[i] = deepMerge(base[i], entry);
                merged.add(entry.name);
            } else out.push(entry);
        }
        return out;
    }
    return override;
}

function valueAt(obj: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((o, k) => (o as any)?.[k as any], obj);
}

function formatPath(path: PropertyKey[]): string {
    const [key, ...rest] = path.map(String);
    return `${PROJECT}:${key}` + rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
}

export class ConfigError extends pulumi.RunError {}

/**
 * Validates raw stack configuration (as read from Pulumi.<stack>.yaml, structured values parsed)
 * and returns the typed configuration, or throws one ConfigError listing every problem.
 */
export function parseConfig(stack: string, raw: Record<string, unknown>): PlatformConfig {
    const unknownKeys = Object.keys(raw).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
    const tier = (raw.tier ?? "dev") as Tier;
    const region = (raw.region ?? "local") as Region;
    const rawDistribution = (raw.cluster as Plain | undefined)?.distribution as Distribution | undefined;
    const base = defaults(
        TIERS.includes(tier) ? tier : "dev",
        REGIONS.includes(region) ? region : "local",
        stack,
        DISTRIBUTIONS.includes(rawDistribution!) ? rawDistribution : undefined,
    );
    const { dnsCredentials: credentials, ...plainRaw } = raw;
    const merged = deepMerge({ stack, tier, region, ...base }, plainRaw) as Plain;
    const result = schema.safeParse(merged);
    const problems = unknownKeys.map(
        (k) => `  - ${PROJECT}:${k}: unknown key; expected one of ${CONFIG_KEYS.join(", ")}`,
    );
    if (result.success) problems.push(...dnsCredentialProblems(result.data, credentials));
    if (!result.success) {
        for (const issue of result.error.issues) {
            const value = valueAt(merged, issue.path);
            const shown = value === undefined ? "(not set)" : JSON.stringify(value);
            const message =
                issue.code === "unrecognized_keys" ? `unknown key(s) ${issue.keys.join(", ")}` : issue.message;
            problems.push(`  - ${formatPath(issue.path)} = ${shown}: ${message}`);
        }
    }
    if (problems.length > 0)
        throw new ConfigError(
            `Stack "${stack}" has invalid configuration; nothing was deployed:\n${problems.join("\n")}`,
        );
    return result.data!;
}

/** Reads the current stack's configuration through the Pulumi runtime. */
export function loadConfig(): PlatformConfig {
    const config = new pulumi.Config(PROJECT);
    const raw: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
        // Secret keys are read without the plain-text accessor (and never kept in `cfg`).
        const text = (SECRET_CONFIG_KEYS as readonly string[]).includes(key)
            ? pulumi.runtime.getConfig(`${PROJECT}:${key}`)
            : config.get(key);
        // Pulumi.yaml declares "", {} and [] as defaults: they mean "tier default".
        if (text === undefined || text === "" || text === "{}" || text === "[]") continue;
        try {
            raw[key] = /^[[{]/.test(text.trim()) ? JSON.parse(text) : coerce(text);
        } catch {
            raw[key] = text;
        }
    }
    return parseConfig(pulumi.getStack(), raw);
}

/** Problems with the secret `dnsCredentials` object, naming keys only (never values). */
function dnsCredentialProblems(cfg: PlatformConfig, credentials: unknown): string[] {
    const key = `${PROJECT}:dnsCredentials`;
    const given = credentials === undefined || credentials === "" ? undefined : credentials;
    const provider = cfg.dns.provider;
    const writesDns = cfg.layers.externalDns || (cfg.layers.certManager && cfg.tls.issuer === "acme-dns01");
    if (given === undefined) {
        return writesDns && provider === "cloudflare"
            ? [
                  `  - ${key} (not set): expected a secret {${DNS_CREDENTIAL_KEYS.cloudflare.join(", ")}} (Cloudflare has no workload identity): pulumi config set --secret --path dnsCredentials.apiToken <token>`,
              ]
            : [];
    }
    if (!isPlain(given) || Object.values(given).some((v) => typeof v !== "string" || v === ""))
        return [`  - ${key} (value hidden): expected an object of non-empty strings`];
    if (!provider)
        return [`  - ${key} (value hidden): expected dns.provider to say which provider the credentials are for`];
    const expected = DNS_CREDENTIAL_KEYS[provider];
    const keys = Object.keys(given).sort();
    if (keys.join() !== [...expected].sort().join())
        return [
            `  - ${key} has keys [${keys.join(", ")}]: expected exactly {${expected.join(", ")}} for dns.provider ${provider}`,
        ];
    if (provider === "azure" && (!cfg.dns.azure?.clientId || !cfg.dns.azure?.tenantId))
        return [
            `  - ${PROJECT}:dns.azure: expected clientId and tenantId of the service principal whose clientSecret is in dnsCredentials`,
        ];
    return [];
}

/**
 * The DNS provider credentials from the secret config key `dnsCredentials` (validated by loadConfig),
 * as a Pulumi secret; undefined when the stack uses workload identity (or no DNS writer) instead.
 */
export function dnsCredentials(): pulumi.Output<Record<string, string>> | undefined {
    const text = pulumi.runtime.getConfig(`${PROJECT}:dnsCredentials`);
    if (text === undefined || text === "" || text === "{}") return undefined;
    return pulumi.secret(JSON.parse(text) as Record<string, string>);
}

function coerce(text: string): unknown {
    if (text === "true" || text === "false") return text === "true";
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    return text;
}

/** Resources for a named workload, from config. */
export function resourcesFor(cfg: PlatformConfig, workload: string): Resources {
    const r = cfg.resources[workload];
    if (!r)
        throw new ConfigError(
            `${PROJECT}:resources.${workload} is not set: expected requests and limits for workload "${workload}"`,
        );
    return r;
}
