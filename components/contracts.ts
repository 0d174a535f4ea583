// What the layers offer each other: small interfaces, in this one leaf module. A layer imports these
// and the shared building blocks, never another layer's class; index.ts alone decides which layer
// feeds which.
import type * as k8s from "@pulumi/kubernetes";
import type { input } from "@pulumi/kubernetes/types";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig, Region, Resources } from "../config";

/** Everything a component needs from its stack: configuration and the explicit provider. */
export interface StackContext {
    cfg: PlatformConfig;
    provider: k8s.Provider;
}

export type Peer = input.networking.v1.NetworkPolicyPeer;
export type EgressRule = input.networking.v1.NetworkPolicyEgressRule;
export type IngressRule = input.networking.v1.NetworkPolicyIngressRule;

/** What a layer reports for the stack outputs. */
export interface LayerReport {
    /** In-cluster or public endpoints, by name. */
    endpoints?: Record<string, pulumi.Input<string>>;
    /** Runbook commands, e.g. {grafana: "kubectl port-forward svc/grafana 3000:3000 -n monitoring"}. */
    portForward?: Record<string, string>;
    /** Cross-region links still waiting for a peer (e.g. "redis:eu"). */
    pending?: string[];
    /** This layer's section of what the stack publishes for its peers. */
    publish?: { [K in keyof Omit<PublishedForPeers, "region">]?: pulumi.Input<PublishedForPeers[K]> };
}

/**
 * What a region stack publishes for its peers, as the stack output `publishedForPeers`.
 * Secret fields are Pulumi secrets in the publishing stack and stay secrets in the reader.
 */
export interface PublishedForPeers {
    region: Region;
    /** Multi-primary mesh: how peers reach this cluster, its CA request, and (from the root's stack) the signed CAs. */
    mesh?: {
        clusterName: string;
        network: string;
        /** kubeconfig with a short-lived token of this cluster's istio-remote-reader account (secret). */
        readerKubeconfig?: string;
        /** Public ranges this cluster's pods leave through: the peers' east-west gateways accept only these. */
        egressCidrs?: string[];
        /** This region's intermediate CA certificate request (public), for the root's stack to sign. */
        intermediateRequest?: IntermediateRequest;
        /** Published by the stack of mesh.rootCaFrom only: the trust bundle and the intermediates it signed. */
        ca?: MeshCaPublication;
    };
    /** Redis Enterprise cluster: what a RedisEnterpriseRemoteCluster in a peer needs (password secret). */
    redis?: {
        recName: string;
        recNamespace: string;
        apiFqdnUrl: string;
        dbFqdnSuffix: string;
        /**
         * The cluster's Active-Active peering user (management role Admin, which Active-Active management
         * requires; no data access), never the cluster's own administrator, whose credentials stay here.
         */
        username: string;
        password: string;
        /** Addresses this region connects to its peers from: their Redis Enterprise endpoints admit these. */
        sourceRanges?: string[];
        /** Active-Active database password, published by the region that owns the database (secret). */
        databasePassword?: string;
        /** Name of the Active-Active database, published by its owner once the database is created. */
        activeActiveDatabase?: string;
    };
}

/** A region's request for its intermediate CA certificate: no key material, only the public request. */
export interface IntermediateRequest {
    /** Generation of the region's intermediate key (config mesh.intermediateKey). */
    generation: number;
    csrPem: string;
}

/** What the root's stack publishes: certificates only, never a key. */
export interface MeshCaPublication {
    /** Every trusted root certificate, concatenated (root-cert.pem in every region). */
    trustBundlePem: string;
    /** Generations of the roots in the bundle (config mesh.rootCa.trusted of the root's stack). */
    trustedRoots: number[];
    /** The intermediate certificate the root's stack signed for each region's latest request. */
    issued: Partial<Record<Region, IssuedIntermediate>>;
}

export interface IssuedIntermediate {
    /** Key generation of the request it answers. */
    generation: number;
    /** Generation of the root that signed it. */
    rootGeneration: number;
    certPem: string;
    /** The intermediate followed by the root that signed it (cert-chain.pem). */
    chainPem: string;
}

/**
 * A Redis-protocol cache/session store, as ONE consumer (the shop, or one core service) connects to it:
 * each consumer gets its own endpoint, with its own login.
 *
 * Consumers hand it to their pods as environment variables: CACHE_HOST, CACHE_PORT, CACHE_TLS
 * ("true"/"false"), CACHE_USERNAME (only when `username` is set; otherwise the password authenticates
 * the database's default user), CACHE_PASSWORD (from a Secret in the consumer's namespace) and, with
 * TLS, CACHE_CA_FILE (the path where `caCertificate` is mounted from a ConfigMap); the shop keeps the
 * seed's names REDIS_HOST, REDIS_PORT, REDIS_TLS, REDIS_USERNAME, REDIS_PASSWORD, REDIS_CA_FILE. A
 * client with TLS verifies the server's certificate against that CA and the host name.
 */
export interface CacheEndpoint {
    /** In-cluster host name (the server certificate names it). */
    host: pulumi.Input<string>;
    port: number;
    /** Redis ACL user the consumer logs in as; undefined: the database's default user (password only). */
    username?: string;
    /** Password (a Pulumi secret); consumers copy it into a Secret in their own namespace. */
    password: pulumi.Output<string>;
    tls: boolean;
    /** PEM of the CA that signs the server's certificate (public), when `tls`. */
    caCertificate?: pulumi.Input<string>;
    /** Every key the consumer writes starts with this prefix (its ACL admits no other key), when set. */
    keyPrefix?: string;
    /** Namespace the cache runs in, for NetworkPolicy egress rules. */
    namespace: string;
    /** Labels selecting the cache's pods, for NetworkPolicy egress rules. */
    podSelector?: Record<string, string>;
}

/** Who uses a cache: named once by index.ts, answered with one CacheEndpoint each. */
export interface CacheConsumer {
    /** The consumer's name: its login, and the prefix of its keys. */
    name: string;
    /** "cache": the regional cache database; "sessions": a sessions database of its own (auth). */
    store: "cache" | "sessions";
    /** The pods that connect (the cache admits them, on their database's port only). */
    pods: Peer;
}

/** One role's login on a database: the consumer copies it into a Secret in its own namespace. */
export interface DatabaseLogin {
    username: string;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
}

/**
 * One PostgreSQL database as its clients reach it, whichever engine serves it (the shop's own
 * StatefulSet in dev, a CloudNativePG Cluster in the regions): clients know hosts, port, database,
 * TLS mode and their own login, never the engine.
 */
export interface DatabaseEndpoint {
    /** Read-write host (the primary). */
    host: pulumi.Input<string>;
    /** Read-only host (hot standbys; the primary where there is none), for readers that accept replication lag. */
    readOnlyHost: pulumi.Input<string>;
    port: number;
    database: string;
    /** libpq sslmode clients use: "require" where the server serves TLS (and refuses plain text). */
    sslMode: "disable" | "require";
    /** Namespace and pod labels of the servers, for the clients' egress rules. */
    namespace: string;
    podSelector: Record<string, string>;
    /** What a client waits for before its first connection (the server, its roles and the database). */
    ready: pulumi.Resource[];
}

/** The shop's database: the app role (read and write rows) and the migration role (owner of the schema). */
export interface ShopDatabase {
    endpoint: DatabaseEndpoint;
    app: DatabaseLogin;
    migration: DatabaseLogin;
}

/** A database with one login, e.g. payment's transaction history. */
export interface DatabaseAccess {
    endpoint: DatabaseEndpoint;
    login: DatabaseLogin;
}

export type Retries = { attempts: number; perTryTimeout: string; retryOn: string } | "none";

/** Istio traffic policy of one service: DestinationRule, VirtualService, workload PeerAuthentication. */
export interface TrafficPolicyArgs {
    namespace: string;
    /** Service name (host is <service>.<namespace>.svc.cluster.local). */
    service: string;
    port: number;
    /** Labels selecting the workload's pods (for the workload PeerAuthentication). */
    selector: Record<string, string>;
    /** Retry policy: only for idempotent requests; "none" for e.g. payment writes. */
    retries: Retries;
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

/** A path of the public API host routed to a service through the ingress gateway. */
export interface PublicRouteArgs {
    namespace: string;
    /** Service the path routes to (in `namespace`). */
    service: string;
    port: number;
    /** Path prefix on the public API host, e.g. "/catalog/". */
    prefix: string;
    /** Replace the matched prefix before forwarding (e.g. "/"); the path is kept when omitted. */
    rewrite?: string;
    timeout?: string;
}

/** An Istio security policy (AuthorizationPolicy or RequestAuthentication): its name and spec. */
export interface MeshPolicy {
    name: string;
    spec: pulumi.Input<Record<string, unknown>>;
}

/** Identity-based authorization of one namespace. */
export interface MeshAuthorizationArgs {
    namespace: string;
    /** AuthorizationPolicies (the action is in each spec), e.g. from the flow table. */
    policies: MeshPolicy[];
    /** RequestAuthentications: the issuers (and keys) whose user tokens the workloads validate. */
    requestAuthentications?: MeshPolicy[];
}

/** The service mesh, as the layers whose workloads join it see it. */
export interface MeshContract {
    /** Resources that injected workloads and Istio custom resources wait for (CRDs + istiod's webhook). */
    ready: pulumi.Resource[];
    /** The release that installs the Istio CRDs (readers of Gateways/VirtualServices wait for it). */
    crds: pulumi.Resource;
    /** Egress every pod in an injected namespace needs (sidecar to istiod, spans to the collector). */
    workloadEgress: EgressRule[];
    /** Peers that deliver traffic from outside to application ports: the ingress gateway (and east-west gateway). */
    gatewayPeers: Peer[];
    /** What each injected sidecar requests and may use: namespace quotas count it. */
    proxyResources: Resources;
    trafficPolicy(name: string, args: TrafficPolicyArgs, parent: pulumi.Resource): void;
    publicRoute(name: string, args: PublicRouteArgs, parent: pulumi.Resource): pulumi.Resource;
    /** AuthorizationPolicies and RequestAuthentications of a namespace, after the Istio CRDs and webhook. */
    authorization(name: string, args: MeshAuthorizationArgs, parent: pulumi.Resource): void;
}

/** One alerting rule (monitoring.coreos.com/v1 PrometheusRule `spec.groups[].rules[]`). */
export interface AlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: { severity: "critical" | "warning" | "info"; [k: string]: string };
    annotations: { summary: string; description: string; [k: string]: string };
}

export interface RuleGroup {
    name: string;
    interval?: string;
    rules: AlertRule[];
}

/** Service level objectives of a request-serving service. */
export interface ServiceSlo {
    /** Fraction of requests that must not fail with 5xx, e.g. 0.995. */
    availability: number;
    /** 95th percentile latency bound, in seconds. */
    latencyP95Seconds: number;
}

export interface ServiceAlertOptions {
    /** The service answers HTTP and exports http_requests_total / http_request_duration_seconds (default true). */
    http?: boolean;
    slo?: Partial<ServiceSlo>;
    /** Container whose CPU/memory saturation and restarts are watched (default: the service name); false to skip. */
    container?: string | false;
    /** Service-specific alerts (e.g. payment failures). */
    extra?: AlertRule[];
}

export interface ServiceMonitorArgs {
    namespace: string;
    /** Labels on the Service to scrape. */
    selector: Record<string, string>;
    /** Name of the Service port with /metrics. */
    port: string;
    path?: string;
    /** Kubernetes Service name (Prometheus's `service` label); names the ServiceMonitor and the rules. */
    service?: string;
    interval?: string;
    scheme?: "http" | "https";
    /** TLS settings for an https endpoint. */
    tlsConfig?: Record<string, unknown>;
    /** Alerts for the service; by default the HTTP SLO, saturation and restart alerts. */
    alerts?: ServiceAlertOptions;
}

/** Monitoring, as the layers it watches see it. */
export interface MonitoringContract {
    /** Namespace Prometheus scrapes from: metrics ports admit it. */
    namespace: string;
    /** In-cluster Prometheus query URL (KEDA triggers). */
    prometheusUrl: string;
    /** Release that installs the monitoring.coreos.com CRDs and the rule webhook. */
    crds: pulumi.Resource;
    /** KEDA (keda.sh CRDs and webhook), when custom-metric autoscaling is on. */
    autoscaler?: pulumi.Resource;
    /** A ServiceMonitor and its alert rules, ordered after the CRDs. */
    serviceMonitor(name: string, args: ServiceMonitorArgs, parent: pulumi.Resource): void;
    /** A PrometheusRule with extra alert groups of a layer, ordered after the CRDs. */
    alertRules(
        name: string,
        args: { namespace: string; ruleName: string; groups: RuleGroup[] },
        parent: pulumi.Resource,
    ): void;
}

/** The StorageClass persistent volumes name (created by the program, provisioner from the cluster profile). */
export interface StorageContract {
    className: string;
}

/** The ClusterIssuer certificates are issued by, and the resources a Certificate waits for. */
export interface IssuerContract {
    name: string;
    /** cert-manager's release and the issuer itself. */
    ready: pulumi.Resource[];
    /** ACME: serve a temporary certificate while an order runs. */
    acme: boolean;
}
