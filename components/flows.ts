// The traffic between the platform's workloads, as one table: who calls whom, on which port and
// protocol, which paths act for a signed-in user, and which flows also arrive from other regions
// through the east-west gateway. The NetworkPolicies of both ends, the Istio AuthorizationPolicies,
// the ports that take plain text and the hosts that stay in their region all derive from it, and so
// do the journey tests. A flow, or a workload, is added here once; core services and their flows
// come from config `services` (calls, publicPrefix, cache, userPaths), so a service added in a stack
// file gets its flows without a code change.
//
// Scope: application traffic (the shop, the core services, their data stores, the gateways in
// front of them and Prometheus scraping them). Flows among a chart's own components (Prometheus to
// Alertmanager, KEDA to the API server) stay with the layer that installs the chart.
import { CHART_PODS } from "./chart-pods";
import { cidrContains, type PlatformConfig } from "../config";
import type { CacheEndpoint, EgressRule, IngressRule, MeshPolicy, Peer } from "./contracts";
import { selectorLabels } from "./labels";
import { APP_PORTS, EAST_WEST_GATEWAY, INGRESS_GATEWAY, NAMESPACES, SHOP_WORKLOADS, TRUST_DOMAIN } from "./names";
import { namespacePeer, podPeer, tcp } from "./network";

/** A workload (or a group of pods) at one end of a flow. */
export interface Party {
    /** "<namespace>/<name>". */
    id: string;
    namespace: string;
    name: string;
    /** Labels selecting its pods. */
    pods: Record<string, string>;
    /** Its ServiceAccount, the caller's identity in the mesh. */
    serviceAccount?: string;
    /** It runs an Istio proxy (sidecar or gateway): it speaks mTLS and carries a principal. */
    meshed: boolean;
}

/** Clients outside the cluster network, by address (each range excepts the cluster's own ranges inside it). */
export interface Addresses {
    id: string;
    ranges: { cidr: string; except: string[] }[];
}

export type Source = Party | Addresses;
export const isParty = (s: Source): s is Party => "namespace" in s;

export interface Flow {
    from: Source;
    to: Party;
    /** Container port at the destination (NetworkPolicy and AuthorizationPolicy speak container ports). */
    port: number;
    protocol: "http" | "tcp";
    /** What the traffic is, for people reading the table and the journey reports. */
    purpose: string;
    /** Also arrives from the same callers in other regions, through this cluster's east-west gateway. */
    crossRegion?: boolean;
    /** Paths (as the destination receives them) that act for a signed-in user: a valid access token is required. */
    userPaths?: string[];
}

/** Where a cache database's servers run, as a consumer's endpoint says. */
export type CachePlacement = Pick<CacheEndpoint, "namespace" | "podSelector" | "port">;

export interface FlowInputs {
    cfg: PlatformConfig;
    shop: boolean;
    coreServices: boolean;
    /** Istio runs: the application namespaces have sidecars and the ingress gateway serves the public hosts. */
    mesh: boolean;
    /** Other regions reach the core services through this cluster's east-west gateway. */
    multiCluster: boolean;
    /** Prometheus's namespace, when the stack is monitored. */
    monitoringNamespace?: string;
    /** The shop's cache when it is not its own Redis (its endpoint of a Redis Enterprise database). */
    shopCache?: CachePlacement;
    /** Each core service's cache, by service name, when not the shop's own Redis (Redis Enterprise). */
    serviceCaches?: Record<string, CachePlacement>;
    /**
     * The database when it is not the shop's own PostgreSQL StatefulSet (e.g. an operator's cluster):
     * where its pods run, how they are selected, their port, and whether they run a sidecar.
     */
    database?: {
        namespace: string;
        podSelector: Record<string, string>;
        port: number;
        serviceAccount?: string;
        meshed: boolean;
    };
    /** Core services that keep records in the shop's PostgreSQL (their own database and login). */
    databaseClients: string[];
}

const workload = (namespace: string, name: string, meshed: boolean): Party => ({
    id: `${namespace}/${name}`,
    namespace,
    name,
    pods: selectorLabels(name),
    serviceAccount: name,
    meshed,
});

/** Paths of the probes (apps/service.js): for the kubelet, never for the internet. */
export const PROBE_PATHS = ["/healthz", "/readyz"] as const;

/** The mesh identity of a party: `cluster.local/ns/<namespace>/sa/<service account>`. */
export const principal = (p: Party) => `${TRUST_DOMAIN}/ns/${p.namespace}/sa/${p.serviceAccount}`;

/**
 * The networks allowed to reach the frontend directly, each without the cluster's pod and service
 * ranges inside it: an ipBlock may match pod addresses, and every pod would reach the plain-text port.
 */
export function directAccessRanges(cfg: PlatformConfig): Addresses["ranges"] {
    const { podCidrs, serviceCidrs } = cfg.cluster.profile.network;
    return cfg.shop.directAccessCidrs.map((cidr) => ({
        cidr,
        except: [...podCidrs, ...serviceCidrs].filter((inner) => cidrContains(cidr, inner) && inner !== cidr),
    }));
}

export class FlowTable {
    readonly flows: Flow[] = [];
    readonly parties = new Map<string, Party>();
    /** The shop's database and its cache, where they run. */
    readonly database?: Party & { port?: number };
    readonly cache?: Party & { port: number };
    readonly ingressGateway?: Party;
    readonly eastWestGateway?: Party;
    readonly prometheus?: Party;

    constructor(on: FlowInputs) {
        const { cfg } = on;
        const add = (p: Party) => (this.parties.set(p.id, p), p);
        const flow = (f: Flow) => this.flows.push(f);
        if (on.mesh)
            this.ingressGateway = add({
                id: `${NAMESPACES.ingress}/${INGRESS_GATEWAY.name}`,
                namespace: NAMESPACES.ingress,
                name: INGRESS_GATEWAY.name,
                pods: { ...INGRESS_GATEWAY.podLabels },
                serviceAccount: INGRESS_GATEWAY.name,
                meshed: true,
            });
        if (on.mesh && on.multiCluster)
            this.eastWestGateway = add({
                id: `${NAMESPACES.istio}/${EAST_WEST_GATEWAY.name}`,
                namespace: NAMESPACES.istio,
                name: EAST_WEST_GATEWAY.name,
                pods: { ...EAST_WEST_GATEWAY.podLabels },
                serviceAccount: EAST_WEST_GATEWAY.name,
                meshed: true,
            });
        if (on.monitoringNamespace)
            this.prometheus = add({
                id: `${on.monitoringNamespace}/prometheus`,
                namespace: on.monitoringNamespace,
                name: "prometheus",
                pods: { ...CHART_PODS.prometheus.selector },
                meshed: false,
            });
        const scraped = (to: Party) => {
            if (this.prometheus)
                flow({
                    from: this.prometheus,
                    to,
                    port: APP_PORTS.metrics,
                    protocol: "http",
                    purpose: "Prometheus scrapes /metrics",
                });
        };

        // An external cache database (Redis Enterprise), one party per database port.
        const external = (c: CachePlacement): Party & { port: number } => ({
            ...add({
                id: `${c.namespace}/cache-${c.port}`,
                namespace: c.namespace,
                name: `cache-${c.port}`,
                pods: { ...(c.podSelector ?? {}) },
                meshed: false,
            }),
            port: c.port,
        });
        let ownRedis: (Party & { port: number }) | undefined;

        // ---- The shop: regional (its data stays in its region, no failover to other regions).
        if (on.shop) {
            const ns = cfg.shop.namespace;
            const w = (name: string) => add(workload(ns, name, on.mesh));
            const frontend = w(SHOP_WORKLOADS.frontend);
            const backend = w(SHOP_WORKLOADS.backend);
            const worker = w(SHOP_WORKLOADS.worker);
            const migrate = w(SHOP_WORKLOADS.migrate);
            // The shop's own PostgreSQL (dev), with the Jobs that only it has; else the database's layer.
            const own = !on.database;
            const postgres = own ? w(SHOP_WORKLOADS.postgres) : undefined;
            const dbJobs = own ? [w(SHOP_WORKLOADS.roles), w(SHOP_WORKLOADS.backup)] : [];
            this.database = on.database
                ? add({
                      id: `${on.database.namespace}/database`,
                      namespace: on.database.namespace,
                      name: "database",
                      pods: { ...on.database.podSelector },
                      serviceAccount: on.database.serviceAccount,
                      meshed: on.database.meshed,
                  })
                : postgres;
            const dbPort = on.database?.port ?? 5432;
            if (!on.shopCache) ownRedis = { ...w(SHOP_WORKLOADS.redis), port: 6379 };
            this.cache = on.shopCache ? external(on.shopCache) : ownRedis;
            const direct: Addresses = { id: "direct-access", ranges: directAccessRanges(cfg) };
            const http = APP_PORTS.http;
            flow({
                from: direct,
                to: frontend,
                port: http,
                protocol: "http",
                purpose: "direct access: frontend-public, frontend-nodeport",
            });
            if (this.ingressGateway) {
                flow({
                    from: this.ingressGateway,
                    to: frontend,
                    port: http,
                    protocol: "http",
                    purpose: "the shop's Ingress: /",
                });
                flow({
                    from: this.ingressGateway,
                    to: backend,
                    port: http,
                    protocol: "http",
                    purpose: "the shop's Ingress: /api",
                });
            }
            flow({ from: frontend, to: backend, port: http, protocol: "http", purpose: "nginx proxies /api" });
            for (const client of [backend, worker, migrate, ...dbJobs])
                flow({ from: client, to: this.database!, port: dbPort, protocol: "tcp", purpose: "PostgreSQL" });
            for (const client of [backend, worker])
                flow({
                    from: client,
                    to: this.cache!,
                    port: this.cache!.port,
                    protocol: "tcp",
                    purpose: "sessions and the menu cache",
                });
            for (const p of [
                frontend,
                backend,
                worker,
                ...(postgres ? [postgres] : []),
                ...(ownRedis ? [ownRedis] : []),
            ])
                scraped(p);
        }

        // ---- The core services: global (callers in other regions fail over to them).
        if (on.coreServices) {
            const ns = NAMESPACES.coreServices;
            const crossRegion = on.mesh && on.multiCluster;
            const services = cfg.services.map((s) => ({ s, party: add(workload(ns, s.name, on.mesh)) }));
            const byName = new Map(services.map(({ s, party }) => [s.name, { s, party }]));
            for (const { s, party } of services) {
                const userPaths = s.userPaths.length > 0 ? s.userPaths : undefined;
                if (s.publicPrefix && this.ingressGateway)
                    flow({
                        from: this.ingressGateway,
                        to: party,
                        port: APP_PORTS.http,
                        protocol: "http",
                        purpose: `public API ${s.publicPrefix}/`,
                        crossRegion,
                        userPaths,
                    });
                for (const callee of s.calls) {
                    const c = byName.get(callee);
                    if (c)
                        flow({
                            from: party,
                            to: c.party,
                            port: APP_PORTS.http,
                            protocol: "http",
                            purpose: `${s.name} calls ${callee}`,
                            crossRegion,
                            userPaths: c.s.userPaths.length > 0 ? c.s.userPaths : undefined,
                        });
                }
                const theirs = on.serviceCaches?.[s.name];
                const cache = theirs ? external(theirs) : ownRedis;
                if (s.cache && cache)
                    flow({
                        from: party,
                        to: cache,
                        port: cache.port,
                        protocol: "tcp",
                        purpose: `${s.name}'s cache`,
                    });
                if (this.database && on.databaseClients.includes(s.name))
                    flow({
                        from: party,
                        to: this.database,
                        port: on.database?.port ?? 5432,
                        protocol: "tcp",
                        purpose: `${s.name}'s records`,
                    });
                scraped(party);
            }
        }
    }

    party(id: string): Party {
        const p = this.parties.get(id);
        if (!p) throw new Error(`no party ${id} in the flow table (have ${[...this.parties.keys()].join(", ")})`);
        return p;
    }

    /** The party of a workload in a namespace. */
    of(namespace: string, name: string): Party {
        return this.party(`${namespace}/${name}`);
    }

    /** How `source` is named in a NetworkPolicy of `policyNamespace`. */
    private peers(source: Source, policyNamespace: string): Peer[] {
        if (!isParty(source))
            return source.ranges.map(({ cidr, except }) => ({
                ipBlock: { cidr, ...(except.length ? { except } : {}) },
            }));
        return [
            source.namespace === policyNamespace ? podPeer(source.pods) : namespacePeer(source.namespace, source.pods),
        ];
    }

    /** Where traffic for this flow comes from: its caller, and the east-west gateway when it also arrives from other regions. */
    private sourcesOf(f: Flow): Source[] {
        return [f.from, ...(f.crossRegion && this.eastWestGateway ? [this.eastWestGateway] : [])];
    }

    /** NetworkPolicy ingress of a party: per port, every caller (and the east-west gateway for cross-region flows). */
    ingress(p: Party): IngressRule[] {
        const byPort = new Map<number, Peer[]>();
        for (const f of this.flows.filter((x) => x.to.id === p.id))
            byPort.set(f.port, [
                ...(byPort.get(f.port) ?? []),
                ...this.sourcesOf(f).flatMap((s) => this.peers(s, p.namespace)),
            ]);
        return [...byPort].map(([port, from]) => ({ from: unique(from), ports: tcp(port) }));
    }

    /** NetworkPolicy egress of a party: per port, every destination it calls. */
    egress(p: Party): EgressRule[] {
        const byPort = new Map<number, Peer[]>();
        for (const f of this.flows.filter((x) => isParty(x.from) && x.from.id === p.id))
            byPort.set(f.port, [...(byPort.get(f.port) ?? []), ...this.peers(f.to, p.namespace)]);
        return [...byPort].map(([port, to]) => ({ to: unique(to), ports: tcp(port) }));
    }

    /** The callers of a party on `port`, as peers of a policy in `namespace` (for a layer that writes the rule itself). */
    callers(p: Party, port: number, namespace = p.namespace): Peer[] {
        return unique(
            this.flows
                .filter((f) => f.to.id === p.id && f.port === port)
                .flatMap((f) => this.sourcesOf(f).flatMap((s) => this.peers(s, namespace))),
        );
    }

    /** Ports of a party that take plain text from outside the mesh (Prometheus, direct access). */
    plaintextPorts(p: Party): number[] {
        return [
            ...new Set(
                this.flows.filter((f) => f.to.id === p.id && !(isParty(f.from) && f.from.meshed)).map((f) => f.port),
            ),
        ].sort((a, b) => a - b);
    }

    /**
     * The AuthorizationPolicies of a meshed namespace: `deny-by-default` (allows nothing), and per
     * workload an ALLOW policy naming its callers by principal on each port (plain-text sources by
     * address, or by port where NetworkPolicy is what tells them apart), plus a DENY policy on the
     * paths that act for a user when the request carries no valid token (RequestAuthentication
     * validates it). A caller in another region carries the same principal (one trust domain).
     */
    authorization(namespace: string): MeshPolicy[] {
        const out: MeshPolicy[] = [{ name: "deny-by-default", spec: {} }];
        const targets = [...this.parties.values()].filter((p) => p.namespace === namespace && p.meshed);
        for (const p of targets) {
            const inbound = this.flows.filter((f) => f.to.id === p.id);
            if (inbound.length === 0) continue;
            const rules: Record<string, unknown>[] = [];
            for (const port of [...new Set(inbound.map((f) => f.port))].sort((a, b) => a - b)) {
                const to = [{ operation: { ports: [String(port)] } }];
                const here = inbound.filter((f) => f.port === port);
                const inMesh = here.filter((f) => isParty(f.from) && f.from.meshed);
                const fromInternet = (f: Flow) => f.from === this.ingressGateway;
                const principals = [
                    ...new Set(inMesh.filter((f) => !fromInternet(f)).map((f) => principal(f.from as Party))),
                ];
                if (principals.length > 0) rules.push({ from: [{ source: { principals: principals.sort() } }], to });
                // The ingress gateway carries the internet's requests: not to the probe paths (a readiness
                // answer names internal hosts); the kubelet's probes reach them through the sidecar's agent.
                if (inMesh.some(fromInternet))
                    rules.push({
                        from: [{ source: { principals: [principal(this.ingressGateway!)] } }],
                        to: [{ operation: { ports: [String(port)], notPaths: [...PROBE_PATHS] } }],
                    });
                for (const f of here.filter((x) => !isParty(x.from))) {
                    const ranges = (f.from as Addresses).ranges;
                    const except = ranges.flatMap((r) => r.except);
                    rules.push({
                        from: [
                            {
                                source: {
                                    ipBlocks: ranges.map((r) => r.cidr),
                                    ...(except.length ? { notIpBlocks: except } : {}),
                                },
                            },
                        ],
                        to,
                    });
                }
                // Plain text from pods without a proxy (Prometheus): no principal to name; their NetworkPolicy peer is the fence.
                if (here.some((f) => isParty(f.from) && !f.from.meshed)) rules.push({ to });
            }
            out.push({ name: p.name, spec: { selector: { matchLabels: p.pods }, action: "ALLOW", rules } });
            const withUserPaths = inbound.filter((f) => f.userPaths?.length);
            const userPaths = [...new Set(withUserPaths.flatMap((f) => f.userPaths!))].sort();
            const userPorts = [...new Set(withUserPaths.map((f) => String(f.port)))].sort();
            if (userPaths.length > 0)
                out.push({
                    name: `${p.name}-require-user-token`,
                    spec: {
                        selector: { matchLabels: p.pods },
                        action: "DENY",
                        rules: [
                            {
                                from: [{ source: { notRequestPrincipals: ["*"] } }],
                                to: [{ operation: { ports: userPorts, paths: userPaths } }],
                            },
                        ],
                    },
                });
        }
        return out;
    }

    /**
     * Hosts that stay in their own cluster (Istio `clusterLocal`): the services of meshed namespaces
     * no flow reaches from other regions. Multi-primary merges same-named services of every region
     * into one; a regional database or cache must not be one of them.
     */
    clusterLocalHosts(): string[] {
        if (!this.eastWestGateway) return [];
        const global = new Set(this.flows.filter((f) => f.crossRegion).map((f) => f.to.namespace));
        const meshed = new Set(
            [...this.parties.values()]
                .filter((p) => p.meshed && p.namespace !== NAMESPACES.ingress && p.namespace !== NAMESPACES.istio)
                .map((p) => p.namespace),
        );
        return [...meshed]
            .filter((ns) => !global.has(ns))
            .sort()
            .map((ns) => `*.${ns}.svc.cluster.local`);
    }
}

function unique<T>(items: T[]): T[] {
    const seen = new Set<string>();
    return items.filter((i) => {
        const key = JSON.stringify(i);
        return seen.has(key) ? false : (seen.add(key), true);
    });
}
