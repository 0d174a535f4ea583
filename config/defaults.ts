// Defaults per tier. A stack file names only what differs: objects merge key by key, lists of named
// entries (services) by name, other lists and values replace (./merge.ts).
import type { Autoscaling, Distribution, Region, Tier } from "./fields";
import type { z } from "zod";
import type { PlatformConfig, schema } from "./schema";
import { type ClusterProfile, PROFILES } from "./profiles";
import { SIZING } from "./sizing";

/**
 * Current releases, pinned by digest (the multi-platform index). Where each digest comes from, and how
 * to update them: docs/security.md, "Images".
 */
export const IMAGES: PlatformConfig["images"] = {
    frontend:
        "nginxinc/nginx-unprivileged:1.29.8-alpine@sha256:0c79d56aee561a1d81c63f00eee5fb5fe29279560cdc55e91425133104c7fbe6",
    frontendBuilder: "node:22.23.3-alpine@sha256:0a7108bf6c7bf5de370ffb1a3ed6be93d405b43ff159f681a8d18c0e2bc2e402",
    backend: "node:22.23.3-alpine@sha256:0a7108bf6c7bf5de370ffb1a3ed6be93d405b43ff159f681a8d18c0e2bc2e402",
    worker: "node:22.23.3-alpine@sha256:0a7108bf6c7bf5de370ffb1a3ed6be93d405b43ff159f681a8d18c0e2bc2e402",
    service: "node:22.23.3-alpine@sha256:0a7108bf6c7bf5de370ffb1a3ed6be93d405b43ff159f681a8d18c0e2bc2e402",
    postgres: "postgres:16.15-alpine@sha256:721873c34ceb9f8d8fc265984940dc982404c105f19ad51be9fdc5970a6080ea",
    // CloudNativePG's operand image (its instance manager runs inside it): the same major as dev, from the
    // project's signed image catalog (an immutable, dated tag).
    postgresCluster:
        "ghcr.io/cloudnative-pg/postgresql:16.15-202608310817-standard-trixie@sha256:6fedafdbf8b5b241e94c0307783a4875525141b98c4cbb8ec8a0b4134e9545d6",
    redis: "redis:7.4.11-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf",
    nodeMetrics: "prom/node-exporter:v1.10.2@sha256:3ac34ce007accad95afed72149e0d2b927b7e42fd1c866149b945b84737c62c3",
    postgresExporter:
        "prometheuscommunity/postgres-exporter:v0.19.1@sha256:e96064f876226d94bb6ce48a4c4b3dd76edba91168ec1ab024e5c4b959310b0f",
    redisExporter:
        "oliver006/redis_exporter:v1.84.0@sha256:7ef8e9c26638158fa4e7ad60df8c7e53d1919986753d6c1d2d1876b6ec38d87b",
    nginxExporter:
        "nginx/nginx-prometheus-exporter:1.5.1@sha256:9f6d963bb2b19d706d401cc3e2c3ea8de2f1c471b96a2156ca45e76f650b1625",
};

/**
 * The core services and their flows: who calls whom, and which paths of the public API host the
 * gateway routes to them. A service added in a stack file (name, flows, resources) runs the same way.
 */
export const CORE_SERVICE_FLOWS: Pick<
    PlatformConfig["services"][number],
    "name" | "publicPrefix" | "calls" | "userPaths"
>[] = [
    // Public browsing (no token needed); asks recommendation for "customers also bought", and auth for its keys.
    { name: "product-catalog", publicPrefix: "/catalog", calls: ["recommendation", "auth"], userPaths: [] },
    // Public (checkout): every request charges or reads a signed-in user's payments; writes its transactions to PostgreSQL.
    { name: "payment", publicPrefix: "/payments", calls: ["auth"], userPaths: ["/*"] },
    // Internal, called by product-catalog; personalised when the request carries the user's token.
    { name: "recommendation", calls: ["auth"], userPaths: [] },
    // Public: the OIDC issuer (discovery, JWKS, authorize, token: no token needed); userinfo acts for the user.
    { name: "auth", publicPrefix: "/auth", calls: [], userPaths: ["/userinfo"] },
];

/** Defaults are stack-file input: the same shape a stack file writes, before parsing. */
type Defaults = Omit<z.input<typeof schema>, "stack" | "tier" | "region">;

export function tierDefaults(
    tier: Tier,
    region: Region,
    stack: string,
    distribution?: Distribution,
    profile?: ClusterProfile,
    domainGiven?: string,
): Defaults {
    const prod = tier !== "dev";
    const domain = domainGiven ?? (prod ? `${region}.shop.example.com` : "localtest.me");
    const dist: Distribution = distribution ?? (prod ? "eks" : "kind");
    const hpa = (minReplicas: number, maxReplicas: number): Autoscaling => ({
        minReplicas,
        maxReplicas,
        cpuUtilization: 70,
        requestsPerSecond: 20,
    });
    return {
        cluster: {
            identifier: prod ? `${region}-${tier}` : "dev-local",
            distribution: dist,
            zones: [],
            // A laptop is one untainted node. A region's stack file describes its own pools (a list of
            // named entries merges by name, so a default pool here would stay next to them).
            nodePools: prod ? [] : [{ name: "laptop", labels: {}, taints: [], minNodes: 1 }],
            egressCidrs: [],
        },
        domain,
        layers: {
            shop: true,
            coreServices: true,
            mesh: true,
            multiCluster: prod,
            redisEnterprise: prod,
            // Production data on an operator made for it (replicas, failover, PITR); dev keeps the seed's StatefulSet.
            cloudNativePg: prod,
            monitoring: true,
            tracing: true,
            customMetricsAutoscaling: true,
            // Only where the cluster has no metrics API (a second metrics-server would fight over the APIService).
            metricsServer: !(profile ?? PROFILES[dist]).metricsServerProvided,
            certManager: true,
            externalDns: false,
        },
        images: IMAGES,
        resources: { ...SIZING[tier] },
        scheduling: { nodeSelector: {}, tolerations: [], spreadAcrossZones: prod },
        shop: {
            namespace: "warung-kopi",
            frontend: { autoscaling: prod ? hpa(3, 10) : hpa(1, 3) },
            backend: { autoscaling: prod ? hpa(2, 8) : hpa(1, 3) },
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
            // volume's files to the pod's fsGroup, so it must not be shared with other volumes' data.
            backupVolume: { type: "local", path: "/mnt" },
            ingressHost: `kopi.${domain}`,
        },
        services: CORE_SERVICE_FLOWS.map((s) => ({
            ...s,
            autoscaling: prod ? hpa(3, 10) : hpa(1, 2),
            cache: true,
        })),
        mesh: {
            meshId: "ecommerce-mesh",
            network: `network-${prod ? region : stack}`,
            gatewayServiceType: prod ? "LoadBalancer" : "NodePort",
            rootCaFrom: prod ? "us" : undefined,
            rootCa: { trusted: [1], signing: 1 },
            intermediateKey: 1,
            eastWestSourceRanges: [],
        },
        peers: {},
        redisEnterprise: {
            nodes: 3,
            databaseMemory: "1GB",
            sessionsMemory: "256MB",
            storageSize: "20Gi",
            activeActiveOwner: prod ? "us" : undefined,
            sessions: "active-active",
            peerSourceRanges: [],
            publicDns: false,
        },
        cloudNativePg: {
            instances: 3,
            synchronousStandbys: 1,
            storage: "50Gi",
            walStorage: "20Gi",
            backup: { schedule: "0 0 3 * * *", retention: "30d" },
        },
        monitoring: {
            namespace: "monitoring",
            retention: prod ? "15d" : "2d",
            prometheusStorage: prod ? "50Gi" : undefined,
            traceStorage: prod ? "50Gi" : "2Gi",
            traceRetentionDays: prod ? 7 : 2,
        },
        tls: {
            issuer: prod ? "acme-http01" : "self-signed",
            acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
        },
        dns: {},
    };
}
