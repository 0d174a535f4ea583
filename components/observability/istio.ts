// Monitoring of the service mesh: istiod's control-plane metrics (Service port http-monitoring,
// 15014) and the Envoy statistics of gateways and sidecars (/stats/prometheus on the container port
// http-envoy-prom, 15090), with their alerts. The monitors live in the monitoring namespace and select
// targets in the mesh's namespaces, so nothing here waits for the mesh; they wait only for the
// kube-prometheus-stack release (the monitoring.coreos.com CRDs and the operator's webhook).
import { partLabels } from "../labels";
import { CHART_PODS } from "../chart-pods";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { RuleGroup } from "../contracts";
import { ENVOY_STATS_PORT } from "../names";

/** istiod's Service port with its Prometheus metrics. */
export const ISTIOD_MONITORING_PORT = { name: "http-monitoring", number: 15014 } as const;

/** Pod label values `istio=<x>` of the gateways the mesh runs (chart release name minus "istio-"). */
const GATEWAY_LABELS = ["ingressgateway", "eastwestgateway"];

export interface MeshMonitoringArgs {
    /** The monitoring namespace, where the monitors and rules are created. */
    namespace: string;
    /** Namespace of istiod (and the east-west gateway). */
    istioNamespace: string;
    /** Namespace of the ingress gateway. */
    gatewayNamespace: string;
    /** The kube-prometheus-stack release. */
    prometheusStack: pulumi.Resource;
}

/** Prometheus job labels the monitors produce (ServiceMonitor: the Service name; PodMonitor: <namespace>/<name>). */
export function meshJobs(monitoringNamespace: string) {
    return {
        istiod: "istiod",
        gateways: `${monitoringNamespace}/istio-gateways`,
        sidecars: `${monitoringNamespace}/envoy-sidecars`,
    };
}

/**
 * Alerts on the mesh's scrape health: istiod, the ingress gateway and every sidecar's Envoy answer.
 * (Request-level alerts on istio_requests_total belong with the services' SLOs.)
 */
export function meshAlertGroup(
    a: Pick<MeshMonitoringArgs, "namespace" | "istioNamespace" | "gatewayNamespace">,
): RuleGroup {
    const jobs = meshJobs(a.namespace);
    return {
        name: "istio",
        rules: [
            {
                alert: "IstiodDown",
                expr: `absent(up{job="${jobs.istiod}",namespace="${a.istioNamespace}"} == 1)`,
                for: "5m",
                labels: { severity: "critical", service: "istiod" },
                annotations: {
                    summary: "No istiod answers its metrics endpoint",
                    description:
                        "Sidecars keep their last configuration but new pods cannot start (injection and certificates come from istiod).",
                },
            },
            {
                alert: "IstioIngressGatewayDown",
                expr: `absent(up{job="${jobs.gateways}",namespace="${a.gatewayNamespace}"} == 1)`,
                for: "5m",
                labels: { severity: "critical", service: "istio-ingressgateway" },
                annotations: {
                    summary: "No ingress gateway pod answers its Envoy stats endpoint",
                    description: `The public entry point in ${a.gatewayNamespace} is down or unreachable from Prometheus.`,
                },
            },
            {
                alert: "EnvoySidecarStatsDown",
                expr: `up{job="${jobs.sidecars}"} == 0`,
                for: "15m",
                labels: { severity: "warning", service: "istio-proxy" },
                annotations: {
                    summary: "A sidecar's Envoy stats endpoint does not answer",
                    description:
                        "{{ $labels.namespace }}/{{ $labels.pod }}: the istio-proxy container is not serving :15090 (sidecar unhealthy or the scrape is blocked).",
                },
            },
        ],
    };
}

/** ServiceMonitor for istiod, PodMonitors for gateways and sidecars, and the mesh alerts. */
export function meshMonitoring(
    name: string,
    a: MeshMonitoringArgs,
    opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource[] {
    const o = { ...opts, dependsOn: [a.prometheusStack] };
    const labels = partLabels("monitoring");
    const envoyEndpoint = {
        port: ENVOY_STATS_PORT.name,
        path: ENVOY_STATS_PORT.path,
        interval: "30s",
        scrapeTimeout: "10s",
    };
    return [
        new k8s.apiextensions.CustomResource(
            `${name}-istiod-servicemonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: { name: "istiod", namespace: a.namespace, labels },
                spec: {
                    selector: { matchLabels: { ...CHART_PODS.istiod.service } },
                    namespaceSelector: { matchNames: [a.istioNamespace] },
                    endpoints: [{ port: ISTIOD_MONITORING_PORT.name, interval: "30s", scrapeTimeout: "10s" }],
                },
            },
            o,
        ),
        new k8s.apiextensions.CustomResource(
            `${name}-gateways-podmonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: { name: "istio-gateways", namespace: a.namespace, labels },
                spec: {
                    selector: { matchExpressions: [{ key: "istio", operator: "In", values: GATEWAY_LABELS }] },
                    namespaceSelector: { matchNames: [...new Set([a.gatewayNamespace, a.istioNamespace])] },
                    podMetricsEndpoints: [envoyEndpoint],
                },
            },
            o,
        ),
        // Injected pods carry security.istio.io/tlsMode; gateways (label `istio`) are scraped above.
        // With native sidecars istio-proxy is a restartable init container: Prometheus discovers its
        // ports too. Pods opt out with the label istio-prometheus-ignore.
        new k8s.apiextensions.CustomResource(
            `${name}-sidecars-podmonitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: { name: "envoy-sidecars", namespace: a.namespace, labels },
                spec: {
                    selector: {
                        matchExpressions: [
                            { key: "security.istio.io/tlsMode", operator: "Exists" },
                            { key: "istio", operator: "DoesNotExist" },
                            { key: "istio-prometheus-ignore", operator: "DoesNotExist" },
                        ],
                    },
                    namespaceSelector: { any: true },
                    podMetricsEndpoints: [envoyEndpoint],
                },
            },
            o,
        ),
        new k8s.apiextensions.CustomResource(
            `${name}-rules`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: "istio-alerts", namespace: a.namespace, labels },
                spec: { groups: [meshAlertGroup(a)] },
            },
            o,
        ),
    ];
}
