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
import { STACKS } from "./harness/stack-config";
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

const isIstio = (o: K8sObject) => /\.istio\.io\//.test(o.apiVersion);
const label = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

// A root CA and a reader kubeconfig as a peer region's stack would publish them.
const ROOT = {
    certPem: "-----BEGIN CERTIFICATE-----\nMOCKUSROOT\n-----END CERTIFICATE-----\n",
    keyPem: "-----BEGIN PRIVATE KEY-----\nMOCKUSROOTKEY\n-----END PRIVATE KEY-----\n",
};
const published = (region: "us" | "eu" | "asia", withRoot: boolean) => ({
    publishedForPeers: {
        region,
        mesh: {
            clusterName: `ecommerce-${region}`,
            network: `network-${region}`,
            readerKubeconfig: `apiVersion: v1\nkind: Config\n# reader kubeconfig of ecommerce-${region}\n`,
            ...(withRoot ? { rootCa: ROOT } : {}),
        },
    },
});
const stackName = (region: string) => `acme/ecommerce-platform/${region}`;

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

const HTTP01 = { tls: { issuer: "acme-http01", acmeEmail: "platform-team@example.com" } };
const K3D = { cluster: { identifier: "dev-local", distribution: "k3d" } };
const EU_WITH_US = { stackOutputs: { [stackName("us")]: published("us", true) } };
const EU_WITH_ALL = {
    stackOutputs: { [stackName("us")]: published("us", true), [stackName("asia")]: published("asia", false) },
};
const EU_WITH_PARTIAL = {
    stackOutputs: {
        [stackName("us")]: published("us", true),
        [stackName("asia")]: {
            publishedForPeers: { region: "asia", mesh: { clusterName: "ecommerce-asia", network: "network-asia" } },
        },
    },
};
prefetch(
    ...STACKS.map((stack) => ({ stack })),
    ...PRODUCTION.map((stack) => ({ stack, configOverrides: HTTP01 })),
    { stack: "dev", configOverrides: K3D },
    { stack: "eu", ...EU_WITH_US },
    { stack: "eu", ...EU_WITH_ALL },
    { stack: "eu", ...EU_WITH_PARTIAL },
);

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
                assert.ok(waitsFor(resources, base, ns.urn), "base waits for istio-system");
                assert.ok(waitsFor(resources, cni, ns.urn), "cni waits for istio-system");
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

            it("keeps istio-system's privileged exception documented and its traffic default-deny", async () => {
                const objects = kubernetesObjects((await deployedStack(stack)).resources);
                const ns = named(objects, "Namespace", "istio-system");
                assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
                assert.match(Object.values(ns.metadata.annotations ?? {}).join(" "), /istio-cni/);
                assert.ok(
                    ofKind(objects, "NetworkPolicy", "istio-system").some((p) => p.metadata.name === "default-deny"),
                );
                // The Redis Enterprise peer gateway replaces the chart's policy (open to all) with its own,
                // which admits the peers' addresses only (tests/redis-enterprise.test.ts).
                for (const r of helmReleases((await deployedStack(stack)).resources).filter(
                    (x) =>
                        ["cni", "istiod", "gateway"].includes(x.inputs.chart) &&
                        x.inputs.name !== "redis-enterprise-peer-gateway",
                ))
                    assert.equal(
                        r.inputs.values.global?.networkPolicy?.enabled,
                        true,
                        `${r.inputs.name} ships its NetworkPolicy`,
                    );
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

        it("eu with no peer deployed: deploys everything regional, no cacerts or remote secrets, reports the root CA and both peers pending", async () => {
            const result = await deployedStack("eu");
            assert.equal(cacerts(result), undefined);
            assert.deepEqual(remoteSecrets(result), []);
            assert.deepEqual(meshPending(result), ["mesh:asia", "mesh:root-ca", "mesh:us"]);
            release(result.resources, "istiod");
            release(result.resources, "istio-eastwestgateway");
            // It still publishes what its peers need from it, but never a root CA it does not hold.
            const mesh = unsecret(result.outputs.publishedForPeers).mesh;
            assert.equal(mesh.clusterName, "ecommerce-eu");
            assert.equal(mesh.network, "network-eu");
            assert.match(mesh.readerKubeconfig, /server: https:\/\/api\.ecommerce-eu\.k8s\.example\.com/);
            assert.equal(mesh.rootCa, undefined);
        });

        it("eu with only us deployed: intermediate CA signed by us's root, a remote secret for us, asia pending", async () => {
            const result = await deployedStack("eu", { stackOutputs: { [stackName("us")]: published("us", true) } });
            const secret = cacerts(result);
            assert.ok(secret, "cacerts exists");
            const data = secret.stringData;
            assert.deepEqual(Object.keys(data).sort(), [
                "ca-cert.pem",
                "ca-key.pem",
                "cert-chain.pem",
                "root-cert.pem",
            ]);
            assert.equal(data["root-cert.pem"], ROOT.certPem);
            assert.ok(data["cert-chain.pem"].endsWith(ROOT.certPem), "chain ends with the shared root");
            assert.ok(secretEntry(secret, "ca-key.pem"), "the intermediate key is a Pulumi secret");
            const signer = result.resources.find(
                (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && inMesh(r),
            );
            assert.equal(unsecret(signer?.inputs.caCertPem), ROOT.certPem, "intermediate signed by the shared root");
            assert.ok(
                waitsFor(result.resources, release(result.resources, "istiod"), secret.$resource.urn),
                "istiod starts after cacerts",
            );
            assert.ok(
                !result.resources.some((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert" && inMesh(r)),
                "eu does not create its own root",
            );

            const remotes = remoteSecrets(result);
            assert.deepEqual(
                remotes.map((s) => s.metadata.name),
                ["istio-remote-secret-ecommerce-us"],
            );
            assert.equal(remotes[0].metadata.annotations?.["networking.istio.io/cluster"], "ecommerce-us");
            assert.match(remotes[0].stringData["ecommerce-us"], /reader kubeconfig of ecommerce-us/);
            assert.ok(secretEntry(remotes[0], "ecommerce-us"), "the kubeconfig is a Pulumi secret");
            assert.deepEqual(meshPending(result), ["mesh:asia"]);
        });

        it("eu with all peers deployed: remote secrets for us and asia, nothing pending for the mesh", async () => {
            const result = await deployedStack("eu", {
                stackOutputs: {
                    [stackName("us")]: published("us", true),
                    [stackName("asia")]: published("asia", false),
                },
            });
            assert.ok(cacerts(result));
            assert.deepEqual(
                remoteSecrets(result)
                    .map((s) => s.metadata.name)
                    .sort(),
                ["istio-remote-secret-ecommerce-asia", "istio-remote-secret-ecommerce-us"],
            );
            assert.deepEqual(meshPending(result), []);
        });

        it("us (the root holder) generates the root, signs its own intermediate and publishes the root only as a secret", async () => {
            const result = await deployedStack("us");
            assert.ok(cacerts(result), "cacerts exists without any peer");
            const root = result.resources.find(
                (r) => r.type === "tls:index/selfSignedCert:SelfSignedCert" && inMesh(r),
            );
            assert.equal(root?.inputs.isCaCertificate, true);
            assert.deepEqual(meshPending(result), ["mesh:asia", "mesh:eu"]);
            const out = result.outputs.publishedForPeers as any;
            assert.ok(out && "$secret" in out, "what a region publishes (with the root key) is a secret output");
            assert.match(unsecret(out).mesh.rootCa.keyPem, /PRIVATE KEY/);
        });

        it("a peer that is deployed but has not published a reader kubeconfig stays pending", async () => {
            const partial = published("asia", false);
            delete (partial.publishedForPeers.mesh as any).readerKubeconfig;
            const result = await deployedStack("eu", {
                stackOutputs: { [stackName("us")]: published("us", true), [stackName("asia")]: partial },
            });
            assert.deepEqual(
                remoteSecrets(result).map((s) => s.metadata.name),
                ["istio-remote-secret-ecommerce-us"],
            );
            assert.deepEqual(meshPending(result), ["mesh:asia"]);
        });
    });

    describe("keys and credentials", () => {
        const scenarios: [string, Parameters<typeof deployedStack>[1]][] = [
            ["dev", {}],
            ["us", {}],
            ["eu", {}],
            [
                "eu",
                {
                    stackOutputs: {
                        [stackName("us")]: published("us", true),
                        [stackName("asia")]: published("asia", false),
                    },
                },
            ],
        ];
        for (const [stack, options] of scenarios) {
            it(`${stack}${options?.stackOutputs ? " (peers deployed)" : ""}: no private key or kubeconfig outside a Secret (ConfigMaps, Helm values, any other object)`, async () => {
                const { resources } = await deployedStack(stack, options);
                const leaks = resources
                    .filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:core/v1:Secret")
                    .filter((r) => /PRIVATE KEY|kind: Config/.test(JSON.stringify(r.inputs)))
                    .map((r) => `${r.type} ${r.name}`);
                assert.deepEqual(leaks, []);
            });
        }
    });
});
