// Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, node-exporter,
// kube-state-metrics, the Prometheus Operator), Jaeger v2 for Istio traces, KEDA for custom-metric
// autoscaling, Grafana dashboards and platform alert rules.
import { CHART_PODS, pickLabels } from "../chart-pods";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type PlatformConfig, resourcesFor, type Workload } from "../../config";
import type {
    LayerReport,
    MonitoringContract,
    RuleGroup,
    ServiceMonitorArgs,
    StackContext,
    StorageContract,
} from "../contracts";
import { EVERY_NODE, placement, resourceRequirements, TIER_LABEL } from "../defaults";
import { CHARTS, chartValues, pinnedRelease } from "../helm";
import { serviceFqdn } from "../hosts";
import { nameLabels, partLabels, selectorLabels } from "../labels";
import { NAMESPACES } from "../names";
import { HardenedNamespace } from "../namespace";
import { meshMonitoring } from "./istio";
import { alertRules, type MonitorContext, serviceMonitor } from "./monitors";
import { kedaPolicies, monitoringPolicies } from "./network";
import { TraceStore } from "./trace-store";
import { JAEGER, jaegerValues, TRACE_STORE, traceBackend } from "./tracing";

export interface ObservabilityArgs {
    ctx: StackContext;
    /**
     * Monitor istiod, the gateways and every sidecar (./istio.ts). Not a dependency: nothing here waits
     * for the mesh; the monitors select its pods by label.
     */
    monitorMesh: boolean;
    /** The StorageClass the volumes name: Prometheus, and the trace store (Badger in dev, OpenSearch nodes). */
    storage: StorageContract;
}

/** Where Istio sidecars send spans (OTLP/gRPC); the mesh's extension provider points here. */
export function jaegerOtlpAddress(cfg: PlatformConfig): { host: string; port: number; namespace: string } {
    return { host: serviceFqdn("jaeger", cfg.monitoring.namespace), port: 4317, namespace: cfg.monitoring.namespace };
}

/** In-cluster Prometheus query URL (the `prometheus` Service this layer creates). */
export function prometheusUrl(cfg: PlatformConfig): string {
    return `http://${serviceFqdn("prometheus", cfg.monitoring.namespace)}:9090`;
}

const DASHBOARD_DIR = path.resolve(__dirname, "..", "..", "dashboards");
/** Name of the Secret holding the Grafana admin login (keys admin-user, admin-password). */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** kube-prometheus-stack fullnameOverride (helm/kube-prometheus-stack.yaml). */
const KPS = "kps";
/** Role the Grafana sidecars run with (configmaps of Grafana's namespace, read only). */
export const GRAFANA_SIDECAR_ROLE = "grafana-sidecar";
/** Namespaces Prometheus takes monitors and rules from: those the program creates (HardenedNamespace labels them). */
export const MONITORED_NAMESPACES = { matchExpressions: [{ key: TIER_LABEL, operator: "Exists" }] };

export class Observability extends pulumi.ComponentResource implements MonitoringContract {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly namespace: string;
    public readonly crds: pulumi.Resource;
    public readonly autoscaler?: pulumi.Resource;
    public readonly prometheusUrl: string;
    /** Jaeger's OTLP/gRPC receiver; undefined when tracing is off. */
    public readonly tracing?: { host: string; port: number; namespace: string };
    private readonly monitors: MonitorContext;

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:Observability", name, {}, opts);
        const { ctx } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };
        const ns = cfg.monitoring.namespace;
        const nodeAgentsNs = `${ns}-node-agents`;
        this.namespace = ns;
        this.prometheusUrl = prometheusUrl(cfg);

        // Every chart pod in `monitoring` meets "restricted" with the security contexts in helm/*.yaml.
        // Default-deny (with DNS) like every namespace we create, plus the charts' real flows
        // (./network.ts): within the namespace, API server and kubelets, scrapes of every namespace,
        // spans from every namespace, the operator's webhook, KEDA's queries.
        const kedaNamespace = cfg.layers.customMetricsAutoscaling ? NAMESPACES.keda : undefined;
        const monitoringNs = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx,
                name: ns,
                podSecurity: "restricted",
            },
            { parent: this },
        );
        // Charts install after their allows exist (hook Jobs and operators need the API server at once).
        const traceStore = cfg.layers.tracing && traceBackend(cfg) === "opensearch";
        const monitoringAllows = monitoringPolicies(
            name,
            {
                namespace: ns,
                tracing: cfg.layers.tracing,
                kedaNamespace,
                traceStore: traceStore
                    ? {
                          namespace: TRACE_STORE.namespace,
                          podLabels: TRACE_STORE.podLabels,
                          port: TRACE_STORE.ports.http,
                      }
                    : undefined,
            },
            { ...o, dependsOn: [monitoringNs] },
        );
        // node-exporter runs on the host network: NetworkPolicy does not apply to host-network pods
        // (their traffic is the node's), so Prometheus reaches it on the node address (allow-scrape-egress,
        // 9100). The namespace is still default-deny, like every namespace we create, so that any pod
        // added to it later starts fenced.
        const nodeAgents = new HardenedNamespace(
            `${name}-node-agents-namespace`,
            {
                ctx,
                name: nodeAgentsNs,
                podSecurity: {
                    privilegedBecause:
                        "node-exporter reads the host's /proc, /sys and root filesystem (hostPath) and runs with hostNetwork and hostPID to report node metrics",
                },
            },
            { parent: this },
        );

        // Grafana admin: generated, kept as a Pulumi secret, handed to the chart by Secret name only.
        const adminPassword = new random.RandomPassword(
            `${name}-grafana-admin-password`,
            { length: 32, special: false },
            { parent: this },
        );
        const adminSecret = new k8s.core.v1.Secret(
            `${name}-grafana-admin`,
            {
                metadata: {
                    name: GRAFANA_ADMIN_SECRET,
                    namespace: ns,
                    labels: nameLabels("grafana"),
                },
                type: "Opaque",
                stringData: { "admin-user": "admin", "admin-password": adminPassword.result },
            },
            { ...o, dependsOn: [monitoringNs] },
        );

        // What Grafana's sidecars may read: the dashboards and data sources of its own namespace.
        const grafanaRole = new k8s.rbac.v1.Role(
            `${name}-grafana-sidecar`,
            {
                metadata: { name: GRAFANA_SIDECAR_ROLE, namespace: ns, labels: nameLabels("grafana") },
                rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
            },
            { ...o, dependsOn: [monitoringNs] },
        );

        const size = sizeOf(cfg);
        const prod = cfg.tier !== "dev";
        // Every component on the stack's nodes, through the keys the chart reads for it; node-exporter on all.
        const place = placement(cfg);
        const kpsValues = chartValues("kube-prometheus-stack.yaml", {
            fullnameOverride: KPS,
            prometheusOperator: {
                ...place,
                resources: size("prometheus-operator"),
                prometheusConfigReloader: { resources: size("prometheus-config-reloader") },
                admissionWebhooks: { patch: { ...place, resources: size("prometheus-admission-patch") } },
            },
            prometheus: {
                prometheusSpec: {
                    ...place,
                    retention: cfg.monitoring.retention,
                    // Two in the regions: each scrapes everything into its own volume, so a drained node or a lost
                    // zone keeps metrics, alerts and the KEDA triggers served.
                    replicas: prod ? 2 : 1,
                    resources: size("prometheus"),
                    ...(cfg.monitoring.prometheusStorage
                        ? {
                              storageSpec: {
                                  volumeClaimTemplate: {
                                      spec: {
                                          storageClassName: args.storage.className,
                                          accessModes: ["ReadWriteOnce"],
                                          resources: { requests: { storage: cfg.monitoring.prometheusStorage } },
                                      },
                                  },
                              },
                          }
                        : {}),
                    externalLabels: { region: cfg.region, cluster: cfg.cluster.identifier },
                    serviceMonitorNamespaceSelector: MONITORED_NAMESPACES,
                    podMonitorNamespaceSelector: MONITORED_NAMESPACES,
                    ruleNamespaceSelector: MONITORED_NAMESPACES,
                    probeNamespaceSelector: MONITORED_NAMESPACES,
                    scrapeConfigNamespaceSelector: MONITORED_NAMESPACES,
                },
            },
            alertmanager: {
                alertmanagerSpec: {
                    ...place,
                    replicas: prod ? 2 : 1,
                    resources: size("alertmanager"),
                    alertmanagerConfigNamespaceSelector: MONITORED_NAMESPACES,
                },
            },
            grafana: {
                ...place,
                admin: { existingSecret: GRAFANA_ADMIN_SECRET },
                resources: size("grafana"),
                rbac: { useExistingRole: GRAFANA_SIDECAR_ROLE },
                sidecar: { resources: size("grafana-sidecar"), dashboards: { searchNamespace: ns } },
                additionalDataSources: cfg.layers.tracing
                    ? [
                          {
                              name: "Jaeger",
                              type: "jaeger",
                              uid: "jaeger",
                              access: "proxy",
                              url: `http://jaeger.${ns}.svc.cluster.local:16686`,
                              editable: false,
                          },
                      ]
                    : [],
            },
            "kube-state-metrics": { ...place, resources: size("kube-state-metrics") },
            "prometheus-node-exporter": {
                namespaceOverride: nodeAgentsNs,
                resources: size("node-exporter"),
                tolerations: EVERY_NODE,
            },
        });
        // CRDs, the webhook certificate hook Jobs, operator, Grafana and exporters.
        const stack = pinnedRelease(
            `${name}-kube-prometheus-stack`,
            {
                ctx,
                chart: CHARTS.kubePrometheusStack,
                releaseName: "kube-prometheus-stack",
                namespace: ns,
                values: kpsValues,
                timeoutSeconds: 900,
            },
            {
                parent: this,
                dependsOn: [monitoringNs, nodeAgents, adminSecret, grafanaRole, ...monitoringAllows],
                customTimeouts: { create: "20m", update: "20m" },
            },
        );
        this.crds = stack;
        this.monitors = { ctx, crds: stack };

        // The runbook's `kubectl port-forward svc/prometheus 9090:9090 -n monitoring`: the chart's
        // Service is `kps-prometheus`, so we add `prometheus` selecting the same pods.
        new k8s.core.v1.Service(
            `${name}-prometheus`,
            {
                metadata: {
                    name: "prometheus",
                    namespace: ns,
                    labels: partLabels("monitoring", selectorLabels("prometheus-query")),
                },
                spec: {
                    type: "ClusterIP",
                    selector: pickLabels(
                        CHART_PODS.prometheus.labels,
                        "app.kubernetes.io/name",
                        "operator.prometheus.io/name",
                    ),
                    ports: [{ name: "http-web", port: 9090, targetPort: 9090, protocol: "TCP" }],
                },
            },
            { ...o, dependsOn: [stack], customTimeouts: { create: "15m" } },
        );

        // Dashboards: every dashboards/*.json as a ConfigMap Grafana's sidecar loads.
        for (const file of fs
            .readdirSync(DASHBOARD_DIR)
            .filter((f) => f.endsWith(".json"))
            .sort()) {
            const id = path.basename(file, ".json");
            new k8s.core.v1.ConfigMap(
                `${name}-dashboard-${id}`,
                {
                    metadata: {
                        name: `dashboard-${id}`,
                        namespace: ns,
                        labels: partLabels("monitoring", { grafana_dashboard: "1" }),
                    },
                    data: { [file]: fs.readFileSync(path.join(DASHBOARD_DIR, file), "utf8") },
                },
                { ...o, dependsOn: [monitoringNs] },
            );
        }

        // Platform-wide alerts; per-service groups come with each service's serviceMonitor().
        const platformGroups: RuleGroup[] = [
            {
                name: "platform.capacity",
                rules: [
                    {
                        alert: "NamespaceQuotaNearlyExhausted",
                        expr: 'kube_resourcequota{type="used"} / ignoring(type) kube_resourcequota{type="hard"} > 0.9 and ignoring(type) kube_resourcequota{type="hard"} > 0',
                        for: "15m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "A namespace quota is nearly used up",
                            description:
                                "{{ $labels.namespace }} uses more than 90% of its {{ $labels.resource }} quota: autoscalers cannot add pods beyond it.",
                        },
                    },
                ],
            },
        ];
        this.alertRules(
            `${name}-platform-rules`,
            { namespace: ns, ruleName: "platform-alerts", groups: platformGroups },
            this,
        );

        if (args.monitorMesh) {
            meshMonitoring(
                `${name}-mesh`,
                {
                    namespace: ns,
                    istioNamespace: NAMESPACES.istio,
                    gatewayNamespace: NAMESPACES.ingress,
                    prometheusStack: stack,
                },
                o,
            );
        }

        const endpoints: Record<string, pulumi.Input<string>> = {
            grafana: `http://grafana.${ns}.svc.cluster.local:3000`,
            prometheus: this.prometheusUrl,
            alertmanager: `http://${KPS}-alertmanager.${ns}.svc.cluster.local:9093`,
        };
        const portForward: Record<string, string> = {
            grafana: `kubectl port-forward svc/grafana 3000:3000 -n ${ns}`,
            grafanaAdminPassword: `kubectl get secret ${GRAFANA_ADMIN_SECRET} -n ${ns} -o jsonpath='{.data.admin-password}' | base64 -d`,
            prometheus: `kubectl port-forward svc/prometheus 9090:9090 -n ${ns}`,
            alertmanager: `kubectl port-forward svc/${KPS}-alertmanager 9093:9093 -n ${ns}`,
            // Prometheus runs as a StatefulSet the operator creates (there is no deployment/prometheus).
            prometheusLogs: `kubectl logs -n ${ns} statefulset/prometheus-${KPS}-prometheus -c prometheus`,
            // ServiceMonitors live next to the Services they scrape, in each layer's namespace.
            serviceMonitors: "kubectl get servicemonitor,prometheusrule -A",
        };

        if (cfg.layers.tracing) {
            // Traces survive a restart: on a Badger volume on the laptop, in OpenSearch (replicated) elsewhere.
            const store = traceStore
                ? new TraceStore(
                      `${name}-trace-store`,
                      {
                          ctx,
                          storage: args.storage,
                          clientNamespace: ns,
                          clientNamespaceReady: monitoringNs,
                      },
                      { parent: this },
                  ).ready
                : [
                      new k8s.core.v1.PersistentVolumeClaim(
                          `${name}-jaeger-badger`,
                          {
                              metadata: {
                                  name: JAEGER.badgerClaim,
                                  namespace: ns,
                                  labels: nameLabels("jaeger"),
                                  // Bound when Jaeger's pod starts (WaitForFirstConsumer): nothing to wait for here.
                                  annotations: { "pulumi.com/skipAwait": "true" },
                              },
                              spec: {
                                  accessModes: ["ReadWriteOnce"],
                                  storageClassName: args.storage.className,
                                  resources: { requests: { storage: cfg.monitoring.traceStorage } },
                              },
                          },
                          { ...o, dependsOn: [monitoringNs] },
                      ),
                  ];
            const values = jaegerValues(cfg);
            pinnedRelease(
                `${name}-jaeger`,
                {
                    ctx,
                    chart: CHARTS.jaeger,
                    releaseName: JAEGER.name,
                    namespace: ns,
                    timeoutSeconds: 300,
                    values: chartValues("jaeger.yaml", values),
                },
                {
                    parent: this,
                    dependsOn: [monitoringNs, ...monitoringAllows, ...store],
                    customTimeouts: { create: "10m", update: "10m" },
                },
            );
            if ((values.jaeger as { replicas: number }).replicas > 1) {
                // A drain never takes every Jaeger at once (spans would be dropped by the sidecars).
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-jaeger-pdb`,
                    {
                        metadata: { name: JAEGER.name, namespace: ns, labels: nameLabels("jaeger") },
                        spec: { minAvailable: 1, selector: { matchLabels: { ...JAEGER.serverLabels } } },
                    },
                    { ...o, dependsOn: [monitoringNs] },
                );
            }
            this.tracing = jaegerOtlpAddress(cfg);
            this.serviceMonitor(
                `${name}-jaeger`,
                {
                    namespace: ns,
                    service: "jaeger",
                    selector: { ...CHART_PODS.jaeger.service },
                    port: "internal-metrics",
                    alerts: { http: false, container: "jaeger" },
                },
                this,
            );
            endpoints.jaeger = `http://jaeger.${ns}.svc.cluster.local:16686`;
            endpoints.jaegerOtlp = `${this.tracing.host}:${this.tracing.port}`;
            portForward.jaeger = `kubectl port-forward svc/jaeger 16686:16686 -n ${ns}`;
        }

        if (cfg.layers.customMetricsAutoscaling) {
            // Custom-metric autoscaling through KEDA rather than prometheus-adapter: the adapter project
            // has announced its deprecation in favour of KEDA, and KEDA queries Prometheus directly per
            // ScaledObject (PromQL next to the workload) instead of a cluster-wide rules file, while its
            // ScaledObjects still produce plain autoscaling/v2 HPAs (CPU + request rate).
            // KEDA lives in its own namespace: it is cluster-wide autoscaling infrastructure (it serves
            // the external.metrics.k8s.io API for every namespace) with its own lifecycle, not part of
            // the monitoring stack; it only reads Prometheus over HTTP.
            const kedaNs = new HardenedNamespace(
                `${name}-keda-namespace`,
                {
                    ctx,
                    name: kedaNamespace!,
                    podSecurity: "restricted",
                },
                { parent: this },
            );
            const kedaAllows = kedaPolicies(
                `${name}-keda`,
                { namespace: kedaNamespace!, monitoringNamespace: ns },
                { ...o, dependsOn: [kedaNs] },
            );
            const keda = pinnedRelease(
                `${name}-keda`,
                {
                    ctx,
                    chart: CHARTS.keda,
                    releaseName: "keda",
                    namespace: kedaNamespace!,
                    timeoutSeconds: 600,
                    values: chartValues("keda.yaml", {
                        // Top-level: the operator, the metrics API server and the webhooks all read it.
                        ...place,
                        resources: {
                            operator: size("keda-operator"),
                            metricServer: size("keda-metrics-server"),
                            webhooks: size("keda-webhooks"),
                        },
                    }),
                },
                { parent: this, dependsOn: [kedaNs, ...kedaAllows], customTimeouts: { create: "15m", update: "15m" } },
            );
            this.autoscaler = keda;
            this.serviceMonitor(
                `${name}-keda-operator`,
                {
                    namespace: kedaNamespace!,
                    service: "keda-operator",
                    selector: { ...CHART_PODS.kedaOperator.service },
                    port: "metrics",
                    alerts: { http: false, container: "keda-operator" },
                },
                this,
            );
        }

        this.report = { endpoints, portForward };
        this.registerOutputs({ namespace: ns, prometheusUrl: this.prometheusUrl });
    }

    serviceMonitor(name: string, args: ServiceMonitorArgs, parent: pulumi.Resource): void {
        serviceMonitor(name, this.monitors, args, parent);
    }

    alertRules(
        name: string,
        args: { namespace: string; ruleName: string; groups: RuleGroup[] },
        parent: pulumi.Resource,
    ): void {
        alertRules(name, this.monitors, { ...args, labels: partLabels("monitoring") }, parent);
    }
}

/** Kubernetes `resources` of a chart component, from the stack's sizing table. */
const sizeOf = (cfg: PlatformConfig) => (workload: Workload) => resourceRequirements(resourcesFor(cfg, workload));
