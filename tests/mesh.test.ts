// The service mesh layer as `pulumi up` would create it: pinned official Istio charts, install order
// and honest waits, STRICT mTLS and injection, the public entry point, and the multi-primary wiring
// between regions with peers absent, partly present and all present.
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import {
    helmReleases,
    type K8sObject,
    kubernetesObjects,
    named,
    ofKind,
    schemaProblems,
    unsecret,
} from "./harness/k8s";
import { parse as parseYaml } from "yaml";
import { jwtClaims, readerTokenProblem } from "../config";
import { secretValue } from "../config/files";
import { caNames, caPlan } from "../components/mesh/ca";
import { remoteReaderRules } from "../components/mesh/multicluster";
import { bootstrap, prefetchBootstrap, READER_SUBJECT, serviceAccountToken } from "./harness/bootstrap";
import { mockPem } from "./harness/mocks";
import { configOf, STACKS } from "./harness/stack-config";
import type { RecordedResource, StackEvaluation } from "./harness/types";

const ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts";
const ISTIO_CHARTS = ["base", "cni", "istiod", "gateway"];
const PRODUCTION = ["us", "eu", "asia"] as const;

const release = (resources: RecordedResource[], name: string) => {
    const found = helmReleases(resources).find((r) => r.inputs.name === name);
    assert.ok(
        found,
        `Helm release ${name} exists; have ${helmReleases(resources)
            .map((r) => r.inputs.name)
            .join(", ")}`,
    );
    return found;
};

/**
 * Whether `r` waits for `target` before it is created: through its dependencies, their
 * dependencies, and (because dependsOn on a component waits for everything in it) the children of
 * any component it depends on.
 */
function waitsFor(resources: RecordedResource[], r: RecordedResource, target: string): boolean {
    const byUrn = new Map(resources.map((x) => [x.urn, x]));
    const children = (urn: string) => resources.filter((x) => x.parent === urn).map((x) => x.urn);
    const seen = new Set<string>();
    const queue = [...r.dependencies];
    while (queue.length) {
        const urn = queue.pop()!;
        if (urn === target) return true;
        if (seen.has(urn)) continue;
        seen.add(urn);
        const dep = byUrn.get(urn);
        if (!dep) continue;
        queue.push(...dep.dependencies);
        if (!dep.custom) queue.push(...children(urn));
    }
    return false;
}

/** Whether a Secret's stringData entry reaches the engine as a Pulumi secret (the whole map or the entry). */
const secretEntry = (secret: K8sObject & { $resource: RecordedResource }, key: string) => {
    const raw = secret.$resource.inputs.stringData;
    return !!raw && ("$secret" in raw || (raw[key] && typeof raw[key] === "object" && "$secret" in raw[key]));
};

const isSecretOutputAt = (v: unknown) => !!v && typeof v === "object" && "$secret" in v;
const isIstio = (o: K8sObject) => /\.istio\.io\//.test(o.apiVersion);
const label = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

const meshPending = (result: StackEvaluation) =>
    ((result.outputs.crossRegionPending as string[]) ?? []).filter((p) => p.startsWith("mesh:")).sort();
const remoteSecrets = (result: StackEvaluation) =>
    ofKind(kubernetesObjects(result.resources), "Secret", "istio-system").filter(
        (s) => s.metadata.labels?.["istio/multiCluster"] === "true",
    );
const cacerts = (result: StackEvaluation) =>
    kubernetesObjects(result.resources).find(
        (o) => o.kind === "Secret" && o.metadata.name === "cacerts" && o.metadata.namespace === "istio-system",
    );
const published = (result: StackEvaluation) => unsecret(result.outputs.publishedForPeers);
const ofType = (result: StackEvaluation, type: string) => result.resources.filter((r) => r.type === type && inMesh(r));
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const ROOT_CERT = "tls:index/selfSignedCert:SelfSignedCert";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

const HTTP01 = { tls: { issuer: "acme-http01", acmeEmail: "platform-team@example.com" } };
const K3D = { cluster: { identifier: "dev-local", distribution: "k3d" } };
prefetch(...STACKS.map((stack) => ({ stack })), ...PRODUCTION.map((stack) => ({ stack, configOverrides: HTTP01 })), {
    stack: "dev",
    configOverrides: K3D,
});
prefetchBootstrap();

/** Resources of the mesh layer (other layers have certificate authorities of their own, e.g. Redis Enterprise's). */
const inMesh = (r: RecordedResource) => r.urn.includes("ecommerce:platform:ServiceMesh");

describe("service mesh", () => {
    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            it("installs Istio from the official repository, pinned to one exact version, with fixed names and timeouts", async () => {
                const { resources } = await deployedStack(stack);
                const istio = helmReleases(resources).filter((r) => ISTIO_CHARTS.includes(r.inputs.chart));
                const expected = [
                    "istio-base",
                    "istio-cni",
                    "istiod",
                    "istio-ingressgateway",
                    // The regions also run the gateway Redis Enterprise peers reach (tests/redis-enterprise.test.ts).
                    ...(stack === "dev" ? [] : ["istio-eastwestgateway", "redis-enterprise-peer-gateway"]),
                ];
                assert.deepEqual(istio.map((r) => r.inputs.name).sort(), expected.sort());
                for (const r of istio) {
                    assert.equal(r.inputs.repositoryOpts?.repo, ISTIO_REPO, `${r.inputs.name} repository`);
                    assert.equal(r.inputs.version, "1.30.3", `${r.inputs.name} version`);
                    assert.equal(r.inputs.createNamespace, false, `${r.inputs.name} createNamespace`);
                    assert.ok(
                        typeof r.inputs.timeout === "number" && r.inputs.timeout >= 300,
                        `${r.inputs.name} has an explicit timeout`,
                    );
                }
            });

            it("orders base -> istiod -> gateways; cni installs alongside base, before istiod", async () => {
                const { resources } = await deployedStack(stack);
                const base = release(resources, "istio-base");
                const cni = release(resources, "istio-cni");
                const istiod = release(resources, "istiod");
                const ns = named(kubernetesObjects(resources), "Namespace", "istio-system").$resource;
                const cniNs = named(kubernetesObjects(resources), "Namespace", "istio-cni").$resource;
                assert.ok(waitsFor(resources, base, ns.urn), "base waits for istio-system");
                assert.ok(waitsFor(resources, cni, cniNs.urn), "cni waits for istio-cni");
                assert.ok(!waitsFor(resources, cni, base.urn), "cni does not wait for base (independent)");
                assert.ok(waitsFor(resources, istiod, base.urn), "istiod waits for base");
                assert.ok(
                    waitsFor(resources, istiod, cni.urn),
                    "istiod waits for cni (injected pods need the node agent)",
                );
                for (const gw of helmReleases(resources).filter((r) => r.inputs.chart === "gateway"))
                    assert.ok(
                        waitsFor(resources, gw, istiod.urn),
                        `${gw.inputs.name} waits for istiod (its pods are injected)`,
                    );
            });

            it("orders every Istio custom resource after the CRDs (base) and istiod's validating webhook, and each is valid against its schema", async () => {
                const { resources } = await deployedStack(stack);
                const base = release(resources, "istio-base");
                const istiod = release(resources, "istiod");
                const istio = kubernetesObjects(resources).filter(isIstio);
                assert.ok(istio.length >= 2, "the mesh creates Istio resources");
                const unordered = istio.filter(
                    (o) => !waitsFor(resources, o.$resource, base.urn) || !waitsFor(resources, o.$resource, istiod.urn),
                );
                assert.deepEqual(unordered.map(label), []);
                assert.deepEqual(
                    istio.flatMap((o) => schemaProblems(o).map((p) => `${label(o)}: ${p}`)),
                    [],
                );
            });

            it("enforces STRICT mutual TLS mesh-wide and never disables it for a whole workload", async () => {
                const objects = kubernetesObjects((await deployedStack(stack)).resources);
                assert.equal(named(objects, "PeerAuthentication", "default", "istio-system").spec.mtls.mode, "STRICT");
                const weakened = ofKind(objects, "PeerAuthentication").filter(
                    (p) => p.spec?.mtls?.mode && p.spec.mtls.mode !== "STRICT",
                );
                assert.deepEqual(weakened.map(label), []);
            });

            it("injects sidecars into every namespace that runs our services or carries mesh traffic policy, and lets their pods reach istiod", async () => {
                const objects = kubernetesObjects((await deployedStack(stack)).resources);
                const injected = new Set(
                    ofKind(objects, "Namespace")
                        .filter((n) => n.metadata.labels?.["istio-injection"] === "enabled")
                        .map((n) => n.metadata.name!),
                );
                const microserviceNamespaces = ofKind(objects, "Deployment")
                    .filter((d) => d.$resource.parent?.includes("ecommerce:platform:Microservice::"))
                    .map((d) => d.metadata.namespace!);
                const trafficNamespaces = objects
                    .filter((o) => ["DestinationRule", "VirtualService"].includes(o.kind) && !o.spec?.gateways)
                    .map((o) => o.metadata.namespace!);
                const missing = [...new Set([...microserviceNamespaces, ...trafficNamespaces])].filter(
                    (ns) => !injected.has(ns),
                );
                assert.deepEqual(missing, [], "namespaces without istio-injection=enabled");
                // A default-deny namespace with sidecars needs egress to istiod (xDS and certificates, port 15012).
                for (const ns of injected) {
                    const policies = ofKind(objects, "NetworkPolicy", ns);
                    if (!policies.some((p) => p.metadata.name === "default-deny")) continue;
                    const toIstiod = policies.some((p) =>
                        (p.spec.egress ?? []).some(
                            (e: any) =>
                                (e.ports ?? []).some((port: any) => port.port === 15012) &&
                                (e.to ?? []).some(
                                    (t: any) =>
                                        t.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ===
                                        "istio-system",
                                ),
                        ),
                    );
                    assert.ok(toIstiod, `namespace ${ns} allows egress to istiod:15012`);
                }
            });

            it("runs istiod with the CNI node agent, native sidecars, RuntimeDefault seccomp and tier-sized resources", async () => {
                const { resources } = await deployedStack(stack);
                const values = release(resources, "istiod").inputs.values;
                assert.equal(values.cni?.enabled, true);
                assert.equal(values.pilot, undefined, "istiod 1.30 takes top-level keys, not pilot.*");
                assert.equal(values.env?.ENABLE_NATIVE_SIDECARS, "true");
                assert.equal(values.seccompProfile?.type, "RuntimeDefault");
                assert.equal(values.global?.proxy?.seccompProfile?.type, "RuntimeDefault");
                const sidecarMemory = values.global.proxy.resources.requests.memory;
                assert.equal(sidecarMemory, stack === "dev" ? "40Mi" : "128Mi");
                assert.equal(values.resources.requests.cpu, stack === "dev" ? "100m" : "500m");
                if (values.global?.platform !== undefined)
                    assert.ok(["gke", "k3d", "minikube"].includes(values.global.platform));
                const tracer = values.meshConfig?.extensionProviders?.[0];
                assert.equal(tracer?.opentelemetry?.service, "jaeger.monitoring.svc.cluster.local");
                assert.equal(tracer?.opentelemetry?.port, 4317);
                const telemetry = named(kubernetesObjects(resources), "Telemetry", "mesh-default", "istio-system");
                assert.equal(telemetry.spec.tracing[0].providers[0].name, tracer.name);
                assert.equal(telemetry.spec.tracing[0].randomSamplingPercentage, stack === "dev" ? 100 : 5);
            });

            it("serves the public entry point from the ingress gateway (label istio=ingressgateway, restricted pods, no LoadBalancer on laptops)", async () => {
                const { resources } = await deployedStack(stack);
                const gw = release(resources, "istio-ingressgateway");
                assert.equal(gw.inputs.namespace, "istio-ingress");
                assert.equal(gw.inputs.values.service.type, stack === "dev" ? "NodePort" : "LoadBalancer");
                assert.equal(gw.inputs.values.securityContext.seccompProfile.type, "RuntimeDefault");
                assert.deepEqual(gw.inputs.values.securityContext.sysctls, [
                    { name: "net.ipv4.ip_unprivileged_port_start", value: "0" },
                ]);
                const objects = kubernetesObjects(resources);
                assert.equal(
                    named(objects, "Namespace", "istio-ingress").metadata.labels?.[
                        "pod-security.kubernetes.io/enforce"
                    ],
                    "restricted",
                );
                const gateway = named(objects, "Gateway", "public-gateway", "istio-ingress");
                assert.deepEqual(gateway.spec.selector, { istio: "ingressgateway" });
                const domain = stack === "dev" ? "localtest.me" : `${stack}.shop.example.com`;
                for (const server of gateway.spec.servers) assert.deepEqual(server.hosts, [`api.${domain}`]);
                // HTTPS from Secret api-tls (issued next to the gateway); plain HTTP redirected to HTTPS
                // (dev's CA issuer and the regions' DNS-01 need nothing on port 80).
                const byPort = Object.fromEntries(gateway.spec.servers.map((s: any) => [s.port.number, s]));
                assert.equal(byPort[443]?.tls?.credentialName, "api-tls");
                assert.equal(byPort[443]?.tls?.mode, "SIMPLE");
                assert.equal(byPort[80]?.tls?.httpsRedirect, true);
                const certificate = named(objects, "Certificate", "api-tls", "istio-ingress");
                assert.deepEqual(certificate.spec.dnsNames, [`api.${domain}`]);
                assert.ok(
                    waitsFor(
                        resources,
                        certificate.$resource,
                        named(objects, "Namespace", "istio-ingress").$resource.urn,
                    ),
                    "the Certificate waits for its namespace",
                );
                // Routes bound to the public gateway reference it by namespace/name (the Redis Enterprise
                // peers' routes are bound to their own gateway).
                for (const vs of ofKind(objects, "VirtualService").filter(
                    (v) => v.spec.gateways && v.metadata.namespace !== "redis-enterprise-peers",
                ))
                    assert.deepEqual(vs.spec.gateways, ["istio-ingress/public-gateway"], label(vs));
            });

            if (stack !== "dev") {
                it("leaves port 80 of the API host to cert-manager's solver when the issuer is ACME HTTP-01", async () => {
                    const overrides = { tls: { issuer: "acme-http01", acmeEmail: "platform-team@example.com" } };
                    const objects = kubernetesObjects(
                        (await deployedStack(stack, { configOverrides: overrides })).resources,
                    );
                    const gateway = named(objects, "Gateway", "public-gateway", "istio-ingress");
                    assert.deepEqual(
                        gateway.spec.servers.map((x: any) => x.port.number),
                        [443],
                        "a redirect would send the challenge to HTTPS (istio/istio#27643)",
                    );
                });
            }

            it("serves every Kubernetes Ingress: its IngressClass exists and names Istio's controller", async () => {
                const objects = kubernetesObjects((await deployedStack(stack)).resources);
                const classes = ofKind(objects, "IngressClass");
                assert.deepEqual(
                    classes.map((c) => [c.metadata.name, c.spec.controller]),
                    [["istio", "istio.io/ingress-controller"]],
                );
                const ingresses = ofKind(objects, "Ingress");
                assert.ok(ingresses.length > 0);
                for (const ing of ingresses)
                    assert.ok(
                        classes.some((c) => c.metadata.name === ing.spec.ingressClassName),
                        `${label(ing)} has class ${ing.spec.ingressClassName}`,
                    );
            });

            it("keeps istio-system (CA, remote secrets) restricted; the CNI agent alone in a documented privileged namespace; both default-deny", async () => {
                const { resources } = await deployedStack(stack);
                const objects = kubernetesObjects(resources);
                const system = named(objects, "Namespace", "istio-system");
                assert.equal(system.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
                const cniNs = named(objects, "Namespace", "istio-cni");
                assert.equal(cniNs.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
                assert.match(Object.values(cniNs.metadata.annotations ?? {}).join(" "), /istio-cni/);
                assert.equal(release(resources, "istio-cni").inputs.namespace, "istio-cni");
                const privileged = ofKind(objects, "Namespace")
                    .filter((n) => n.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "privileged")
                    .map((n) => n.metadata.name);
                assert.ok(!privileged.includes("istio-system"), "no privileged pods next to the CA key");
                for (const ns of ["istio-system", "istio-cni"])
                    assert.ok(
                        ofKind(objects, "NetworkPolicy", ns).some((p) => p.metadata.name === "default-deny"),
                        `${ns} default-deny`,
                    );
                // cni and istiod bring their chart's NetworkPolicy; the gateways get the program's (the chart's
                // allows every egress, the metadata endpoint included): the mesh's ingress and east-west
                // gateways here, the Redis Enterprise peer gateway its own (tests/redis-enterprise.test.ts).
                for (const r of helmReleases(resources).filter((x) =>
                    ["cni", "istiod", "gateway"].includes(x.inputs.chart),
                )) {
                    const own = r.inputs.chart === "gateway";
                    assert.equal(
                        r.inputs.values.global?.networkPolicy?.enabled,
                        !own,
                        `${r.inputs.name}: the ${own ? "program's" : "chart's"} NetworkPolicy`,
                    );
                    if (own && r.inputs.name !== "redis-enterprise-peer-gateway")
                        assert.ok(
                            ofKind(objects, "NetworkPolicy", r.inputs.namespace).some(
                                (p) => !!p.metadata.name?.endsWith("gateway-traffic") && p.spec.egress?.length > 0,
                            ),
                            `${r.inputs.name} has its egress rules`,
                        );
                }
            });
        });
    }

    describe("distributions", () => {
        const cases: [string, string, Parameters<typeof deployedStack>[1], string | undefined][] = [
            ["dev on kind", "dev", {}, undefined],
            [
                "dev on k3d",
                "dev",
                { configOverrides: { cluster: { identifier: "dev-local", distribution: "k3d" } } },
                "k3d",
            ],
            ["eu on GKE", "eu", {}, "gke"],
            ["us on EKS", "us", {}, undefined],
        ];
        for (const [title, stack, options, platform] of cases) {
            it(`${title}: Istio platform ${platform ?? "unset"}, CNI paths left to the chart and its platform profile`, async () => {
                const { resources } = await deployedStack(stack, options);
                for (const name of ["istio-cni", "istiod"]) {
                    const values = release(resources, name).inputs.values;
                    assert.equal(values.global?.platform, platform, `${name} global.platform`);
                    assert.equal(values.cniBinDir, undefined, `${name} cniBinDir`);
                    assert.equal(values.cniConfDir, undefined, `${name} cniConfDir`);
                }
            });
        }
    });

    describe("dev (single cluster)", () => {
        it("creates no multi-cluster objects: no mesh ID, no CA, no east-west gateway, no remote secrets, nothing pending", async () => {
            const result = await deployedStack("dev");
            const istiod = release(result.resources, "istiod");
            assert.equal(istiod.inputs.values.global.meshID, undefined);
            assert.equal(istiod.inputs.values.global.network, undefined);
            assert.equal(cacerts(result), undefined);
            assert.deepEqual(remoteSecrets(result), []);
            assert.deepEqual(
                result.resources
                    .filter((r) => r.type.startsWith("tls:") && r.urn.includes("ecommerce:platform:ServiceMesh$"))
                    .map((r) => r.name),
                [],
                "no mesh CA keys or certificates",
            );
            assert.ok(
                !kubernetesObjects(result.resources).some(
                    (o) => o.kind === "Gateway" && o.metadata.name === "cross-network-gateway",
                ),
            );
            assert.deepEqual(meshPending(result), []);
            assert.equal(unsecret(result.outputs.publishedForPeers).mesh, undefined);
        });
    });

    describe("multi-primary across regions", () => {
        for (const stack of PRODUCTION) {
            it(`${stack}: one mesh ID, its own network and cluster name, an east-west gateway for *.local on 15443`, async () => {
                const result = await deployedStack(stack);
                const values = release(result.resources, "istiod").inputs.values;
                assert.equal(values.global.meshID, "ecommerce-mesh");
                assert.equal(values.global.network, `network-${stack}`);
                assert.equal(values.global.multiCluster.clusterName, `ecommerce-${stack}`);
                assert.equal(values.env.ISTIO_MULTIROOT_MESH, "true", "trusts every root of the bundle");
                const objects = kubernetesObjects(result.resources);
                assert.equal(
                    named(objects, "Namespace", "istio-system").metadata.labels?.["topology.istio.io/network"],
                    `network-${stack}`,
                );
                const ew = release(result.resources, "istio-eastwestgateway");
                assert.equal(ew.inputs.namespace, "istio-system");
                assert.equal(ew.inputs.values.networkGateway, `network-${stack}`);
                assert.equal(ew.inputs.values.service.type, "LoadBalancer");
                const cross = named(objects, "Gateway", "cross-network-gateway", "istio-system");
                assert.deepEqual(cross.spec.servers, [
                    {
                        port: { number: 15443, name: "tls", protocol: "TLS" },
                        tls: { mode: "AUTO_PASSTHROUGH" },
                        hosts: ["*.local"],
                    },
                ]);
            });
        }

        it("eu with no peer deployed: its own intermediate key and request, an empty cacerts (istiod's own CA until signed), everything regional deployed", async () => {
            const result = await deployedStack("eu");
            const secret = cacerts(result);
            assert.ok(secret, "cacerts exists");
            assert.deepEqual(secret.stringData ?? {}, {}, "no certificate yet: istiod runs its self-signed CA");
            assert.ok(
                secret.$resource.ignoreChanges.includes("stringData"),
                "a running region keeps the certificates it has until the root's stack signs its request",
            );
            assert.deepEqual(
                ofType(result, PRIVATE_KEY)
                    .map((r) => r.name)
                    .filter((n) => n.startsWith("mesh-")),
                ["mesh-intermediate-ca-key"],
            );
            assert.deepEqual(ofType(result, ROOT_CERT), [], "eu holds no root");
            assert.deepEqual(ofType(result, SIGNED), [], "eu signs nothing");
            assert.deepEqual(remoteSecrets(result), []);
            assert.deepEqual(meshPending(result), [
                "mesh:asia",
                "mesh:east-west-sources",
                "mesh:reader-token",
                "mesh:root-ca",
                "mesh:us",
            ]);
            release(result.resources, "istiod");
            release(result.resources, "istio-eastwestgateway");
            const mesh = published(result).mesh;
            assert.equal(mesh.clusterName, "ecommerce-eu");
            assert.equal(mesh.intermediateRequest.generation, 1);
            assert.match(mesh.intermediateRequest.csrPem, /BEGIN CERTIFICATE REQUEST/);
            assert.deepEqual(mesh.egressCidrs, ["198.51.100.10/32"]);
            assert.equal(mesh.ca, undefined, "only the root's stack publishes certificates");
            assert.equal(mesh.readerKubeconfig, undefined, "no kubeconfig without a minted token");
        });

        describe("bootstrap in the deploy workflow's order (each step sees what the earlier ones published)", () => {
            it("step 1, eu before any peer: publishes a reader kubeconfig with its short-lived token and the cluster CA", async () => {
                const { first } = await bootstrap();
                const kubeconfig = parseYaml(published(first.eu).mesh.readerKubeconfig);
                assert.equal(kubeconfig.clusters[0].cluster.server, "https://api.ecommerce-eu.k8s.example.com");
                assert.match(
                    Buffer.from(kubeconfig.clusters[0].cluster["certificate-authority-data"], "base64").toString(),
                    /BEGIN CERTIFICATE/,
                );
                const claims = jwtClaims(kubeconfig.users[0].user.token)!;
                assert.equal(claims.sub, READER_SUBJECT);
                assert.ok((claims.exp as number) - (claims.iat as number) <= 7 * 24 * 3600, "expires within a week");
                assert.ok(
                    isSecretOutputAt(first.eu.outputs.publishedForPeers),
                    "what a region publishes (with the kubeconfig) is a secret output",
                );
            });

            it("step 2, us (the root's stack): signs each region's request with its root, path length 0, a year at most", async () => {
                const { owner, first } = await bootstrap();
                const signed = ofType(owner, SIGNED);
                assert.deepEqual(signed.map((r) => r.name).sort(), [
                    "mesh-intermediate-ca",
                    "mesh-intermediate-ca-asia",
                    "mesh-intermediate-ca-eu",
                ]);
                const root = ofType(owner, ROOT_CERT);
                assert.equal(root.length, 1);
                for (const cert of signed) {
                    assert.equal(cert.inputs.isCaCertificate, true);
                    assert.equal(cert.inputs.maxPathLength, 0, `${cert.name}: signs no further CA`);
                    assert.ok(cert.inputs.validityPeriodHours <= 365 * 24, `${cert.name}: valid a year at most`);
                    assert.ok(cert.inputs.earlyRenewalHours > 0, `${cert.name}: renewed by a later up`);
                }
                const forEu = signed.find((r) => r.name === "mesh-intermediate-ca-eu")!;
                assert.equal(forEu.inputs.certRequestPem, published(first.eu).mesh.intermediateRequest.csrPem);
                const ca = published(owner).mesh.ca;
                assert.deepEqual(Object.keys(ca.issued).sort(), ["asia", "eu", "us"]);
                assert.deepEqual(ca.trustedRoots, [1]);
                assert.equal(ca.issued.eu.generation, 1);
                assert.ok(ca.issued.eu.chainPem.endsWith(ca.trustBundlePem), "chain ends with the root");
                assert.deepEqual(
                    remoteSecrets(owner)
                        .map((s) => s.metadata.name)
                        .sort(),
                    ["istio-remote-secret-ecommerce-asia", "istio-remote-secret-ecommerce-eu"],
                );
                assert.deepEqual(meshPending(owner), []);
            });

            it("step 2, us: its east-west gateway accepts only the peers' published egress ranges (load balancer and gateway)", async () => {
                const { owner } = await bootstrap();
                const ew = release(owner.resources, "istio-eastwestgateway");
                const ranges = ["192.0.2.10/32", "198.51.100.10/32"];
                assert.deepEqual(ew.inputs.values.service.loadBalancerSourceRanges, ranges);
                assert.equal(
                    ew.inputs.values.service.externalTrafficPolicy,
                    "Local",
                    "the gateway sees client addresses",
                );
                const policy = named(
                    kubernetesObjects(owner.resources),
                    "AuthorizationPolicy",
                    "east-west-peers-only",
                    "istio-system",
                );
                assert.equal(policy.spec.action, "ALLOW");
                assert.deepEqual(policy.spec.selector.matchLabels, { istio: "eastwestgateway" });
                assert.deepEqual(policy.spec.rules, [
                    { from: [{ source: { ipBlocks: ranges } }], to: [{ operation: { ports: ["15443"] } }] },
                ]);
            });

            it("step 3, eu again: cacerts holds its own key with the certificate us signed and the trust bundle; istiod restarts on it", async () => {
                const { linked, owner } = await bootstrap();
                const secret = cacerts(linked)!;
                const ca = published(owner).mesh.ca;
                assert.deepEqual(Object.keys(secret.stringData).sort(), [
                    "ca-cert.pem",
                    "ca-key.pem",
                    "cert-chain.pem",
                    "root-cert.pem",
                ]);
                assert.equal(secret.stringData["ca-cert.pem"], ca.issued.eu.certPem);
                assert.equal(secret.stringData["cert-chain.pem"], ca.issued.eu.chainPem);
                assert.equal(secret.stringData["root-cert.pem"], ca.trustBundlePem);
                assert.equal(
                    secret.stringData["ca-key.pem"],
                    mockPem("eu", "mesh-intermediate-ca-key", "PRIVATE KEY"),
                    "eu's own key, created in eu",
                );
                assert.ok(secretEntry(secret, "ca-key.pem"), "the key is a Pulumi secret");
                assert.deepEqual(secret.$resource.ignoreChanges, [], "written, not left as it was");
                const istiod = release(linked.resources, "istiod");
                assert.ok(waitsFor(linked.resources, istiod, secret.$resource.urn), "istiod starts after cacerts");
                assert.match(istiod.inputs.values.podAnnotations["ecommerce-platform.io/mesh-ca"], /^[0-9a-f]{16}$/);
                assert.deepEqual(ofType(linked, SIGNED), [], "eu signs nothing");
                assert.deepEqual(meshPending(linked), []);
            });
        });

        it("the first step's istiod restarts when its CA arrives (the fingerprint changes from pending)", async () => {
            const { first, linked } = await bootstrap();
            const annotation = (r: StackEvaluation) =>
                release(r.resources, "istiod").inputs.values.podAnnotations["ecommerce-platform.io/mesh-ca"];
            assert.equal(annotation(first.eu), "pending");
            assert.notEqual(annotation(linked), "pending");
        });
    });

    describe("CA plan: rotation and pending states, from config and the root's publication alone", () => {
        const eu = configOf("eu");
        const withKey = (g: number) => ({ ...eu, mesh: { ...eu.mesh, intermediateKey: g } });
        const issuedFor = (generation: number) => ({
            trustBundlePem: "ROOTS",
            trustedRoots: [1],
            issued: { eu: { generation, rootGeneration: 1, certPem: "C", chainPem: "CR" } },
        });
        it("waits for the root's stack, then for its request to be signed", () => {
            assert.deepEqual(caPlan(eu, undefined), { roots: [], keys: [1], pending: ["mesh:root-ca"] });
            assert.deepEqual(caPlan(eu, { trustBundlePem: "ROOTS", trustedRoots: [1], issued: {} }).pending, [
                "mesh:intermediate-ca",
            ]);
            assert.deepEqual(caPlan(eu, issuedFor(1)), { roots: [], keys: [1], activeKey: 1, pending: [] });
        });
        it("a new intermediate key generation keeps the old key in use until the new request is signed", () => {
            assert.deepEqual(caPlan(withKey(2), issuedFor(1)), {
                roots: [],
                keys: [1, 2],
                activeKey: 1,
                pending: ["mesh:intermediate-ca"],
            });
            assert.deepEqual(caPlan(withKey(2), issuedFor(2)), { roots: [], keys: [2], activeKey: 2, pending: [] });
        });
        it("the root's stack holds every trusted root and signs with the configured one", () => {
            const us = configOf("us", { mesh: { rootCa: { trusted: [1, 2], signing: 2 } } });
            assert.deepEqual(caPlan(us, undefined), {
                roots: [1, 2],
                signingRoot: 2,
                keys: [1],
                activeKey: 1,
                pending: [],
            });
        });
        it("keeps generation 1 under the names the first version deployed (no replacement on upgrade)", () => {
            assert.equal(caNames.rootKey("mesh", 1), "mesh-root-ca-key");
            assert.equal(caNames.key("mesh", 1), "mesh-intermediate-ca-key");
            assert.equal(caNames.request("mesh", 1), "mesh-intermediate-ca-csr");
            assert.equal(caNames.issued("mesh", "us", true), "mesh-intermediate-ca");
            assert.equal(caNames.key("mesh", 2), "mesh-intermediate-ca-key-g2");
        });
    });

    describe("peer access: a dedicated reader account with a short-lived token", () => {
        it("creates no non-expiring token Secret, switches the charts' reader RBAC off, and binds a role that cannot read Secrets", async () => {
            const { owner } = await bootstrap();
            const objects = kubernetesObjects(owner.resources);
            assert.deepEqual(
                ofKind(objects, "Secret")
                    .filter((s) => s.type === "kubernetes.io/service-account-token")
                    .map(label),
                [],
            );
            for (const name of ["istio-base", "istiod"])
                assert.equal(release(owner.resources, name).inputs.values.global.enableReaderRBAC, false, name);
            const role = named(objects, "ClusterRole", "istio-remote-reader");
            assert.deepEqual(role.rules, remoteReaderRules());
            const resources = role.rules.flatMap((r: any) => r.resources);
            for (const forbidden of ["secrets", "configmaps", "serviceaccounts/token", "*"])
                assert.ok(!resources.includes(forbidden), `no ${forbidden} cluster-wide`);
            assert.ok(role.rules.every((r: any) => r.verbs.every((v: string) => ["get", "list", "watch"].includes(v))));
            const binding = named(objects, "ClusterRoleBinding", "istio-remote-reader");
            assert.deepEqual(binding.subjects, [
                { kind: "ServiceAccount", name: "istio-remote-reader", namespace: "istio-system" },
            ]);
            const local = named(objects, "Role", "istio-remote-reader", "istio-system");
            assert.deepEqual(local.rules, [
                {
                    apiGroups: [""],
                    resources: ["configmaps"],
                    resourceNames: ["istio"],
                    verbs: ["get", "list", "watch"],
                },
            ]);
            assert.equal(
                named(objects, "ServiceAccount", "istio-remote-reader", "istio-system").automountServiceAccountToken,
                false,
            );
        });

        const problem = (token: string) => readerTokenProblem(token, Math.floor(Date.now() / 1000));
        it("accepts only a reader token that expires within a week; says why otherwise, without quoting it", () => {
            assert.equal(problem(serviceAccountToken(READER_SUBJECT)), undefined);
            assert.match(
                problem(serviceAccountToken("system:serviceaccount:kube-system:admin"))!,
                /not of another account/,
            );
            assert.match(problem(serviceAccountToken(READER_SUBJECT, { exp: null }))!, /expires/);
            const now = Math.floor(Date.now() / 1000);
            assert.match(problem(serviceAccountToken(READER_SUBJECT, { exp: now + 30 * 24 * 3600 }))!, /at most 168h/);
            assert.match(
                problem(serviceAccountToken(READER_SUBJECT, { iat: now - 8 * 24 * 3600, exp: now - 24 * 3600 }))!,
                /expired/,
            );
            assert.match(problem("not-a-token")!, /JWT/);
        });

        it("refuses the token when set in plain text, or in a stack without the multi-cluster mesh", () => {
            const token = serviceAccountToken(READER_SUBJECT);
            assert.throws(
                () => configOf("eu", { meshReaderToken: token }),
                /meshReaderToken \(value hidden\): expected a secret/,
            );
            assert.throws(
                () => configOf("dev", { meshReaderToken: secretValue(token) }),
                /layers.multiCluster is false/,
            );
            assert.throws(
                () =>
                    configOf("eu", {
                        meshReaderToken: secretValue(serviceAccountToken(READER_SUBJECT, { exp: null })),
                    }),
                (e: Error) => /expires/.test(e.message) && !e.message.includes(token.slice(0, 20)),
            );
        });
    });
});
