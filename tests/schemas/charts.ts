// What the pinned trace charts read, for checking the values the program gives them: every value
// key their templates read (a key they do not read is a setting that silently does nothing), and
// how they render the pod fields Pod Security looks at. Read from the templates of the versions named
// (jaegertracing/helm-charts jaeger-4.11.1, opensearch-project/helm-charts opensearch-3.6.0); a test
// fails when components/helm.ts pins another version, so the facts are read again.

/** Value paths a chart's templates read; a path covers everything below it (passed through toYaml, or a map). */
export interface ChartKeys {
    version: string;
    keys: string[];
}

const component = (c: string, keys: string[]) => keys.map((k) => `${c}.${k}`);
/** The keys each of the jaeger chart's CronJob templates (index cleaner, rollover, lookback, spark) reads. */
const CRON_KEYS = [
    "enabled",
    "securityContext",
    "podSecurityContext",
    "annotations",
    "image",
    "cmdlineParams",
    "extraEnv",
    "schedule",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "concurrencyPolicy",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "resources",
    "serviceAccount.create",
    "serviceAccount.name",
    "serviceAccount.annotations",
    "serviceAccount.automountServiceAccountToken",
    "nodeSelector",
    "tolerations",
    "affinity",
    "extraSecretMounts",
    "extraConfigmapMounts",
    "podAnnotations",
    "podLabels",
];

export const CHART_KEYS: Record<"jaeger" | "opensearch", ChartKeys> = {
    jaeger: {
        version: "4.11.1",
        keys: [
            "fullnameOverride",
            "nameOverride",
            "commonLabels",
            "commonAnnotations",
            "global",
            "extraObjects",
            "userconfig",
            "uiconfig",
            ...component("jaeger", [
                "enabled",
                "replicas",
                "strategy",
                "image",
                "extraEnv",
                "args",
                "serviceAccount.annotations",
                "serviceAccount.automountServiceAccountToken",
                "service.labels",
                "service.annotations",
                "service.extraPorts",
                "service.type",
                "service.loadBalancerSourceRanges",
                "ingress",
                "httproute",
                "resources",
                "nodeSelector",
                "tolerations",
                "affinity",
                // The template reads this spelling (values.yaml's default is spelled "topologySpreadContraints").
                "topologySpreadConstraints",
                "podSecurityContext",
                "securityContext",
                "extraVolumes",
                "extraVolumeMounts",
                "podLabels",
            ]),
            "storage.type",
            "storage.cassandra",
            "storage.elasticsearch.url",
            "storage.elasticsearch.user",
            "storage.elasticsearch.password",
            "storage.elasticsearch.tls",
            ...component("esIndexCleaner", [...CRON_KEYS, "numberOfDays"]),
            ...component("esRollover", [...CRON_KEYS, "initHook"]),
            ...component("esLookback", CRON_KEYS),
            ...component("spark", CRON_KEYS),
        ],
    },
    opensearch: {
        version: "3.6.0",
        keys: [
            "antiAffinity",
            "antiAffinityTopologyKey",
            "clusterName",
            "config",
            "customAntiAffinity",
            "enableServiceLinks",
            "envFrom",
            "extraContainers",
            "extraEnvs",
            "extraInitContainers",
            "extraObjects",
            "extraVolumeMounts",
            "extraVolumes",
            "fsGroup",
            "fullnameOverride",
            "global.dockerRegistry",
            "hostAliases",
            "httpHostPort",
            "httpPort",
            "image",
            "imagePullSecrets",
            "ingress",
            "initResources",
            "keystore",
            "labels",
            "lifecycle",
            "livenessProbe",
            "majorVersion",
            "masterService",
            "masterTerminationFix",
            "maxUnavailable",
            "metricsPort",
            "nameOverride",
            "networkHost",
            "networkPolicy.create",
            "nodeAffinity",
            "nodeGroup",
            "nodeSelector",
            "openSearchAnnotations",
            "opensearchHome",
            "opensearchJavaOpts",
            "opensearchLifecycle",
            "persistence.accessModes",
            "persistence.annotations",
            "persistence.enableInitChown",
            "persistence.enabled",
            "persistence.image",
            "persistence.imageTag",
            "persistence.labels",
            "persistence.size",
            "persistence.storageClass",
            "plugins",
            "podAffinity",
            "podAnnotations",
            "podManagementPolicy",
            "podSecurityContext",
            "podSecurityPolicy",
            "priorityClassName",
            "protocol",
            "rbac",
            "readinessProbe",
            "replicas",
            "resources",
            "roles",
            "schedulerName",
            "secretMounts",
            "securityConfig.actionGroupsSecret",
            "securityConfig.config",
            "securityConfig.configSecret",
            "securityConfig.enabled",
            "securityConfig.internalUsersSecret",
            "securityConfig.path",
            "securityConfig.rolesMappingSecret",
            "securityConfig.rolesSecret",
            "securityConfig.tenantsSecret",
            "securityContext",
            "service",
            "serviceMonitor",
            "sidecarResources",
            "singleNode",
            "startupProbe",
            "sysctl.enabled",
            "sysctlInit",
            "sysctlVmMaxMapCount",
            "terminationGracePeriod",
            "tolerations",
            "topologySpreadConstraints",
            "transportHostPort",
            "transportPort",
            "updateStrategy",
        ],
    },
};

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Value keys the chart's templates never read (each a setting that does nothing). */
export function chartKeyProblems(chart: keyof typeof CHART_KEYS, values: Record<string, unknown>): string[] {
    const { keys } = CHART_KEYS[chart];
    const out: string[] = [];
    const walk = (v: Record<string, unknown>, at: string) => {
        for (const [k, x] of Object.entries(v)) {
            const p = at ? `${at}.${k}` : k;
            if (keys.includes(p)) continue;
            if (isMap(x) && keys.some((known) => known.startsWith(`${p}.`))) walk(x, p);
            else out.push(`${chart} ${CHART_KEYS[chart].version}: ${p} is not read by the chart's templates`);
        }
    };
    walk(values, "");
    return out;
}

/**
 * The pod specs a chart renders from these values, with what Pod Security checks (security contexts,
 * containers and init containers, volume types), as the templates of the pinned version write them.
 */
export function renderedPods(chart: keyof typeof CHART_KEYS, v: any): { name: string; spec: any }[] {
    if (chart === "jaeger") {
        const pods = [
            {
                name: "jaeger",
                spec: {
                    securityContext: v.jaeger?.podSecurityContext,
                    containers: [{ name: "jaeger", securityContext: v.jaeger?.securityContext ?? {}, ports: [] }],
                    volumes: [
                        ...(v.userconfig ? [{ name: "user-config", configMap: { name: "user-config" } }] : []),
                        ...(v.jaeger?.extraVolumes ?? []),
                    ],
                },
            },
        ];
        if (v.esIndexCleaner?.enabled)
            pods.push({
                name: "jaeger-es-index-cleaner",
                spec: {
                    securityContext: v.esIndexCleaner.podSecurityContext,
                    containers: [
                        {
                            name: "jaeger-es-index-cleaner",
                            securityContext: v.esIndexCleaner.securityContext ?? {},
                            ports: [],
                        },
                    ],
                    volumes: (v.esIndexCleaner.extraSecretMounts ?? []).map((m: any) => ({
                        name: m.name,
                        secret: { secretName: m.secretName },
                    })),
                },
            });
        return pods;
    }
    // opensearch: the chown and sysctl init containers run as root (the latter privileged); the config
    // copy and the node run with `securityContext`; the pod with `podSecurityContext` (+ sysctls).
    const sc = v.securityContext ?? {};
    const initContainers = [
        ...(v.persistence?.enabled !== false && v.persistence?.enableInitChown !== false
            ? [{ name: "fsgroup-volume", securityContext: { runAsUser: 0 } }]
            : []),
        ...(v.sysctlInit?.enabled ? [{ name: "sysctl", securityContext: { runAsUser: 0, privileged: true } }] : []),
        ...(v.config ? [{ name: "configfile", securityContext: sc }] : []),
    ];
    return [
        {
            name: "opensearch",
            spec: {
                securityContext: v.podSecurityContext,
                initContainers,
                containers: [{ name: "opensearch", securityContext: sc }],
                volumes: [
                    ...(v.config
                        ? [
                              { name: "config", configMap: {} },
                              { name: "config-emptydir", emptyDir: {} },
                          ]
                        : []),
                    ...(v.secretMounts ?? []).map((m: any) => ({ name: m.name, secret: { secretName: m.secretName } })),
                    ...(v.extraVolumes ?? []),
                ],
            },
        },
    ];
}
