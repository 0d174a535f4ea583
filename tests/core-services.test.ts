// The core services as `pulumi up` would create them in namespace `ecommerce`: the runbook's
// operations, autoscaling on CPU and request rate, the explicit network flows, each service's own
// configuration, and credentials only by Secret reference.
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, type K8sObject, kubernetesObjects, named, ofKind } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import { type Endpoint, NetworkModel } from "./harness/cluster/network";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import { parseQuantity } from "../config/quantity";

const NS = "ecommerce";
const SERVICES = ["product-catalog", "payment", "recommendation", "auth"];

type Obj = K8sObject & { $resource: RecordedResource };

// ---- NetworkPolicy: the shared cluster model (tests/harness/cluster/network.ts) ----

interface Pod {
    namespace: string;
    labels: Record<string, string>;
}
const asEndpoint = (p: Pod): Endpoint => ({ kind: "pod", namespace: p.namespace, labels: p.labels });
const networkOf = (objects: Obj[], stack: string) => new NetworkModel(objects, configOf(stack).cluster.profile.network);

/** Whether policies in `pod`'s namespace allow the given direction of a connection. */
const allowed = (objects: Obj[], direction: "Ingress" | "Egress", pod: Pod, other: Pod, port: number, stack = "dev") =>
    networkOf(objects, stack).side(asEndpoint(pod), direction, asEndpoint(other), port);

const canConnect = (objects: Obj[], from: Pod, to: Pod, port: number, stack = "dev") =>
    networkOf(objects, stack).allows(asEndpoint(from), asEndpoint(to), port);

function podOf(objects: Obj[], name: string, namespace = NS): Pod {
    const d = named(objects, "Deployment", name, namespace);
    return { namespace, labels: d.spec.template.metadata.labels };
}
const gateway: Pod = { namespace: "istio-ingress", labels: { istio: "ingressgateway", app: "istio-ingressgateway" } };
const stranger: Pod = { namespace: "default", labels: { app: "curl" } };
const prometheus: Pod = { namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" } };

const envOf = (d: Obj) => d.spec.template.spec.containers[0].env as any[];
const envValue = (d: Obj, name: string) => envOf(d).find((e) => e.name === name);

prefetch(
    ...STACKS.map((stack) => ({ stack })),
    { stack: "us", configOverrides: { layers: { customMetricsAutoscaling: false } } },
    { stack: "dev", configOverrides: { layers: { mesh: false, tracing: false } } },
);

describe("core services", () => {
    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            let result: StackEvaluation;
            let objects: Obj[];
            const prod = stack !== "dev";
            before(async () => {
                result = await deployedStack(stack);
                objects = kubernetesObjects(result.resources);
            });

            it("runs each service in namespace ecommerce with its Deployment, Service, ServiceAccount, NetworkPolicy (and a PodDisruptionBudget when replicated)", () => {
                for (const s of SERVICES) {
                    const d = named(objects, "Deployment", s, NS); // kubectl scale / logs -f deployment/<s> -n ecommerce
                    const svc = named(objects, "Service", s, NS);
                    named(objects, "ServiceAccount", s, NS);
                    named(objects, "NetworkPolicy", s, NS);
                    assert.equal(d.spec.template.spec.serviceAccountName, s);
                    assert.ok(
                        Object.entries(svc.spec.selector).every(
                            ([key, v]) => d.spec.template.metadata.labels[key] === v,
                        ),
                        `${s}: Service selects its pods`,
                    );
                    assert.ok(
                        svc.spec.ports.some((p: any) => p.name === "http-metrics" && p.port === 9464),
                        `${s}: metrics port`,
                    );
                    const pdb = ofKind(objects, "PodDisruptionBudget", NS).find((p) => p.metadata.name === s);
                    if (prod) assert.ok(pdb && pdb.spec.maxUnavailable === 1, `${s}: PDB in production`);
                    else assert.equal(pdb, undefined, `${s}: no PDB with a single dev replica`);
                }
            });

            it("runs the reference service as uid 1000 under Pod Security restricted, configured by SERVICE_NAME, METRICS_PORT and DEPENDS_ON", () => {
                const ns = named(objects, "Namespace", NS);
                assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
                assert.equal(ns.metadata.labels?.["istio-injection"], "enabled");
                const runtime = named(objects, "ConfigMap", "app-runtime", NS);
                assert.match(runtime.data["service.js"], /METRICS_PORT/);
                for (const s of SERVICES) {
                    const d = named(objects, "Deployment", s, NS);
                    const spec = d.spec.template.spec;
                    // Pod Security restricted, probes and limits: the policy pack, on every stack
                    // (tests/policy-rules.test.ts). Here: the image's uid and its slow-start probe.
                    assert.equal(spec.securityContext.runAsUser, 1000);
                    assert.ok(spec.containers[0].startupProbe);
                    assert.equal(envValue(d, "SERVICE_NAME").value, s);
                    assert.equal(envValue(d, "METRICS_PORT").value, "9464");
                    assert.match(
                        envValue(d, "DEPENDS_ON").value,
                        /^rediss?:\/\/[a-z0-9.-]+:\d+\?passwordFrom=CACHE_PASSWORD(&userFrom=CACHE_USERNAME)?(&caFileFrom=CACHE_CA_FILE)?(,postgres:\/\/\S+)?$/,
                        `${s}: readiness asks the cache (and payment's database) in their protocols`,
                    );
                    // Each service logs in to its cache with a Secret of its own.
                    const login = envValue(d, "CACHE_PASSWORD").valueFrom.secretKeyRef.name;
                    assert.equal(login, `${s}-cache`);
                    const cacheSecret = named(objects, "Secret", login, NS);
                    const raw = cacheSecret.$resource.inputs.stringData;
                    assert.ok(raw.$secret || raw.password.$secret, `${s}: cache password is a Pulumi secret`);
                    assert.ok(spec.volumes.some((v: any) => v.configMap?.name === "app-runtime"));
                }
            });

            it(`scales each service between ${prod ? "3 and 10" : "its dev bounds"} on CPU and on request rate from Prometheus, through a KEDA ScaledObject that names its HPA after the service`, () => {
                const keda = helmReleases(result.resources).find((r) => r.inputs.chart === "keda")!;
                assert.ok(keda);
                for (const s of SERVICES) {
                    const so = named(objects, "ScaledObject", s, NS);
                    if (prod) {
                        assert.equal(so.spec.minReplicaCount, 3, s);
                        assert.equal(so.spec.maxReplicaCount, 10, s);
                    }
                    assert.ok(so.spec.minReplicaCount >= 1 && so.spec.maxReplicaCount >= so.spec.minReplicaCount);
                    assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: s });
                    assert.equal(
                        so.spec.advanced.horizontalPodAutoscalerConfig.name,
                        s,
                        "kubectl get hpa -n ecommerce lists the service",
                    );
                    const cpu = so.spec.triggers.find((t: any) => t.type === "cpu");
                    assert.deepEqual([cpu?.metricType, cpu?.metadata.value], ["Utilization", "70"], s);
                    const prom = so.spec.triggers.find((t: any) => t.type === "prometheus");
                    assert.equal(prom.metadata.serverAddress, "http://prometheus.monitoring.svc.cluster.local:9090");
                    assert.match(prom.metadata.query, new RegExp(`rate\\(http_requests_total\\{[^}]*service="${s}"`));
                    assert.ok(Number(prom.metadata.threshold) > 0);
                    assert.ok(so.$resource.dependencies.includes(keda.urn), `${s}: waits for the KEDA release`);
                    // KEDA owns the replica count: no second HPA, and Pulumi does not reset a scaled Deployment.
                    assert.deepEqual(
                        ofKind(objects, "HorizontalPodAutoscaler", NS).filter((h) => h.spec.scaleTargetRef.name === s),
                        [],
                    );
                    const d = named(objects, "Deployment", s, NS);
                    assert.equal(d.spec.replicas, so.spec.minReplicaCount);
                    assert.ok(
                        d.$resource.ignoreChanges.includes("spec.replicas"),
                        `${s}: replicas ignored after creation`,
                    );
                }
            });

            it("admits each service only from the flows it serves: gateway to public services, callers to their callees, Prometheus to metrics", () => {
                const pod = (s: string) => podOf(objects, s);
                for (const s of SERVICES) {
                    assert.ok(canConnect(objects, prometheus, pod(s), 9464), `prometheus scrapes ${s}`);
                    assert.ok(
                        !canConnect(objects, stranger, pod(s), 8080),
                        `a pod in another namespace cannot reach ${s}`,
                    );
                }
                // The gateway's own egress comes from its chart's policy (not recorded): check our side.
                for (const s of ["product-catalog", "payment", "auth"])
                    assert.ok(allowed(objects, "Ingress", pod(s), gateway, 8080), `gateway -> ${s}`);
                assert.ok(
                    !allowed(objects, "Ingress", pod("recommendation"), gateway, 8080),
                    "recommendation is internal",
                );
                assert.ok(
                    canConnect(objects, pod("product-catalog"), pod("recommendation"), 8080),
                    "product-catalog -> recommendation",
                );
                for (const s of ["product-catalog", "payment", "recommendation"])
                    assert.ok(canConnect(objects, pod(s), pod("auth"), 8080), `${s} -> auth`);
                assert.ok(
                    !canConnect(objects, pod("payment"), pod("recommendation"), 8080),
                    "payment has no business with recommendation",
                );
                assert.ok(!canConnect(objects, pod("auth"), pod("payment"), 8080), "auth calls nobody");
                assert.ok(!canConnect(objects, pod("recommendation"), pod("product-catalog"), 8080), "no reverse flow");
            });

            it("lets payment reach its database for transaction history (whichever engine serves it), with its own login from a Secret", () => {
                const d = named(objects, "Deployment", "payment", NS);
                // The shop's own PostgreSQL (dev) or the CloudNativePG Cluster's instances (regions).
                const postgres = ofKind(objects, "StatefulSet", "warung-kopi").find(
                    (o) => o.metadata.name === "postgres",
                );
                const cluster = ofKind(objects, "Cluster", "databases").find((o) => o.metadata.name === "postgres");
                assert.ok(postgres || cluster, "the stack runs PostgreSQL");
                const pg: Pod = postgres
                    ? { namespace: "warung-kopi", labels: postgres.spec.template.metadata.labels }
                    : {
                          namespace: "databases",
                          labels: { "cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance" },
                      };
                assert.ok(
                    allowed(objects, "Egress", podOf(objects, "payment"), pg, 5432),
                    "payment egress to postgres:5432",
                );
                assert.ok(!allowed(objects, "Egress", podOf(objects, "product-catalog"), pg, 5432), "only payment");
                const pw = envValue(d, "TRANSACTION_DB_PASSWORD");
                assert.equal(pw.value, undefined);
                const secret = named(objects, "Secret", pw.valueFrom.secretKeyRef.name, NS);
                assert.ok(secret.$resource.inputs.stringData.$secret);
                assert.ok(String((secret as any).stringData?.password ?? "").length >= 16);
            });

            it("never retries payments at the mesh, while idempotent reads are retried", () => {
                const vs = (s: string) => named(objects, "VirtualService", s, NS).spec.http[0];
                assert.equal(vs("payment").retries.attempts, 0);
                assert.ok(vs("product-catalog").retries.attempts > 0);
                assert.ok(
                    !/5xx|reset/.test(vs("auth").retries.retryOn ?? ""),
                    "auth retries only requests that never reached a pod",
                );
                for (const s of SERVICES) assert.ok(vs(s).timeout, `${s}: timeout`);
            });

            it("serves the recommendation model from a read-only mount filled by an init container from the model artefact", () => {
                const spec = named(objects, "Deployment", "recommendation", NS).spec.template.spec;
                const init = spec.initContainers.find((c: any) => c.name === "load-model");
                const mount = spec.containers[0].volumeMounts.find((m: any) => m.mountPath === "/models/current");
                assert.equal(mount.readOnly, true);
                const volume = spec.volumes.find((v: any) => v.name === mount.name);
                assert.ok(volume.emptyDir, "filled at start, not baked into the image");
                assert.ok(init.volumeMounts.some((m: any) => m.name === mount.name && !m.readOnly));
                const source = spec.volumes.find((v: any) =>
                    init.volumeMounts.some((m: any) => m.name === v.name && m.readOnly),
                );
                const model = JSON.parse(named(objects, "ConfigMap", source.configMap.name, NS).data["model.json"]);
                assert.equal(
                    envValue(named(objects, "Deployment", "recommendation", NS), "MODEL_VERSION").value,
                    model.version,
                );
            });

            it("configures auth as an OIDC issuer on the public API host, signing tokens with a generated key mounted from a Secret", () => {
                const d = named(objects, "Deployment", "auth", NS);
                const c = d.spec.template.spec.containers[0];
                const oidc = named(objects, "ConfigMap", c.envFrom[0].configMapRef.name, NS);
                assert.match(oidc.data.OIDC_ISSUER, /^https:\/\/api\.[a-z0-9.-]+\/auth$/);
                assert.equal(oidc.data.OIDC_DISCOVERY_URL, `${oidc.data.OIDC_ISSUER}/.well-known/openid-configuration`);
                assert.equal(
                    c.env.find((e: any) => e.name === "SESSION_STORE")?.value,
                    "cache",
                    "sessions in the cache",
                );
                const keyMount = c.volumeMounts.find((m: any) => m.mountPath === "/var/run/secrets/auth");
                assert.equal(keyMount.readOnly, true);
                const secretName = d.spec.template.spec.volumes.find((v: any) => v.name === keyMount.name).secret
                    .secretName;
                const secret = named(objects, "Secret", secretName, NS);
                assert.ok(secret.$resource.inputs.stringData.$secret);
                assert.match((secret as any).stringData["signing-key.pem"], /BEGIN PRIVATE KEY/);
            });

            it("bounds the namespace with a quota large enough for every service at its maximum scale", () => {
                const quota = named(objects, "ResourceQuota", "compute", NS);
                const services = ofKind(objects, "ScaledObject", NS);
                const need = services.reduce(
                    (acc, so) => {
                        const r = named(objects, "Deployment", so.metadata.name!, NS).spec.template.spec.containers[0]
                            .resources.requests;
                        return {
                            cpu: acc.cpu + so.spec.maxReplicaCount * parseQuantity(r.cpu),
                            memory: acc.memory + so.spec.maxReplicaCount * parseQuantity(r.memory),
                        };
                    },
                    { cpu: 0, memory: 0 },
                );
                assert.ok(parseQuantity(quota.spec.hard["requests.cpu"]) >= need.cpu);
                assert.ok(parseQuantity(quota.spec.hard["requests.memory"]) >= need.memory);
            });

            it("reports the services' endpoints and the runbook commands", () => {
                const ep = result.outputs.endpoints as Record<string, string>;
                assert.equal(ep.productCatalog, "http://product-catalog.ecommerce.svc.cluster.local:80");
                assert.match(ep.authPublic, /^https:\/\/api\..+\/auth$/);
                const pf = result.outputs.portForward as Record<string, string>;
                assert.equal(pf.productCatalogLogs, "kubectl logs -f deployment/product-catalog -n ecommerce");
            });
        });
    }

    describe("without custom-metric autoscaling", () => {
        it("scales each production service with an autoscaling/v2 CPU HPA (min 3, max 10, 70%) instead", async () => {
            const { resources } = await deployedStack("us", {
                configOverrides: { layers: { customMetricsAutoscaling: false } },
            });
            const objects = kubernetesObjects(resources);
            assert.deepEqual(ofKind(objects, "ScaledObject"), []);
            assert.equal(
                helmReleases(resources).find((r) => r.inputs.chart === "keda"),
                undefined,
            );
            for (const s of SERVICES) {
                const hpa = named(objects, "HorizontalPodAutoscaler", s, NS);
                assert.equal(hpa.apiVersion, "autoscaling/v2");
                assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 10]);
                assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
            }
        });
    });

    describe("without the mesh", () => {
        it("keeps every service closed to other namespaces (no gateway to admit), except Prometheus on the metrics port", async () => {
            const { resources } = await deployedStack("dev", {
                configOverrides: { layers: { mesh: false, tracing: false } },
            });
            const objects = kubernetesObjects(resources);
            for (const s of SERVICES) {
                assert.ok(!allowed(objects, "Ingress", podOf(objects, s), gateway, 8080), s);
                assert.ok(!canConnect(objects, stranger, podOf(objects, s), 8080), s);
                assert.ok(canConnect(objects, prometheus, podOf(objects, s), 9464), s);
            }
            assert.notEqual(named(objects, "Namespace", NS).metadata.labels?.["istio-injection"], "enabled");
        });
    });
});
