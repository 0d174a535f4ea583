// How peer regions reach this cluster's API and its Active-Active database, and nobody else (pure
// builders). Peers connect to a gateway of their own (an Istio gateway release in namespace
// redis-enterprise-peers), never to the public ingress gateway:
//  - its LoadBalancer admits only the peers' addresses (loadBalancerSourceRanges, from config and the
//    peers' published egress addresses), and keeps client addresses (externalTrafficPolicy Local);
//  - its pods admit only those addresses (NetworkPolicy ipBlocks) and an Istio AuthorizationPolicy at
//    the gateway allows only them;
//  - it routes, by TLS SNI and without terminating TLS, the cluster API name and the Active-Active
//    database's name, nothing else (the regional databases are never reachable from outside);
//  - with no peer address known it gets no load balancer at all (ClusterIP), and admits nobody.
// The public ingress gateway refuses connections for the cluster's names (the operator routes
// ingressOrRouteSpec names through Istio itself), and the cluster's pods admit the peer gateway only.
import { type PlatformConfig, resourcesFor } from "../../config";
import { resourceRequirements, scheduling } from "../defaults";
import { chartValues } from "../helm";
import { publicHosts, serviceFqdn } from "../hosts";
import type { RuleGroup } from "../contracts";
import { INGRESS_GATEWAY, NAMESPACES } from "../names";
import { peerGatewayAuthorization } from "../peers";
import { API_PORT, DATABASES, NAMESPACE, recName } from "./plan";

/** The peer gateway: Helm release (and Deployment/Service) name, its pods' labels, its namespace. */
export const PEER_GATEWAY = {
    name: "redis-enterprise-peer-gateway",
    namespace: NAMESPACES.redisEnterprisePeers,
    // The gateway chart labels its pods app=<release> and istio=<release without an istio- prefix>.
    podLabels: { istio: "redis-enterprise-peer-gateway" },
    /** TLS (passthrough) port of its Service and pods. */
    port: 443,
} as const;
/** The Gateway and VirtualService the peer gateway serves. */
export const PEER_ROUTES = "redis-enterprise-peers";

/** Values of the peer gateway's release (chart `gateway`, the same pin and static values as the mesh's gateways). */
export function peerGatewayValues(cfg: PlatformConfig, sourceRanges: string[]): Record<string, unknown> {
    const open = sourceRanges.length > 0;
    const place = scheduling(cfg, PEER_GATEWAY.podLabels);
    return chartValues("istio-gateway.yaml", {
        service: {
            // No address known: no load balancer (an empty loadBalancerSourceRanges would admit the world).
            type: open ? "LoadBalancer" : "ClusterIP",
            ports: [{ name: "tls", port: PEER_GATEWAY.port, targetPort: PEER_GATEWAY.port, protocol: "TCP" }],
            loadBalancerSourceRanges: open ? [...sourceRanges] : [],
            // Client addresses reach the pods, so the NetworkPolicy and the AuthorizationPolicy can check them.
            externalTrafficPolicy: open ? "Local" : "",
            annotations: open ? { ...cfg.cluster.profile.addressPreservingLoadBalancerAnnotations } : {},
        },
        // The chart's own policy admits its ports from everywhere; ours (peerGatewayPolicy) admits the peers.
        global: { networkPolicy: { enabled: false } },
        // Passthrough only: the gateway reads no certificate Secrets, so it gets no Role to read them.
        rbac: { enabled: false },
        resources: resourceRequirements(resourcesFor(cfg, "istio-gateway")),
        autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 3, targetCPUUtilizationPercentage: 70 },
        podDisruptionBudget: { minAvailable: 1 },
        nodeSelector: place.nodeSelector ?? {},
        tolerations: place.tolerations ?? [],
        topologySpreadConstraints: place.topologySpreadConstraints ?? [],
    });
}

/** Istio Gateway of the peer gateway: TLS passthrough for exactly the peer-facing names. */
export function peerGatewaySpec(hosts: { api: string; database: string }): Record<string, unknown> {
    return {
        selector: { ...PEER_GATEWAY.podLabels },
        servers: [
            {
                port: { number: PEER_GATEWAY.port, name: "tls-redis-enterprise", protocol: "TLS" },
                hosts: [hosts.api, hosts.database],
                tls: { mode: "PASSTHROUGH" },
            },
        ],
    };
}

/** VirtualService: the API name to the cluster's API Service, the database's name to its Service (by SNI). */
export function peerRoutesSpec(cfg: PlatformConfig, hosts: { api: string; database: string }): Record<string, unknown> {
    const route = (sni: string, host: string, port: number) => ({
        match: [{ port: PEER_GATEWAY.port, sniHosts: [sni] }],
        route: [{ destination: { host, port: { number: port } } }],
    });
    return {
        hosts: [hosts.api, hosts.database],
        gateways: [`${PEER_GATEWAY.namespace}/${PEER_ROUTES}`],
        tls: [
            route(hosts.api, serviceFqdn(recName(cfg.region), NAMESPACE), API_PORT),
            route(hosts.database, serviceFqdn(DATABASES.sessions.name, NAMESPACE), DATABASES.sessions.port),
        ],
    };
}

/** AuthorizationPolicy at the peer gateway: its TLS port, from the peers' addresses only. */
export const peerAuthorizationSpec = (sourceRanges: string[]) =>
    peerGatewayAuthorization(PEER_GATEWAY.podLabels, PEER_GATEWAY.port, sourceRanges);

/** Prometheus job of the peer gateway's Envoy stats (PodMonitor `<namespace>/<name>`). */
export const PEER_GATEWAY_JOB = `${PEER_GATEWAY.namespace}/${PEER_GATEWAY.name}`;

/** Alert: no peer gateway pod answers, so the peers' Active-Active links to this region are down. */
export function peerGatewayAlerts(): RuleGroup {
    return {
        name: "redis-enterprise.peer-gateway",
        rules: [
            {
                alert: "RedisEnterprisePeerGatewayDown",
                expr: `absent(up{job="${PEER_GATEWAY_JOB}"} == 1)`,
                for: "10m",
                labels: { severity: "critical", service: PEER_GATEWAY.name },
                annotations: {
                    summary: "No Redis Enterprise peer gateway pod answers",
                    description: `The gateway peer regions reach this cluster's API and Active-Active database through (${PEER_GATEWAY_JOB}) has not answered Prometheus for 10 minutes: cross-region replication of auth's sessions is stopped.`,
                },
            },
        ],
    };
}

/**
 * AuthorizationPolicy at the PUBLIC ingress gateway: DENY connections whose TLS SNI names the cluster
 * API or any database, whatever routing for them exists there.
 */
export function publicGatewayDenySpec(cfg: PlatformConfig): Record<string, unknown> {
    const hosts = publicHosts(cfg);
    return {
        selector: { matchLabels: { ...INGRESS_GATEWAY.podLabels } },
        action: "DENY",
        rules: [{ when: [{ key: "connection.sni", values: [hosts.redisApi, `*${hosts.redisDbSuffix}`] }] }],
    };
}
