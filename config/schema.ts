// The shape of a stack's configuration after the tier defaults are merged in: every key the program
// reads, strict at every depth (an unknown or misspelt key is an error, never ignored). Cross-field
// rules live in ./rules.ts, tier defaults in ./defaults.ts.
import { z } from "zod";
import {
    bool,
    checkScaling,
    cidr,
    count,
    DISTRIBUTIONS,
    DNS_PROVIDERS,
    dnsLabel,
    hostName,
    image,
    labelMap,
    nodePool,
    normalizeScaling,
    oneOf,
    region,
    resources,
    scalable,
    scalableFields,
    storage,
    text,
    TIERS,
    toleration,
} from "./fields";
import { profileOverrides, resolveProfile } from "./profiles";

/** A CA generation: 1, 2, 3... (a new generation is a new key; docs/runbook.md, "Mesh certificate authority"). */
const generation = z
    .number({ message: "expected a generation number such as 1" })
    .int("expected a whole generation number such as 2")
    .min(1, "expected a generation number of 1 or more");

export const LAYER_NAMES = [
    "shop",
    "coreServices",
    "mesh",
    "multiCluster",
    "redisEnterprise",
    "cloudNativePg",
    "monitoring",
    "tracing",
    "customMetricsAutoscaling",
    "metricsServer",
    "certManager",
    "externalDns",
] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

export const IMAGE_NAMES = [
    "frontend",
    "frontendBuilder",
    "backend",
    "worker",
    "postgres",
    "postgresCluster",
    "redis",
    "nodeMetrics",
    "service",
    "postgresExporter",
    "redisExporter",
    "nginxExporter",
] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** Redis Enterprise memory size, as the database custom resources take it. */
const memorySize = z.string().regex(/^\d+(MB|GB)$/, "expected a Redis Enterprise memory size such as 512MB or 2GB");
/** An Istio path match: exact (/userinfo), prefix (/orders/*) or every path (/*). */
const userPath = z
    .string()
    .regex(
        /^\/[A-Za-z0-9._~/-]*\*?$/,
        "expected a path such as /userinfo, /orders/* or /* (a trailing * matches a prefix)",
    );

const pathPrefix = z
    .string({ message: "expected a path prefix such as /catalog" })
    .regex(/^\/[a-z0-9][a-z0-9/-]*[a-z0-9]$/, "expected a path prefix such as /catalog (no trailing slash)");

/** One core service: how many pods, and its flows (who it calls, whether the API gateway routes to it). */
const coreService = z
    .strictObject({
        name: dnsLabel,
        ...scalableFields,
        /** Path prefix on the public API host (https://api.<domain><prefix>); absent = internal only. */
        publicPrefix: pathPrefix.optional(),
        /** Core services this one calls (NetworkPolicy, authorization and journey tests derive from it). */
        calls: z.array(dnsLabel, { message: "expected a list of core service names, e.g. [auth]" }).default([]),
        /** Whether it uses the distributed cache. */
        cache: bool.default(true),
        /**
         * Paths (as the service receives them, after the gateway's prefix) that act for a signed-in user:
         * requests need a valid access token from the auth service, from any caller.
         */
        userPaths: z.array(userPath).default([]),
    })
    .superRefine(checkScaling)
    .transform(normalizeScaling);
export type ServiceConfig = z.infer<typeof coreService>;

export const schema = z.strictObject({
    stack: z.string(),
    tier: oneOf(TIERS),
    region,
    cluster: z
        .strictObject({
            /** kubeconfig context; empty means the kubeconfig's current context (local clusters only). */
            context: text("the name of a context in your kubeconfig, e.g. ecommerce-us").optional(),
            /** Stable identity of the cluster, so a kubeconfig rotation never replaces the provider. */
            identifier: dnsLabel,
            distribution: oneOf(DISTRIBUTIONS),
            /** Availability zones the cluster's nodes run in (topology.kubernetes.io/zone values). */
            zones: z.array(text("an availability zone such as us-east-1a"), {
                message: "expected a list of availability zones, e.g. [us-east-1a, us-east-1b]",
            }),
            /** API server URL as peer clusters reach it (multi-cluster mesh remote secrets). */
            apiServer: z.url("expected the API server URL, e.g. https://api.us.example.com").optional(),
            /**
             * Public addresses the cluster's pods leave through (NAT gateway addresses), published to
             * the peer regions: their east-west gateways accept connections from these ranges only.
             */
            egressCidrs: z.array(cidr),
            /** Facts about the cluster that differ from its distribution's stock profile (config/profiles.ts). */
            profile: profileOverrides.default({}),
            /** The node pools pods land on (labels, taints, zones, fewest nodes); dev: one untainted node. */
            nodePools: z
                .array(nodePool)
                .min(
                    1,
                    "expected the cluster's node pools, e.g. [{name: general, labels: {}, taints: [], minNodes: 3}]",
                ),
        })
        // The resolved profile: the distribution's facts with the stack's overrides; each pool's zones
        // default to the cluster's.
        .transform((c) => ({
            ...c,
            profile: resolveProfile(c.distribution, c.profile),
            nodePools: c.nodePools.map((p) => ({ ...p, zones: p.zones ?? c.zones })),
        })),
    /** Public base domain; hosts are <app>.<domain>. */
    domain: hostName,
    layers: z.strictObject(Object.fromEntries(LAYER_NAMES.map((l) => [l, bool])) as Record<LayerName, typeof bool>),
    images: z.strictObject(Object.fromEntries(IMAGE_NAMES.map((i) => [i, image])) as Record<ImageName, typeof image>),
    /** Requests and limits per workload (our pods and each chart component), over the tier's sizing table. */
    resources: z.record(dnsLabel, resources),
    scheduling: z.strictObject({
        nodeSelector: labelMap,
        tolerations: z.array(toleration),
        /** Spread replicas across zones as well as nodes (needs cluster.zones or zone-labelled nodes). */
        spreadAcrossZones: bool,
        /** Label of the nodes PostgreSQL prefers (node affinity), e.g. {key: "workload-class", value: "database"}. */
        databaseNodeAffinity: z
            .strictObject({
                key: text("a node label key such as workload-class"),
                value: z.string({ message: "expected the node label's value as text, e.g. database" }),
            })
            .optional(),
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
         * frontend-public, bypassing the Istio ingress gateway). The internet enters through the gateway.
         */
        directAccessCidrs: z.array(cidr).min(1, "expected at least one CIDR range, e.g. [10.20.0.0/16]"),
        /** Static PersistentVolume for backups. */
        backupVolume: z.discriminatedUnion(
            "type",
            [
                z.strictObject({
                    type: z.literal("local"),
                    path: z
                        .string({ message: "expected an absolute path such as /mnt" })
                        .startsWith("/", "expected an absolute path such as /mnt"),
                }),
                z.strictObject({
                    type: z.literal("nfs"),
                    server: hostName,
                    path: z
                        .string({ message: "expected an absolute path such as /exports/warung-kopi" })
                        .startsWith("/", "expected an absolute path such as /exports/warung-kopi"),
                }),
            ],
            { message: "expected {type: local, path} or {type: nfs, server, path}" },
        ),
        ingressHost: hostName,
    }),
    services: z.array(coreService),
    mesh: z.strictObject({
        meshId: dnsLabel,
        network: dnsLabel,
        /** Service type of the ingress and east-west gateways: NodePort on laptops (nothing assigns a LoadBalancer address). */
        gatewayServiceType: oneOf(["NodePort", "LoadBalancer"]),
        /**
         * Region whose stack holds the mesh's root CA (multi-cluster). Every region creates its own
         * intermediate key and publishes only a certificate request; the root's stack signs it.
         */
        rootCaFrom: region.optional(),
        /**
         * Root CA generations, read in the stack of mesh.rootCaFrom only: `trusted` are in every region's
         * trust bundle, `signing` signs the intermediates (rotation: docs/runbook.md).
         */
        rootCa: z.strictObject({
            trusted: z.array(generation).min(1, "expected at least one root generation, e.g. [1]"),
            signing: generation,
        }),
        /** Generation of this region's intermediate CA key; raise it by one to rotate the key (docs/runbook.md). */
        intermediateKey: generation,
        /** Extra source ranges the east-west gateway accepts, besides the peers' published cluster.egressCidrs. */
        eastWestSourceRanges: z.array(cidr),
    }),
    /** Peer region stacks, region -> fully qualified stack name (org/project/stack). */
    peers: z.record(
        region,
        z
            .string({ message: "expected a fully qualified stack name such as acme/ecommerce-platform/eu" })
            .regex(
                /^[^/\s]+\/[^/\s]+\/[^/\s]+$/,
                "expected a fully qualified stack name org/project/stack, e.g. acme/ecommerce-platform/eu",
            ),
        { message: "expected a map of region to stack, e.g. {eu: acme/ecommerce-platform/eu}" },
    ),
    redisEnterprise: z.strictObject({
        nodes: count("nodes", 3),
        /** The regional cache database (the shop and the core services, one Redis ACL user each). */
        databaseMemory: memorySize,
        /** Each of auth's sessions databases (the regional one and the Active-Active one). */
        sessionsMemory: memorySize,
        storageSize: storage,
        /**
         * Region whose stack creates the Active-Active database (RedisEnterpriseActiveActiveDatabase); the
         * operator creates its replica in every other participating region. It must be this region or a peer.
         */
        activeActiveOwner: region.optional(),
        /**
         * Where auth keeps its sessions: "active-active" switches to the Active-Active database once it
         * exists in this region; "regional" keeps (or puts back) the regional sessions database.
         */
        sessions: oneOf(["active-active", "regional"]),
        /**
         * More source ranges the Redis Enterprise peer endpoints admit, besides the peers' published
         * cluster.egressCidrs and this region's own (e.g. a peer that publishes none).
         */
        peerSourceRanges: z.array(cidr),
        /** Write the cluster API and database names into public DNS (external-dns); off: peers resolve them privately. */
        publicDns: bool,
        /**
         * A Secret kept outside Pulumi (key `license`, in the redis-enterprise namespace) holding the
         * cluster's licence; or the secret key redisEnterpriseLicense, from which the program creates it.
         * Neither: the trial (30 days, 4 shards), which production stacks never run on (config/rules.ts).
         */
        licenseSecretName: dnsLabel.optional(),
    }),
    /**
     * PostgreSQL on CloudNativePG (layers.cloudNativePg): a Cluster of `instances` spread across zones,
     * `synchronousStandbys` of them confirming every commit, WAL archiving and base backups to an
     * object store through the Barman Cloud plugin.
     */
    cloudNativePg: z.strictObject({
        instances: count("instances", 1),
        synchronousStandbys: count("synchronous standbys", 0),
        storage,
        walStorage: storage,
        backup: z.strictObject({
            /** Object store URL: s3://bucket/path, gs://bucket/path or https://<account>.blob.core.windows.net/<container>/path. */
            destinationPath: z
                .string()
                .regex(
                    /^(s3:\/\/|gs:\/\/|https:\/\/)[^\s]+$/,
                    "expected an object store URL such as s3://bucket/path, gs://bucket/path or https://<account>.blob.core.windows.net/<container>/path",
                )
                .optional(),
            /** S3-compatible endpoint other than AWS (e.g. MinIO), as a URL. */
            endpointURL: z.url("expected the object store endpoint URL, e.g. https://minio.example.com").optional(),
            /** AWS region of the S3 bucket (the sidecar's AWS_DEFAULT_REGION). */
            region: z.string().min(1).optional(),
            /** Base backups: six-field cron (seconds first, as CloudNativePG reads it), e.g. "0 0 3 * * *". */
            schedule: z
                .string()
                .regex(
                    /^(\S+\s+){5}\S+$/,
                    "expected a six-field cron schedule with seconds first, such as '0 0 3 * * *'",
                ),
            /** How long backups and WAL are kept: <n>d, <n>w or <n>m (days, weeks, months). */
            retention: z.string().regex(/^[1-9][0-9]*[dwm]$/, "expected a retention such as 30d, 4w or 3m"),
            /**
             * Workload identity of the database pods (which run the backup sidecar): annotations for their
             * ServiceAccount (eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account,
             * azure.workload.identity/client-id) and labels for their pods. Without it, backupCredentials.
             */
            workloadIdentity: z
                .strictObject({ annotations: labelMap.default({}), podLabels: labelMap.default({}) })
                .optional(),
        }),
    }),
    monitoring: z.strictObject({
        namespace: dnsLabel,
        retention: z
            .string({ message: "expected a Prometheus retention such as 15d" })
            .regex(/^\d+[hdwy]$/, "expected a Prometheus retention such as 15d"),
        prometheusStorage: storage.optional(),
        /** Volume of the trace store: Jaeger's Badger volume (dev), each OpenSearch node's volume (regions). */
        traceStorage: storage,
        /** Days traces are kept. */
        traceRetentionDays: count("days", 1),
    }),
    tls: z.strictObject({
        issuer: oneOf(["self-signed", "acme-http01", "acme-dns01"]),
        acmeEmail: z
            .email("expected an e-mail address for the ACME account, e.g. platform-team@example.com")
            .optional(),
        acmeServer: z
            .url("expected the ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory")
            .optional(),
    }),
    dns: z.strictObject({
        provider: oneOf(DNS_PROVIDERS).optional(),
        /** Zone external-dns may write to; it never touches names outside it. */
        zone: hostName.optional(),
        /** Route 53: region of the API calls and, optionally, the hosted zone's ID. */
        aws: z
            .strictObject({
                region: text("an AWS region such as us-east-1").optional(),
                hostedZoneId: text("a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ").optional(),
            })
            .optional(),
        /** Cloud DNS: the project holding the zone (detected on GKE; required for DNS-01). */
        google: z.strictObject({ project: text("a GCP project ID such as acme-ecommerce-eu") }).optional(),
        /** Azure DNS: where the zone lives (identifiers, not credentials). */
        azure: z
            .strictObject({
                subscriptionId: text("the Azure subscription ID (a GUID)"),
                resourceGroup: text("the resource group of the DNS zone, e.g. ecommerce-asia-dns"),
                tenantId: text("the Azure tenant ID (a GUID)").optional(),
                /** Client ID of the service principal or managed identity (an identifier; its secret goes in dnsCredentials). */
                clientId: text("the client ID (a GUID)").optional(),
            })
            .optional(),
        /**
         * Workload identity of the DNS writers (external-dns and cert-manager's DNS-01 solver): annotations
         * for their ServiceAccounts and labels for their pods.
         */
        workloadIdentity: z
            .strictObject({ annotations: labelMap.default({}), podLabels: labelMap.default({}) })
            .optional(),
    }),
});

export type PlatformConfig = z.infer<typeof schema>;
export type ShopConfig = PlatformConfig["shop"];
