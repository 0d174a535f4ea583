// Rules across keys: settings that would be ignored, contradict each other or need another layer.
// Each rule names the key to change, the value found and what is expected. Rules see the parsed
// configuration (tier defaults merged in) and what the stack file itself gave (`given`): a setting
// the stack names but the program would not use is an error, a tier default that goes unused is not.
import { digestPinProblem, type NodePool, type Taint, type Toleration } from "./fields";
import { cidrContains } from "./cidr";
import type { ImageName, LayerName, PlatformConfig } from "./schema";
import { didYouMean, suggestion } from "./messages";
import { redisDatabases, shardsOf, totalShards, TRIAL_LICENCE } from "./redis-databases";
import { WORKLOADS, type Workload } from "./sizing";

export interface Problem {
    /** Key path below the project namespace, e.g. ["shop", "frontend", "replicas"]. */
    path: (string | number)[];
    message: string;
}

type Given = Record<string, unknown>;
/** Which secret keys the stack sets (their values never reach the rules). */
export type SecretsSet = Partial<Record<string, boolean>>;
type Rule = (c: PlatformConfig, given: Given, secrets: SecretsSet) => Problem[];
const when = (cond: unknown, path: Problem["path"], message: string): Problem[] => (cond ? [{ path, message }] : []);
const obj = (v: unknown): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const isGiven = (given: Given, path: string[]) => path.reduce<unknown>((v, k) => obj(v)[k], given) !== undefined;

/** Where a layer needs another one, and why. */
const LAYER_NEEDS: [LayerName, LayerName, string][] = [
    ["multiCluster", "mesh", "the regions' clusters meet through Istio's east-west gateways"],
    ["redisEnterprise", "mesh", "peer regions reach the cluster through the Istio ingress gateway"],
    ["customMetricsAutoscaling", "monitoring", "the request-rate metric comes from Prometheus"],
    ["tracing", "mesh", "the Istio sidecars send the spans"],
    ["tracing", "monitoring", "Jaeger runs in the monitoring layer"],
    [
        "externalDns",
        "mesh",
        "the names it publishes come from the Istio ingress gateway's Gateways, VirtualServices and Ingresses",
    ],
    ["cloudNativePg", "certManager", "the Barman Cloud plugin's certificates come from cert-manager"],
    ["cloudNativePg", "shop", "it runs the shop's database and payment's ledger"],
];

/** Whether a toleration lets a pod onto nodes with the taint (PreferNoSchedule never keeps a pod away). */
export function tolerates(tolerations: readonly Toleration[], t: Taint): boolean {
    return (
        t.effect === "PreferNoSchedule" ||
        tolerations.some(
            (x) =>
                (x.operator === "Exists" ? x.key === t.key : x.key === t.key && (x.value ?? "") === (t.value ?? "")) &&
                x.effect === t.effect,
        )
    );
}

/** The node pools whose labels match `selector` and whose taints `tolerations` all tolerate. */
export function poolsFor(
    c: PlatformConfig,
    selector: Record<string, string>,
    tolerations: readonly Toleration[] = c.scheduling.tolerations,
): NodePool[] {
    return c.cluster.nodePools.filter(
        (p) =>
            Object.entries(selector).every(([k, v]) => p.labels[k] === v) &&
            p.taints.every((t) => tolerates(tolerations, t)),
    );
}

const describePool = (p: NodePool) =>
    `${p.name} (labels ${
        Object.entries(p.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "none"
    }, taints ${
        p.taints.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ""}:${t.effect}`).join(", ") || "none"
    })`;

/** Where the stack's pods may run: a pool must take them, and hold what they need of it. */
const PLACEMENT_RULES: Rule[] = [
    (c) =>
        c.cluster.nodePools.flatMap((p, i) =>
            when(
                c.cluster.nodePools.findIndex((o) => o.name === p.name) !== i,
                ["cluster", "nodePools", i, "name"],
                `"${p.name}" appears twice; expected each pool once`,
            ),
        ),
    (c) =>
        c.cluster.nodePools.flatMap((p, i) =>
            c.cluster.zones.length === 0
                ? []
                : (p.zones ?? []).flatMap((z, j) =>
                      when(
                          !c.cluster.zones.includes(z),
                          ["cluster", "nodePools", i, "zones", j],
                          `"${z}" is not one of cluster.zones (${c.cluster.zones.join(", ")})`,
                      ),
                  ),
        ),
    (c) =>
        when(
            poolsFor(c, c.scheduling.nodeSelector).length === 0,
            ["scheduling"],
            `no node pool takes the stack's pods: expected scheduling.nodeSelector to match the labels of a pool in cluster.nodePools and scheduling.tolerations to tolerate its taints (pools: ${c.cluster.nodePools
                .map(describePool)
                .join("; ")}); every pod would stay Pending`,
        ),
    (c) => {
        const db = c.scheduling.databaseNodeAffinity;
        if (!db) return [];
        const { [db.key]: _, ...rest } = c.scheduling.nodeSelector;
        return when(
            !poolsFor(c, { ...rest, [db.key]: db.value }).length,
            ["scheduling", "databaseNodeAffinity"],
            `expected a node pool labelled ${db.key}=${db.value} that takes the stack's pods (its taints tolerated by scheduling.tolerations): without one the database would never land on database nodes`,
        );
    },
    (c) => {
        const zones = new Set(poolsFor(c, c.scheduling.nodeSelector).flatMap((p) => p.zones ?? []));
        return when(
            c.scheduling.spreadAcrossZones && zones.size < 2,
            ["scheduling", "spreadAcrossZones"],
            `expected the pools that take the stack's pods to span two or more zones (they span ${zones.size}); set cluster.zones (or the pools' zones), or spreadAcrossZones: false`,
        );
    },
    (c) => {
        const nodes = poolsFor(c, c.scheduling.nodeSelector).reduce((n, p) => n + p.minNodes, 0);
        return when(
            c.layers.redisEnterprise && c.redisEnterprise.nodes > nodes,
            ["redisEnterprise", "nodes"],
            `expected at most ${nodes}: each Redis Enterprise node pod needs a node of its own (required anti-affinity), and the pools that take the stack's pods keep ${nodes} node(s)`,
        );
    },
];

/** Which layer runs each workload of the sizing table: `resources.<workload>` is ignored while it is off. */
const WORKLOAD_LAYER: Record<Workload, LayerName> = {
    frontend: "shop",
    backend: "shop",
    worker: "shop",
    postgres: "shop",
    "postgres-instance": "cloudNativePg",
    redis: "shop",
    "node-metrics": "shop",
    "postgres-exporter": "shop",
    "redis-exporter": "shop",
    "nginx-exporter": "shop",
    "db-migrate": "shop",
    "db-backup": "shop",
    "product-catalog": "coreServices",
    payment: "coreServices",
    recommendation: "coreServices",
    auth: "coreServices",
    "istio-proxy": "mesh",
    istiod: "mesh",
    "istio-cni": "mesh",
    "istio-gateway": "mesh",
    prometheus: "monitoring",
    "prometheus-config-reloader": "monitoring",
    alertmanager: "monitoring",
    grafana: "monitoring",
    "grafana-sidecar": "monitoring",
    "prometheus-operator": "monitoring",
    "prometheus-admission-patch": "monitoring",
    "kube-state-metrics": "monitoring",
    "node-exporter": "monitoring",
    jaeger: "tracing",
    "keda-operator": "customMetricsAutoscaling",
    "keda-metrics-server": "customMetricsAutoscaling",
    "keda-webhooks": "customMetricsAutoscaling",
    "redis-enterprise-node": "redisEnterprise",
    "metrics-server": "metricsServer",
    "cert-manager": "certManager",
    "cert-manager-webhook": "certManager",
    "cert-manager-cainjector": "certManager",
    "cert-manager-startupapicheck": "certManager",
    "external-dns": "externalDns",
    "cnpg-operator": "cloudNativePg",
    "barman-cloud-plugin": "cloudNativePg",
    "barman-cloud-sidecar": "cloudNativePg",
    opensearch: "tracing",
    "opensearch-init": "tracing",
    "jaeger-index-cleaner": "tracing",
};

/** Which layer runs each image: `images.<name>` is ignored while it is off. */
const IMAGE_LAYER: Record<ImageName, LayerName> = {
    frontend: "shop",
    frontendBuilder: "shop",
    backend: "shop",
    worker: "shop",
    postgres: "shop",
    postgresCluster: "cloudNativePg",
    redis: "shop",
    nodeMetrics: "shop",
    service: "coreServices",
    postgresExporter: "shop",
    redisExporter: "shop",
    nginxExporter: "shop",
};

const writesDns = (c: PlatformConfig) =>
    c.layers.externalDns || (c.layers.certManager && c.tls.issuer === "acme-dns01");

/** Settings only a switched-on part of the platform reads: naming one while it is off is a mistake. */
const USED_ONLY_WHEN: [string[], (c: PlatformConfig) => boolean, string][] = [
    [["shop"], (c) => c.layers.shop, "layers.shop is false"],
    [["services"], (c) => c.layers.coreServices, "layers.coreServices is false"],
    [["mesh"], (c) => c.layers.mesh, "layers.mesh is false"],
    [["redisEnterprise"], (c) => c.layers.redisEnterprise, "layers.redisEnterprise is false"],
    [["cloudNativePg"], (c) => c.layers.cloudNativePg, "layers.cloudNativePg is false"],
    [
        ["shop", "postgres"],
        (c) => !c.layers.cloudNativePg,
        "the shop's database runs on CloudNativePG (layers.cloudNativePg; its sizes and backups are under cloudNativePg)",
    ],
    [
        ["shop", "backupVolume"],
        (c) => !c.layers.cloudNativePg,
        "backups go to cloudNativePg.backup's object store while layers.cloudNativePg is true",
    ],
    [["monitoring"], (c) => c.layers.monitoring, "layers.monitoring is false"],
    [
        ["peers"],
        (c) => c.layers.multiCluster || c.layers.redisEnterprise,
        "peers link the multi-cluster mesh and Redis Enterprise, and layers.multiCluster and layers.redisEnterprise are false",
    ],
    [["tls"], (c) => c.layers.certManager, "certificates come from cert-manager, and layers.certManager is false"],
    [
        ["dns"],
        writesDns,
        "nothing writes DNS records: layers.externalDns is false and tls.issuer is not acme-dns01 (with layers.certManager)",
    ],
    [
        ["cluster", "apiServer"],
        (c) => c.layers.multiCluster,
        "only peers of a multi-cluster mesh use it, and layers.multiCluster is false",
    ],
    [
        ["mesh", "rootCaFrom"],
        (c) => c.layers.multiCluster,
        "a single-cluster mesh has its own root, and layers.multiCluster is false",
    ],
    [
        ["scheduling", "databaseNodeAffinity"],
        (c) => c.layers.shop,
        "the shop runs the database, and layers.shop is false",
    ],
    [["tls", "acmeEmail"], (c) => c.tls.issuer !== "self-signed", "tls.issuer is self-signed (no ACME account)"],
    [["tls", "acmeServer"], (c) => c.tls.issuer !== "self-signed", "tls.issuer is self-signed (no ACME account)"],
];

const DNS_PROVIDER_BLOCKS = ["aws", "google", "azure"] as const;

export const RULES: Rule[] = [
    ...PLACEMENT_RULES,
    // Production tiers run exactly the bytes that were reviewed: a tag can be re-pushed, a digest cannot.
    (c) =>
        Object.entries(c.images).flatMap(([name, ref]) => {
            const problem = c.tier === "dev" ? undefined : digestPinProblem(ref);
            return when(problem, ["images", name], `${problem} (a ${c.tier} stack runs images pinned by digest only)`);
        }),
    (c) =>
        when(
            c.tier !== "dev" && !c.cluster.context,
            ["cluster", "context"],
            `expected the kubeconfig context of the ${c.tier} cluster, e.g. ecommerce-${c.region} (only dev may use the current context: a ${c.tier} deploy must never go to whichever cluster kubectl points at)`,
        ),
    (c) =>
        when(
            c.tier !== "dev" && c.region === "local",
            ["region"],
            `expected a region name such as us, eu or asia for a ${c.tier} stack (local is the laptop)`,
        ),
    (c) =>
        when(
            c.peers[c.region],
            ["peers", c.region],
            "expected only other regions as peers, not the stack's own region",
        ),
    (c) =>
        LAYER_NEEDS.flatMap(([layer, needs, why]) =>
            when(
                c.layers[layer] && !c.layers[needs],
                ["layers", layer],
                `expected layers.${needs}: true as well (${why}); set layers.${needs}: true or layers.${layer}: false`,
            ),
        ),
    // Settings the stack names for a part of the platform that is off, or that another setting makes moot.
    (c, given) =>
        USED_ONLY_WHEN.flatMap(([path, used, why]) =>
            when(isGiven(given, path) && !used(c), path, `is ignored: ${why}. Remove it, or switch on what reads it`),
        ),
    (c, given) =>
        Object.keys(obj(given.resources)).flatMap((w) => {
            const layer = WORKLOAD_LAYER[w as Workload];
            return when(
                layer && !c.layers[layer],
                ["resources", w],
                `is ignored: ${w} runs in layers.${layer}, which is false. Remove it, or set layers.${layer}: true`,
            );
        }),
    (c, given) =>
        Object.keys(obj(given.images)).flatMap((i) => {
            const layer = IMAGE_LAYER[i as ImageName];
            return when(
                layer && !c.layers[layer],
                ["images", i],
                `is ignored: the ${i} image runs in layers.${layer}, which is false. Remove it, or set layers.${layer}: true`,
            );
        }),
    // A name under resources that is neither a workload of the sizing table nor a core service would size nothing.
    (c) => {
        const known = [
            ...WORKLOADS,
            ...c.services.map((s) => s.name).filter((n) => !WORKLOADS.includes(n as Workload)),
        ];
        return Object.keys(c.resources).flatMap((w) =>
            when(
                !known.includes(w),
                ["resources", w],
                `is not a workload of this stack${didYouMean(w, known)} Expected one of: ${known.join(", ")}`,
            ),
        );
    },
    // Autoscaling on request rate is KEDA's: without it the target is ignored.
    (c, given) => {
        if (c.layers.customMetricsAutoscaling) return [];
        const why = "is ignored: only KEDA scales on request rate, and layers.customMetricsAutoscaling is false";
        const shop = (["frontend", "backend", "worker"] as const).flatMap((w) =>
            when(
                isGiven(given, ["shop", w, "autoscaling", "requestsPerSecond"]),
                ["shop", w, "autoscaling", "requestsPerSecond"],
                why,
            ),
        );
        const services = (Array.isArray(given.services) ? given.services : []).flatMap((entry: unknown) => {
            const i = c.services.findIndex((s) => s.name === obj(entry).name);
            return when(
                i >= 0 && isGiven(obj(entry), ["autoscaling", "requestsPerSecond"]),
                ["services", i, "autoscaling", "requestsPerSecond"],
                why,
            );
        });
        return [...shop, ...services];
    },
    (c, given) =>
        (Array.isArray(given.services) ? given.services : []).flatMap((entry: unknown) => {
            const i = c.services.findIndex((s) => s.name === obj(entry).name);
            return when(
                i >= 0 && obj(entry).publicPrefix !== undefined && !c.layers.mesh,
                ["services", i, "publicPrefix"],
                "is ignored: the public API host is served by the Istio ingress gateway, and layers.mesh is false",
            );
        }),
    (c) =>
        c.services.flatMap((s, i) =>
            when(
                c.services.findIndex((o) => o.name === s.name) !== i,
                ["services", i, "name"],
                `"${s.name}" appears twice; expected each service once`,
            ),
        ),
    (c) =>
        c.services.flatMap((s, i) =>
            s.calls.flatMap((callee, j) => {
                const others = c.services.filter((o) => o.name !== s.name).map((o) => o.name);
                return when(
                    !others.includes(callee),
                    ["services", i, "calls", j],
                    `is not another core service of this stack${didYouMean(callee, others)} Expected one of: ${others.join(", ")}`,
                );
            }),
        ),
    (c) =>
        c.services.flatMap((s, i) =>
            when(
                c.layers.coreServices && s.cache && !c.layers.shop && !c.layers.redisEnterprise,
                ["services", i, "cache"],
                "expected false: the stack runs no cache (the shop's Redis needs layers.shop, the shared one layers.redisEnterprise); set cache: false for this service, or switch one of those layers on",
            ),
        ),
    (c) =>
        c.services.flatMap((s) => {
            const near = suggestion(
                s.name,
                c.services.map((o) => o.name).filter((n) => n !== s.name),
            );
            return when(
                !c.resources[s.name],
                ["resources", s.name],
                `expected {requests: {cpu, memory}, limits: {memory}} for the new service "${s.name}", e.g. {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 192Mi}}` +
                    (near ? `; or did you mean to change "${near}"?` : ""),
            );
        }),
    (c) =>
        when(
            c.layers.multiCluster && !c.cluster.apiServer,
            ["cluster", "apiServer"],
            "expected the API server URL peers use when layers.multiCluster is true, e.g. https://api.us.example.com",
        ),
    (c) => {
        const from = c.mesh.rootCaFrom;
        const regions = [c.region, ...Object.keys(c.peers)];
        return when(
            c.layers.multiCluster && (!from || !regions.includes(from)),
            ["mesh", "rootCaFrom"],
            `expected the region whose stack holds the shared mesh root CA: this region (${c.region}) or a peer (${Object.keys(c.peers).join(", ") || "none configured"})`,
        );
    },
    (c) => {
        const { trusted, signing } = c.mesh.rootCa;
        return [
            ...when(
                !trusted.includes(signing),
                ["mesh", "rootCa", "signing"],
                `expected one of the trusted generations [${trusted.join(", ")}]: a root outside the trust bundle would sign certificates no region accepts`,
            ),
            ...when(
                new Set(trusted).size !== trusted.length,
                ["mesh", "rootCa", "trusted"],
                "expected each generation once",
            ),
            ...when(
                !!c.mesh.rootCaFrom && c.mesh.rootCaFrom !== c.region && (trusted.join() !== "1" || signing !== 1),
                ["mesh", "rootCa"],
                `is ignored outside the stack of mesh.rootCaFrom (${c.mesh.rootCaFrom}): this region takes its trust bundle from there; remove the key here`,
            ),
        ];
    },
    (c) =>
        when(
            c.layers.multiCluster && c.cluster.egressCidrs.length === 0,
            ["cluster", "egressCidrs"],
            "expected the public ranges this cluster's pods leave through (its NAT gateway addresses, e.g. [192.0.2.16/28]) when layers.multiCluster is true: the peers' east-west gateways accept only these",
        ),
    (c) =>
        c.cluster.egressCidrs.flatMap((range, i) =>
            when(
                /\/0$/.test(range),
                ["cluster", "egressCidrs", i],
                "expected the NAT gateway addresses of the cluster, not the whole internet",
            ),
        ),
    (c) => {
        const owner = c.redisEnterprise.activeActiveOwner;
        const peers = Object.keys(c.peers);
        return when(
            c.layers.redisEnterprise && peers.length > 0 && (!owner || (owner !== c.region && !c.peers[owner])),
            ["redisEnterprise", "activeActiveOwner"],
            `expected this region (${c.region}) or one of its peers (${peers.join(", ")}): the region whose stack creates the Active-Active database`,
        );
    },
    (c) =>
        when(
            c.tier !== "dev" && (c.layers.shop || c.layers.coreServices) && !c.layers.redisEnterprise,
            ["layers", "redisEnterprise"],
            `expected true in a ${c.tier} stack: the shop and the core services keep their cache and sessions in Redis Enterprise (replicated across nodes); a single Redis pod is a dev-only convenience`,
        ),
    (c) =>
        c.redisEnterprise.peerSourceRanges.flatMap((range, i) =>
            when(
                /\/0$/.test(range),
                ["redisEnterprise", "peerSourceRanges", i],
                "expected the peers' own addresses: the Redis Enterprise API and databases admit only the peer regions",
            ),
        ),
    (c) =>
        c.shop.directAccessCidrs.flatMap((range, i) =>
            when(
                c.tier !== "dev" && /\/0$/.test(range),
                ["shop", "directAccessCidrs", i],
                `expected a private network range in a ${c.tier} stack: the internet reaches the shop through the Istio ingress gateway (HTTPS), not the plain-HTTP frontend-public`,
            ),
        ),
    (c) => {
        // Direct access is for machines outside the cluster: a range inside the pod or service range
        // would admit pods (the frontend's policy excepts those ranges from wider networks).
        const { podCidrs, serviceCidrs } = c.cluster.profile.network;
        return c.shop.directAccessCidrs.flatMap((range, i) => {
            const inside = [...podCidrs, ...serviceCidrs].find((cluster) => cidrContains(cluster, range));
            return when(
                inside,
                ["shop", "directAccessCidrs", i],
                `expected a network outside the cluster: ${range} lies in its pod or service range ${inside}, whose pods would reach the frontend's plain-text port (set cluster.profile.network if the cluster uses other ranges)`,
            );
        });
    },
    (c) =>
        when(
            c.layers.metricsServer && c.cluster.profile.metricsServerProvided,
            ["layers", "metricsServer"],
            `expected false: ${c.cluster.distribution} clusters run their own metrics-server (a second would fight over the APIService v1beta1.metrics.k8s.io); if yours has none, set cluster.profile.metricsServerProvided: false`,
        ),
    (c) =>
        when(
            c.layers.mesh && c.mesh.gatewayServiceType === "LoadBalancer" && c.cluster.profile.loadBalancer === "none",
            ["mesh", "gatewayServiceType"],
            `expected NodePort: nothing answers LoadBalancer Services on ${c.cluster.distribution} (cluster.profile.loadBalancer is none), so the gateway would never get an address and the deploy would wait for it`,
        ),
    (c) =>
        when(
            c.layers.externalDns && (!c.dns.provider || !c.dns.zone),
            ["dns"],
            "expected dns.provider and dns.zone when layers.externalDns is true, e.g. {provider: aws, zone: us.shop.example.com}",
        ),
    (c) =>
        DNS_PROVIDER_BLOCKS.flatMap((p) =>
            when(
                c.dns[p] !== undefined && c.dns.provider !== p,
                ["dns", p],
                `is ignored: dns.provider is ${c.dns.provider ?? "not set"}; expected dns.${p} only with dns.provider: ${p}`,
            ),
        ),
    (c) =>
        when(
            c.layers.certManager && c.tls.issuer !== "self-signed" && !c.tls.acmeEmail,
            ["tls", "acmeEmail"],
            `expected an e-mail address when tls.issuer is ${c.tls.issuer}, e.g. platform-team@example.com`,
        ),
    (c) =>
        when(
            c.layers.certManager && c.tls.issuer === "acme-dns01" && !c.dns.provider,
            ["tls", "issuer"],
            "expected dns.provider (aws, google, azure or cloudflare) as well: the DNS-01 solver writes the challenge into the zone, e.g. dns: {provider: aws, zone: us.shop.example.com}",
        ),
    (c) =>
        when(
            c.layers.certManager && c.tls.issuer === "acme-http01" && !c.layers.mesh,
            ["tls", "issuer"],
            "expected acme-dns01 or self-signed: acme-http01 answers the challenge through the Istio ingress gateway (IngressClass istio), and layers.mesh is false (or set layers.mesh: true)",
        ),
    (c) => [
        ...when(
            writesDns(c) && c.dns.provider === "azure" && !c.dns.azure,
            ["dns", "azure"],
            "expected {subscriptionId, resourceGroup} of the Azure DNS zone when dns.provider is azure",
        ),
        ...when(
            c.layers.certManager && c.tls.issuer === "acme-dns01" && c.dns.provider === "google" && !c.dns.google,
            ["dns", "google"],
            "expected {project} of the Cloud DNS zone for the DNS-01 solver",
        ),
    ],
    (c) => {
        const zone = c.dns.zone;
        if (!c.layers.externalDns || !zone) return [];
        const inZone = (h: string) => h === zone || h.endsWith(`.${zone}`);
        const outside = `expected a name inside dns.zone ${zone} (external-dns only writes names in the zone)`;
        return [
            ...when(!inZone(c.domain), ["domain"], outside),
            ...when(!inZone(c.shop.ingressHost), ["shop", "ingressHost"], outside),
        ];
    },
];

/** Production data on CloudNativePG: replicated, a synchronous standby, backups somewhere. */
RULES.push(
    (c) =>
        when(
            c.tier === "production" && c.layers.shop && !c.layers.cloudNativePg,
            ["layers", "cloudNativePg"],
            "expected true in a production stack: the shop's and payment's data need a replicated PostgreSQL with point-in-time recovery (the single-pod StatefulSet is for dev)",
        ),
    (c) => {
        const p = c.cloudNativePg;
        if (!c.layers.cloudNativePg) return [];
        return [
            ...when(
                !p.backup.destinationPath,
                ["cloudNativePg", "backup", "destinationPath"],
                "expected the object store for WAL archiving and base backups, e.g. s3://<bucket>/<region>",
            ),
            ...when(
                p.synchronousStandbys > p.instances - 1,
                ["cloudNativePg", "synchronousStandbys"],
                `expected at most ${p.instances - 1} (instances - 1): a standby cannot confirm its own commits`,
            ),
            ...when(
                c.tier === "production" && p.instances < 3,
                ["cloudNativePg", "instances"],
                "expected at least 3 in production: a primary and two standbys in different zones survive a zone",
            ),
            ...when(
                c.tier === "production" && p.synchronousStandbys < 1,
                ["cloudNativePg", "synchronousStandbys"],
                "expected at least 1 in production: a commit is on two servers before it is confirmed",
            ),
        ];
    },
);

/**
 * Redis Enterprise's licence: the secret `redisEnterpriseLicense` (the program creates the Secret) or
 * `redisEnterprise.licenseSecretName` (a Secret kept outside Pulumi), not both. Without either the
 * cluster runs the trial: 30 days and 4 shards, which production never runs on, and which no tier
 * may outgrow (the shards counted from the databases the region runs, config/redis-databases.ts).
 */
const LICENCE_COMMAND = 'pulumi config set --secret redisEnterpriseLicense "$(cat license.key)"';
RULES.push(
    (c, _given, secrets) =>
        when(
            c.layers.redisEnterprise && secrets.redisEnterpriseLicense && c.redisEnterprise.licenseSecretName,
            ["redisEnterprise", "licenseSecretName"],
            `expected either this Secret (kept outside Pulumi) or the secret redisEnterpriseLicense (the program creates the Secret), not both: remove one, e.g. pulumi config rm --path redisEnterprise.licenseSecretName`,
        ),
    (c, _given, secrets) => {
        if (!c.layers.redisEnterprise || secrets.redisEnterpriseLicense || c.redisEnterprise.licenseSecretName)
            return [];
        const dbs = redisDatabases(Object.keys(c.peers).length > 0);
        const shards = totalShards(dbs);
        const need =
            `this region's databases take ${shards} shards (${dbs.map((db) => `${db.name} ${shardsOf(db)}`).join(", ")}), ` +
            `the trial licence allows ${TRIAL_LICENCE.shards} for ${TRIAL_LICENCE.days} days`;
        const set = `set it with ${LICENCE_COMMAND}, or name a Secret you keep (key license) in redisEnterprise.licenseSecretName`;
        return [
            ...when(
                c.tier === "production",
                ["redisEnterpriseLicense"],
                `expected the Redis Enterprise licence in a production stack: ${need}; ${set}`,
            ),
            ...when(
                c.tier !== "production" && shards > TRIAL_LICENCE.shards,
                ["redisEnterpriseLicense"],
                `expected a Redis Enterprise licence: ${need}, so the databases past it would never be created; ${set}`,
            ),
        ];
    },
);

export function crossFieldProblems(c: PlatformConfig, given: Given = {}, secrets: SecretsSet = {}): Problem[] {
    return RULES.flatMap((rule) => rule(c, given, secrets));
}
