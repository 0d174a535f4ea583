// A namespace with its guardrails: Pod Security admission labels, an optional quota and limit range,
// and a default-deny NetworkPolicy with cluster DNS allowed. Workloads add explicit allows.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EgressRule, StackContext } from "./contracts";
import { NODE_AGENT_EXCEPTION_LABEL, TIER_LABEL } from "./defaults";
import { CLUSTER_DNS, ENVOY_STATS_PORT } from "./names";
import { namespacePeer, networkPolicy, scrapeRule, tcp, udp } from "./network";

/**
 * The Pod Security Standards version enforced: the oldest Kubernetes minor the pinned charts support
 * (Istio 1.30: 1.32-1.36; Redis Enterprise operator 8.2: 1.33-1.36). Raise it with the cluster floor.
 */
export const POD_SECURITY_VERSION = "v1.33";

export type ContainerDefaults = { request: { cpu: string; memory: string }; limit: { cpu: string; memory: string } };

/**
 * What a container gets that sets no resources itself, in a namespace under a quota (which needs them):
 * `kubectl debug`, or one an operator adds (the quotas count it).
 */
export const CONTAINER_DEFAULTS: ContainerDefaults = {
    request: { cpu: "50m", memory: "64Mi" },
    limit: { cpu: "500m", memory: "256Mi" },
};

export interface HardenedNamespaceArgs {
    ctx: StackContext;
    /** Namespace name; fixed, because runbooks (`kubectl -n <name>`) use it. */
    name: string;
    /** Pod Security level enforced; "restricted" unless the namespace holds node agents. */
    podSecurity?: "restricted" | "baseline" | { privilegedBecause: string };
    /** Label the namespace for Istio sidecar injection. */
    istioInjection?: boolean;
    /** With injection: the namespace Prometheus scrapes every sidecar's Envoy stats from. */
    sidecarStatsScrapedFrom?: string;
    /** ResourceQuota hard limits; omitted = no quota. */
    quota?: Record<string, pulumi.Input<string>>;
    /** LimitRange defaults for containers that do not set their own (CONTAINER_DEFAULTS, or a namespace's own). */
    containerDefaults?: ContainerDefaults;
    /** Create the default-deny NetworkPolicy and the DNS allow (on unless the namespace runs third-party charts). */
    defaultDeny?: boolean;
    labels?: Record<string, string>;
    /** Egress every pod in the namespace needs besides DNS (e.g. sidecars to istiod, spans to the collector). */
    platformEgress?: EgressRule[];
}

export class HardenedNamespace extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: HardenedNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:HardenedNamespace", name, {}, opts);
        const o = { parent: this, provider: args.ctx.provider };
        const level = args.podSecurity ?? "restricted";
        const enforce = typeof level === "string" ? level : "privileged";
        this.namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: {
                    name: args.name,
                    labels: {
                        [TIER_LABEL]: args.ctx.cfg.tier,
                        "pod-security.kubernetes.io/enforce": enforce,
                        // Enforce the standard as it stood in the oldest Kubernetes the platform supports, so
                        // a cluster upgrade never starts rejecting pods; warn and audit follow the latest
                        // standard, so what a later version would reject shows up before it is enforced.
                        "pod-security.kubernetes.io/enforce-version": POD_SECURITY_VERSION,
                        // Always surface what falls short of "restricted", whatever is enforced.
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/warn-version": "latest",
                        "pod-security.kubernetes.io/audit": "restricted",
                        "pod-security.kubernetes.io/audit-version": "latest",
                        ...(typeof level === "object" ? { [NODE_AGENT_EXCEPTION_LABEL]: "node-agent" } : {}),
                        ...(args.istioInjection ? { "istio-injection": "enabled" } : {}),
                        ...args.labels,
                    },
                    annotations:
                        typeof level === "object"
                            ? { [`${NODE_AGENT_EXCEPTION_LABEL}-reason`]: level.privilegedBecause }
                            : undefined,
                },
            },
            o,
        );
        this.name = this.namespace.metadata.name;
        const ns = this.name;
        const child = { ...o, dependsOn: [this.namespace] };

        if (args.quota) {
            new k8s.core.v1.ResourceQuota(
                `${name}-quota`,
                { metadata: { name: "compute", namespace: ns }, spec: { hard: args.quota } },
                child,
            );
        }
        if (args.containerDefaults) {
            const d = args.containerDefaults;
            new k8s.core.v1.LimitRange(
                `${name}-limits`,
                {
                    metadata: { name: "container-defaults", namespace: ns },
                    spec: { limits: [{ type: "Container", defaultRequest: d.request, default: d.limit }] },
                },
                child,
            );
        }
        if (args.defaultDeny ?? true) {
            networkPolicy(
                `${name}-default-deny`,
                { namespace: ns, name: "default-deny", podSelector: {}, ingress: [], egress: [] },
                child,
            );
            // Cluster DNS pods, and the node-local cache where the cluster runs one (pods resolve through it).
            const dns = args.ctx.cfg.cluster.profile.dns;
            networkPolicy(
                `${name}-allow-dns`,
                {
                    namespace: ns,
                    name: "allow-dns",
                    podSelector: {},
                    egress: [
                        {
                            to: [
                                namespacePeer(CLUSTER_DNS.namespace, dns.podLabels),
                                ...(dns.nodeLocalCache ? [{ ipBlock: { cidr: `${dns.nodeLocalCache}/32` } }] : []),
                            ],
                            ports: [...udp(CLUSTER_DNS.port), ...tcp(CLUSTER_DNS.port)],
                        },
                    ],
                },
                child,
            );
            if (args.istioInjection && args.sidecarStatsScrapedFrom) {
                // Prometheus scrapes every sidecar's Envoy stats (the envoy-sidecars PodMonitor).
                networkPolicy(
                    `${name}-allow-envoy-stats`,
                    {
                        namespace: ns,
                        name: "allow-envoy-stats-scrape",
                        podSelector: {},
                        ingress: [scrapeRule(args.sidecarStatsScrapedFrom, ENVOY_STATS_PORT.number)],
                    },
                    child,
                );
            }
            if (args.platformEgress?.length) {
                networkPolicy(
                    `${name}-allow-platform`,
                    { namespace: ns, name: "allow-platform-egress", podSelector: {}, egress: args.platformEgress },
                    child,
                );
            }
        }
        this.registerOutputs({ name: this.name });
    }
}
