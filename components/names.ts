// Names more than one layer uses: namespaces the program creates, the gateways, the ingress class,
// the edge TLS Secrets and well-known ports. Each exists once, here.
import { CHART_PODS } from "./chart-pods";

/** Namespaces with fixed names (the shop's and monitoring's come from config). */
export const NAMESPACES = {
    /** istiod, the east-west gateway, the mesh CA (Pod Security restricted). */
    istio: "istio-system",
    /** The istio-cni node agent alone (privileged: host network and CNI host paths). */
    istioCni: "istio-cni",
    /** The ingress gateway and the edge certificates it serves. */
    ingress: "istio-ingress",
    /** product-catalog, payment, recommendation, auth (runbooks: `kubectl ... -n ecommerce`). */
    coreServices: "ecommerce",
    redisEnterprise: "redis-enterprise",
    /** The CloudNativePG operator and its Barman Cloud backup plugin. */
    cnpgSystem: "cnpg-system",
    /** PostgreSQL clusters the operator runs (the shop's and payment's databases in the regions). */
    databases: "databases",
    /** The gateway peer regions reach Redis Enterprise through (their addresses only). */
    redisEnterprisePeers: "redis-enterprise-peers",
    /** The regions' trace store (OpenSearch); Jaeger itself stays in the monitoring namespace. */
    tracing: "tracing",
    keda: "keda",
    certManager: "cert-manager",
    externalDns: "external-dns",
    /** Not ours: cluster DNS and metrics-server live here. */
    kubeSystem: "kube-system",
} as const;

/** The Istio ingress gateway: Helm release, Deployment and Service name, and its pods' label. */
export const INGRESS_GATEWAY = {
    name: CHART_PODS.ingressGateway.release,
    podLabels: CHART_PODS.ingressGateway.selector,
} as const;
/** The east-west gateway of a multi-primary mesh (cross-network port 15443). */
export const EAST_WEST_GATEWAY = {
    name: CHART_PODS.eastWestGateway.release,
    podLabels: CHART_PODS.eastWestGateway.selector,
} as const;
/** Port of the cross-network (AUTO_PASSTHROUGH) listener on the east-west gateway. */
export const CROSS_NETWORK_PORT = 15443;

/** Ingress class served by the Istio ingress gateway (the shop's Ingress, cert-manager's HTTP-01 solver). */
export const INGRESS_CLASS = "istio";

/** TLS Secrets (in the ingress gateway's namespace) the edge serves: the shop's Ingress and the API Gateway name them. */
export const TLS_SECRETS = { shop: "warung-kopi-tls", api: "api-tls" } as const;

/** Envoy's Prometheus endpoint on every sidecar and gateway (container port http-envoy-prom). */
export const ENVOY_STATS_PORT = { name: "http-envoy-prom", number: 15090, path: "/stats/prometheus" } as const;

/** Cluster DNS pods every namespace's default-deny lets pods reach. */
export const CLUSTER_DNS = {
    namespace: NAMESPACES.kubeSystem,
    podLabels: { "k8s-app": "kube-dns" },
    port: 53,
} as const;

/**
 * The PostgreSQL databases and roles the platform declares, whichever engine serves them (the shop's
 * own StatefulSet in dev, a CloudNativePG Cluster in the regions). No role is a superuser: the
 * migration role owns the shop's schema, the app role reads and writes its rows, payment owns its
 * own database and reaches no other.
 */
export const DATABASES = {
    shop: { name: "warung_kopi", roles: { app: "kopi_app", migration: "kopi_migrate" } },
    payment: { name: "payments", roles: { owner: "payment" } },
} as const;

/** The prefix every cache key of a consumer (the shop, a core service) starts with: its Redis ACL admits only these. */
export const cacheKeyPrefix = (consumer: string) => `${consumer}:`;
/** The mesh's trust domain (Istio's default): principals are `<trust domain>/ns/<namespace>/sa/<account>` in every region. */
export const TRUST_DOMAIN = "cluster.local";

/** Ports of the reference service (apps/service.js) in every application pod: HTTP and Prometheus metrics. */
export const APP_PORTS = { http: 8080, metrics: 9464 } as const;

/**
 * The shop's workloads: each names its Deployment, StatefulSet, Job or CronJob, its ServiceAccount and
 * its pods' `app.kubernetes.io/name`, which the flow table (components/flows.ts) selects.
 */
export const SHOP_WORKLOADS = {
    frontend: "frontend",
    backend: "backend",
    worker: "worker",
    postgres: "postgres",
    redis: "redis",
    migrate: "db-migrate",
    /** Dev: the Job that creates the roles and databases on the shop's own PostgreSQL. */
    roles: "postgres-roles",
    backup: "postgres-backup",
} as const;
