// What a cluster's NetworkPolicy implementation does with the policies a stack sends: whether a
// connection from one endpoint to another is admitted at both ends (the source's egress and the
// destination's ingress). One model for every test file.
//
// Semantics (networking.k8s.io/v1): a pod that no policy selects for a direction is open in that
// direction; once selected, a connection is admitted only if some rule of some selecting policy
// matches it (peers OR'ed, ports OR'ed, namespaceSelector AND podSelector within one peer). Port
// names resolve against the destination pod's container ports. Pods cannot block traffic from
// their own node (kubelet probes, NodePort traffic SNATed to the node). An ipBlock is meant for
// addresses outside the cluster; whether a pod's address matches one is up to the implementation,
// so the model assumes it may, whenever the block (minus its `except`) overlaps the cluster's pod
// range: a block that contains the pod range admits every pod unless it excepts that range.
import { selectorMatches } from "../../../policy/rules";
import type { K8sObject } from "../k8s";

export interface PodEndpoint {
    kind: "pod";
    namespace: string;
    labels: Record<string, string>;
    /** Container ports, for named ports in rules. */
    ports?: { name?: string; containerPort: number; protocol?: string }[];
    /** NetworkPolicies a chart creates for this pod (not among the program's objects). */
    chartPolicy?: ChartPolicy;
    /** Host-network pods are the node's traffic: NetworkPolicy does not apply to them. */
    hostNetwork?: boolean;
}

/** What a chart's own NetworkPolicy admits for its pods: ports in, and whether everything out. */
export interface ChartPolicy {
    ingressPorts?: number[] | "any";
    egress?: "any";
}

/** An address outside the pod network (a client, the API server, the metadata endpoint). */
export interface AddressEndpoint {
    kind: "address";
    ip: string;
}

/** The pod's own node: the kubelet's probes, NodePort traffic SNATed to the node. */
export interface NodeEndpoint {
    kind: "node";
}

export type Endpoint = PodEndpoint | AddressEndpoint | NodeEndpoint;

export interface ClusterRanges {
    podCidrs: string[];
    serviceCidrs: string[];
}

// ---- Addresses ------------------------------------------------------------------------------

interface Range {
    v6: boolean;
    lo: bigint;
    hi: bigint;
}

function parseIp(ip: string): { v6: boolean; n: bigint } {
    if (ip.includes(":")) {
        const [head, tail] = ip.split("::");
        const parts = (s: string | undefined) => (s ? s.split(":").filter(Boolean) : []);
        const h = parts(head);
        const t = parts(tail);
        const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
        if (groups.length !== 8) throw new Error(`not an IPv6 address: ${ip}`);
        return { v6: true, n: groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g, 16)), 0n) };
    }
    const octets = ip.split(".").map(Number);
    if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new Error(`not an address: ${ip}`);
    return { v6: false, n: octets.reduce((a, o) => (a << 8n) + BigInt(o), 0n) };
}

export function cidrRange(cidr: string): Range {
    const [ip, bitsText] = cidr.split("/");
    const { v6, n } = parseIp(ip);
    const width = v6 ? 128n : 32n;
    const bits = BigInt(bitsText ?? width);
    const size = 1n << (width - bits);
    const lo = (n / size) * size;
    return { v6, lo, hi: lo + size - 1n };
}

export function inCidr(ip: string, cidr: string): boolean {
    const a = parseIp(ip);
    const r = cidrRange(cidr);
    return a.v6 === r.v6 && a.n >= r.lo && a.n <= r.hi;
}

/** Whether some address of `ranges` lies in `cidr` and outside every `except`. */
export function rangesMeetBlock(ranges: string[], cidr: string, except: string[] = []): boolean {
    const block = cidrRange(cidr);
    const holes = except.map(cidrRange).filter((h) => h.v6 === block.v6);
    return ranges.some((text) => {
        const r = cidrRange(text);
        if (r.v6 !== block.v6) return false;
        // The part of the range inside the block, minus the holes: is anything left?
        const lo = r.lo > block.lo ? r.lo : block.lo;
        const hi = r.hi < block.hi ? r.hi : block.hi;
        if (lo > hi) return false;
        let cursor = lo;
        for (const h of [...holes].sort((a, b) => (a.lo < b.lo ? -1 : 1))) {
            if (h.hi < cursor || h.lo > hi) continue;
            if (h.lo > cursor) return true;
            cursor = h.hi + 1n;
            if (cursor > hi) return false;
        }
        return cursor <= hi;
    });
}

// ---- Policies -------------------------------------------------------------------------------

type Direction = "Ingress" | "Egress";

export class NetworkModel {
    private readonly policies: K8sObject[];
    private readonly namespaceLabels = new Map<string, Record<string, string>>();

    constructor(
        objects: K8sObject[],
        private readonly ranges: ClusterRanges,
    ) {
        this.policies = objects.filter((o) => o.kind === "NetworkPolicy");
        for (const ns of objects.filter((o) => o.kind === "Namespace"))
            this.namespaceLabels.set(ns.metadata.name!, { ...(ns.metadata.labels ?? {}) });
    }

    private labelsOfNamespace(ns: string): Record<string, string> {
        return { ...(this.namespaceLabels.get(ns) ?? {}), "kubernetes.io/metadata.name": ns };
    }

    /** Both ends admit the connection: the source may send it and the destination may receive it. */
    allows(from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
        return this.side(from, "Egress", to, port, protocol, to) && this.side(to, "Ingress", from, port, protocol, to);
    }

    /** The reason a connection is refused, or undefined when it is admitted. */
    refusal(from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): string | undefined {
        if (!this.side(from, "Egress", to, port, protocol, to)) return `the source's egress policies refuse ${port}`;
        if (!this.side(to, "Ingress", from, port, protocol, to))
            return `the destination's ingress policies refuse ${port}`;
        return undefined;
    }

    /** Whether the policies on `subject`'s side admit traffic in `direction` with `peer` on `port`. */
    side(
        subject: Endpoint,
        direction: Direction,
        peer: Endpoint,
        port: number,
        protocol = "TCP",
        destination: Endpoint = direction === "Ingress" ? subject : peer,
    ): boolean {
        if (subject.kind !== "pod" || subject.hostNetwork) return true; // not fenced by NetworkPolicy
        if (direction === "Ingress" && peer.kind === "node") return true; // a pod's own node always reaches it
        const chart = subject.chartPolicy;
        const chartSelects = !!chart;
        const chartAdmits =
            direction === "Egress"
                ? chart?.egress === "any"
                : chart?.ingressPorts === "any" || (chart?.ingressPorts ?? []).includes(port);
        const selecting = this.policies.filter(
            (p) =>
                p.metadata.namespace === subject.namespace &&
                selectorMatches(p.spec.podSelector ?? {}, subject.labels) &&
                (p.spec.policyTypes ?? (p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"])).includes(direction),
        );
        if (selecting.length === 0 && !chartSelects) return true;
        if (chartAdmits) return true;
        const key = direction === "Ingress" ? "ingress" : "egress";
        const peersKey = direction === "Ingress" ? "from" : "to";
        return selecting.some((p) =>
            ((p.spec[key] ?? []) as any[]).some(
                (rule) =>
                    (rule[peersKey] === undefined ||
                        rule[peersKey].length === 0 ||
                        (rule[peersKey] as any[]).some((x) => this.peerMatches(x, p.metadata.namespace!, peer))) &&
                    this.portMatches(rule.ports, port, protocol, destination),
            ),
        );
    }

    private peerMatches(peer: any, policyNamespace: string, other: Endpoint): boolean {
        if (peer.ipBlock) {
            const { cidr, except } = peer.ipBlock;
            if (other.kind === "address")
                return inCidr(other.ip, cidr) && !(except ?? []).some((e: string) => inCidr(other.ip, e));
            if (other.kind === "pod") return !other.hostNetwork && rangesMeetBlock(this.ranges.podCidrs, cidr, except);
            return false;
        }
        if (other.kind !== "pod" || other.hostNetwork) return false;
        const nsOk = peer.namespaceSelector
            ? selectorMatches(peer.namespaceSelector, this.labelsOfNamespace(other.namespace))
            : other.namespace === policyNamespace;
        return nsOk && (peer.podSelector ? selectorMatches(peer.podSelector, other.labels) : true);
    }

    private portMatches(rulePorts: any[] | undefined, port: number, protocol: string, destination: Endpoint): boolean {
        if (!rulePorts || rulePorts.length === 0) return true;
        const names =
            destination.kind === "pod"
                ? (destination.ports ?? []).filter((p) => p.containerPort === port && p.name).map((p) => p.name)
                : [];
        return rulePorts.some(
            (p) =>
                (p.protocol ?? "TCP") === protocol &&
                (p.port === undefined ||
                    p.port === port ||
                    (typeof p.port === "string" && names.includes(p.port)) ||
                    (p.endPort !== undefined && typeof p.port === "number" && port >= p.port && port <= p.endPort)),
        );
    }
}
