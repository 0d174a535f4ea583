// Helm releases, one way for every layer: each chart pinned to an exact version from its project's
// official repository (the one table below), values = the static helm/<chart>.yaml merged with what
// the stack computes, installed with the stack's provider, a fixed release name and explicit timeouts.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { StackContext } from "./contracts";

export interface ChartPin {
    chart: string;
    /** Exact chart version (no ranges). */
    version: string;
    /** The project's official Helm repository. */
    repo: string;
}

const ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts";
const PROMETHEUS_COMMUNITY_REPO = "https://prometheus-community.github.io/helm-charts";
/** CloudNativePG's charts: the operator and its Barman Cloud backup plugin. */
const CNPG_REPO = "https://cloudnative-pg.github.io/charts";

/** Every chart the program installs. */
export const CHARTS = {
    istioBase: { chart: "base", version: "1.30.3", repo: ISTIO_REPO },
    istioCni: { chart: "cni", version: "1.30.3", repo: ISTIO_REPO },
    istiod: { chart: "istiod", version: "1.30.3", repo: ISTIO_REPO },
    istioGateway: { chart: "gateway", version: "1.30.3", repo: ISTIO_REPO },
    kubePrometheusStack: { chart: "kube-prometheus-stack", version: "88.5.3", repo: PROMETHEUS_COMMUNITY_REPO },
    jaeger: { chart: "jaeger", version: "4.11.1", repo: "https://jaegertracing.github.io/helm-charts" },
    keda: { chart: "keda", version: "2.20.2", repo: "https://kedacore.github.io/charts" },
    redisEnterpriseOperator: {
        chart: "redis-enterprise-operator",
        version: "8.2.0-12",
        repo: "https://helm.redis.io/",
    },
    metricsServer: {
        chart: "metrics-server",
        version: "3.13.1",
        repo: "https://kubernetes-sigs.github.io/metrics-server/",
    },
    certManager: { chart: "cert-manager", version: "v1.21.1", repo: "https://charts.jetstack.io" },
    externalDns: { chart: "external-dns", version: "1.21.1", repo: "https://kubernetes-sigs.github.io/external-dns/" },
    cloudnativePg: { chart: "cloudnative-pg", version: "0.29.0", repo: CNPG_REPO },
    barmanCloudPlugin: { chart: "plugin-barman-cloud", version: "0.7.0", repo: CNPG_REPO },
    opensearch: { chart: "opensearch", version: "3.6.0", repo: "https://opensearch-project.github.io/helm-charts/" },
} as const satisfies Record<string, ChartPin>;

export type ChartName = keyof typeof CHARTS;

/**
 * Who each chart lets read Secrets, from its RBAC templates at the pinned version, with the values
 * that narrow it (docs/security.md, "Charts and Secrets"). Every chart in CHARTS has an entry (a test
 * holds this), so a new chart is installed only with its Secret access decided and explained.
 */
export const CHART_SECRET_ACCESS: Record<string, { access: "none" | "own-namespace" | "cluster-wide"; why: string }> = {
    istioBase: { access: "none", why: "global.enableReaderRBAC: false removes the istio-reader account and role" },
    istioCni: { access: "none", why: "its ClusterRoles read pods, nodes and namespaces only" },
    istiod: {
        access: "cluster-wide",
        why: "required: istiod hands gateways the TLS Secrets their Gateways name (credentialName) in any namespace; no value narrows it",
    },
    istioGateway: { access: "own-namespace", why: "a Role in the gateway's namespace (its TLS credentials)" },
    kubePrometheusStack: {
        access: "cluster-wide",
        why: "required for the Prometheus Operator only (it reads the Secrets ServiceMonitors reference and writes Prometheus's configuration); Grafana reads ConfigMaps of its namespace (rbac.useExistingRole), kube-state-metrics lists no Secrets (collectors)",
    },
    jaeger: { access: "none", why: "the chart has no RBAC" },
    keda: { access: "own-namespace", why: "permissions.operator.restrict.secret: true" },
    redisEnterpriseOperator: { access: "own-namespace", why: "a Role in redis-enterprise" },
    metricsServer: { access: "none", why: "nodes/metrics, pods and nodes only" },
    certManager: {
        access: "cluster-wide",
        why: "required: the controller writes each Certificate's Secret in its namespace and cainjector reads CA Secrets to inject bundles",
    },
    externalDns: { access: "none", why: "services, endpoints, pods, nodes, ingresses and Istio routes only" },
    cloudnativePg: {
        access: "cluster-wide",
        why: "required: the operator creates and reads each database Cluster's Secrets (logins, certificates) in the Cluster's namespace; config.clusterWide: false would confine the Clusters to the operator's namespace",
    },
    barmanCloudPlugin: {
        access: "cluster-wide",
        why: "required: the plugin reads the object store credentials each ObjectStore names, in the database's namespace",
    },
    opensearch: { access: "none", why: "no ClusterRole; its optional Role (rbac.create, off) holds no Secret rule" },
};

const HELM_DIR = path.resolve(__dirname, "..", "helm");

/** Helm values: a YAML map. */
export type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** Merge as Helm merges values files: maps key by key, lists and scalars replace. */
export function mergeValues(base: Values, override: Values): Values {
    const out: Values = { ...base };
    for (const [k, v] of Object.entries(override)) {
        const current = out[k];
        out[k] = isMap(current) && isMap(v) ? mergeValues(current, v) : v;
    }
    return out;
}

/** A chart's static values (helm/<file>) with the stack's computed values merged over them. */
export function chartValues(file: string, computed: Values): Values {
    const base: unknown = parse(fs.readFileSync(path.join(HELM_DIR, file), "utf8"));
    return mergeValues(isMap(base) ? base : {}, computed);
}

export interface PinnedReleaseArgs {
    ctx: StackContext;
    chart: ChartPin;
    /** Fixed release name: chart resources, Services and label selectors derive from it. */
    releaseName: string;
    namespace: pulumi.Input<string>;
    values: pulumi.Input<Values>;
    /** Helm's own wait (seconds); Pulumi's create/update timeouts allow a minute more. */
    timeoutSeconds: number;
}

/** A Helm release of a pinned chart; `opts` gives parent and dependsOn (the provider comes from ctx). */
export function pinnedRelease(
    name: string,
    a: PinnedReleaseArgs,
    opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
    const wait = `${a.timeoutSeconds + 60}s`;
    return new k8s.helm.v3.Release(
        name,
        {
            name: a.releaseName,
            chart: a.chart.chart,
            version: a.chart.version,
            repositoryOpts: { repo: a.chart.repo },
            namespace: a.namespace,
            createNamespace: false,
            timeout: a.timeoutSeconds,
            cleanupOnFail: true,
            maxHistory: 5,
            values: a.values,
        },
        { ...opts, provider: a.ctx.provider, customTimeouts: { create: wait, update: wait, ...opts.customTimeouts } },
    );
}
