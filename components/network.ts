// NetworkPolicy, built one way everywhere: peers, port lists and the policy itself. Every namespace
// the program creates is default-deny (./namespace.ts); these are the explicit allows on top.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { EgressRule, IngressRule, Peer } from "./contracts";
import { CHART_PODS } from "./chart-pods";

export type Ports = { protocol: "TCP" | "UDP"; port: number | string }[];

export const tcp = (...ports: (number | string)[]): Ports => ports.map((port) => ({ protocol: "TCP", port }));
export const udp = (...ports: number[]): Ports => ports.map((port) => ({ protocol: "UDP", port }));

/** Every pod of the policy's own namespace. */
export const SAME_NAMESPACE: Peer = { podSelector: {} };
/** Every pod of every namespace (not host-network agents or addresses outside the cluster). */
export const ANY_NAMESPACE: Peer = { namespaceSelector: {} };

/** The pods with these labels, in the policy's own namespace. */
export const podPeer = (labels: Record<string, string>): Peer => ({ podSelector: { matchLabels: { ...labels } } });

/** The pods of a namespace (all of them, or those with the `pods` labels). */
export function namespacePeer(namespace: pulumi.Input<string>, pods?: Record<string, string>): Peer {
    return {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        ...(pods ? { podSelector: { matchLabels: { ...pods } } } : {}),
    };
}

/**
 * Link-local addresses: the clouds' instance metadata endpoint (169.254.169.254, which hands out the
 * node's credentials) and node-local agents. No egress rule to "any address" reaches them; the pods
 * that need one (workload identity on GKE) name it explicitly.
 */
export const LINK_LOCAL = "169.254.0.0/16";

/**
 * Any address but link-local ones (for destinations no selector names and whose addresses the
 * program cannot know: the API server, node addresses, the internet), minus `except`.
 */
export const anyAddress = (except: string[] = []): Peer => ({
    ipBlock: { cidr: "0.0.0.0/0", except: [LINK_LOCAL, ...except] },
});

/** Ingress rule: Prometheus (its pods in the monitoring namespace, nothing else there) may scrape `port`. */
export function scrapeRule(monitoringNamespace: string, port: number): IngressRule {
    return { from: [namespacePeer(monitoringNamespace, CHART_PODS.prometheus.selector)], ports: tcp(port) };
}

export interface NetworkPolicyArgs {
    namespace: pulumi.Input<string>;
    /** metadata.name (fixed: `kubectl describe networkpolicy <name>`). */
    name: string;
    /** Pods the policy applies to; {} = every pod of the namespace. */
    podSelector: Record<string, string>;
    labels?: Record<string, string>;
    /** Who may connect in; undefined leaves ingress to other policies, [] denies it. */
    ingress?: IngressRule[];
    /** Where the pods may connect; undefined leaves egress to other policies, [] denies it. */
    egress?: EgressRule[];
}

/** The NetworkPolicy spec: policy types follow from which directions the policy speaks about. */
export function networkPolicySpec(a: Omit<NetworkPolicyArgs, "namespace" | "name" | "labels">) {
    const policyTypes = [...(a.ingress ? ["Ingress"] : []), ...(a.egress ? ["Egress"] : [])];
    return {
        podSelector: Object.keys(a.podSelector).length > 0 ? { matchLabels: { ...a.podSelector } } : {},
        policyTypes,
        // No rules at all is written as no list: the policy type alone denies that direction.
        ...(a.ingress?.length ? { ingress: a.ingress } : {}),
        ...(a.egress?.length ? { egress: a.egress } : {}),
    };
}

/** A policy's selector and rules, without where it lives and what it is called. */
export type PolicyRules = Pick<NetworkPolicyArgs, "podSelector" | "ingress" | "egress">;

/**
 * A builder of a component's NetworkPolicies in one namespace: each named `name` there (with `labels`,
 * if given), logical name `<prefix>-<name>`, with `opts` and any per-policy options.
 */
export const policiesIn =
    (
        prefix: string,
        namespace: pulumi.Input<string>,
        opts: pulumi.CustomResourceOptions,
        labels?: Record<string, string>,
    ) =>
    (name: string, rules: PolicyRules, more: pulumi.CustomResourceOptions = {}): k8s.networking.v1.NetworkPolicy =>
        networkPolicy(
            `${prefix}-${name}`,
            { namespace, name, ...(labels ? { labels } : {}), ...rules },
            { ...opts, ...more },
        );

export function networkPolicy(
    resourceName: string,
    a: NetworkPolicyArgs,
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
    return new k8s.networking.v1.NetworkPolicy(
        resourceName,
        {
            metadata: { name: a.name, namespace: a.namespace, ...(a.labels ? { labels: a.labels } : {}) },
            spec: networkPolicySpec(a),
        },
        opts,
    );
}
