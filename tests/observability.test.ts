// The observability layer as `pulumi up` would create it: pinned official charts, CRD ordering,
// monitoring and alerts for every service, credentials kept out of values and ConfigMaps, the
// runbook's port-forwards, dashboards with real queries, and the laptop budget.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { deployedStack } from "./harness/evaluate";
import {
    helmReleases,
    type K8sObject,
    kubernetesObjects,
    named,
    ofKind,
    podTemplate,
    schemaProblems,
    unsecret,
} from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import { chartPodCatalogue } from "./harness/cluster/charts";
import { type Endpoint as NetEndpoint, NetworkModel } from "./harness/cluster/network";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import { parseQuantity } from "../config/quantity";
import { isDefaultDeny, selectorMatches } from "../policy/rules";
// Prometheus's own PromQL grammar (the one its UI uses), CommonJS build.
import { parser as promqlParser } from "@prometheus-io/lezer-promql";

const ROOT = path.resolve(__dirname, "..");

/** Official chart repositories (project-owned), by chart name. */
const OFFICIAL_REPOS: Record<string, string> = {
    "kube-prometheus-stack": "https://prometheus-community.github.io/helm-charts",
    jaeger: "https://jaegertracing.github.io/helm-charts",
    keda: "https://kedacore.github.io/charts",
    base: "https://istio-release.storage.googleapis.com/charts",
    istiod: "https://istio-release.storage.googleapis.com/charts",
    gateway: "https://istio-release.storage.googleapis.com/charts",
    cni: "https://istio-release.storage.googleapis.com/charts",
    "redis-enterprise-operator": "https://helm.redis.io/",
    "metrics-server": "https://kubernetes-sigs.github.io/metrics-server/",
    "cert-manager": "https://charts.jetstack.io",
    "external-dns": "https://kubernetes-sigs.github.io/external-dns/",
    "cloudnative-pg": "https://cloudnative-pg.github.io/charts",
    "plugin-barman-cloud": "https://cloudnative-pg.github.io/charts",
    opensearch: "https://opensearch-project.github.io/helm-charts/",
};
const sameRepo = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

const release = (resources: RecordedResource[], chart: string) =>
    helmReleases(resources).find((r) => r.inputs.chart === chart);

/** Everything a resource waits for: its dependencies, transitively, with components expanded to their descendants. */
function waitsFor(resources: RecordedResource[], urn: string): Set<string> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
    const seen = new Set<string>();
    const queue = [...(byUrn.get(urn)?.dependencies ?? [])];
    while (queue.length) {
        const u = queue.pop()!;
        if (seen.has(u)) continue;
        seen.add(u);
        queue.push(
            ...(byUrn.get(u)?.dependencies ?? []),
            ...(byUrn.get(u)?.custom === false ? (children.get(u) ?? []) : []),
        );
    }
    return seen;
}

/** Every string value in a values tree, with its key path. */
function leaves(v: unknown, at = ""): [string, unknown][] {
    if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${at}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leaves(x, at ? `${at}.${k}` : k));
    return [[at, v]];
}

/** Values the program holds as Pulumi secrets (passwords, keys), as recorded anywhere in the stack. */
function secretValues(resources: RecordedResource[]): string[] {
    const out: string[] = [];
    const walk = (v: any) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") {
            if ("$secret" in v)
                leaves(unsecret(v)).forEach(([, x]) => typeof x === "string" && x.length >= 16 && out.push(x));
            else Object.values(v).forEach(walk);
        }
    };
    resources.forEach((r) => walk(r.inputs));
    return out;
}

const cpu = (q: string | number | undefined) => (q === undefined ? 0 : parseQuantity(String(q)));
const mem = (q: string | number | undefined) => (q === undefined ? 0 : parseQuantity(String(q)));

// ---------------------------------------------------------------------------------------------
// NetworkPolicy: the shared cluster model (tests/harness/cluster/network.ts); the charts' pods as the
// model knows them (tests/harness/cluster/charts.ts).

/** A pod (namespace + labels), or an address outside every pod selector (API server, kubelet, node, internet). */
type Endpoint = { ns: string; labels: Record<string, string> } | "address";

const asEndpoint = (e: Endpoint): NetEndpoint =>
    e === "address" ? { kind: "address", ip: "203.0.113.10" } : { kind: "pod", namespace: e.ns, labels: e.labels };
const network = (policies: K8sObject[]) => new NetworkModel(policies, configOf("dev").cluster.profile.network);

/** Whether the policies on `pod`'s side admit traffic in `direction` with `peer` on `port`. */
const sideAllows = (
    policies: K8sObject[],
    pod: Endpoint,
    direction: "Ingress" | "Egress",
    peer: Endpoint,
    port: number,
): boolean => network(policies).side(asEndpoint(pod), direction, asEndpoint(peer), port);

/** Both ends agree: the source may send (egress) and the destination may receive (ingress). */
const allows = (policies: K8sObject[], from: Endpoint, to: Endpoint, port: number) =>
    network(policies).allows(asEndpoint(from), asEndpoint(to), port);

const nsLabels = (ns: string) => ({ "kubernetes.io/metadata.name": ns });

/** Chart pods by role (kube-prometheus-stack with fullnameOverride kps, jaeger, keda, istiod). */
const catalogue = chartPodCatalogue(configOf("dev"));
const chart = (role: string) => ({ ns: catalogue[role].namespace, labels: catalogue[role].labels });
const CHART_PODS = {
    prometheus: chart("prometheus"),
    alertmanager: chart("alertmanager"),
    grafana: chart("grafana"),
    kubeStateMetrics: chart("kubeStateMetrics"),
    operator: chart("prometheusOperator"),
    admissionJob: chart("admissionJob"),
    jaeger: chart("jaeger"),
    kedaOperator: chart("kedaOperator"),
    kedaMetricsApiServer: chart("kedaMetricsApiServer"),
    kedaWebhooks: chart("kedaWebhooks"),
    istiod: chart("istiod"),
} as const;

/** Whether a ServiceMonitor/PodMonitor namespaceSelector covers `ns` (default: its own namespace). */
const coversNamespace = (m: K8sObject, ns: string) =>
    m.spec.namespaceSelector?.any === true ||
    (m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(ns);

describe("observability layer", () => {
    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            let result: StackEvaluation;
            let objects: ReturnType<typeof kubernetesObjects>;
            before(async () => {
                result = await deployedStack(stack);
                objects = kubernetesObjects(result.resources);
            });

            it("installs every Helm release from its project's official repository at an exact version, with a fixed name and an explicit timeout", () => {
                const releases = helmReleases(result.resources);
                assert.ok(releases.length >= 3);
                const problems = releases.flatMap((r) => {
                    const p: string[] = [];
                    const official = OFFICIAL_REPOS[r.inputs.chart];
                    if (!official) p.push(`${r.inputs.chart}: not a chart with a known official repository`);
                    else if (!sameRepo(r.inputs.repositoryOpts?.repo ?? "", official))
                        p.push(`${r.inputs.chart}: repo ${r.inputs.repositoryOpts?.repo}, expected ${official}`);
                    if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(r.inputs.version ?? ""))
                        p.push(`${r.inputs.chart}: version ${r.inputs.version} is not exact`);
                    if (!r.inputs.name) p.push(`${r.inputs.chart}: no fixed release name`);
                    if (!(r.inputs.timeout > 0)) p.push(`${r.inputs.chart}: no explicit timeout`);
                    if (r.inputs.createNamespace) p.push(`${r.inputs.chart}: creates its own namespace`);
                    return p;
                });
                assert.deepEqual(problems, []);
                const kps = release(result.resources, "kube-prometheus-stack")!;
                assert.equal(kps.inputs.version, "88.5.3");
                assert.equal(kps.inputs.namespace, "monitoring");
                assert.equal(release(result.resources, "jaeger")?.inputs.version, "4.11.1");
                assert.equal(release(result.resources, "keda")?.inputs.version, "2.20.2");
            });

            it("orders every ServiceMonitor, PodMonitor, PrometheusRule and ScaledObject after the release that installs its CRD, and each is valid against its CRD schema", () => {
                const crdRelease: Record<string, string> = {
                    "monitoring.coreos.com": "kube-prometheus-stack",
                    "keda.sh": "keda",
                };
                const crs = objects.filter((o) =>
                    ["ServiceMonitor", "PodMonitor", "PrometheusRule", "ScaledObject"].includes(o.kind),
                );
                assert.ok(
                    ["ServiceMonitor", "PodMonitor", "PrometheusRule", "ScaledObject"].every((k) =>
                        crs.some((o) => o.kind === k),
                    ),
                );
                const problems = crs.flatMap((o) => {
                    const id = `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
                    const rel = release(result.resources, crdRelease[o.apiVersion.split("/")[0]]);
                    const p = schemaProblems(o).map((x) => `${id}: ${x}`);
                    if (!rel || !waitsFor(result.resources, o.$resource.urn).has(rel.urn))
                        p.push(`${id}: not ordered after the ${crdRelease[o.apiVersion.split("/")[0]]} release`);
                    return p;
                });
                assert.deepEqual(problems, []);
            });

            it("monitors every Service we run that has a metrics port, and istiod, the gateways and every sidecar's Envoy, with an alert for each of them", () => {
                const monitors = ofKind(objects, "ServiceMonitor");
                const rules = ofKind(objects, "PrometheusRule").flatMap((r) =>
                    (r.spec.groups as any[]).flatMap((g) => g.rules as any[]),
                );
                const missing: string[] = [];
                for (const svc of ofKind(objects, "Service")) {
                    const metricsPorts = (svc.spec.ports as any[]).filter((p) => /metrics/.test(p.name ?? ""));
                    if (metricsPorts.length === 0) continue;
                    const id = `${svc.metadata.namespace}/${svc.metadata.name}`;
                    const monitored = monitors.some(
                        (m) =>
                            m.metadata.namespace === svc.metadata.namespace &&
                            Object.entries(m.spec.selector.matchLabels ?? {}).every(
                                ([k, v]) => svc.metadata.labels?.[k] === v,
                            ) &&
                            (m.spec.endpoints as any[]).some((e) => metricsPorts.some((p) => p.name === e.port)),
                    );
                    if (!monitored) missing.push(`${id}: no ServiceMonitor scrapes its metrics port`);
                    const alerted = rules.some(
                        (r) =>
                            r.labels?.service === svc.metadata.name ||
                            String(r.expr).includes(`service="${svc.metadata.name}"`),
                    );
                    if (!alerted) missing.push(`${id}: no alert rule`);
                }

                // The mesh: its components come from charts, so their Services and pods are not objects of the
                // program; their labels are the charts' (istiod Service app=istiod; gateway pods istio=<release
                // name minus "istio-">; injected pods get security.istio.io/tlsMode=istio).
                const podMonitors = ofKind(objects, "PodMonitor");
                const alertedJob = (job: string) => rules.some((r) => String(r.expr).includes(`job="${job}"`));
                const envoyMonitor = (ns: string, labels: Record<string, string>) =>
                    podMonitors.find(
                        (m) =>
                            coversNamespace(m, ns) &&
                            selectorMatches(m.spec.selector, labels) &&
                            (m.spec.podMetricsEndpoints as any[]).some(
                                (e) => e.port === "http-envoy-prom" && e.path === "/stats/prometheus",
                            ),
                    );
                const istiod = release(result.resources, "istiod");
                assert.ok(istiod, "every stack runs the mesh");
                const istiodMonitor = monitors.find(
                    (m) =>
                        coversNamespace(m, istiod.inputs.namespace) &&
                        selectorMatches(m.spec.selector, CHART_PODS.istiod.labels) &&
                        (m.spec.endpoints as any[]).some((e) => e.port === "http-monitoring"),
                );
                if (!istiodMonitor) missing.push("istiod: no ServiceMonitor scrapes http-monitoring");
                else if (!alertedJob("istiod")) missing.push("istiod: no alert rule"); // a ServiceMonitor's job is the Service name
                for (const gw of helmReleases(result.resources).filter((r) => r.inputs.chart === "gateway")) {
                    const labels = { app: gw.inputs.name, istio: String(gw.inputs.name).replace(/^istio-/, "") };
                    const m = envoyMonitor(gw.inputs.namespace, labels);
                    if (!m)
                        missing.push(
                            `gateway ${gw.inputs.namespace}/${gw.inputs.name}: no PodMonitor scrapes its Envoy stats`,
                        );
                    else if (!alertedJob(`${m.metadata.namespace}/${m.metadata.name}`))
                        missing.push(`gateway ${gw.inputs.name}: no alert rule`);
                }
                const injected = ofKind(objects, "Namespace")
                    .filter((n) => n.metadata.labels?.["istio-injection"] === "enabled")
                    .map((n) => n.metadata.name!);
                assert.ok(injected.length > 0);
                for (const o of objects.filter(
                    (x) => injected.includes(x.metadata.namespace ?? "") && podTemplate(x as K8sObject),
                )) {
                    const t = podTemplate(o)!;
                    if (
                        t.metadata?.annotations?.["sidecar.istio.io/inject"] === "false" ||
                        t.metadata?.labels?.["sidecar.istio.io/inject"] === "false"
                    )
                        continue;
                    const labels = { ...(t.metadata?.labels ?? {}), "security.istio.io/tlsMode": "istio" };
                    const m = envoyMonitor(o.metadata.namespace!, labels);
                    if (!m)
                        missing.push(
                            `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: no PodMonitor scrapes its sidecar's Envoy stats`,
                        );
                    else if (!alertedJob(`${m.metadata.namespace}/${m.metadata.name}`))
                        missing.push(`sidecars: no alert rule`);
                }
                // A gateway is not counted twice as a sidecar.
                assert.equal(
                    podMonitors.filter((m) =>
                        selectorMatches(m.spec.selector, {
                            app: "istio-ingressgateway",
                            istio: "ingressgateway",
                            "security.istio.io/tlsMode": "istio",
                        }),
                    ).length,
                    1,
                );
                assert.deepEqual([...new Set(missing)], []);
            });

            it("alerts on the service level objectives of every core service: availability, latency, saturation, restarts; payment failures", () => {
                const rules = ofKind(objects, "PrometheusRule", "ecommerce").flatMap((r) =>
                    (r.spec.groups as any[]).flatMap((g) => g.rules as any[]),
                );
                for (const service of ["product-catalog", "payment", "recommendation", "auth"]) {
                    const alerts = rules.filter((r) => r.labels.service === service);
                    const expr = (name: string) => alerts.find((a) => a.alert === name)?.expr ?? "";
                    assert.match(
                        expr("ServiceErrorBudgetFastBurn"),
                        new RegExp(`http_requests_total\\{[^}]*service="${service}"[^}]*code=~"5\\.\\."`),
                        service,
                    );
                    assert.match(
                        expr("ServiceLatencyHigh"),
                        /histogram_quantile\(0\.95, .*http_request_duration_seconds_bucket/,
                        service,
                    );
                    assert.match(
                        expr("ServiceCpuSaturated"),
                        /container_cpu_usage_seconds_total.*kube_pod_container_resource_limits/,
                        service,
                    );
                    assert.match(expr("ServiceRestarting"), /kube_pod_container_status_restarts_total/, service);
                    assert.match(expr("ServiceDown"), /up\{/, service);
                    assert.ok(
                        alerts.every(
                            (a) => ["critical", "warning"].includes(a.labels.severity) && a.annotations.summary,
                        ),
                        service,
                    );
                }
                assert.match(
                    rules.find((r) => r.alert === "PaymentFailures")?.expr ?? "",
                    /payment_transactions_total\{[^}]*status!="success"/,
                );
            });

            it("gives Grafana its admin login from a Secret it never sees in values, created before the release", () => {
                const kps = release(result.resources, "kube-prometheus-stack")!;
                const grafana = kps.inputs.values.grafana;
                assert.equal(grafana.adminPassword, undefined);
                const secretName = grafana.admin.existingSecret;
                const secret = named(objects, "Secret", secretName, "monitoring");
                assert.ok(secret.$resource.inputs.stringData.$secret, "Secret data is a Pulumi secret");
                const data = unsecret(secret.$resource.inputs.stringData);
                assert.ok(
                    data[grafana.admin.userKey ?? "admin-user"] &&
                        (data[grafana.admin.passwordKey ?? "admin-password"] ?? "").length >= 16,
                );
                assert.ok(
                    waitsFor(result.resources, kps.urn).has(secret.$resource.urn),
                    "release waits for the Secret",
                );
            });

            it("keeps every credential out of Helm values and ConfigMaps", () => {
                const secrets = [...new Set(secretValues(result.resources))];
                assert.ok(secrets.length > 0);
                const places: [string, unknown][] = [
                    ...helmReleases(result.resources).map((r): [string, unknown] => [
                        `release ${r.inputs.chart}`,
                        r.inputs.values,
                    ]),
                    ...ofKind(objects, "ConfigMap").map((c): [string, unknown] => [
                        `ConfigMap ${c.metadata.namespace}/${c.metadata.name}`,
                        { data: c.data, binaryData: c.binaryData },
                    ]),
                ];
                const credentialKey =
                    /(^|\.)(admin)?(password|passwd|token|apiToken|apiKey|secretAccessKey|clientSecret|privateKey)$/i;
                const problems: string[] = [];
                for (const [where, tree] of places) {
                    const text = JSON.stringify(tree) ?? "";
                    if (text.includes('"$secret"')) problems.push(`${where}: holds a Pulumi secret`);
                    for (const s of secrets)
                        if (text.includes(s)) problems.push(`${where}: contains a generated credential`);
                    for (const [key, value] of leaves(tree))
                        if (credentialKey.test(key) && typeof value === "string" && value)
                            problems.push(`${where}: ${key} is set`);
                    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
                        problems.push(`${where}: contains a private key`);
                }
                assert.deepEqual(problems, []);
            });

            it("answers the runbook's port-forwards: grafana:3000, prometheus:9090 and jaeger:16686 in monitoring", () => {
                const kps = release(result.resources, "kube-prometheus-stack")!;
                assert.equal(kps.inputs.values.grafana.fullnameOverride, "grafana");
                assert.equal(kps.inputs.values.grafana.service.port, 3000);
                const prom = named(objects, "Service", "prometheus", "monitoring");
                assert.deepEqual(
                    prom.spec.ports.map((p: any) => [p.port, p.targetPort]),
                    [[9090, 9090]],
                );
                // The selector must match the pods the operator creates for the chart's Prometheus.
                assert.deepEqual(prom.spec.selector, {
                    "app.kubernetes.io/name": "prometheus",
                    "operator.prometheus.io/name": `${kps.inputs.values.fullnameOverride}-prometheus`,
                });
                const jaeger = release(result.resources, "jaeger")!;
                assert.equal(jaeger.inputs.namespace, "monitoring");
                assert.equal(jaeger.inputs.values.fullnameOverride, "jaeger");
                const pf = result.outputs.portForward as Record<string, string>;
                assert.equal(pf.grafana, "kubectl port-forward svc/grafana 3000:3000 -n monitoring");
                assert.equal(pf.prometheus, "kubectl port-forward svc/prometheus 9090:9090 -n monitoring");
                assert.equal(pf.jaeger, "kubectl port-forward svc/jaeger 16686:16686 -n monitoring");
                const ep = result.outputs.endpoints as Record<string, string>;
                assert.equal(ep.prometheus, "http://prometheus.monitoring.svc.cluster.local:9090");
            });

            it("wires Istio tracing to Jaeger's OTLP receiver", () => {
                const istiod = release(result.resources, "istiod");
                const providers = istiod?.inputs.values.meshConfig?.extensionProviders ?? [];
                assert.ok(
                    providers.some(
                        (p: any) =>
                            p.opentelemetry?.service === "jaeger.monitoring.svc.cluster.local" &&
                            p.opentelemetry?.port === 4317,
                    ),
                    `istiod extension providers: ${JSON.stringify(providers)}`,
                );
                assert.equal((result.outputs.endpoints as any).jaegerOtlp, "jaeger.monitoring.svc.cluster.local:4317");
            });

            it("runs monitoring under Pod Security restricted and node-exporter in its own documented exception namespace", () => {
                const monitoring = named(objects, "Namespace", "monitoring");
                assert.equal(monitoring.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
                const kps = release(result.resources, "kube-prometheus-stack")!;
                const agentsNs = kps.inputs.values["prometheus-node-exporter"].namespaceOverride;
                assert.notEqual(agentsNs, "monitoring");
                const agents = named(objects, "Namespace", agentsNs);
                assert.equal(agents.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
                assert.ok(
                    Object.values(agents.metadata.annotations ?? {}).some((v) => /node-exporter/.test(String(v))),
                    "exception reason recorded",
                );
                assert.ok(waitsFor(result.resources, kps.urn).has(agents.$resource.urn));
                // Charts in the restricted namespaces run with the restricted security contexts we set.
                assert.equal(kps.inputs.values.grafana.securityContext.seccompProfile.type, "RuntimeDefault");
                assert.equal(
                    release(result.resources, "jaeger")!.inputs.values.jaeger.securityContext.allowPrivilegeEscalation,
                    false,
                );
            });

            it("fences monitoring, keda and monitoring-node-agents with default-deny and allows exactly the charts' flows", () => {
                const policies = ofKind(objects, "NetworkPolicy");
                for (const ns of ["monitoring", "keda", "monitoring-node-agents"]) {
                    assert.ok(named(objects, "Namespace", ns));
                    assert.ok(
                        policies.some((np) => np.metadata.namespace === ns && isDefaultDeny(np.spec)),
                        `${ns}: no default-deny NetworkPolicy`,
                    );
                    assert.ok(
                        policies.some((np) => np.metadata.namespace === ns && np.metadata.name === "allow-dns"),
                        `${ns}: no DNS allow`,
                    );
                }
                const P = CHART_PODS;
                const app = (ns: string): Endpoint => {
                    const t = objects
                        .map((o) => podTemplate(o as K8sObject))
                        .find((x, i) => x && objects[i].metadata.namespace === ns);
                    assert.ok(t, `a pod template in ${ns}`);
                    return { ns, labels: t.metadata.labels };
                };
                const sidecar = app("ecommerce");
                const must: [string, Endpoint, Endpoint, number][] = [
                    // spans from sidecars anywhere, both OTLP transports
                    ["sidecar -> jaeger otlp-grpc", sidecar, P.jaeger, 4317],
                    // within the namespace
                    ["grafana -> prometheus", P.grafana, P.prometheus, 9090],
                    ["grafana -> jaeger query", P.grafana, P.jaeger, 16686],
                    ["prometheus -> alertmanager", P.prometheus, P.alertmanager, 9093],
                    ["alertmanager cluster", P.alertmanager, P.alertmanager, 9094],
                    ["prometheus -> kube-state-metrics", P.prometheus, P.kubeStateMetrics, 8080],
                    ["prometheus -> jaeger metrics", P.prometheus, P.jaeger, 8888],
                    // the API server calls the operator's admission webhook
                    ["api server -> operator webhook", "address", P.operator, 10250],
                    // API server and kubelets (addresses not known portably)
                    ["operator -> api server", P.operator, "address", 443],
                    ["kube-state-metrics -> api server (6443)", P.kubeStateMetrics, "address", 6443],
                    ["grafana sidecar -> api server", P.grafana, "address", 443],
                    ["admission jobs -> api server", P.admissionJob, "address", 443],
                    ["prometheus -> kubelet", P.prometheus, "address", 10250],
                    ["prometheus -> node-exporter (host network)", P.prometheus, "address", 9100],
                    ["alertmanager -> receivers", P.alertmanager, "address", 443],
                    // scrapes in other namespaces
                    ["prometheus -> app metrics", P.prometheus, app("ecommerce"), 9464],
                    ["prometheus -> sidecar envoy stats", P.prometheus, app("warung-kopi"), 15090],
                    // istiod's own NetworkPolicy (chart, global.networkPolicy) admits 15014 from every namespace.
                    ["prometheus -> istiod", P.prometheus, P.istiod, 15014],
                    // KEDA
                    ["keda operator -> prometheus", P.kedaOperator, P.prometheus, 9090],
                    ["keda operator -> api server", P.kedaOperator, "address", 443],
                    ["keda metrics api server -> api server", P.kedaMetricsApiServer, "address", 6443],
                    ["keda metrics api server -> operator grpc", P.kedaMetricsApiServer, P.kedaOperator, 9666],
                    ["api server -> keda metrics api server", "address", P.kedaMetricsApiServer, 6443],
                    ["api server -> keda webhooks", "address", P.kedaWebhooks, 9443],
                    ["prometheus -> keda metrics", P.prometheus, P.kedaOperator, 8080],
                ];
                const mustNot: [string, Endpoint, Endpoint, number][] = [
                    ["app -> prometheus", app("ecommerce"), P.prometheus, 9090],
                    ["app -> grafana", app("warung-kopi"), P.grafana, 3000],
                    ["outside -> jaeger query", "address", P.jaeger, 16686],
                    ["outside -> prometheus", "address", P.prometheus, 9090],
                    ["app -> keda operator", app("ecommerce"), P.kedaOperator, 9666],
                    ["keda webhooks -> prometheus", P.kedaWebhooks, P.prometheus, 9090],
                    ["jaeger -> internet (80)", P.jaeger, "address", 80],
                    ["prometheus -> app serving port", P.prometheus, app("ecommerce"), 3000],
                ];
                // Ends whose NetworkPolicies come from a chart (not objects of the program) count as open here.
                const chartFenced = (e: Endpoint) => e !== "address" && e.ns === "istio-system";
                const may = (a: Endpoint, b: Endpoint, port: number) =>
                    (chartFenced(a) || sideAllows(policies, a, "Egress", b, port)) &&
                    (chartFenced(b) || sideAllows(policies, b, "Ingress", a, port));
                const wrong = [
                    ...must.filter(([, a, b, port]) => !may(a, b, port)).map(([what]) => `denied: ${what}`),
                    ...mustNot.filter(([, a, b, port]) => may(a, b, port)).map(([what]) => `allowed: ${what}`),
                ];
                // OTLP/HTTP: monitoring admits it from every namespace (the sender's egress is its own namespace's business).
                if (!sideAllows(policies, P.jaeger, "Ingress", sidecar, 4318))
                    wrong.push("denied: any namespace -> jaeger otlp-http");
                // Charts install only once their namespace's policies exist (hook Jobs call the API server at once).
                for (const chart of ["kube-prometheus-stack", "jaeger", "keda"]) {
                    const rel = release(result.resources, chart)!;
                    const deps = waitsFor(result.resources, rel.urn);
                    for (const np of policies.filter((x) => x.metadata.namespace === rel.inputs.namespace))
                        if (!deps.has(np.$resource.urn))
                            wrong.push(
                                `${chart} does not wait for NetworkPolicy ${np.metadata.namespace}/${np.metadata.name}`,
                            );
                }
                assert.deepEqual(wrong, []);
            });

            it("lets Prometheus reach every metrics port another namespace admits it on, and every sidecar's Envoy stats", () => {
                const policies = ofKind(objects, "NetworkPolicy");
                const problems: string[] = [];
                // Every ingress rule admitting Prometheus names a port Prometheus may send to.
                for (const np of policies.filter((x) => x.metadata.namespace !== "monitoring")) {
                    for (const rule of (np.spec.ingress ?? []) as any[]) {
                        if (
                            !(rule.from ?? []).some(
                                (p: any) =>
                                    selectorMatches(p.namespaceSelector, nsLabels("monitoring")) &&
                                    (!p.podSelector || selectorMatches(p.podSelector, CHART_PODS.prometheus.labels)),
                            )
                        )
                            continue;
                        const target: Endpoint = {
                            ns: np.metadata.namespace!,
                            labels: np.spec.podSelector.matchLabels ?? {},
                        };
                        for (const p of rule.ports ?? [])
                            if (!allows(policies, CHART_PODS.prometheus, target, p.port))
                                problems.push(`${np.metadata.namespace}/${np.metadata.name}: port ${p.port}`);
                    }
                }
                // Every pod in an injected namespace admits the scrape of its sidecar.
                for (const n of ofKind(objects, "Namespace").filter(
                    (x) => x.metadata.labels?.["istio-injection"] === "enabled",
                )) {
                    for (const o of objects.filter(
                        (x) => x.metadata.namespace === n.metadata.name && podTemplate(x as K8sObject),
                    )) {
                        const pod: Endpoint = {
                            ns: n.metadata.name!,
                            labels: podTemplate(o)!.metadata.labels,
                        };
                        if (!allows(policies, CHART_PODS.prometheus, pod, 15090))
                            problems.push(`${o.kind} ${n.metadata.name}/${o.metadata.name}: Envoy stats 15090`);
                    }
                }
                assert.deepEqual(problems, []);
            });

            it("keeps Prometheus data for the configured retention, on a volume in production", () => {
                const spec = release(result.resources, "kube-prometheus-stack")!.inputs.values.prometheus
                    .prometheusSpec;
                assert.equal(spec.retention, stack === "dev" ? "2d" : "15d");
                for (const k of ["serviceMonitor", "podMonitor", "rule", "probe"])
                    assert.equal(spec[`${k}SelectorNilUsesHelmValues`], false, k);
                if (stack === "dev") assert.equal(spec.storageSpec, undefined);
                else assert.equal(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "50Gi");
            });

            it("fences the trace store: default-deny, node to node, Jaeger and its index cleaner to the HTTPS API, nothing else", () => {
                const os = release(result.resources, "opensearch");
                if (stack === "dev") {
                    assert.equal(os, undefined, "Badger in Jaeger's pod on the laptop");
                    return;
                }
                const ns = os!.inputs.namespace as string;
                const policies = ofKind(objects, "NetworkPolicy");
                assert.ok(policies.some((np) => np.metadata.namespace === ns && isDefaultDeny(np.spec)));
                assert.ok(policies.some((np) => np.metadata.namespace === ns && np.metadata.name === "allow-dns"));
                const node: Endpoint = {
                    ns,
                    labels: {
                        "app.kubernetes.io/name": "opensearch",
                        "app.kubernetes.io/instance": os!.inputs.name,
                        "app.kubernetes.io/component": "opensearch-master",
                    },
                };
                const cleaner: Endpoint = {
                    ns: "monitoring",
                    labels: {
                        "app.kubernetes.io/name": "jaeger",
                        "app.kubernetes.io/instance": "jaeger",
                        "app.kubernetes.io/component": "es-index-cleaner",
                    },
                };
                const app: Endpoint = { ns: "ecommerce", labels: { "app.kubernetes.io/name": "payment" } };
                const must: [string, Endpoint, Endpoint, number][] = [
                    ["jaeger -> opensearch https", CHART_PODS.jaeger, node, 9200],
                    ["index cleaner -> opensearch https", cleaner, node, 9200],
                    ["opensearch node -> node transport", node, node, 9300],
                ];
                const mustNot: [string, Endpoint, Endpoint, number][] = [
                    ["app -> opensearch", app, node, 9200],
                    ["grafana -> opensearch", CHART_PODS.grafana, node, 9200],
                    ["prometheus -> opensearch", CHART_PODS.prometheus, node, 9200],
                    ["jaeger -> opensearch transport", CHART_PODS.jaeger, node, 9300],
                    ["outside -> opensearch", "address", node, 9200],
                    ["opensearch -> internet", node, "address", 443],
                    ["opensearch -> jaeger", node, CHART_PODS.jaeger, 4317],
                ];
                const wrong = [
                    ...must.filter(([, a, b, port]) => !allows(policies, a, b, port)).map(([w]) => `denied: ${w}`),
                    ...mustNot.filter(([, a, b, port]) => allows(policies, a, b, port)).map(([w]) => `allowed: ${w}`),
                ];
                // The chart installs once its namespace's policies exist.
                const deps = waitsFor(result.resources, os!.urn);
                for (const np of policies.filter((x) => x.metadata.namespace === ns))
                    if (!deps.has(np.$resource.urn)) wrong.push(`opensearch does not wait for ${np.metadata.name}`);
                assert.deepEqual(wrong, []);
            });

            it("does not make monitoring wait for the mesh: the layers install in parallel", () => {
                const istioReleases = helmReleases(result.resources)
                    .filter((r) => ["base", "istiod", "gateway", "cni"].includes(r.inputs.chart))
                    .map((r) => r.urn);
                assert.ok(istioReleases.length > 0);
                for (const chart of ["kube-prometheus-stack", "jaeger", "keda"]) {
                    const deps = waitsFor(result.resources, release(result.resources, chart)!.urn);
                    assert.deepEqual(
                        istioReleases.filter((u) => deps.has(u)),
                        [],
                        chart,
                    );
                }
            });
        });
    }

    describe("dashboards", () => {
        it("loads every dashboards/*.json as a ConfigMap labelled for Grafana's sidecar", async () => {
            const objects = kubernetesObjects((await deployedStack("dev")).resources);
            const files = fs.readdirSync(path.join(ROOT, "dashboards")).filter((f) => f.endsWith(".json"));
            assert.ok(files.includes("business.json") && files.length >= 2);
            const maps = ofKind(objects, "ConfigMap", "monitoring").filter(
                (c) => c.metadata.labels?.grafana_dashboard === "1",
            );
            for (const f of files) {
                const cm = maps.find((c) => c.data?.[f]);
                assert.ok(cm, `no dashboard ConfigMap for ${f}`);
                const d = JSON.parse(cm.data[f]);
                assert.ok(d.uid && d.title && d.panels.length > 0, f);
            }
        });

        it("charts orders per minute, revenue, payment success and cache hit ratio from the metrics the services emit", () => {
            const service = fs.readFileSync(path.join(ROOT, "apps", "service.js"), "utf8");
            const emitted = new Set([...service.matchAll(/inc\("([a-z_]+)"/g)].map((m) => m[1]));
            for (const m of [
                "shop_orders_total",
                "shop_revenue_idr_total",
                "payment_transactions_total",
                "cache_requests_total",
            ])
                assert.ok(emitted.has(m), `service.js emits ${m}`);
            const d = JSON.parse(fs.readFileSync(path.join(ROOT, "dashboards", "business.json"), "utf8"));
            const panels: { title: string; exprs: string[] }[] = d.panels.map((p: any) => ({
                title: p.title,
                exprs: (p.targets ?? []).map((t: any) => t.expr),
            }));
            const find = (title: RegExp, expr: RegExp) =>
                panels.some((p) => title.test(p.title) && p.exprs.some((e) => expr.test(e)));
            assert.ok(
                find(/orders per minute/i, /rate\(shop_orders_total\{[^}]*\}\[\w+\]\)\)? ?\* ?60/),
                "orders per minute",
            );
            assert.ok(find(/revenue/i, /(increase|rate)\(shop_revenue_idr_total/), "revenue");
            assert.ok(
                find(
                    /payment success/i,
                    /payment_transactions_total\{[^}]*status="success"[^}]*\}.*\/.*payment_transactions_total/,
                ),
                "payment success",
            );
            assert.ok(
                find(/cache hit/i, /cache_requests_total\{[^}]*result="hit"[^}]*\}.*\/.*cache_requests_total/),
                "cache hit ratio",
            );
            // Only metrics that exist: those service.js emits, or exporter/recording names.
            const known =
                /^(http_requests_total|http_request_duration_seconds_bucket|ALERTS|up|container_\w+|kube_\w+)$/;
            for (const p of panels)
                for (const e of p.exprs) {
                    for (const [, metric] of e.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g))
                        assert.ok(emitted.has(metric) || known.test(metric), `${p.title}: unknown metric ${metric}`);
                }
        });
    });

    describe("PromQL", () => {
        /** Syntax errors of a PromQL expression, as "<offset>: <text around it>" (empty when it parses). */
        function promqlErrors(expr: string): string[] {
            const tree = promqlParser.parse(expr);
            const errors: string[] = [];
            tree.iterate({
                enter: (n) => {
                    if (n.type.isError)
                        errors.push(`${n.from}: ...${expr.slice(Math.max(0, n.from - 20), n.to + 20)}...`);
                },
            });
            return errors;
        }
        /** Grafana's interval variables stand for durations; other variables sit inside label matcher strings. */
        const grafanaExpr = (e: string) => e.replace(/\$__(rate_interval|interval|range)\b/g, "5m");

        /** Every PromQL expression a stack ships: alert rules, KEDA prometheus triggers, dashboard queries and variables. */
        function queries(stack: string, objects: K8sObject[]): [string, string][] {
            const out: [string, string][] = [];
            for (const r of ofKind(objects, "PrometheusRule"))
                for (const g of r.spec.groups)
                    for (const rule of g.rules)
                        out.push([
                            `${stack} PrometheusRule ${r.metadata.namespace}/${r.metadata.name} ${rule.alert ?? rule.record}`,
                            rule.expr,
                        ]);
            for (const so of ofKind(objects, "ScaledObject"))
                for (const t of so.spec.triggers)
                    if (t.type === "prometheus")
                        out.push([
                            `${stack} ScaledObject ${so.metadata.namespace}/${so.metadata.name}`,
                            t.metadata.query,
                        ]);
            for (const cm of ofKind(objects, "ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1")) {
                for (const [file, text] of Object.entries<string>(cm.data ?? {})) {
                    const d = JSON.parse(text);
                    const walk = (x: any) => {
                        if (Array.isArray(x)) return x.forEach(walk);
                        if (!x || typeof x !== "object") return;
                        if (typeof x.expr === "string")
                            out.push([`${stack} dashboard ${file} panel target ${x.refId ?? ""}`, grafanaExpr(x.expr)]);
                        Object.values(x).forEach(walk);
                    };
                    walk(d.panels);
                    for (const v of d.templating?.list ?? []) {
                        if (v.type !== "query") continue;
                        const q: string = typeof v.query === "string" ? v.query : (v.query?.query ?? "");
                        // label_values(<selector>, <label>) is Grafana's; the selector inside it is PromQL.
                        const m = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(q.trim());
                        out.push([`${stack} dashboard ${file} variable ${v.name}`, grafanaExpr(m ? m[1] : q)]);
                    }
                }
            }
            return out;
        }

        it("the parser rejects what Prometheus would reject", () => {
            assert.deepEqual(promqlErrors('sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1'), []);
            for (const bad of ["sum(rate(x[5m])", 'up{job="a"', "rate(x[5m]) >", "x{a=b}"])
                assert.ok(promqlErrors(bad).length > 0, bad);
        });

        it("every expression we emit (alert rules, dashboards, KEDA triggers) parses, in every stack", async () => {
            const problems: string[] = [];
            const kinds = new Set<string>();
            for (const stack of STACKS) {
                for (const [where, expr] of queries(stack, kubernetesObjects((await deployedStack(stack)).resources))) {
                    kinds.add(where.split(" ")[1]);
                    for (const e of promqlErrors(expr)) problems.push(`${where}: ${e}`);
                }
            }
            assert.deepEqual([...kinds].sort(), ["PrometheusRule", "ScaledObject", "dashboard"]);
            assert.deepEqual(problems, []);
        });
    });

    describe("laptop budget", () => {
        it("dev requests for all layers fit 4 CPU / 8 GiB (our pod templates, chart components' declared resources, an Istio sidecar per injected pod)", async () => {
            const { resources } = await deployedStack("dev");
            const objects = kubernetesObjects(resources);
            const lines: string[] = [];
            let totalCpu = 0;
            let totalMem = 0;
            const add = (what: string, c: number, m: number, times = 1) => {
                totalCpu += c * times;
                totalMem += m * times;
                lines.push(`${what}: ${times} x ${Math.round(c * 1000)}m / ${Math.round(m / 2 ** 20)}Mi`);
            };

            // The sidecar istiod injects (its values, else Istio's default 100m/128Mi).
            const istiod = release(resources, "istiod");
            const proxy = istiod?.inputs.values?.global?.proxy?.resources?.requests ?? { cpu: "100m", memory: "128Mi" };
            const injected = new Set(
                ofKind(objects, "Namespace")
                    .filter((n) => n.metadata.labels?.["istio-injection"] === "enabled")
                    .map((n) => n.metadata.name),
            );

            for (const o of objects) {
                const t = podTemplate(o);
                if (!t) continue;
                const sum = (cs: any[] = [], f: (r: any) => number) =>
                    cs.reduce((a, c) => a + f(c.resources?.requests ?? {}), 0);
                const max = (cs: any[] = [], f: (r: any) => number) =>
                    cs.reduce((a, c) => Math.max(a, f(c.resources?.requests ?? {})), 0);
                let c = Math.max(
                    sum(t.spec.containers, (r) => cpu(r.cpu)),
                    max(t.spec.initContainers, (r) => cpu(r.cpu)),
                );
                let m = Math.max(
                    sum(t.spec.containers, (r) => mem(r.memory)),
                    max(t.spec.initContainers, (r) => mem(r.memory)),
                );
                const optOut =
                    t.metadata?.annotations?.["sidecar.istio.io/inject"] === "false" ||
                    t.metadata?.labels?.["sidecar.istio.io/inject"] === "false";
                if (injected.has(o.metadata.namespace ?? "") && !optOut) {
                    c += cpu(proxy.cpu);
                    m += mem(proxy.memory);
                }
                const replicas = o.kind === "Deployment" || o.kind === "StatefulSet" ? (o.spec.replicas ?? 1) : 1;
                add(`${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, c, m, replicas);
            }

            // Chart components: every `requests` block their values declare (times a sibling replica count).
            const grafanaSidecars = 2; // dashboards and datasources sidecars share grafana.sidecar.resources
            for (const r of helmReleases(resources)) {
                const walk = (v: any, at: string, replicas: number) => {
                    if (!v || typeof v !== "object" || Array.isArray(v)) return;
                    const here =
                        typeof v.replicas === "number"
                            ? v.replicas
                            : typeof v.replicaCount === "number"
                              ? v.replicaCount
                              : replicas;
                    if (/(^|\.)global\.proxy\.resources$/.test(at)) return; // the sidecar: counted per injected pod
                    if (v.requests && typeof v.requests === "object" && (v.requests.cpu || v.requests.memory)) {
                        const times = at.endsWith("grafana.sidecar.resources") ? grafanaSidecars : here;
                        add(`release ${r.inputs.chart} ${at}`, cpu(v.requests.cpu), mem(v.requests.memory), times);
                        return;
                    }
                    for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k, here);
                };
                walk(r.inputs.values ?? {}, "", 1);
            }
            const report = `${lines.join("\n")}\nTOTAL ${Math.round(totalCpu * 1000)}m / ${Math.round(totalMem / 2 ** 20)}Mi`;
            assert.ok(totalCpu <= 4 + 1e-9, report);
            assert.ok(totalMem <= 8 * 2 ** 30, report);
            // And the monitoring charts declare sizes for every component they run.
            const kps = release(resources, "kube-prometheus-stack")!.inputs.values;
            for (const p of [
                "prometheus.prometheusSpec.resources",
                "alertmanager.alertmanagerSpec.resources",
                "grafana.resources",
                "grafana.sidecar.resources",
                "prometheusOperator.resources",
                "prometheusOperator.prometheusConfigReloader.resources",
                "kube-state-metrics.resources",
                "prometheus-node-exporter.resources",
            ]) {
                assert.ok(p.split(".").reduce((x: any, k) => x?.[k], kps)?.requests, `kube-prometheus-stack ${p}`);
            }
            assert.ok(release(resources, "jaeger")!.inputs.values.jaeger.resources.requests);
            for (const k of ["operator", "metricServer", "webhooks"])
                assert.ok(release(resources, "keda")!.inputs.values.resources[k].requests, `keda ${k}`);
        });
    });
});
