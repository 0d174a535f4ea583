// Istio traffic policy for one service (owned by the mesh work), and the binding of a service to the
// public API gateway. Services call these; every object waits for the Istio CRDs and istiod.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../defaults";
import { publicHosts, serviceFqdn } from "../hosts";
import type { ServiceMesh } from "./index";

export interface MeshTrafficArgs {
    ctx: StackContext;
    mesh: ServiceMesh;
    namespace: string;
    /** Service name (host is <service>.<namespace>.svc.cluster.local). */
    service: string;
    port: number;
    /** Labels selecting the workload's pods (for the workload PeerAuthentication). */
    selector: Record<string, string>;
    /** Retry policy: only for idempotent requests; "none" for e.g. payment writes. */
    retries: { attempts: number; perTryTimeout: string; retryOn: string } | "none";
    timeout: string;
    /** Plain-text metrics port scraped by Prometheus from outside the mesh (PERMISSIVE on that port only). */
    metricsPort?: number;
    /**
     * Container ports that also accept plain text from outside the mesh (PERMISSIVE on those ports
     * only), e.g. a serving port published through a NodePort or LoadBalancer Service. Each use
     * should say why in a comment at the call site.
     */
    plaintextPorts?: number[];
}

/** Connection pool limits per tier: enough for a laptop, room for production traffic. */
function connectionPool(tier: string) {
    const prod = tier !== "dev";
    return {
        tcp: {
            maxConnections: prod ? 1000 : 100,
            connectTimeout: "2s",
            tcpKeepalive: { time: "300s", interval: "30s" },
        },
        http: {
            http1MaxPendingRequests: prod ? 1000 : 100,
            http2MaxRequests: prod ? 1000 : 100,
            maxRequestsPerConnection: 0,
            maxRetries: prod ? 10 : 3,
            idleTimeout: "300s",
        },
    };
}

/** DestinationRule (ISTIO_MUTUAL, pools, outlier detection), VirtualService (timeout, retries), workload PeerAuthentication. */
export function meshTrafficPolicy(name: string, args: MeshTrafficArgs, parent: pulumi.Resource): void {
    const { cfg, provider } = args.ctx;
    const o = { parent, provider, dependsOn: args.mesh.ready };
    const host = serviceFqdn(args.service, args.namespace);
    const labels = { "app.kubernetes.io/name": args.service, "app.kubernetes.io/managed-by": "pulumi" };
    const plaintext = [...new Set([...(args.metricsPort ? [args.metricsPort] : []), ...(args.plaintextPorts ?? [])])];

    new k8s.apiextensions.CustomResource(
        `${name}-destination-rule`,
        {
            apiVersion: "networking.istio.io/v1",
            kind: "DestinationRule",
            metadata: { name: args.service, namespace: args.namespace, labels },
            spec: {
                host,
                trafficPolicy: {
                    tls: { mode: "ISTIO_MUTUAL" },
                    connectionPool: connectionPool(cfg.tier),
                    // Eject an endpoint after 5 consecutive 5xx for 30s (longer on repeats); keep at least half.
                    outlierDetection: {
                        consecutive5xxErrors: 5,
                        interval: "10s",
                        baseEjectionTime: "30s",
                        maxEjectionPercent: 50,
                    },
                    // Multi-cluster: prefer endpoints in the same network, then region, then zone; fail over
                    // to the peers only when local endpoints are ejected (needs outlierDetection above).
                    ...(cfg.layers.multiCluster
                        ? {
                              loadBalancer: {
                                  simple: "LEAST_REQUEST",
                                  localityLbSetting: {
                                      enabled: true,
                                      failoverPriority: [
                                          "topology.istio.io/network",
                                          "topology.kubernetes.io/region",
                                          "topology.kubernetes.io/zone",
                                      ],
                                  },
                              },
                          }
                        : {}),
                },
            },
        },
        o,
    );

    new k8s.apiextensions.CustomResource(
        `${name}-virtual-service`,
        {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: args.service, namespace: args.namespace, labels },
            spec: {
                hosts: [host],
                http: [
                    {
                        route: [{ destination: { host, port: { number: args.port } } }],
                        timeout: args.timeout,
                        retries: args.retries === "none" ? { attempts: 0 } : { ...args.retries },
                    },
                ],
            },
        },
        o,
    );

    new k8s.apiextensions.CustomResource(
        `${name}-peer-authentication`,
        {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: args.service, namespace: args.namespace, labels },
            spec: {
                selector: { matchLabels: args.selector },
                mtls: { mode: "STRICT" },
                // Prometheus scrapes from outside the mesh: plain text on the metrics port, and on the ports
                // the caller names explicitly; STRICT everywhere else.
                ...(plaintext.length > 0
                    ? { portLevelMtls: Object.fromEntries(plaintext.map((p) => [p, { mode: "PERMISSIVE" }])) }
                    : {}),
            },
        },
        o,
    );
}

export interface PublicRouteArgs {
    ctx: StackContext;
    mesh: ServiceMesh;
    namespace: string;
    /** Service the path routes to (in `namespace`). */
    service: string;
    port: number;
    /** Path prefix on the public API host, e.g. "/catalog". */
    prefix: string;
    /** Replace the matched prefix before forwarding (e.g. "/"); the path is kept when omitted. */
    rewrite?: string;
    timeout?: string;
}

/**
 * A VirtualService binding a path of the public API host (Istio Gateway `istio-ingress/public-gateway`)
 * to a service: e.g. https://api.<domain>/catalog -> product-catalog. The service's NetworkPolicy
 * must admit `mesh.gatewayPeers`.
 */
export function publicRoute(
    name: string,
    args: PublicRouteArgs,
    parent: pulumi.Resource,
): k8s.apiextensions.CustomResource {
    const host = serviceFqdn(args.service, args.namespace);
    return new k8s.apiextensions.CustomResource(
        `${name}-public-route`,
        {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: {
                name: `${args.service}-public`,
                namespace: args.namespace,
                labels: { "app.kubernetes.io/name": args.service, "app.kubernetes.io/managed-by": "pulumi" },
            },
            spec: {
                hosts: [publicHosts(args.ctx.cfg).api],
                gateways: [args.mesh.publicGateway],
                http: [
                    {
                        name: args.service,
                        match: [{ uri: { prefix: args.prefix } }],
                        ...(args.rewrite ? { rewrite: { uri: args.rewrite } } : {}),
                        route: [{ destination: { host, port: { number: args.port } } }],
                        timeout: args.timeout ?? "15s",
                    },
                ],
            },
        },
        { parent, provider: args.ctx.provider, dependsOn: args.mesh.ready },
    );
}
