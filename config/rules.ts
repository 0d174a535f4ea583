// Rules across keys: settings that would be ignored, contradict each other or need another layer.
// Each rule names the key to change, the value found and what is expected.
import { digestPinProblem, type NodePool, type Taint, type Toleration } from "./fields";
import type { PlatformConfig } from "./schema";

export interface Problem {
    /** Key path below the project namespace, e.g. ["shop", "frontend", "replicas"]. */
    path: (string | number)[];
    message: string;
}

type Rule = (c: PlatformConfig) => Problem[];
const when = (cond: unknown, path: Problem["path"], message: string): Problem[] => (cond ? [{ path, message }] : []);

/** Where a layer needs another one, and why. */
const LAYER_NEEDS: [keyof PlatformConfig["layers"], keyof PlatformConfig["layers"], string][] = [
    ["multiCluster", "mesh", "the regions' clusters meet through Istio's east-west gateways"],
    ["redisEnterprise", "mesh", "peer regions reach the cluster through the Istio ingress gateway"],
    ["customMetricsAutoscaling", "monitoring", "the request-rate metric comes from Prometheus"],
    ["tracing", "mesh", "the Istio sidecars send the spans"],
    ["cloudNativePg", "certManager", "the Barman Cloud plugin's certificates come from cert-manager"],
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
    `${p.name} (labels ${JSON.stringify(p.labels)}, taints ${
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
            `no node pool labelled ${db.key}=${db.value} takes the stack's pods (its taints tolerated by scheduling.tolerations): the database would never land on database nodes`,
        );
    },
    (c) => {
        const zones = new Set(poolsFor(c, c.scheduling.nodeSelector).flatMap((p) => p.zones ?? []));
        return when(
            c.scheduling.spreadAcrossZones && zones.size < 2,
            ["scheduling", "spreadAcrossZones"],
            `true needs the pools that take the stack's pods to span two or more zones (they span ${zones.size}); set cluster.zones (or the pools' zones), or spreadAcrossZones: false`,
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
            `expected the kubeconfig context of the ${c.tier} cluster (only dev may use the current context)`,
        ),
    (c) =>
        when(
            c.tier !== "dev" && c.region === "local",
            ["region"],
            `expected one of us, eu, asia for a ${c.tier} stack`,
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
                `true needs layers.${needs} to be true too (${why}); set layers.${needs}: true or layers.${layer}: false`,
            ),
        ),
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
            s.calls.flatMap((callee, j) =>
                when(
                    !c.services.some((o) => o.name === callee) || callee === s.name,
                    ["services", i, "calls", j],
                    `"${callee}" is not another core service of this stack; expected one of ${c.services
                        .filter((o) => o.name !== s.name)
                        .map((o) => o.name)
                        .join(", ")}`,
                ),
            ),
        ),
    (c) =>
        c.services.flatMap((s) =>
            when(
                !c.resources[s.name],
                ["resources", s.name],
                `expected {requests: {cpu, memory}, limits: {memory}} for service "${s.name}", e.g. {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 192Mi}}`,
            ),
        ),
    (c) =>
        when(
            c.layers.multiCluster && !c.cluster.apiServer,
            ["cluster", "apiServer"],
            "expected the API server URL peers use when layers.multiCluster is true, e.g. https://api.us.example.com",
        ),
    (c) =>
        when(
            c.layers.multiCluster && !c.mesh.rootCaFrom,
            ["mesh", "rootCaFrom"],
            "expected the region (us, eu or asia) whose stack holds the shared mesh root CA",
        ),
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
                `is read only in the stack of mesh.rootCaFrom (${c.mesh.rootCaFrom}); this region takes its trust bundle from there: remove the key here`,
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
        (["egressCidrs", "peerSourceRanges"] as const).flatMap((key) =>
            c.redisEnterprise[key].flatMap((range, i) =>
                when(
                    /\/0$/.test(range),
                    ["redisEnterprise", key, i],
                    "expected the peers' own addresses: the Redis Enterprise API and databases admit only the peer regions",
                ),
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
    (c) =>
        when(
            c.layers.externalDns && (!c.dns.provider || !c.dns.zone),
            ["dns"],
            "expected dns.provider and dns.zone when layers.externalDns is true",
        ),
    (c) =>
        when(
            c.tls.issuer !== "self-signed" && !c.tls.acmeEmail,
            ["tls", "acmeEmail"],
            `expected an e-mail address when tls.issuer is ${c.tls.issuer}, e.g. platform-team@example.com`,
        ),
    (c) =>
        when(
            c.tls.issuer === "acme-dns01" && !c.dns.provider,
            ["tls", "issuer"],
            "acme-dns01 needs dns.provider (aws, google, azure or cloudflare) for the DNS-01 solver",
        ),
    (c) => {
        const writesDns = c.layers.externalDns || (c.layers.certManager && c.tls.issuer === "acme-dns01");
        return [
            ...when(
                writesDns && c.dns.provider === "azure" && !c.dns.azure,
                ["dns", "azure"],
                "expected {subscriptionId, resourceGroup} of the Azure DNS zone when dns.provider is azure",
            ),
            ...when(
                c.layers.certManager && c.tls.issuer === "acme-dns01" && c.dns.provider === "google" && !c.dns.google,
                ["dns", "google"],
                "expected {project} of the Cloud DNS zone for the DNS-01 solver",
            ),
        ];
    },
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

export function crossFieldProblems(c: PlatformConfig): Problem[] {
    return RULES.flatMap((rule) => rule(c));
}
