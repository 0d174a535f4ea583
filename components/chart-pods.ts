// Which labels the pinned charts (./helm.ts CHARTS) give each component's pods, and the labels of the
// chart Services the program's monitors select: read from each chart's templates at the pinned version,
// with the release names and overrides the program installs it with (kube-prometheus-stack: release
// kube-prometheus-stack, fullnameOverride kps; the others: the release names below). The program's
// NetworkPolicies, Services, monitors and spread constraints select by `selector`; the test model of
// the cluster (tests/harness/cluster/) runs chart pods with `labels`. A chart upgrade that changes a
// label is one edit here.
import type { ChartName } from "./helm";

export interface ChartPods {
    chart: ChartName;
    /** The release name the labels derive from, where they do (a test holds the program to it). */
    release?: string;
    /** The labels the program selects these pods by (stable across the chart's minor versions). */
    selector: Readonly<Record<string, string>>;
    /** Every label the chart (or its operator) puts on the pods: `selector` and more. */
    labels: Readonly<Record<string, string>>;
    /** Labels of the chart's Service the program's ServiceMonitor selects, where it has one. */
    service?: Readonly<Record<string, string>>;
}

const pods = <
    const R extends string | undefined,
    const S extends Record<string, string>,
    const M extends Record<string, string> = Record<never, never>,
>(
    chart: ChartName,
    release: R,
    selector: S,
    more?: M,
    service?: Record<string, string>,
) => ({ chart, release, selector, labels: { ...selector, ...more } as S & M, service });

const KPS = { release: "kube-prometheus-stack", fullname: "kps" } as const;

export const CHART_PODS = {
    // kube-prometheus-stack: the Prometheus and Alertmanager pods are the operator's (StatefulSets of
    // the chart's Prometheus and Alertmanager resources, named `<fullname>-prometheus`/`-alertmanager`).
    prometheus: pods(
        "kubePrometheusStack",
        KPS.release,
        { "app.kubernetes.io/name": "prometheus" },
        {
            "app.kubernetes.io/instance": `${KPS.fullname}-prometheus`,
            "operator.prometheus.io/name": `${KPS.fullname}-prometheus`,
            prometheus: `${KPS.fullname}-prometheus`,
        },
    ),
    alertmanager: pods(
        "kubePrometheusStack",
        KPS.release,
        { "app.kubernetes.io/name": "alertmanager" },
        { alertmanager: `${KPS.fullname}-alertmanager` },
    ),
    grafana: pods("kubePrometheusStack", KPS.release, {
        "app.kubernetes.io/name": "grafana",
        "app.kubernetes.io/instance": KPS.release,
    }),
    kubeStateMetrics: pods("kubePrometheusStack", KPS.release, {
        "app.kubernetes.io/name": "kube-state-metrics",
        "app.kubernetes.io/instance": KPS.release,
    }),
    /** The Prometheus Operator also serves the chart's admission webhook (admissionWebhooks.deployment.enabled false). */
    prometheusOperator: pods("kubePrometheusStack", KPS.release, {
        app: "kube-prometheus-stack-operator",
        release: KPS.release,
    }),
    /** The chart's webhook-certificate Jobs (hooks). */
    prometheusAdmissionJob: pods("kubePrometheusStack", KPS.release, {
        app: "kube-prometheus-stack-admission-create",
        release: KPS.release,
    }),
    /** Jaeger's server (component all-in-one) and its index cleaner share the selector labels. */
    jaeger: pods(
        "jaeger",
        "jaeger",
        { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "jaeger" },
        { "app.kubernetes.io/component": "all-in-one" },
        { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/component": "all-in-one" },
    ),
    kedaOperator: pods(
        "keda",
        undefined,
        { app: "keda-operator" },
        { "app.kubernetes.io/name": "keda-operator" },
        { "app.kubernetes.io/name": "keda-operator" },
    ),
    kedaMetricsApiServer: pods(
        "keda",
        undefined,
        { app: "keda-operator-metrics-apiserver" },
        { "app.kubernetes.io/name": "keda-operator-metrics-apiserver" },
    ),
    kedaWebhooks: pods(
        "keda",
        undefined,
        { app: "keda-admission-webhooks" },
        { "app.kubernetes.io/name": "keda-admission-webhooks" },
    ),
    istiod: pods("istiod", undefined, { app: "istiod" }, { istio: "pilot" }, { app: "istiod" }),
    /** The gateway chart labels pods `app: <release>` and `istio: <release without "istio-">`. */
    ingressGateway: pods(
        "istioGateway",
        "istio-ingressgateway",
        { istio: "ingressgateway" },
        { app: "istio-ingressgateway" },
    ),
    eastWestGateway: pods(
        "istioGateway",
        "istio-eastwestgateway",
        { istio: "eastwestgateway" },
        { app: "istio-eastwestgateway" },
    ),
    certManager: pods(
        "certManager",
        "cert-manager",
        { "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "controller" },
        { "app.kubernetes.io/name": "cert-manager" },
    ),
    certManagerWebhook: pods(
        "certManager",
        "cert-manager",
        { "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" },
        { "app.kubernetes.io/name": "webhook" },
    ),
    certManagerCainjector: pods(
        "certManager",
        "cert-manager",
        { "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "cainjector" },
        { "app.kubernetes.io/name": "cainjector" },
    ),
    externalDns: pods(
        "externalDns",
        "external-dns",
        { "app.kubernetes.io/instance": "external-dns" },
        { "app.kubernetes.io/name": "external-dns" },
    ),
    metricsServer: pods("metricsServer", "metrics-server", {
        "app.kubernetes.io/name": "metrics-server",
        "app.kubernetes.io/instance": "metrics-server",
    }),
    cnpgOperator: pods(
        "cloudnativePg",
        "cnpg",
        { "app.kubernetes.io/name": "cloudnative-pg" },
        { "app.kubernetes.io/instance": "cnpg" },
    ),
    barmanCloudPlugin: pods("barmanCloudPlugin", undefined, { "app.kubernetes.io/name": "plugin-barman-cloud" }),
    /** OpenSearch nodes (StatefulSet `<clusterName>-<nodeGroup>`). */
    opensearch: pods("opensearch", "opensearch", {
        "app.kubernetes.io/name": "opensearch",
        "app.kubernetes.io/instance": "opensearch",
    }),
} as const satisfies Record<string, ChartPods>;

/** The named labels of a label set, in the order named (a selector narrower or wider than `selector`). */
export function pickLabels<L extends Readonly<Record<string, string>>, K extends keyof L & string>(
    labels: L,
    ...keys: K[]
): Pick<L, K> {
    return Object.fromEntries(keys.map((k) => [k, labels[k]])) as Pick<L, K>;
}
