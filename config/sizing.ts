// What every workload requests and may use, per tier: one table per tier, one row per workload — our
// own pods and each component of the charts we install. Stack files override single rows through
// the `resources` key; everything else reads these through resourcesFor().
import type { Resources } from "./fields";

const r = (
    cpuRequest: string,
    memoryRequest: string,
    cpuLimit: string | undefined,
    memoryLimit: string,
): Resources => ({
    requests: { cpu: cpuRequest, memory: memoryRequest },
    limits: cpuLimit === undefined ? { memory: memoryLimit } : { cpu: cpuLimit, memory: memoryLimit },
});

/** Every workload the sizing table covers (also the names `resources.<workload>` accepts). */
export const WORKLOADS = [
    // Warung Kopi
    "frontend",
    "backend",
    "worker",
    "postgres",
    "postgres-instance",
    "redis",
    "node-metrics",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
    "db-migrate",
    "db-backup",
    // Core services
    "product-catalog",
    "payment",
    "recommendation",
    "auth",
    // Service mesh
    "istio-proxy",
    "istiod",
    "istio-cni",
    "istio-gateway",
    // Observability
    "prometheus",
    "prometheus-config-reloader",
    "alertmanager",
    "grafana",
    "grafana-sidecar",
    "prometheus-operator",
    "prometheus-admission-patch",
    "kube-state-metrics",
    "node-exporter",
    "jaeger",
    "jaeger-index-cleaner",
    "keda-operator",
    "keda-metrics-server",
    "keda-webhooks",
    // Redis Enterprise (Guaranteed QoS: requests == limits)
    "redis-enterprise-node",
    // CloudNativePG: the operator, the Barman Cloud plugin and its sidecar in every instance pod
    "cnpg-operator",
    "barman-cloud-plugin",
    "barman-cloud-sidecar",
    // Trace store of the regions (OpenSearch nodes and their config-copying init container; Jaeger itself is
    // the "jaeger" row)
    "opensearch",
    "opensearch-init",
    // Cluster add-ons
    "metrics-server",
    "cert-manager",
    "cert-manager-webhook",
    "cert-manager-cainjector",
    "cert-manager-startupapicheck",
    "external-dns",
] as const;
export type Workload = (typeof WORKLOADS)[number];

/** A laptop (dev): everything together must fit 4 CPU / 8 GiB of requests. */
const DEV: Record<Workload, Resources> = {
    frontend: r("25m", "32Mi", "200m", "64Mi"),
    backend: r("50m", "64Mi", "500m", "192Mi"),
    worker: r("25m", "64Mi", "250m", "128Mi"),
    postgres: r("100m", "256Mi", "1", "512Mi"),
    "postgres-instance": r("100m", "256Mi", "1", "512Mi"),
    redis: r("25m", "32Mi", "250m", "128Mi"),
    "node-metrics": r("10m", "24Mi", "100m", "48Mi"),
    "postgres-exporter": r("10m", "24Mi", "100m", "64Mi"),
    "redis-exporter": r("5m", "16Mi", "100m", "32Mi"),
    "nginx-exporter": r("5m", "12Mi", "50m", "32Mi"),
    "db-migrate": r("25m", "32Mi", "250m", "128Mi"),
    "db-backup": r("50m", "64Mi", "500m", "256Mi"),
    "product-catalog": r("50m", "64Mi", "500m", "192Mi"),
    payment: r("50m", "64Mi", "500m", "192Mi"),
    recommendation: r("50m", "96Mi", "500m", "256Mi"),
    auth: r("50m", "64Mi", "500m", "192Mi"),
    "istio-proxy": r("10m", "40Mi", "500m", "256Mi"),
    istiod: r("100m", "256Mi", undefined, "1Gi"),
    "istio-cni": r("20m", "48Mi", undefined, "192Mi"),
    "istio-gateway": r("25m", "64Mi", "500m", "256Mi"),
    prometheus: r("200m", "512Mi", "1", "1Gi"),
    "prometheus-config-reloader": r("10m", "32Mi", "100m", "64Mi"),
    alertmanager: r("20m", "64Mi", "200m", "128Mi"),
    grafana: r("50m", "128Mi", "500m", "256Mi"),
    "grafana-sidecar": r("10m", "48Mi", "100m", "96Mi"),
    "prometheus-operator": r("50m", "96Mi", "200m", "192Mi"),
    "prometheus-admission-patch": r("10m", "32Mi", "100m", "64Mi"),
    "kube-state-metrics": r("20m", "64Mi", "200m", "128Mi"),
    "node-exporter": r("20m", "32Mi", "200m", "64Mi"),
    jaeger: r("50m", "128Mi", "500m", "512Mi"),
    "jaeger-index-cleaner": r("10m", "32Mi", "100m", "64Mi"),
    "keda-operator": r("50m", "96Mi", "500m", "256Mi"),
    "keda-metrics-server": r("50m", "96Mi", "500m", "256Mi"),
    "keda-webhooks": r("20m", "64Mi", "200m", "128Mi"),
    "redis-enterprise-node": r("2", "4Gi", "2", "4Gi"),
    "cnpg-operator": r("50m", "128Mi", "500m", "256Mi"),
    "barman-cloud-plugin": r("20m", "64Mi", "200m", "128Mi"),
    "barman-cloud-sidecar": r("50m", "64Mi", "500m", "256Mi"),
    opensearch: r("250m", "1Gi", "1", "1Gi"),
    "opensearch-init": r("10m", "32Mi", "100m", "64Mi"),
    "metrics-server": r("100m", "200Mi", undefined, "400Mi"),
    "cert-manager": r("20m", "64Mi", undefined, "256Mi"),
    "cert-manager-webhook": r("10m", "32Mi", undefined, "128Mi"),
    "cert-manager-cainjector": r("10m", "64Mi", undefined, "256Mi"),
    "cert-manager-startupapicheck": r("10m", "32Mi", undefined, "64Mi"),
    "external-dns": r("10m", "64Mi", undefined, "128Mi"),
};

/** A region (staging and production): room for production traffic on every replica. */
const PRODUCTION: Record<Workload, Resources> = {
    frontend: r("50m", "64Mi", "400m", "128Mi"),
    backend: r("100m", "128Mi", "1", "384Mi"),
    worker: r("50m", "128Mi", "500m", "256Mi"),
    postgres: r("200m", "512Mi", "2", "1Gi"),
    // Every CloudNativePG instance (primary and standbys alike: any may be promoted).
    "postgres-instance": r("500m", "2Gi", "2", "2Gi"),
    redis: r("50m", "64Mi", "500m", "256Mi"),
    "node-metrics": r("20m", "48Mi", "200m", "96Mi"),
    "postgres-exporter": r("20m", "48Mi", "200m", "128Mi"),
    "redis-exporter": r("10m", "32Mi", "200m", "64Mi"),
    "nginx-exporter": r("10m", "24Mi", "100m", "64Mi"),
    "db-migrate": r("50m", "64Mi", "500m", "256Mi"),
    "db-backup": r("100m", "128Mi", "1", "512Mi"),
    "product-catalog": r("100m", "128Mi", "1", "384Mi"),
    payment: r("100m", "128Mi", "1", "384Mi"),
    recommendation: r("100m", "192Mi", "1", "512Mi"),
    auth: r("100m", "128Mi", "1", "384Mi"),
    "istio-proxy": r("50m", "128Mi", "2", "1Gi"),
    istiod: r("500m", "1Gi", undefined, "2Gi"),
    "istio-cni": r("100m", "100Mi", undefined, "256Mi"),
    "istio-gateway": r("200m", "256Mi", "2", "1Gi"),
    prometheus: r("1", "4Gi", undefined, "8Gi"),
    "prometheus-config-reloader": r("20m", "64Mi", "200m", "128Mi"),
    alertmanager: r("50m", "128Mi", "500m", "256Mi"),
    grafana: r("200m", "256Mi", "1", "512Mi"),
    "grafana-sidecar": r("20m", "64Mi", "200m", "128Mi"),
    "prometheus-operator": r("100m", "192Mi", "500m", "384Mi"),
    "prometheus-admission-patch": r("20m", "64Mi", "200m", "128Mi"),
    "kube-state-metrics": r("100m", "192Mi", "500m", "384Mi"),
    "node-exporter": r("50m", "64Mi", "250m", "128Mi"),
    // With OpenSearch behind it Jaeger keeps no spans of its own: batches and the query's working set.
    jaeger: r("250m", "512Mi", "1", "1Gi"),
    // Once a night: lists and deletes the expired days' indices.
    "jaeger-index-cleaner": r("20m", "32Mi", "200m", "128Mi"),
    "keda-operator": r("100m", "192Mi", "1", "512Mi"),
    "keda-metrics-server": r("100m", "192Mi", "1", "512Mi"),
    "keda-webhooks": r("50m", "96Mi", "500m", "256Mi"),
    "redis-enterprise-node": r("2", "4Gi", "2", "4Gi"),
    "cnpg-operator": r("100m", "256Mi", "1", "512Mi"),
    "barman-cloud-plugin": r("50m", "64Mi", "500m", "256Mi"),
    // Compresses and uploads WAL and base backups.
    "barman-cloud-sidecar": r("100m", "128Mi", "1", "512Mi"),
    // Java heap is half of the memory (helm values opensearchJavaOpts follow the limit).
    opensearch: r("500m", "4Gi", "2", "4Gi"),
    // Copies opensearch.yml into place before the node starts (a shell, no JVM).
    "opensearch-init": r("20m", "32Mi", "200m", "64Mi"),
    "metrics-server": r("100m", "200Mi", undefined, "400Mi"),
    "cert-manager": r("50m", "128Mi", undefined, "512Mi"),
    "cert-manager-webhook": r("20m", "64Mi", undefined, "256Mi"),
    "cert-manager-cainjector": r("20m", "128Mi", undefined, "512Mi"),
    "cert-manager-startupapicheck": r("10m", "32Mi", undefined, "64Mi"),
    "external-dns": r("20m", "64Mi", undefined, "128Mi"),
};

/** The sizing table of a tier. Staging is sized like production: it rehearses production's load. */
export const SIZING: Record<"dev" | "staging" | "production", Record<Workload, Resources>> = {
    dev: DEV,
    staging: PRODUCTION,
    production: PRODUCTION,
};
