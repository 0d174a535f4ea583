// What the cluster does with each chart and each custom resource kind the program uses, as the models
// in this folder need it: the pods a chart component or an operator runs (and the values the chart
// reads for that pod's placement), the volumes each asks for, the CRDs and admission webhooks a release
// installs, and what a release reads at start.
//
// The labels of chart pods are the program's table (components/chart-pods.ts). Other facts are read from the pinned charts' values.yaml and templates at the version named in each entry
// (components/helm.ts CHARTS; a test fails when a pin moves away from it, so the facts are read again),
// and from the operators' CRDs and documentation. A chart or kind the program starts using needs an
// entry here: the models refuse what they do not know rather than passing it silently.
import { CHART_PODS, pickLabels } from "../../../components/chart-pods";
import type { K8sObject } from "../k8s";

export type Values = Record<string, any>;
export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod";

/** The scheduling fields of a pod spec. */
export interface PodScheduling {
    nodeSelector?: Record<string, string>;
    affinity?: any;
    tolerations?: any[];
    topologySpreadConstraints?: any[];
}

/** Pods of one template: a workload of ours, a chart component, or what an operator makes of a custom resource. */
export interface PodGroup {
    /** e.g. "Deployment warung-kopi/frontend", "helm kube-prometheus-stack: grafana", "RedisEnterpriseCluster redis-enterprise/rec-us: node". */
    id: string;
    namespace: string;
    kind: WorkloadKind;
    /** Pods at the least (an autoscaler's minimum). */
    replicas: number;
    labels: Record<string, string>;
    spec: PodScheduling;
}

/** One persistent volume request, wherever it is declared. */
export interface StorageRequest {
    /** Where it is declared, e.g. "helm kube-prometheus-stack: prometheus.prometheusSpec.storageSpec". */
    source: string;
    namespace: string;
    /** The class named; undefined = none named (the cluster's default class); "" = static binding only. */
    storageClassName: string | undefined;
    size?: string;
    accessModes?: string[];
    /** A PersistentVolume named for static binding. */
    volumeName?: string;
    /** Claim name, when known (static volumes reserve theirs by claimRef). */
    claimName?: string;
    /** How many claims of this shape (replicas, instances, nodes). */
    count: number;
}

/** What an object or release must find in the cluster when it starts. */
export type Need =
    | { crds: string } // the CRDs of an API group
    | { webhook: string } // the admission webhook checking objects of an API group
    | { injector: true } // the sidecar injector (a pod in an injected namespace)
    | { chart: string } // a release of that chart running (an operator's plugin)
    | { service: string; namespace: string }; // a Service answering (read at start)

export interface ChartComponent {
    name: string;
    kind: WorkloadKind;
    /** Whether the chart renders it with these values (default: always). */
    enabled?: (v: Values) => boolean;
    replicas?: (v: Values) => number;
    /** Labels the chart puts on the pods (for anti-affinity and spread selectors). */
    labels?: (v: Values, release: string) => Record<string, string>;
    /** The pod's scheduling fields, from the values the chart reads for this component. */
    pod: (v: Values, release: string) => PodScheduling;
    /** A node agent: runs on every node whatever the stack's placement (it must tolerate every taint). */
    everyNode?: boolean;
    /** Runs only on `helm uninstall` (a hook): still needs a node then. */
    hook?: string;
    /** Rows of the sizing table (config/sizing.ts) its containers take; [] where the chart sizes it itself. */
    sized: string[];
}

export interface ChartFacts {
    /** The chart version these facts were read from. */
    version: string;
    /** Chart defaults of the keys read below (Helm merges the release's values over them). */
    defaults: Values;
    components: ChartComponent[];
    /** Persistent volumes the release asks for. */
    storage?: (v: Values, namespace: string) => StorageRequest[];
    /** Value paths (dots, `*` for any key) about storage that `storage` reads or that are not volumes. */
    storageKeys?: string[];
    /** API groups whose CRDs the release installs. */
    crds?: string[];
    /** API groups whose objects the release's admission webhooks check. */
    webhooks?: string[];
    /** The release runs the sidecar injector. */
    injector?: boolean;
    /** What its pods read at start. */
    needs?: (v: Values) => Need[];
}

export interface KindFacts {
    pods?: (o: K8sObject) => PodGroup[];
    /** Rows of the sizing table the operator's pods take (from the object's spec). */
    sized?: string[];
    storage?: (o: K8sObject) => StorageRequest[];
    /** Spec paths about storage that `storage` reads or that are not volumes. */
    storageKeys?: string[];
    needs?: (o: K8sObject) => Need[];
    /** Services the operator makes of it (named in its namespace). */
    services?: (o: K8sObject) => string[];
}

// ---- helpers -----------------------------------------------------------------------------------

const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm's value coalescing: maps merge key by key, a null deletes, lists and scalars replace. */
export function helmMerge(defaults: Values, values: Values): Values {
    const out: Values = { ...defaults };
    for (const [k, v] of Object.entries(values ?? {})) {
        if (v === null) delete out[k];
        else out[k] = isMap(out[k]) && isMap(v) ? helmMerge(out[k], v) : v;
    }
    return out;
}

/** The value at a dotted path. */
export const at = (v: any, path: string): any => path.split(".").reduce((x, k) => (isMap(x) ? x[k] : undefined), v);

const nonEmpty = <T>(x: T | undefined): T | undefined =>
    x === undefined || x === null || (isMap(x) && Object.keys(x).length === 0) || (Array.isArray(x) && x.length === 0)
        ? undefined
        : x;

/** The scheduling fields a template renders from `<prefix>.nodeSelector/affinity/tolerations/topologySpreadConstraints`. */
const podAt =
    (prefix: string, spreadKey = "topologySpreadConstraints") =>
    (v: Values): PodScheduling => {
        const p = (k: string) => nonEmpty(at(v, prefix ? `${prefix}.${k}` : k));
        return {
            nodeSelector: p("nodeSelector"),
            affinity: p("affinity"),
            tolerations: p("tolerations"),
            topologySpreadConstraints: p(spreadKey),
        };
    };

const placementDefaults = { nodeSelector: {}, tolerations: [], affinity: {}, topologySpreadConstraints: [] };
const LINUX = { "kubernetes.io/os": "linux" };
const merged = (...maps: (Record<string, string> | undefined)[]) => nonEmpty(Object.assign({}, ...maps));
const requiredAntiAffinity = (topologyKey: string, matchLabels: Record<string, string>) => ({
    podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey, labelSelector: { matchLabels } }],
    },
});

/** A volumeClaimTemplate (Prometheus Operator storageSpec, StatefulSet) as a request. */
function claimTemplate(source: string, namespace: string, t: any, count: number): StorageRequest {
    return {
        source,
        namespace,
        storageClassName: t?.spec?.storageClassName ?? undefined,
        size: t?.spec?.resources?.requests?.storage,
        accessModes: t?.spec?.accessModes,
        volumeName: t?.spec?.volumeName,
        count,
    };
}

/** Prometheus Operator `storage` (StorageSpec): a claim template, or emptyDir / ephemeral (no claim). */
function operatorStorage(source: string, namespace: string, storage: any, count: number): StorageRequest[] {
    if (!isMap(storage) || storage.disableMountSubPath !== undefined || !storage.volumeClaimTemplate) return [];
    return [claimTemplate(`${source}.volumeClaimTemplate`, namespace, storage.volumeClaimTemplate, count)];
}

/** The Prometheus Operator's soft/hard anti-affinity switch in kube-prometheus-stack. */
function kpsAntiAffinity(spec: Values, labels: Record<string, string>): any {
    if (spec.podAntiAffinity !== "hard") return nonEmpty(spec.affinity);
    return {
        ...(spec.affinity ?? {}),
        ...requiredAntiAffinity(spec.podAntiAffinityTopologyKey ?? "kubernetes.io/hostname", labels),
    };
}

// ---- charts ------------------------------------------------------------------------------------

const ISTIO_GROUPS = ["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"];

/** Every chart the program installs (keyed by chart name, as components/helm.ts pins it). */
export const CHART_FACTS: Record<string, ChartFacts> = {
    "kube-prometheus-stack": {
        version: "88.5.3",
        defaults: {
            crds: { enabled: true, upgradeJob: { enabled: false, ...placementDefaults } },
            prometheusOperator: {
                enabled: true,
                ...placementDefaults,
                admissionWebhooks: {
                    enabled: true,
                    certManager: { enabled: false },
                    patch: { enabled: true, ...placementDefaults },
                    deployment: { enabled: false, replicas: 1, ...placementDefaults },
                },
            },
            prometheus: {
                enabled: true,
                prometheusSpec: {
                    replicas: 1,
                    shards: 1,
                    podAntiAffinity: "soft",
                    podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                    storageSpec: {},
                    ...placementDefaults,
                },
            },
            alertmanager: {
                enabled: true,
                alertmanagerSpec: {
                    replicas: 1,
                    podAntiAffinity: "soft",
                    podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                    storage: {},
                    ...placementDefaults,
                },
            },
            thanosRuler: { enabled: false, thanosRulerSpec: { replicas: 1, storage: {}, ...placementDefaults } },
            grafana: {
                enabled: true,
                replicas: 1,
                persistence: { enabled: false, type: "pvc", size: "10Gi" },
                imageRenderer: { enabled: false },
                ...placementDefaults,
            },
            kubeStateMetrics: { enabled: true },
            "kube-state-metrics": { replicas: 1, ...placementDefaults },
            nodeExporter: { enabled: true },
            // prometheus-node-exporter 4.56.1: Linux nodes, every NoSchedule taint, never Fargate/virtual nodes.
            "prometheus-node-exporter": {
                nodeSelector: LINUX,
                tolerations: [{ effect: "NoSchedule", operator: "Exists" }],
                affinity: {},
            },
            windowsMonitoring: { enabled: false },
        },
        components: [
            {
                name: "prometheus-operator",
                kind: "Deployment",
                sized: ["prometheus-operator"],
                enabled: (v) => v.prometheusOperator.enabled,
                pod: podAt("prometheusOperator"),
            },
            ...["admission-create", "admission-patch"].map((name): ChartComponent => ({
                name,
                kind: "Job",
                hook: "pre-install/post-install",
                sized: ["prometheus-admission-patch"],
                enabled: (v) =>
                    v.prometheusOperator.enabled &&
                    v.prometheusOperator.admissionWebhooks.enabled &&
                    v.prometheusOperator.admissionWebhooks.patch.enabled &&
                    !v.prometheusOperator.admissionWebhooks.certManager?.enabled,
                pod: podAt("prometheusOperator.admissionWebhooks.patch"),
            })),
            {
                name: "admission-webhook",
                kind: "Deployment",
                sized: [],
                enabled: (v) =>
                    v.prometheusOperator.enabled &&
                    v.prometheusOperator.admissionWebhooks.enabled &&
                    v.prometheusOperator.admissionWebhooks.deployment.enabled,
                replicas: (v) => v.prometheusOperator.admissionWebhooks.deployment.replicas,
                pod: podAt("prometheusOperator.admissionWebhooks.deployment"),
            },
            {
                name: "crd-upgrade",
                kind: "Job",
                sized: [],
                hook: "pre-install/pre-upgrade",
                enabled: (v) => v.crds.enabled && v.crds.upgradeJob.enabled,
                pod: podAt("crds.upgradeJob"),
            },
            {
                // A StatefulSet the operator makes of the chart's Prometheus resource.
                name: "prometheus",
                kind: "StatefulSet",
                sized: ["prometheus", "prometheus-config-reloader"],
                enabled: (v) => v.prometheus.enabled,
                replicas: (v) => v.prometheus.prometheusSpec.replicas * (v.prometheus.prometheusSpec.shards ?? 1),
                labels: () => CHART_PODS.prometheus.labels,
                pod: (v) => {
                    const s = v.prometheus.prometheusSpec;
                    return {
                        ...podAt("prometheus.prometheusSpec")(v),
                        affinity: kpsAntiAffinity(
                            s,
                            pickLabels(
                                CHART_PODS.prometheus.labels,
                                "app.kubernetes.io/name",
                                "app.kubernetes.io/instance",
                            ),
                        ),
                    };
                },
            },
            {
                name: "alertmanager",
                kind: "StatefulSet",
                sized: ["alertmanager", "prometheus-config-reloader"],
                enabled: (v) => v.alertmanager.enabled,
                replicas: (v) => v.alertmanager.alertmanagerSpec.replicas,
                labels: () => CHART_PODS.alertmanager.labels,
                pod: (v) => ({
                    ...podAt("alertmanager.alertmanagerSpec")(v),
                    affinity: kpsAntiAffinity(v.alertmanager.alertmanagerSpec, CHART_PODS.alertmanager.labels),
                }),
            },
            {
                name: "thanos-ruler",
                kind: "StatefulSet",
                sized: [],
                enabled: (v) => v.thanosRuler.enabled,
                replicas: (v) => v.thanosRuler.thanosRulerSpec.replicas,
                pod: podAt("thanosRuler.thanosRulerSpec"),
            },
            {
                name: "grafana",
                kind: "Deployment",
                sized: ["grafana", "grafana-sidecar"],
                enabled: (v) => v.grafana.enabled,
                replicas: (v) => v.grafana.replicas,
                pod: podAt("grafana"),
            },
            {
                name: "grafana-image-renderer",
                kind: "Deployment",
                sized: [],
                enabled: (v) => v.grafana.enabled && v.grafana.imageRenderer?.enabled,
                pod: podAt("grafana.imageRenderer"),
            },
            {
                name: "kube-state-metrics",
                kind: "Deployment",
                sized: ["kube-state-metrics"],
                enabled: (v) => v.kubeStateMetrics.enabled,
                replicas: (v) => v["kube-state-metrics"].replicas,
                pod: podAt("kube-state-metrics"),
            },
            {
                name: "node-exporter",
                kind: "DaemonSet",
                sized: ["node-exporter"],
                everyNode: true,
                enabled: (v) => v.nodeExporter.enabled,
                pod: (v) => {
                    const ne = v["prometheus-node-exporter"];
                    const fixed = [
                        { key: "eks.amazonaws.com/compute-type", operator: "NotIn", values: ["fargate"] },
                        { key: "type", operator: "NotIn", values: ["virtual-kubelet"] },
                    ];
                    return {
                        nodeSelector: nonEmpty(ne.nodeSelector),
                        tolerations: nonEmpty(ne.tolerations),
                        affinity: {
                            ...(ne.affinity ?? {}),
                            nodeAffinity: ne.affinity?.nodeAffinity ?? {
                                requiredDuringSchedulingIgnoredDuringExecution: {
                                    nodeSelectorTerms: [{ matchExpressions: fixed }],
                                },
                            },
                        },
                    };
                },
            },
            {
                name: "windows-exporter",
                kind: "DaemonSet",
                sized: [],
                everyNode: true,
                enabled: (v) => v.windowsMonitoring.enabled,
                pod: () => ({ nodeSelector: { "kubernetes.io/os": "windows" } }),
            },
        ],
        storage: (v, ns) => [
            ...(v.prometheus.enabled
                ? operatorStorage(
                      "helm kube-prometheus-stack: prometheus.prometheusSpec.storageSpec",
                      ns,
                      v.prometheus.prometheusSpec.storageSpec,
                      v.prometheus.prometheusSpec.replicas * (v.prometheus.prometheusSpec.shards ?? 1),
                  )
                : []),
            ...(v.alertmanager.enabled
                ? operatorStorage(
                      "helm kube-prometheus-stack: alertmanager.alertmanagerSpec.storage",
                      ns,
                      v.alertmanager.alertmanagerSpec.storage,
                      v.alertmanager.alertmanagerSpec.replicas,
                  )
                : []),
            ...(v.thanosRuler.enabled
                ? operatorStorage(
                      "helm kube-prometheus-stack: thanosRuler.thanosRulerSpec.storage",
                      ns,
                      v.thanosRuler.thanosRulerSpec.storage,
                      v.thanosRuler.thanosRulerSpec.replicas,
                  )
                : []),
            ...(v.grafana.enabled && v.grafana.persistence?.enabled && !v.grafana.persistence.existingClaim
                ? [
                      {
                          source: "helm kube-prometheus-stack: grafana.persistence",
                          namespace: ns,
                          storageClassName: v.grafana.persistence.storageClassName,
                          size: v.grafana.persistence.size,
                          volumeName: nonEmpty(v.grafana.persistence.volumeName),
                          count: 1,
                      },
                  ]
                : []),
        ],
        storageKeys: [
            "prometheus.prometheusSpec.storageSpec",
            "alertmanager.alertmanagerSpec.storage",
            "thanosRuler.thanosRulerSpec.storage",
            "grafana.persistence",
        ],
        crds: ["monitoring.coreos.com"],
        webhooks: ["monitoring.coreos.com"],
    },

    jaeger: {
        version: "4.11.1",
        defaults: {
            jaeger: { enabled: true, replicas: 1, ...placementDefaults },
            spark: { enabled: false, ...placementDefaults },
            esIndexCleaner: { enabled: false, ...placementDefaults },
            esRollover: { enabled: false, ...placementDefaults },
            esLookback: { enabled: false, ...placementDefaults },
        },
        components: [
            {
                name: "jaeger",
                kind: "Deployment",
                sized: ["jaeger"],
                enabled: (v) => v.jaeger.enabled,
                replicas: (v) => v.jaeger.replicas,
                // The template reads jaeger.topologySpreadConstraints (values.yaml spells the default "Contraints").
                pod: podAt("jaeger"),
            },
            ...(["spark", "esIndexCleaner", "esRollover", "esLookback"] as const).map((k): ChartComponent => ({
                name: k,
                kind: "CronJob",
                // The index cleaner (the regions' trace retention) is sized; the others are not used.
                sized: k === "esIndexCleaner" ? ["jaeger-index-cleaner"] : [],
                enabled: (v) => v[k].enabled,
                pod: podAt(k),
            })),
        ],
        // The v2 chart's storage backends (Elasticsearch, Cassandra) are external services; `storage` names
        // them for the maintenance CronJobs. A claim in `jaeger.extraVolumes` is one the program creates
        // (read as its own object); `userconfig` is Jaeger's configuration (Badger directories on that
        // claim, or the OpenSearch store), not volumes.
        storageKeys: ["storage", "storage.*", "jaeger.extraVolumes.*.persistentVolumeClaim", "userconfig"],
    },

    keda: {
        version: "2.20.2",
        defaults: {
            ...placementDefaults,
            topologySpreadConstraints: { operator: [], metricsServer: [], webhooks: [] },
            operator: { replicaCount: 1, nodeSelector: {}, tolerations: [], affinity: {} },
            metricsServer: { enabled: true, replicaCount: 1, nodeSelector: {}, tolerations: [], affinity: {} },
            webhooks: { enabled: true, replicaCount: 1, nodeSelector: {}, tolerations: [], affinity: {} },
        },
        // Each template: kubernetes.io/os=linux plus `<component>.nodeSelector | default .Values.nodeSelector`
        // (same for affinity and tolerations), spread from topologySpreadConstraints.<component>.
        components: (["operator", "metricsServer", "webhooks"] as const).map((c): ChartComponent => ({
            name: c,
            kind: "Deployment",
            sized: [{ operator: "keda-operator", metricsServer: "keda-metrics-server", webhooks: "keda-webhooks" }[c]],
            enabled: (v) => c === "operator" || v[c].enabled,
            replicas: (v) => v[c].replicaCount,
            pod: (v) => ({
                nodeSelector: merged(LINUX, nonEmpty(v[c].nodeSelector) ?? v.nodeSelector),
                affinity: nonEmpty(v[c].affinity) ?? nonEmpty(v.affinity),
                tolerations: nonEmpty(v[c].tolerations) ?? nonEmpty(v.tolerations),
                topologySpreadConstraints: nonEmpty(v.topologySpreadConstraints?.[c]),
            }),
        })),
        crds: ["keda.sh", "eventing.keda.sh"],
        webhooks: ["keda.sh"],
    },

    "metrics-server": {
        version: "3.13.1",
        defaults: { replicas: 1, ...placementDefaults },
        components: [
            {
                name: "metrics-server",
                kind: "Deployment",
                sized: ["metrics-server"],
                replicas: (v) => v.replicas,
                pod: podAt(""),
            },
        ],
    },

    "cert-manager": {
        version: "v1.21.1",
        defaults: {
            global: { nodeSelector: {} },
            replicaCount: 1,
            nodeSelector: LINUX,
            tolerations: [],
            affinity: {},
            topologySpreadConstraints: [],
            webhook: { replicaCount: 1, ...placementDefaults, nodeSelector: LINUX },
            cainjector: { enabled: true, replicaCount: 1, ...placementDefaults, nodeSelector: LINUX },
            startupapicheck: { enabled: true, ...placementDefaults, nodeSelector: LINUX },
        },
        // nodeSelector = merge(global.nodeSelector, <component>.nodeSelector) in every template.
        components: [
            {
                name: "controller",
                kind: "Deployment",
                sized: ["cert-manager"],
                replicas: (v) => v.replicaCount,
                pod: (v) => cm(v, v),
            },
            {
                name: "webhook",
                kind: "Deployment",
                sized: ["cert-manager-webhook"],
                replicas: (v) => v.webhook.replicaCount,
                pod: (v) => cm(v, v.webhook),
            },
            {
                name: "cainjector",
                kind: "Deployment",
                sized: ["cert-manager-cainjector"],
                enabled: (v) => v.cainjector.enabled,
                replicas: (v) => v.cainjector.replicaCount,
                pod: (v) => cm(v, v.cainjector),
            },
            {
                name: "startupapicheck",
                kind: "Job",
                sized: ["cert-manager-startupapicheck"],
                hook: "post-install/post-upgrade",
                enabled: (v) => v.startupapicheck.enabled,
                pod: (v) => ({ ...cm(v, v.startupapicheck), topologySpreadConstraints: undefined }),
            },
        ],
        crds: ["cert-manager.io", "acme.cert-manager.io"],
        webhooks: ["cert-manager.io", "acme.cert-manager.io"],
    },

    "external-dns": {
        version: "1.21.1",
        defaults: { ...placementDefaults, sources: ["service", "ingress"] },
        components: [{ name: "external-dns", kind: "Deployment", sized: ["external-dns"], pod: podAt("") }],
        // Each source lists its objects at start; a source whose CRDs are missing ends the process.
        needs: (v) =>
            (v.sources as string[]).flatMap((s): Need[] =>
                s.startsWith("istio-")
                    ? [{ crds: "networking.istio.io" }]
                    : s === "crd"
                      ? [{ crds: "externaldns.k8s.io" }]
                      : s.startsWith("gateway-")
                        ? [{ crds: "gateway.networking.k8s.io" }]
                        : [],
            ),
    },

    base: {
        version: "1.30.3",
        defaults: {},
        components: [],
        crds: ISTIO_GROUPS,
    },

    cni: {
        version: "1.30.3",
        // Flattened from _internal_defaults_do_not_set (the chart merges the release's values over them).
        defaults: {
            affinity: {},
            tolerations: [
                { effect: "NoSchedule", operator: "Exists" },
                { key: "CriticalAddonsOnly", operator: "Exists" },
                { effect: "NoExecute", operator: "Exists" },
            ],
        },
        components: [
            {
                name: "istio-cni-node",
                kind: "DaemonSet",
                sized: ["istio-cni"],
                everyNode: true,
                pod: (v) => ({
                    nodeSelector: LINUX,
                    affinity: nonEmpty(v.affinity),
                    tolerations: nonEmpty(v.tolerations),
                }),
            },
        ],
    },

    istiod: {
        version: "1.30.3",
        defaults: { autoscaleEnabled: true, autoscaleMin: 1, replicaCount: 1, ...placementDefaults },
        components: [
            {
                name: "istiod",
                kind: "Deployment",
                // istio-proxy: the sidecar it injects (global.proxy.resources).
                sized: ["istiod", "istio-proxy"],
                replicas: (v) => (v.autoscaleEnabled ? v.autoscaleMin : v.replicaCount),
                labels: () => CHART_PODS.istiod.labels,
                pod: (v) => ({
                    ...podAt("")(v),
                    // Always tolerated, so istiod starts before the CNI agent marks the node ready.
                    tolerations: [{ key: "cni.istio.io/not-ready", operator: "Exists" }, ...(v.tolerations ?? [])],
                }),
            },
        ],
        webhooks: ISTIO_GROUPS,
        injector: true,
    },

    gateway: {
        version: "1.30.3",
        defaults: {
            replicaCount: undefined,
            autoscaling: { enabled: true, minReplicas: 1 },
            ...placementDefaults,
        },
        components: [
            {
                name: "gateway",
                kind: "Deployment",
                sized: ["istio-gateway"],
                replicas: (v) => (v.autoscaling?.enabled ? v.autoscaling.minReplicas : (v.replicaCount ?? 1)),
                pod: podAt(""),
            },
        ],
        // Gateway pods get their proxy from the injector (inject template "gateway").
        needs: () => [{ injector: true }],
    },

    "redis-enterprise-operator": {
        version: "8.2.0-12",
        defaults: { operator: { ...placementDefaults } },
        // The operator Deployment and the CRD installer (pre-install/pre-upgrade) and uninstaller (post-delete)
        // Jobs all read operator.nodeSelector/tolerations/affinity.
        components: [
            { name: "operator", kind: "Deployment", sized: [], pod: podAt("operator") },
            { name: "installer", kind: "Job", hook: "pre-install/pre-upgrade", sized: [], pod: podAt("operator") },
            { name: "uninstaller", kind: "Job", hook: "post-delete", sized: [], pod: podAt("operator") },
        ],
        crds: ["app.redislabs.com"],
        webhooks: ["app.redislabs.com"],
    },

    // CloudNativePG: the operator Deployment reads the top-level placement; the chart installs the
    // postgresql.cnpg.io CRDs and webhooks, and a PodMonitor when monitoring.podMonitorEnabled.
    "cloudnative-pg": {
        version: "0.29.0",
        defaults: {
            replicaCount: 1,
            crds: { create: true },
            monitoring: { podMonitorEnabled: false },
            ...placementDefaults,
        },
        components: [
            {
                name: "operator",
                kind: "Deployment",
                sized: ["cnpg-operator"],
                replicas: (v) => v.replicaCount,
                pod: podAt(""),
            },
        ],
        crds: ["postgresql.cnpg.io"],
        webhooks: ["postgresql.cnpg.io"],
        needs: (v) => (v.monitoring?.podMonitorEnabled ? [{ crds: "monitoring.coreos.com" }] : []),
    },
    // The Barman Cloud plugin: its Deployment reads the top-level placement; its certificates are
    // cert-manager Issuers and Certificates inside the release.
    "plugin-barman-cloud": {
        version: "0.7.0",
        defaults: { replicaCount: 1, crds: { create: true }, ...placementDefaults },
        components: [
            {
                name: "plugin",
                kind: "Deployment",
                sized: ["barman-cloud-plugin"],
                replicas: (v) => v.replicaCount,
                pod: podAt(""),
            },
        ],
        crds: ["barmancloud.cnpg.io"],
        // Its manager watches only its own ObjectStores: it needs cert-manager, not the operator's CRDs.
        needs: () => [{ crds: "cert-manager.io" }, { webhook: "cert-manager.io" }],
    },

    // OpenSearch (the regions' trace store): one StatefulSet of nodes that read the top-level placement;
    // each node keeps a volume (persistence.enabled by default, no class unless persistence.storageClass).
    opensearch: {
        version: "3.6.0",
        defaults: {
            replicas: 3,
            singleNode: false,
            antiAffinity: "soft",
            antiAffinityTopologyKey: "kubernetes.io/hostname",
            nodeAffinity: {},
            podAffinity: {},
            persistence: { enabled: true, size: "8Gi", accessModes: ["ReadWriteOnce"] },
            ...placementDefaults,
        },
        components: [
            {
                name: "node",
                kind: "StatefulSet",
                // The node and the init container that copies opensearch.yml into place (initResources).
                sized: ["opensearch", "opensearch-init"],
                replicas: (v) => (v.singleNode ? 1 : v.replicas),
                labels: () => CHART_PODS.opensearch.labels,
                pod: (v) => {
                    const labels = CHART_PODS.opensearch.labels;
                    const anti =
                        v.antiAffinity === "hard"
                            ? requiredAntiAffinity(v.antiAffinityTopologyKey, labels).podAntiAffinity
                            : v.antiAffinity === "custom"
                              ? v.customAntiAffinity
                              : undefined;
                    return {
                        nodeSelector: nonEmpty(v.nodeSelector),
                        tolerations: nonEmpty(v.tolerations),
                        topologySpreadConstraints: nonEmpty(v.topologySpreadConstraints),
                        affinity: nonEmpty({
                            ...(anti ? { podAntiAffinity: anti } : {}),
                            ...(nonEmpty(v.podAffinity) ? { podAffinity: v.podAffinity } : {}),
                            ...(nonEmpty(v.nodeAffinity) ? { nodeAffinity: v.nodeAffinity } : {}),
                        }),
                    };
                },
            },
        ],
        storage: (v, ns) =>
            v.persistence?.enabled
                ? [
                      {
                          source: "helm opensearch: persistence",
                          namespace: ns,
                          // "-" renders storageClassName: "" (static volumes only).
                          storageClassName:
                              v.persistence.storageClass === "-" ? "" : (v.persistence.storageClass ?? undefined),
                          size: v.persistence.size,
                          accessModes: v.persistence.accessModes,
                          count: v.singleNode ? 1 : v.replicas,
                      },
                  ]
                : [],
        storageKeys: ["persistence"],
    },
};

/** cert-manager's rendering of one component's placement. */
function cm(v: Values, c: Values): PodScheduling {
    return {
        nodeSelector: merged(c.nodeSelector, v.global?.nodeSelector),
        affinity: nonEmpty(c.affinity),
        tolerations: nonEmpty(c.tolerations),
        topologySpreadConstraints: nonEmpty(c.topologySpreadConstraints),
    };
}

// ---- custom resource kinds ---------------------------------------------------------------------

const meta = (o: K8sObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** Redis Enterprise node pods: the documented default anti-affinity keeps each on a node of its own. */
function recPods(o: K8sObject): PodGroup[] {
    const s = o.spec ?? {};
    const name = o.metadata.name!;
    const labels = { app: "redis-enterprise", "redis.io/cluster": name, "redis.io/role": "node" };
    const topologyKey = s.rackAwarenessNodeLabel ?? "kubernetes.io/hostname";
    // nodeSelector and podTolerations apply to every pod the operator manages.
    const common = { nodeSelector: nonEmpty(s.nodeSelector), tolerations: nonEmpty(s.podTolerations) };
    return [
        {
            id: `RedisEnterpriseCluster ${meta(o)}: node`,
            namespace: o.metadata.namespace!,
            kind: "StatefulSet",
            replicas: s.nodes ?? 3,
            labels,
            spec: {
                ...common,
                affinity: s.podAntiAffinity
                    ? { podAntiAffinity: s.podAntiAffinity }
                    : requiredAntiAffinity(topologyKey, labels),
            },
        },
        {
            id: `RedisEnterpriseCluster ${meta(o)}: services-rigger`,
            namespace: o.metadata.namespace!,
            kind: "Deployment",
            replicas: 1,
            labels: { app: "redis-enterprise", "redis.io/cluster": name, "redis.io/role": "services-rigger" },
            spec: common,
        },
        ...(s.usageMeter?.callHomeClient?.disabled
            ? []
            : [
                  {
                      id: `RedisEnterpriseCluster ${meta(o)}: call-home-client`,
                      namespace: o.metadata.namespace!,
                      kind: "CronJob" as const,
                      replicas: 1,
                      labels: { app: "redis-enterprise", "redis.io/cluster": name },
                      spec: common,
                  },
              ]),
    ];
}

/** ACME HTTP-01 solver pods: cert-manager starts one per challenge, next to the Certificate. */
function solverPods(o: K8sObject): PodGroup[] {
    const solvers: any[] = o.spec?.acme?.solvers ?? [];
    return solvers.flatMap((s, i) =>
        s.http01?.ingress
            ? [
                  {
                      id: `${o.kind} ${meta(o)}: http01 solver ${i}`,
                      namespace: "(the Certificate's namespace)",
                      kind: "Pod" as const,
                      replicas: 1,
                      labels: { "acme.cert-manager.io/http01-solver": "true" },
                      spec: {
                          nodeSelector: merged(LINUX, s.http01.ingress.podTemplate?.spec?.nodeSelector),
                          affinity: nonEmpty(s.http01.ingress.podTemplate?.spec?.affinity),
                          tolerations: nonEmpty(s.http01.ingress.podTemplate?.spec?.tolerations),
                      },
                  },
              ]
            : [],
    );
}

/** CloudNativePG instances: `affinity` holds node selector, tolerations and the (preferred by default) anti-affinity. */
function cnpgPods(o: K8sObject): PodGroup[] {
    const a = o.spec?.affinity ?? {};
    const labels = { "cnpg.io/cluster": o.metadata.name!, "cnpg.io/podRole": "instance" };
    // Instances prefer distinct nodes by default; "required" makes it a rule, and additional terms add to it.
    const own =
        a.enablePodAntiAffinity !== false && a.podAntiAffinityType === "required"
            ? requiredAntiAffinity(a.topologyKey ?? "kubernetes.io/hostname", labels).podAntiAffinity
                  .requiredDuringSchedulingIgnoredDuringExecution
            : [];
    const extra = a.additionalPodAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const anti =
        own.length + extra.length > 0
            ? { requiredDuringSchedulingIgnoredDuringExecution: [...own, ...extra] }
            : undefined;
    return [
        {
            id: `Cluster ${meta(o)}: instance`,
            namespace: o.metadata.namespace!,
            kind: "StatefulSet",
            replicas: o.spec?.instances ?? 1,
            labels,
            spec: {
                nodeSelector: nonEmpty(a.nodeSelector),
                tolerations: nonEmpty(a.tolerations),
                affinity: nonEmpty({
                    ...(a.nodeAffinity ? { nodeAffinity: a.nodeAffinity } : {}),
                    ...(anti ? { podAntiAffinity: anti } : {}),
                }),
                topologySpreadConstraints: nonEmpty(o.spec?.topologySpreadConstraints),
            },
        },
    ];
}

function cnpgStorage(o: K8sObject): StorageRequest[] {
    const count = o.spec?.instances ?? 1;
    const one = (path: string, s: any): StorageRequest[] =>
        isMap(s)
            ? [
                  {
                      source: `Cluster ${meta(o)}: spec.${path}`,
                      namespace: o.metadata.namespace!,
                      storageClassName: s.storageClass ?? s.pvcTemplate?.storageClassName ?? undefined,
                      size: s.size ?? s.pvcTemplate?.resources?.requests?.storage,
                      count,
                  },
              ]
            : [];
    return [
        ...one("storage", o.spec?.storage),
        ...one("walStorage", o.spec?.walStorage),
        ...((o.spec?.tablespaces ?? []) as any[]).flatMap((t, i) => one(`tablespaces[${i}].storage`, t.storage)),
    ];
}

const none: KindFacts = {};

/** Custom resource kinds by API group; "*" covers every kind of the group not named. */
export const KIND_FACTS: Record<string, Record<string, KindFacts>> = {
    "networking.istio.io": { "*": none },
    "security.istio.io": { "*": none },
    "telemetry.istio.io": { "*": none },
    "monitoring.coreos.com": {
        // Rules, monitors and probes only configure Prometheus.
        "*": none,
        Prometheus: {
            pods: (o) => [
                {
                    id: `Prometheus ${meta(o)}`,
                    namespace: o.metadata.namespace!,
                    kind: "StatefulSet",
                    replicas: (o.spec?.replicas ?? 1) * (o.spec?.shards ?? 1),
                    labels: { ...CHART_PODS.prometheus.selector },
                    spec: podAt("spec")(o),
                },
            ],
            storage: (o) =>
                operatorStorage(
                    `Prometheus ${meta(o)}: spec.storage`,
                    o.metadata.namespace!,
                    o.spec?.storage,
                    o.spec?.replicas ?? 1,
                ),
            storageKeys: ["storage"],
        },
        Alertmanager: {
            pods: (o) => [
                {
                    id: `Alertmanager ${meta(o)}`,
                    namespace: o.metadata.namespace!,
                    kind: "StatefulSet",
                    replicas: o.spec?.replicas ?? 1,
                    labels: { ...CHART_PODS.alertmanager.selector },
                    spec: podAt("spec")(o),
                },
            ],
            storage: (o) =>
                operatorStorage(
                    `Alertmanager ${meta(o)}: spec.storage`,
                    o.metadata.namespace!,
                    o.spec?.storage,
                    o.spec?.replicas ?? 1,
                ),
            storageKeys: ["storage"],
        },
    },
    "cert-manager.io": {
        "*": none,
        ClusterIssuer: { pods: solverPods },
        Issuer: { pods: solverPods },
    },
    // ScaledObjects make HorizontalPodAutoscalers; a ScaledJob would start Jobs (not registered: none used).
    "keda.sh": { ScaledObject: none, TriggerAuthentication: none, ClusterTriggerAuthentication: none },
    "app.redislabs.com": {
        // Databases and remote-cluster links run inside the cluster's node pods.
        "*": none,
        // The operator gives each database a Service named after it.
        // `persistence` is the database's durability mode (AOF, snapshots) on the nodes' volumes, not a volume.
        RedisEnterpriseDatabase: { services: (o) => [o.metadata.name!], storageKeys: ["persistence"] },
        RedisEnterpriseActiveActiveDatabase: {
            services: (o) => [o.metadata.name!],
            storageKeys: ["globalConfigurations.persistence"],
        },
        RedisEnterpriseCluster: {
            pods: recPods,
            sized: ["redis-enterprise-node"],
            services: (o) => [o.metadata.name!, `${o.metadata.name}-ui`, `${o.metadata.name}-prom`],
            storage: (o) => {
                const p = o.spec?.persistentSpec;
                return p?.enabled
                    ? [
                          {
                              source: `RedisEnterpriseCluster ${meta(o)}: spec.persistentSpec`,
                              namespace: o.metadata.namespace!,
                              storageClassName: p.storageClassName || undefined,
                              size: p.volumeSize,
                              count: o.spec?.nodes ?? 3,
                          },
                      ]
                    : [];
            },
            storageKeys: ["persistentSpec", "redisOnFlashSpec"],
            // With ingressOrRouteSpec.method istio the operator creates Istio Gateways and VirtualServices:
            // their CRDs first. Not istiod's webhook: it fails open on a first install (failurePolicy Ignore
            // until istiod is ready, base and istiod charts 1.30.3) and the operator retries.
            needs: (o) => (o.spec?.ingressOrRouteSpec?.method === "istio" ? [{ crds: "networking.istio.io" }] : []),
        },
    },
    "barmancloud.cnpg.io": { ObjectStore: none },
    "postgresql.cnpg.io": {
        "*": none,
        Cluster: {
            pods: cnpgPods,
            // Every instance pod: PostgreSQL and the Barman Cloud plugin's sidecar.
            sized: ["postgres-instance", "barman-cloud-sidecar"],
            storage: cnpgStorage,
            storageKeys: ["storage", "walStorage", "tablespaces"],
            // A Cluster archiving through the Barman Cloud plugin needs it running to start its instances.
            needs: (o) =>
                ((o.spec?.plugins ?? []) as any[]).some((p) => p.name === "barman-cloud.cloudnative-pg.io")
                    ? [{ chart: "plugin-barman-cloud" }]
                    : [],
        },
        Pooler: {
            pods: (o) => [
                {
                    id: `Pooler ${meta(o)}`,
                    namespace: o.metadata.namespace!,
                    kind: "Deployment",
                    replicas: o.spec?.instances ?? 1,
                    labels: { "cnpg.io/poolerName": o.metadata.name! },
                    spec: podAt("spec.template.spec")(o),
                },
            ],
        },
    },
};

/** The facts of an object's kind, or undefined when the catalog does not know it. */
export function kindFacts(o: K8sObject): KindFacts | undefined {
    const byKind = KIND_FACTS[apiGroup(o.apiVersion)];
    return byKind?.[o.kind] ?? byKind?.["*"];
}

/** API groups Kubernetes serves itself (everything else comes from a CRD). */
const BUILT_IN_GROUPS = new Set([
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "admissionregistration.k8s.io",
    "flowcontrol.apiserver.k8s.io",
]);

export const apiGroup = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

/** Whether an object is a custom resource (its API group comes from a CRD). */
export const isCustomResource = (o: K8sObject) => !BUILT_IN_GROUPS.has(apiGroup(o.apiVersion));

/** A release's values as its chart sees them: the chart defaults the catalog knows, the release's values over them. */
export const chartView = (facts: ChartFacts, values: Values): Values => helmMerge(facts.defaults, values);
