// Istio traffic policy for one service (owned by the mesh work), and the binding of a service to the
// public API gateway. Services call these; every object waits for the Istio CRDs and istiod.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { MeshAuthorizationArgs, PublicRouteArgs, StackContext, TrafficPolicyArgs } from "../contracts";
import { publicHosts, serviceFqdn } from "../hosts";
import { managedLabels, nameLabels } from "../labels";

export interface MeshTrafficArgs extends TrafficPolicyArgs {
    ctx: StackContext;
    /** What Istio custom resources wait for (CRDs and istiod's webhook). */
    ready: pulumi.Resource[];
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
    const o = { parent, provider, dependsOn: args.ready };
    const host = serviceFqdn(args.service, args.namespace);
    const labels = nameLabels(args.service);
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
                                          // Istio's locality comes from these node labels, whatever the profile says.
                                          // eslint-disable-next-line no-restricted-syntax
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

/** Paths under a public prefix that the gateway answers 404 to (RE2, matched against the whole path). */
export const INTERNAL_ENDPOINTS = ["healthz", "readyz", "livez", "metrics"];
export function internalEndpointsPattern(prefix: string): string {
    const base = prefix.replace(/\/+$/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return `^${base}/+(${INTERNAL_ENDPOINTS.join("|")})(/.*)?$`;
}

export interface MeshRouteArgs extends PublicRouteArgs {
    ctx: StackContext;
    ready: pulumi.Resource[];
    /** The Istio Gateway (namespace/name) the route binds to. */
    gateway: string;
}

/**
 * A VirtualService binding a path of the public API host (Istio Gateway `istio-ingress/public-gateway`)
 * to a service: e.g. https://api.<domain>/catalog -> product-catalog. The flow table
 * (components/flows.ts) admits the ingress gateway to the service.
 */
export function publicRoute(
    name: string,
    args: MeshRouteArgs,
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
                labels: nameLabels(args.service),
            },
            spec: {
                hosts: [publicHosts(args.ctx.cfg).api],
                gateways: [args.gateway],
                http: [
                    // Health, readiness and metrics endpoints answer the cluster (kubelet, Prometheus), never
                    // the internet: readiness names internal dependencies.
                    {
                        name: `${args.service}-internal-endpoints`,
                        match: [{ uri: { regex: internalEndpointsPattern(args.prefix) } }],
                        directResponse: { status: 404 },
                    },
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
        { parent, provider: args.ctx.provider, dependsOn: args.ready },
    );
}

/**
 * A namespace's AuthorizationPolicies and RequestAuthentications (security.istio.io/v1), named as
 * given: `kubectl get authorizationpolicy,requestauthentication -n <namespace>` lists them.
 */
export function meshAuthorization(
    name: string,
    args: MeshAuthorizationArgs & { ctx: StackContext; ready: pulumi.Resource[] },
    parent: pulumi.Resource,
): void {
    const o = { parent, provider: args.ctx.provider, dependsOn: args.ready };
    const labels = managedLabels();
    for (const [kind, list] of [
        ["RequestAuthentication", args.requestAuthentications ?? []],
        ["AuthorizationPolicy", args.policies],
    ] as const)
        for (const p of list)
            new k8s.apiextensions.CustomResource(
                `${name}-${kind === "AuthorizationPolicy" ? "authz" : "authn"}-${p.name}`,
                {
                    apiVersion: "security.istio.io/v1",
                    kind,
                    metadata: { name: p.name, namespace: args.namespace, labels },
                    spec: p.spec,
                },
                o,
            );
}
