// NetworkPolicies of the Istio gateways, in place of the gateway chart's own (global.networkPolicy),
// which allows every egress, the cloud's metadata endpoint included. A gateway reaches the pods of the
// cluster (its routes' backends, istiod, the tracing collector, ACME solvers) on any port, and, in a
// multi-region mesh, the other regions' east-west gateways on 15443; nothing else.
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../../config";
import type { EgressRule, IngressRule } from "../contracts";
import { CROSS_NETWORK_PORT, ENVOY_STATS_PORT } from "../names";
import { ANY_NAMESPACE, anyAddress, networkPolicy, scrapeRule, tcp } from "../network";

/** Envoy's health port (load balancer checks). */
const HEALTH_PORT = 15021;

export interface GatewayTrafficArgs {
    cfg: PlatformConfig;
    namespace: string;
    /** metadata.name of the policy. */
    name: string;
    podLabels: Record<string, string>;
    /** Ports the gateway's Service publishes to anyone (its listeners). */
    publicPorts: number[];
    /** Namespace Prometheus scrapes from, when the stack is monitored. */
    scrapedFrom?: string;
    /** Reaches the other regions' east-west gateways. */
    crossNetwork: boolean;
}

/** The ingress and egress rules of a gateway (a pure builder). */
export function gatewayTraffic(a: GatewayTrafficArgs): { ingress: IngressRule[]; egress: EgressRule[] } {
    const { podCidrs, serviceCidrs } = a.cfg.cluster.profile.network;
    return {
        ingress: [
            // The load balancer and its health checks: clients' addresses are the internet's.
            { ports: tcp(...a.publicPorts, HEALTH_PORT) },
            // Prometheus scrapes Envoy's stats (the istio-gateways PodMonitor).
            ...(a.scrapedFrom ? [scrapeRule(a.scrapedFrom, ENVOY_STATS_PORT.number)] : []),
        ],
        egress: [
            { to: [ANY_NAMESPACE] },
            ...(a.crossNetwork
                ? [{ to: [anyAddress([...podCidrs, ...serviceCidrs])], ports: tcp(CROSS_NETWORK_PORT) }]
                : []),
        ],
    };
}

export function gatewayNetworkPolicy(
    resourceName: string,
    a: GatewayTrafficArgs,
    opts: pulumi.CustomResourceOptions,
): pulumi.Resource {
    return networkPolicy(
        resourceName,
        { namespace: a.namespace, name: a.name, podSelector: a.podLabels, ...gatewayTraffic(a) },
        opts,
    );
}
