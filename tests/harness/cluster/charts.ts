// The pods the charts run, as the pinned charts label them (components/chart-pods.ts, the table the
// program selects them by; the program records only the Helm releases): namespace, pod labels, service account, whether they are Istio proxies, and the
// NetworkPolicy the chart itself adds for them. A pod is present when its chart's release is.
import type { PlatformConfig } from "../../../config";
import { CHART_PODS } from "../../../components/chart-pods";
import { nodePodLabels } from "../../../components/redis-enterprise/plan";
import type { K8sObject } from "../k8s";
import { kindFacts } from "./catalog";
import type { Pod } from "./pod";

type ChartPod = Omit<Pod, "id" | "owner" | "annotations" | "ports" | "hostNetwork"> & {
    chart: string;
    ports?: number[];
    hostNetwork?: boolean;
};

/** Chart pods by role (kube-prometheus-stack with fullnameOverride kps, jaeger, keda, istio, cert-manager, external-dns). */
export function chartPodCatalogue(cfg: PlatformConfig): Record<string, ChartPod> {
    const mon = cfg.monitoring.namespace;
    return {
        istiod: {
            chart: "istiod",
            namespace: "istio-system",
            labels: CHART_PODS.istiod.labels,
            serviceAccount: "istiod",
            ports: [15010, 15012, 15014, 15017],
            // global.networkPolicy: xDS, CA and webhook in, everything out.
            chartPolicy: { ingressPorts: [15010, 15012, 15014, 15017], egress: "any" },
        },
        ingressGateway: {
            chart: "gateway:istio-ingressgateway",
            namespace: "istio-ingress",
            labels: CHART_PODS.ingressGateway.labels,
            serviceAccount: "istio-ingressgateway",
            proxy: "gateway",
            ports: [80, 443, 15021, 15020, 15090],
        },
        eastWestGateway: {
            chart: "gateway:istio-eastwestgateway",
            namespace: "istio-system",
            labels: CHART_PODS.eastWestGateway.labels,
            serviceAccount: "istio-eastwestgateway",
            proxy: "gateway",
            ports: [15443, 15021, 15020, 15090],
        },
        prometheus: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.prometheus.labels,
            serviceAccount: "kps-prometheus",
            ports: [9090],
        },
        alertmanager: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.alertmanager.labels,
            serviceAccount: "kps-alertmanager",
            ports: [9093, 9094],
        },
        grafana: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.grafana.labels,
            serviceAccount: "kube-prometheus-stack-grafana",
            ports: [3000],
        },
        kubeStateMetrics: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.kubeStateMetrics.labels,
            serviceAccount: "kube-prometheus-stack-kube-state-metrics",
            ports: [8080],
        },
        prometheusOperator: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.prometheusOperator.labels,
            serviceAccount: "kps-operator",
            ports: [10250],
        },
        admissionJob: {
            chart: "kube-prometheus-stack",
            namespace: mon,
            labels: CHART_PODS.prometheusAdmissionJob.labels,
            serviceAccount: "kps-admission",
        },
        jaeger: {
            chart: "jaeger",
            namespace: mon,
            labels: CHART_PODS.jaeger.labels,
            serviceAccount: "jaeger",
            ports: [4317, 4318, 16686, 8888],
        },
        kedaOperator: {
            chart: "keda",
            namespace: "keda",
            labels: CHART_PODS.kedaOperator.labels,
            serviceAccount: "keda-operator",
            ports: [9666, 8080],
        },
        kedaMetricsApiServer: {
            chart: "keda",
            namespace: "keda",
            labels: CHART_PODS.kedaMetricsApiServer.labels,
            serviceAccount: "keda-metrics-server",
            ports: [6443, 8080],
        },
        kedaWebhooks: {
            chart: "keda",
            namespace: "keda",
            labels: CHART_PODS.kedaWebhooks.labels,
            serviceAccount: "keda-webhook",
            ports: [9443, 8080],
        },
        clusterDns: {
            chart: "(the cluster's DNS)",
            namespace: "kube-system",
            labels: { ...cfg.cluster.profile.dns.podLabels },
            serviceAccount: "coredns",
            ports: [53],
            // kube-system is not the program's: its pods are not fenced by anything the program sends.
            chartPolicy: { ingressPorts: "any", egress: "any" },
        },
        certManager: {
            chart: "cert-manager",
            namespace: "cert-manager",
            labels: { ...CHART_PODS.certManager.labels, ...(cfg.dns.workloadIdentity?.podLabels ?? {}) },
            serviceAccount: "cert-manager",
            ports: [9402],
        },
        externalDns: {
            chart: "external-dns",
            namespace: "external-dns",
            labels: { ...CHART_PODS.externalDns.labels, ...(cfg.dns.workloadIdentity?.podLabels ?? {}) },
            serviceAccount: "external-dns",
            ports: [7979],
        },
        redisEnterpriseNode: {
            chart: "redis-enterprise-operator",
            namespace: "redis-enterprise",
            labels: nodePodLabels(cfg.region),
            serviceAccount: `rec-${cfg.region}`,
            ports: [8070, 9443, 12000],
        },
    };
}

/** The release a pod belongs to ("gateway:<release>" names a gateway release); "(...)": not a release. */
function releaseOf(chart: string, releases: any[]): any {
    if (chart.startsWith("(")) return {};
    if (chart.startsWith("gateway:")) return releases.find((r) => r.name === chart.slice("gateway:".length));
    return releases.find((r) => r.chart === chart);
}

export function chartPods(cfg: PlatformConfig, releases: any[]): Pod[] {
    return Object.entries(chartPodCatalogue(cfg))
        .map(([role, p]) => ({ role, p, release: releaseOf(p.chart, releases) }))
        .filter(({ release }) => !!release)
        .map(({ role, p, release }) => ({
            id: `chart ${p.namespace}/${role}`,
            owner: { kind: "chart", name: role },
            namespace: p.namespace,
            labels: p.labels,
            annotations: {},
            serviceAccount: p.serviceAccount,
            proxy: p.proxy,
            ports: (p.ports ?? []).map((containerPort) => ({ containerPort })),
            hostNetwork: !!p.hostNetwork,
            chartPolicy: p.chartPolicy ?? gatewayChartPolicy(p, release),
        }));
}

/** The gateway chart's own NetworkPolicy, when its values enable it: its ports in, everything out. */
function gatewayChartPolicy(p: ChartPod, release: any) {
    const enabled = release?.values?.global?.networkPolicy?.enabled === true;
    return p.proxy === "gateway" && enabled
        ? { ingressPorts: [15021, 15020, 15090, 80, 443], egress: "any" as const }
        : undefined;
}

/** A chart pod by role, when its chart is installed. */
export function chartPod(pods: Pod[], role: string): Pod | undefined {
    return pods.find((p) => p.owner.kind === "chart" && p.owner.name === role);
}

/**
 * Objects operators create from the custom resources the program sends (not recorded either): the
 * Redis Enterprise operator's database Services, named after the database, on its port, with the
 * cluster's node pods behind them.
 */
export function operatorObjects(cfg: PlatformConfig, objects: K8sObject[]): K8sObject[] {
    // CloudNativePG: Services <cluster>-rw, -ro and -r on PostgreSQL's port, in front of the instances.
    const cnpg = objects
        .filter((o) => o.apiVersion.startsWith("postgresql.cnpg.io/") && o.kind === "Cluster")
        .flatMap((c) =>
            ["rw", "ro", "r"].map((suffix) => ({
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: `${c.metadata.name}-${suffix}`, namespace: c.metadata.namespace, labels: {} },
                spec: {
                    selector: { "cnpg.io/cluster": c.metadata.name! },
                    ports: [{ name: "postgres", port: 5432, targetPort: 5432 }],
                },
            })),
        );
    return [
        ...cnpg,
        ...objects
            .filter((o) => o.kind === "RedisEnterpriseDatabase" || o.kind === "RedisEnterpriseActiveActiveDatabase")
            .map((db) => ({
                apiVersion: "v1",
                kind: "Service",
                metadata: {
                    name: db.metadata.name,
                    namespace: db.metadata.namespace,
                    labels: { app: "redis-enterprise" },
                },
                spec: {
                    selector: nodePodLabels(cfg.region),
                    ports: [
                        {
                            name: "redis",
                            port: db.spec.databasePort ?? db.spec.globalConfigurations?.databasePort,
                            targetPort: db.spec.databasePort ?? db.spec.globalConfigurations?.databasePort,
                        },
                    ],
                },
            })),
    ];
}

/** The pods operators run for the custom resources the program sends (the cluster catalog's facts). */
export function operatorPods(objects: K8sObject[]): Pod[] {
    return objects
        .filter((o) => o.apiVersion.startsWith("postgresql.cnpg.io/") && o.kind === "Cluster")
        .flatMap((o) => kindFacts(o)?.pods?.(o) ?? [])
        .map((g) => ({
            id: g.id,
            owner: { kind: "operator", name: g.id },
            namespace: g.namespace,
            labels: g.labels,
            annotations: {},
            // CloudNativePG names each instance's ServiceAccount after its Cluster.
            serviceAccount: g.id.split("/")[1].split(":")[0],
            ports: [
                { name: "postgres", containerPort: 5432 },
                { name: "metrics", containerPort: 9187 },
            ],
            hostNetwork: false,
        }));
}
