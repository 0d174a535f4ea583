// No chart the program installs can read Secrets cluster-wide unless documented as required: every
// pinned chart has a decided entry in CHART_SECRET_ACCESS (from its templates at the pinned version),
// and the values that narrow the charts' RBAC are what each stack sends.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TIER_LABEL } from "../components/defaults";
import { CHART_SECRET_ACCESS, CHARTS } from "../components/helm";
import { GRAFANA_SIDECAR_ROLE, MONITORED_NAMESPACES } from "../components/observability";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, kubernetesObjects, named, ofKind } from "./harness/k8s";
import { ROOT } from "./harness/stack-config";
import type { RecordedResource } from "./harness/types";

const STACKS = ["dev", "us"] as const;
prefetch(...STACKS.map((stack) => ({ stack })));

const release = (resources: RecordedResource[], chart: string) =>
    helmReleases(resources).find((r) => r.inputs.chart === chart)!;

/** What in kube-prometheus-stack's values would let a component read Secrets (or every ConfigMap) cluster-wide. */
export function monitoringValueProblems(values: any, namespace: string): string[] {
    const out: string[] = [];
    const g = values.grafana ?? {};
    if (g.rbac?.namespaced !== true) out.push("grafana.rbac.namespaced is not true (the chart creates a ClusterRole)");
    if (g.rbac?.useExistingRole !== GRAFANA_SIDECAR_ROLE)
        out.push("grafana.rbac.useExistingRole is not the program's configmaps-only Role");
    if (g.sidecar?.dashboards?.searchNamespace !== namespace)
        out.push(
            `grafana.sidecar.dashboards.searchNamespace is ${JSON.stringify(g.sidecar?.dashboards?.searchNamespace)}`,
        );
    for (const s of ["dashboards", "datasources"])
        if (g.sidecar?.[s]?.resource !== "configmap") out.push(`grafana.sidecar.${s}.resource is not configmap`);
    if (g.containerSecurityContext?.readOnlyRootFilesystem !== true) out.push("grafana's root filesystem is writable");
    const collectors: string[] | undefined = values["kube-state-metrics"]?.collectors;
    if (!collectors || collectors.includes("secrets") || collectors.includes("configmaps"))
        out.push("kube-state-metrics lists Secrets or ConfigMaps (collectors)");
    const spec = values.prometheus?.prometheusSpec ?? {};
    for (const k of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"])
        if (JSON.stringify(spec[`${k}NamespaceSelector`]) !== JSON.stringify(MONITORED_NAMESPACES))
            out.push(`prometheus.prometheusSpec.${k}NamespaceSelector admits namespaces the program did not create`);
    return out;
}

describe("charts and Secrets", () => {
    it("every pinned chart has a decided, explained Secret access, and docs/security.md lists it", () => {
        const docs = fs.readFileSync(path.join(ROOT, "docs", "security.md"), "utf8");
        assert.deepEqual(Object.keys(CHART_SECRET_ACCESS).sort(), Object.keys(CHARTS).sort());
        for (const [key, entry] of Object.entries(CHART_SECRET_ACCESS)) {
            const chart = CHARTS[key as keyof typeof CHARTS];
            assert.ok(entry.why.length > 20, `${key}: say why`);
            if (entry.access === "cluster-wide")
                assert.match(entry.why, /^required/, `${key}: cluster-wide only when required`);
            assert.ok(
                docs.includes(`\`${chart.chart}\` ${chart.version}`),
                `docs/security.md names ${chart.chart} ${chart.version}`,
            );
        }
    });

    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            it("Grafana reads ConfigMaps of its own namespace only, with a read-only root; kube-state-metrics lists no Secrets; Prometheus takes monitors from our namespaces only", async () => {
                const { resources } = await deployedStack(stack);
                const kps = release(resources, "kube-prometheus-stack");
                assert.deepEqual(monitoringValueProblems(kps.inputs.values, kps.inputs.namespace), []);
                const role = named(kubernetesObjects(resources), "Role", GRAFANA_SIDECAR_ROLE, kps.inputs.namespace);
                assert.deepEqual(role.rules, [
                    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
                ]);
                assert.deepEqual(
                    kps.inputs.values.alertmanager.alertmanagerSpec.alertmanagerConfigNamespaceSelector,
                    MONITORED_NAMESPACES,
                );
            });

            it("every namespace holding monitors or rules is one Prometheus selects (labelled by the program)", async () => {
                const objects = kubernetesObjects((await deployedStack(stack)).resources);
                const labelled = new Set(
                    ofKind(objects, "Namespace")
                        .filter((n) => n.metadata.labels?.[TIER_LABEL])
                        .map((n) => n.metadata.name),
                );
                const holders = objects
                    .filter((o) => ["ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe"].includes(o.kind))
                    .map((o) => o.metadata.namespace!);
                assert.ok(holders.length > 0);
                assert.deepEqual([...new Set(holders.filter((ns) => !labelled.has(ns)))], []);
            });

            it("KEDA's operator and metrics server read Secrets of their own namespace only", async () => {
                const keda = release((await deployedStack(stack)).resources, "keda");
                assert.equal(keda.inputs.values.permissions.operator.restrict.secret, true);
                assert.equal(keda.inputs.values.permissions.metricServer.restrict.secret, true);
            });
        });
    }

    it("sees a damaged copy: Grafana's sidecar searching ALL namespaces with the chart's ClusterRole", async () => {
        const kps = release((await deployedStack("dev")).resources, "kube-prometheus-stack");
        const broken = JSON.parse(JSON.stringify(kps.inputs.values));
        broken.grafana.sidecar.dashboards.searchNamespace = "ALL";
        broken.grafana.rbac.namespaced = false;
        broken["kube-state-metrics"].collectors.push("secrets");
        assert.deepEqual(monitoringValueProblems(broken, kps.inputs.namespace), [
            "grafana.rbac.namespaced is not true (the chart creates a ClusterRole)",
            'grafana.sidecar.dashboards.searchNamespace is "ALL"',
            "kube-state-metrics lists Secrets or ConfigMaps (collectors)",
        ]);
    });
});
