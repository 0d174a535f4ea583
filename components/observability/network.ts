// NetworkPolicies of the observability layer's namespaces. Each namespace is default-deny (with DNS)
// through HardenedNamespace; these are the explicit allows for the real flows of the charts in it
// (kube-prometheus-stack 88.5.3, jaeger 4.11.1, keda 2.20.2; ports from their templates and values).
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CHART_PODS } from "../chart-pods";
import { managedLabels } from "../labels";
import { ANY_NAMESPACE, anyAddress, namespacePeer, policiesIn, SAME_NAMESPACE, tcp } from "../network";

/**
 * The Kubernetes API server and the kubelets. Their addresses are not known portably (a managed
 * control plane sits outside the cluster network, kind/k3d serve 6443 on a node, kubelets listen on
 * every node's address), and no pod or namespace selector matches them: these rules are port-scoped
 * to any address but link-local ones (the metadata endpoint). 443/6443: API server; 10250: kubelet (Prometheus scrapes cAdvisor and kubelet metrics).
 */
export const API_SERVER_PORTS = [443, 6443] as const;
export const KUBELET_PORT = 10250;

/** Ports the charts' pods listen on for the flows allowed below. */
export const PORTS = {
    prometheus: 9090,
    /** Prometheus Operator https port (tls.internalPort): its admission webhook for PrometheusRules. */
    operatorWebhook: 10250,
    otlpGrpc: 4317,
    otlpHttp: 4318,
    /** KEDA metrics API server (service.portHttpsTarget), called by the API server for external.metrics.k8s.io. */
    kedaMetricsApiServer: 6443,
    /** KEDA admission webhooks (webhooks.port default 9443), called by the API server. */
    kedaWebhooks: 9443,
    /** KEDA components' Prometheus metrics (prometheus.{operator,metricServer,webhooks}.port). */
    kedaMetrics: 8080,
} as const;

/**
 * Pod ports Prometheus scrapes in other namespaces. Node agents on the host network (node-exporter,
 * 9100) and kubelets (10250) answer on node addresses, which no selector names: those two are also
 * allowed to any address. Every NetworkPolicy in the program that admits the monitoring namespace
 * must admit it on one of these ports (a test checks both ends agree).
 */
export const SCRAPE_PORTS = [
    9464, // apps/service.js /metrics (shop and core services)
    8080, // shop frontend (nginx metrics), KEDA components, kube-state-metrics
    8070, // Redis Enterprise cluster metrics
    9402, // cert-manager controller
    7979, // external-dns
    9100, // node exporters (the shop's node-metrics pods and node-exporter)
    9187, // CloudNativePG instance managers (PostgreSQL metrics)
    9153, // CoreDNS (kube-prometheus-stack's coreDns ServiceMonitor)
    15014, // istiod http-monitoring
    15090, // Envoy /stats/prometheus (http-envoy-prom) of gateways and sidecars
] as const;

/** A NetworkPolicy named `name` in `namespace`, labelled as the program's; logical name `<prefix>-<name>`. */
const policyIn = (prefix: string, namespace: string, opts: pulumi.CustomResourceOptions) =>
    policiesIn(prefix, namespace, opts, managedLabels());

export interface MonitoringPolicyArgs {
    namespace: string;
    tracing: boolean;
    /** The trace store Jaeger writes to (namespace, its pods, HTTPS port); undefined = in Jaeger's pod (Badger). */
    traceStore?: { namespace: string; podLabels: Record<string, string>; port: number };
    /** Namespace of KEDA, whose operator queries Prometheus; undefined when KEDA is off. */
    kedaNamespace?: string;
}

/** Allows in the monitoring namespace (kube-prometheus-stack and Jaeger). */
export function monitoringPolicies(
    prefix: string,
    a: MonitoringPolicyArgs,
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
    const p = policyIn(prefix, a.namespace, opts);
    const out = [
        // Grafana -> Prometheus, Alertmanager and Jaeger; Prometheus -> Alertmanager and its own
        // components (operator, kube-state-metrics, Grafana, Jaeger, config reloaders); Alertmanager
        // cluster gossip between replicas (9094 TCP and UDP).
        p("allow-within-namespace", {
            podSelector: {},
            ingress: [{ from: [SAME_NAMESPACE] }],
            egress: [{ to: [SAME_NAMESPACE] }],
        }),
        // The API server calls the operator's admission webhook (PrometheusRule validation); its source
        // address has no selector, so any source on the webhook port only.
        p("allow-webhook-from-api-server", {
            podSelector: CHART_PODS.prometheusOperator.selector,
            ingress: [{ ports: tcp(PORTS.operatorWebhook) }],
        }),
        // The operator, Prometheus (service discovery, API server and kubelet scrapes), kube-state-metrics,
        // Grafana's sidecars and the chart's webhook-certificate Jobs talk to the API server. Alertmanager's
        // receivers (webhooks, chat and paging services) are HTTPS on 443: the same rule covers them.
        p("allow-api-server-egress", {
            podSelector: {},
            egress: [{ to: [anyAddress()], ports: tcp(...API_SERVER_PORTS, KUBELET_PORT) }],
        }),
        // Prometheus scrapes pods in every namespace on their metrics ports, and host-network node agents
        // on node addresses.
        p("allow-scrape-egress", {
            podSelector: CHART_PODS.prometheus.selector,
            egress: [
                { to: [ANY_NAMESPACE], ports: tcp(...SCRAPE_PORTS) },
                { to: [anyAddress()], ports: tcp(9100) },
            ],
        }),
    ];
    if (a.tracing) {
        // Istio sidecars and gateways in every namespace send spans to Jaeger's OTLP receivers.
        out.push(
            p("allow-otlp-from-cluster", {
                podSelector: CHART_PODS.jaeger.selector,
                ingress: [{ from: [ANY_NAMESPACE], ports: tcp(PORTS.otlpGrpc, PORTS.otlpHttp) }],
            }),
        );
    }
    if (a.tracing && a.traceStore) {
        // Jaeger (and its nightly index cleaner) write to and query the trace store over HTTPS.
        out.push(
            p("allow-trace-store-egress", {
                podSelector: CHART_PODS.jaeger.selector,
                egress: [
                    {
                        to: [namespacePeer(a.traceStore.namespace, a.traceStore.podLabels)],
                        ports: tcp(a.traceStore.port),
                    },
                ],
            }),
        );
    }
    if (a.kedaNamespace) {
        // The KEDA operator evaluates the prometheus triggers of ScaledObjects (http://prometheus.<ns>:9090).
        out.push(
            p("allow-query-from-keda", {
                podSelector: CHART_PODS.prometheus.selector,
                ingress: [
                    {
                        from: [namespacePeer(a.kedaNamespace, CHART_PODS.kedaOperator.selector)],
                        ports: tcp(PORTS.prometheus),
                    },
                ],
            }),
        );
    }
    return out;
}

/** Allows in the KEDA namespace (operator, metrics API server, admission webhooks). */
export function kedaPolicies(
    prefix: string,
    a: { namespace: string; monitoringNamespace: string },
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
    const p = policyIn(prefix, a.namespace, opts);
    return [
        // Metrics API server -> operator (gRPC 9666, the metrics service).
        p("allow-within-namespace", {
            podSelector: {},
            ingress: [{ from: [SAME_NAMESPACE] }],
            egress: [{ to: [SAME_NAMESPACE] }],
        }),
        // Every KEDA component watches the API server (address not portable: port-scoped, any address).
        p("allow-api-server-egress", {
            podSelector: {},
            egress: [{ to: [anyAddress()], ports: tcp(...API_SERVER_PORTS) }],
        }),
        // The operator queries Prometheus for the prometheus triggers.
        p("allow-prometheus-egress", {
            podSelector: CHART_PODS.kedaOperator.selector,
            egress: [
                {
                    to: [namespacePeer(a.monitoringNamespace, CHART_PODS.prometheus.selector)],
                    ports: tcp(PORTS.prometheus),
                },
            ],
        }),
        // The API server serves external.metrics.k8s.io through the metrics API server (APIService) and
        // calls the admission webhooks; its source address has no selector: any source, those ports only.
        p("allow-metrics-api-from-api-server", {
            podSelector: CHART_PODS.kedaMetricsApiServer.selector,
            ingress: [{ ports: tcp(PORTS.kedaMetricsApiServer) }],
        }),
        p("allow-webhook-from-api-server", {
            podSelector: CHART_PODS.kedaWebhooks.selector,
            ingress: [{ ports: tcp(PORTS.kedaWebhooks) }],
        }),
        // Prometheus scrapes the components' metrics.
        p("allow-metrics-scrape", {
            podSelector: {},
            ingress: [{ from: [namespacePeer(a.monitoringNamespace)], ports: tcp(PORTS.kedaMetrics) }],
        }),
    ];
}
