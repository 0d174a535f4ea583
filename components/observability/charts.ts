// Per-tier sizes of the observability charts' components (chart pins and values files: ../helm.ts).
import type { Resources, Tier } from "../../config";
import { resourceRequirements } from "../defaults";

const r = (cpuReq: string, memReq: string, cpuLim: string | undefined, memLim: string): Resources => ({
    requests: { cpu: cpuReq, memory: memReq },
    limits: { cpu: cpuLim, memory: memLim },
});

export type MonitoringComponent =
    | "prometheus"
    | "configReloader"
    | "alertmanager"
    | "grafana"
    | "grafanaSidecar"
    | "operator"
    | "admissionPatch"
    | "kubeStateMetrics"
    | "nodeExporter"
    | "jaeger"
    | "kedaOperator"
    | "kedaMetricServer"
    | "kedaWebhooks";

/**
 * Requests and limits of every chart component we install, per tier. Dev stays small: the whole
 * laptop stack (shop, core services, mesh, monitoring) must fit 4 CPU / 8 GiB of requests.
 */
const SIZES: Record<"dev" | "production", Record<MonitoringComponent, Resources>> = {
    dev: {
        prometheus: r("200m", "512Mi", "1", "1Gi"),
        configReloader: r("10m", "32Mi", "100m", "64Mi"),
        alertmanager: r("20m", "64Mi", "200m", "128Mi"),
        grafana: r("50m", "128Mi", "500m", "256Mi"),
        grafanaSidecar: r("10m", "48Mi", "100m", "96Mi"),
        operator: r("50m", "96Mi", "200m", "192Mi"),
        admissionPatch: r("10m", "32Mi", "100m", "64Mi"),
        kubeStateMetrics: r("20m", "64Mi", "200m", "128Mi"),
        nodeExporter: r("20m", "32Mi", "200m", "64Mi"),
        jaeger: r("50m", "128Mi", "500m", "512Mi"),
        kedaOperator: r("50m", "96Mi", "500m", "256Mi"),
        kedaMetricServer: r("50m", "96Mi", "500m", "256Mi"),
        kedaWebhooks: r("20m", "64Mi", "200m", "128Mi"),
    },
    production: {
        prometheus: r("1", "4Gi", undefined, "8Gi"),
        configReloader: r("20m", "64Mi", "200m", "128Mi"),
        alertmanager: r("50m", "128Mi", "500m", "256Mi"),
        grafana: r("200m", "256Mi", "1", "512Mi"),
        grafanaSidecar: r("20m", "64Mi", "200m", "128Mi"),
        operator: r("100m", "192Mi", "500m", "384Mi"),
        admissionPatch: r("20m", "64Mi", "200m", "128Mi"),
        kubeStateMetrics: r("100m", "192Mi", "500m", "384Mi"),
        nodeExporter: r("50m", "64Mi", "250m", "128Mi"),
        jaeger: r("250m", "1Gi", "1", "2Gi"),
        kedaOperator: r("100m", "192Mi", "1", "512Mi"),
        kedaMetricServer: r("100m", "192Mi", "1", "512Mi"),
        kedaWebhooks: r("50m", "96Mi", "500m", "256Mi"),
    },
};

/** Kubernetes `resources` of a chart component for the tier. */
export function size(tier: Tier, component: MonitoringComponent) {
    return resourceRequirements(SIZES[tier === "dev" ? "dev" : "production"][component]);
}
