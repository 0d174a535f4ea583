// Cluster add-ons (issue 6): metrics-server, cert-manager with the platform ClusterIssuer and edge
// certificates, external-dns — each on or off per stack, pinned official charts, the issuer and
// solver each stack gets, certificates matching what the edge serves, and credentials only in Secrets.
import * as assert from "node:assert/strict";
import { publicHosts } from "../components/hosts";
import { clusterIssuerSpec } from "../components/addons/issuer";
import { evaluate, formatFindings, toPolicyResource } from "../policy/rules";
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
import { configOf, ROOT, STACKS, stackConfig } from "./harness/stack-config";
import { secretValue } from "../config/files";
import type { RecordedResource, StackEvaluation } from "./harness/types";

type Stack = (typeof STACKS)[number];

const OFFICIAL = {
    "metrics-server": {
        version: "3.13.1",
        repo: "https://kubernetes-sigs.github.io/metrics-server/",
        namespace: "kube-system",
    },
    "cert-manager": { version: "v1.21.1", repo: "https://charts.jetstack.io", namespace: "cert-manager" },
    "external-dns": {
        version: "1.21.1",
        repo: "https://kubernetes-sigs.github.io/external-dns/",
        namespace: "external-dns",
    },
} as const;
type Chart = keyof typeof OFFICIAL;

const releaseOf = (r: StackEvaluation, chart: Chart) =>
    helmReleases(r.resources).filter((x) => x.inputs.chart === chart);
const valuesOf = (rel: RecordedResource) => unsecret(rel.inputs.values ?? {});
const certManagerObjects = (r: StackEvaluation) =>
    kubernetesObjects(r.resources).filter((o) => o.apiVersion.endsWith("cert-manager.io/v1"));
const certificates = (r: StackEvaluation) => certManagerObjects(r).filter((o) => o.kind === "Certificate");
const byUrn = (r: StackEvaluation) => new Map(r.resources.map((x) => [x.urn, x]));

// Secret-looking values no rendered object may contain outside a Secret.
const AWS_KEYS = { accessKeyId: "AKIAADDONSTESTKEY0001", secretAccessKey: "addons-test-aws-secret-9f8e7d" };
const CLOUDFLARE = { apiToken: "addons-test-cloudflare-token-4c3b2a" };

/** Charts that create cert-manager Certificates and Issuers themselves: they wait for cert-manager too. */
const CHARTS_WITH_CERTIFICATES = ["plugin-barman-cloud"];

/** Every layer flipped from the stack's default (the dev stack gets external-dns on Cloudflare with a token). */
function flippedLayers(stack: Stack): Record<string, unknown> {
    const cfg = configOf(stack);
    const layers = {
        ...cfg.layers,
        metricsServer: !cfg.layers.metricsServer,
        certManager: !cfg.layers.certManager,
        externalDns: !cfg.layers.externalDns,
        // Production PostgreSQL (CloudNativePG, required with the shop) needs cert-manager for its backup
        // plugin: a production stack without cert-manager runs neither.
        ...(cfg.layers.certManager && stack !== "dev" ? { cloudNativePg: false, shop: false } : {}),
    };
    if (stack === "dev")
        return {
            layers,
            dns: { provider: "cloudflare", zone: "localtest.me" },
            dnsCredentials: secretValue(CLOUDFLARE),
        };
    // The regions' tls and dns settings would be ignored without cert-manager and external-dns (a
    // configuration error): the flipped stack file leaves them out (null removes a key). Where the
    // distribution runs its own metrics-server, forcing ours on needs the profile to say it has none.
    // Without the shop, its settings and its database's would be ignored too.
    const { stackFile } = stackConfig(ROOT, stack);
    const cluster = stackFile.config?.["ecommerce-platform:cluster"] as Record<string, unknown>;
    const scheduling = stackFile.config?.["ecommerce-platform:scheduling"] as Record<string, unknown>;
    return {
        layers,
        tls: null,
        dns: null,
        ...(layers.shop
            ? {}
            : { shop: null, cloudNativePg: null, scheduling: { ...scheduling, databaseNodeAffinity: undefined } }),
        ...(layers.metricsServer && cfg.cluster.profile.metricsServerProvided
            ? { cluster: { ...cluster, profile: { metricsServerProvided: false } } }
            : {}),
    };
}

const VARIANTS = {
    usDns01WithKeys: {
        stack: "us" as Stack,
        configOverrides: {
            tls: { issuer: "acme-dns01", acmeEmail: "platform-team@example.com" },
            dnsCredentials: secretValue(AWS_KEYS),
        },
    },
    euDns01Identity: {
        stack: "eu" as Stack,
        configOverrides: {
            tls: { issuer: "acme-dns01", acmeEmail: "platform-team@example.com" },
            dns: {
                provider: "google",
                zone: "eu.shop.example.com",
                google: { project: "ecommerce-eu-dns" },
                workloadIdentity: {
                    annotations: {
                        "iam.gke.io/gcp-service-account": "dns-writer@ecommerce-eu-dns.iam.gserviceaccount.com",
                    },
                },
            },
        },
    },
};

prefetch(
    ...STACKS.map((stack) => ({ stack })),
    ...STACKS.map((stack) => ({ stack, configOverrides: flippedLayers(stack) })),
    ...Object.values(VARIANTS).map((v) => ({ stack: v.stack, configOverrides: v.configOverrides })),
);

describe("cluster add-ons", () => {
    describe("metrics-server defaults follow the cluster's distribution", () => {
        const expected: Record<Stack, boolean> = { dev: true, us: true, eu: false, asia: false }; // kind, eks | gke, aks
        for (const stack of STACKS) {
            it(`${stack} (${configOf(stack).cluster.distribution}) ${expected[stack] ? "installs" : "does not install"} metrics-server`, async () => {
                assert.equal(releaseOf(await deployedStack(stack), "metrics-server").length, expected[stack] ? 1 : 0);
            });
        }

        it("k3d (which bundles metrics-server) gets none by default; forcing it on takes a profile without one", () => {
            assert.equal(
                configOf("dev", { cluster: { identifier: "dev-local", distribution: "k3d" } }).layers.metricsServer,
                false,
            );
            assert.equal(
                configOf("dev", { cluster: { identifier: "dev-local", distribution: "minikube" } }).layers
                    .metricsServer,
                true,
            );
            const eu = stackConfig(ROOT, "eu").stackFile.config?.["ecommerce-platform:cluster"] as object;
            assert.throws(
                () => configOf("eu", { layers: { externalDns: true, metricsServer: true } }),
                /layers\.metricsServer = true: expected false: gke clusters run their own metrics-server/,
            );
            assert.equal(
                configOf("eu", {
                    layers: { externalDns: true, metricsServer: true },
                    cluster: { ...eu, profile: { metricsServerProvided: false } },
                }).layers.metricsServer,
                true,
            );
        });

        it("skips kubelet certificate verification only on laptop clusters", async () => {
            const args = (r: StackEvaluation) => valuesOf(releaseOf(r, "metrics-server")[0]).args as string[];
            assert.deepEqual(args(await deployedStack("dev")), ["--kubelet-insecure-tls"]);
            assert.deepEqual(args(await deployedStack("us")), []);
        });

        it("runs two replicas with a disruption budget in production", async () => {
            const v = valuesOf(releaseOf(await deployedStack("us"), "metrics-server")[0]);
            assert.equal(v.replicas, 2);
            assert.equal(v.podDisruptionBudget.enabled, true);
        });
    });

    describe("each layer on and off per stack", () => {
        const layerFootprint = (r: StackEvaluation) => {
            const objects = kubernetesObjects(r.resources);
            return {
                metricsServer: releaseOf(r, "metrics-server").length,
                certManager:
                    releaseOf(r, "cert-manager").length +
                    certManagerObjects(r).length +
                    objects.filter(
                        (o) =>
                            o.metadata.namespace === "cert-manager" ||
                            (o.kind === "Namespace" && o.metadata.name === "cert-manager"),
                    ).length,
                externalDns:
                    releaseOf(r, "external-dns").length +
                    objects.filter(
                        (o) =>
                            o.metadata.namespace === "external-dns" ||
                            (o.kind === "Namespace" && o.metadata.name === "external-dns"),
                    ).length,
            };
        };
        for (const stack of STACKS) {
            for (const variant of ["default", "flipped"] as const) {
                it(`${stack}, ${variant} layers: what is on is installed, what is off creates nothing`, async () => {
                    const overrides = variant === "flipped" ? flippedLayers(stack) : {};
                    const cfg = configOf(stack, overrides);
                    const r = await deployedStack(stack, { configOverrides: overrides });
                    const footprint = layerFootprint(r);
                    for (const layer of ["metricsServer", "certManager", "externalDns"] as const) {
                        if (cfg.layers[layer])
                            assert.ok(footprint[layer] > 0, `${layer} is on but nothing was created`);
                        else
                            assert.equal(
                                footprint[layer],
                                0,
                                `${layer} is off but ${footprint[layer]} of its resources were created`,
                            );
                    }
                    if (!cfg.layers.certManager)
                        assert.deepEqual(
                            certManagerObjects(r).map((o) => `${o.kind} ${o.metadata.name}`),
                            [],
                            "no cert-manager resources anywhere",
                        );
                });
            }
        }

        it("nothing waits on an add-on except what uses it (only cert-manager resources wait on cert-manager)", async () => {
            for (const stack of STACKS) {
                const r = await deployedStack(stack);
                const urns = byUrn(r);
                const addonReleases = helmReleases(r.resources)
                    .filter((x) => x.inputs.chart in OFFICIAL)
                    .map((x) => x.urn);
                const waiting = r.resources.filter((x) => x.dependencies.some((d) => addonReleases.includes(d)));
                const misplaced = waiting.filter(
                    (x) =>
                        !(
                            (x.type.startsWith("kubernetes:cert-manager.io/") ||
                                CHARTS_WITH_CERTIFICATES.includes(x.inputs?.chart)) &&
                            x.dependencies.some((d) => urns.get(d)?.inputs?.chart === "cert-manager")
                        ),
                );
                assert.deepEqual(
                    misplaced.map((x) => `${x.type} ${x.name}`),
                    [],
                    stack,
                );
            }
        });
    });

    describe("charts", () => {
        for (const stack of STACKS) {
            it(`${stack}: every add-on release is the official chart at a pinned version, with a fixed name and namespace`, async () => {
                const r = await deployedStack(stack);
                const releases = helmReleases(r.resources).filter((x) => x.inputs.chart in OFFICIAL);
                assert.ok(releases.length >= 1);
                for (const rel of releases) {
                    const want = OFFICIAL[rel.inputs.chart as Chart];
                    assert.equal(rel.inputs.version, want.version, rel.inputs.chart);
                    assert.equal(rel.inputs.repositoryOpts?.repo, want.repo, rel.inputs.chart);
                    assert.equal(rel.inputs.name, rel.inputs.chart, "release name fixed");
                    assert.equal(rel.inputs.namespace, want.namespace);
                    assert.equal(rel.inputs.createNamespace, false);
                    assert.ok(rel.inputs.timeout > 0, "timeout set");
                }
            });
        }

        it("cert-manager installs its CRDs with the release and runs in a restricted, default-deny namespace", async () => {
            const r = await deployedStack("us");
            const rel = releaseOf(r, "cert-manager")[0];
            assert.equal(valuesOf(rel).crds.enabled, true);
            const objects = kubernetesObjects(r.resources);
            const ns = named(objects, "Namespace", "cert-manager");
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
            assert.ok(rel.dependencies.includes(ns.$resource.urn), "release waits for its namespace");
            assert.ok(named(objects, "NetworkPolicy", "default-deny", "cert-manager"));
            const webhook = named(objects, "NetworkPolicy", "allow-webhook-from-api-server", "cert-manager");
            assert.deepEqual(webhook.spec.ingress[0].ports, [{ protocol: "TCP", port: 10250 }]);
            const egress = ofKind(objects, "NetworkPolicy", "cert-manager")
                .flatMap((p) => p.spec.egress ?? [])
                .flatMap((e: any) => e.ports ?? []);
            assert.ok(
                egress.some((p: any) => p.port === 443),
                "egress to the API server and ACME directory",
            );
        });
    });

    describe("ClusterIssuer and solver choice", () => {
        it("dev: a self-signed root CA signs everything through the CA ClusterIssuer platform-issuer", async () => {
            const objects = certManagerObjects(await deployedStack("dev"));
            const issuer = named(objects, "ClusterIssuer", "platform-issuer");
            const rootCa = objects.find((o) => o.kind === "Certificate" && o.spec.isCA === true)!;
            assert.ok(rootCa, "a CA Certificate");
            assert.equal(
                issuer.spec.ca?.secretName,
                rootCa.spec.secretName,
                "the issuer signs with the root CA's Secret",
            );
            const bootstrap = named(objects, "ClusterIssuer", rootCa.spec.issuerRef.name);
            assert.deepEqual(bootstrap.spec, { selfSigned: {} });
            assert.equal(rootCa.metadata.namespace, "cert-manager", "CA Secret in the cluster resource namespace");
        });

        const DNS01_SOLVER_KEY = {
            aws: "route53",
            google: "cloudDNS",
            azure: "azureDNS",
            cloudflare: "cloudflare",
        } as const;
        for (const stack of ["us", "eu", "asia"] as const) {
            it(`${stack}: ACME with the DNS-01 solver of the stack's DNS provider, for its zone, on workload identity`, async () => {
                const cfg = configOf(stack);
                const issuer = named(
                    certManagerObjects(await deployedStack(stack)),
                    "ClusterIssuer",
                    "platform-issuer",
                );
                assert.equal(issuer.spec.acme.email, cfg.tls.acmeEmail);
                assert.match(issuer.spec.acme.server, /^https:\/\/acme-v02\.api\.letsencrypt\.org\/directory$/);
                const [solver, ...more] = issuer.spec.acme.solvers;
                assert.equal(more.length, 0);
                assert.deepEqual(solver.selector, { dnsZones: [cfg.dns.zone] });
                assert.deepEqual(Object.keys(solver.dns01), [DNS01_SOLVER_KEY[cfg.dns.provider!]]);
                assert.doesNotMatch(
                    JSON.stringify(solver),
                    /SecretRef/,
                    "no credential Secret: the identity is the ServiceAccount's",
                );
                assert.equal(
                    ofKind(certManagerObjects(await deployedStack(stack)), "ClusterIssuer").length,
                    1,
                    "no dev CA in a region",
                );
            });

            it(`${stack} with tls.issuer acme-http01: ACME with the HTTP-01 solver through the Istio ingress class`, async () => {
                const overrides = { tls: { issuer: "acme-http01", acmeEmail: "platform-team@example.com" } };
                const issuer = named(
                    certManagerObjects(await deployedStack(stack, { configOverrides: overrides })),
                    "ClusterIssuer",
                    "platform-issuer",
                );
                const [solver, ...more] = issuer.spec.acme.solvers;
                assert.equal(more.length, 0);
                assert.equal(solver.http01.ingress.ingressClassName, "istio");
                // The solver pods cert-manager starts land where the stack's pods do (the regions' tainted pools).
                const { nodeSelector, tolerations } = configOf(stack).scheduling;
                assert.deepEqual(solver.http01.ingress.podTemplate.spec, { nodeSelector, tolerations });
            });
        }

        it("us with DNS-01 and access keys: Route 53 solver for the zone, keys read from a Secret in cert-manager's namespace", async () => {
            const r = await deployedStack("us", { configOverrides: VARIANTS.usDns01WithKeys.configOverrides });
            const objects = kubernetesObjects(r.resources);
            const issuer = named(objects, "ClusterIssuer", "platform-issuer");
            const [solver] = issuer.spec.acme.solvers;
            assert.deepEqual(solver.selector, { dnsZones: ["us.shop.example.com"] });
            const route53 = solver.dns01.route53;
            for (const ref of [route53.accessKeyIDSecretRef, route53.secretAccessKeySecretRef]) {
                const secret = named(objects, "Secret", ref.name, "cert-manager");
                assert.ok(ref.key in (secret.stringData ?? secret.data ?? {}), `Secret ${ref.name} has key ${ref.key}`);
            }
            assert.equal(route53.accessKeyID, undefined, "no literal key ID");
        });

        it("eu with DNS-01 and workload identity: Cloud DNS solver with ambient credentials; only cert-manager's ServiceAccount gets the identity", async () => {
            const r = await deployedStack("eu", { configOverrides: VARIANTS.euDns01Identity.configOverrides });
            const issuer = named(kubernetesObjects(r.resources), "ClusterIssuer", "platform-issuer");
            assert.deepEqual(issuer.spec.acme.solvers[0].dns01, { cloudDNS: { project: "ecommerce-eu-dns" } });
            const annotation = {
                "iam.gke.io/gcp-service-account": "dns-writer@ecommerce-eu-dns.iam.gserviceaccount.com",
            };
            assert.deepEqual(valuesOf(releaseOf(r, "cert-manager")[0]).serviceAccount.annotations, annotation);
            assert.deepEqual(valuesOf(releaseOf(r, "external-dns")[0]).serviceAccount.annotations, annotation);
            // With HTTP-01, cert-manager needs no cloud identity, even where the stack configures one.
            const plain = await deployedStack("eu", {
                configOverrides: { tls: { issuer: "acme-http01", acmeEmail: "platform-team@example.com" } },
            });
            assert.deepEqual(valuesOf(releaseOf(plain, "cert-manager")[0]).serviceAccount.annotations, {});
        });

        it("asia and cloudflare DNS-01 solvers reference only Secrets or identities", () => {
            const asia = configOf("asia", { tls: { issuer: "acme-dns01", acmeEmail: "platform-team@example.com" } });
            assert.deepEqual((clusterIssuerSpec(asia, false) as any).acme.solvers[0].dns01.azureDNS, {
                subscriptionID: "00000000-0000-0000-0000-000000000000",
                resourceGroupName: "ecommerce-asia-dns",
                hostedZoneName: "asia.shop.example.com",
                environment: "AzurePublicCloud",
                managedIdentity: { clientID: asia.dns.azure!.clientId },
            });
            const cf = configOf("dev", {
                tls: { issuer: "acme-dns01", acmeEmail: "a@example.com" },
                dns: { provider: "cloudflare", zone: "localtest.me" },
                dnsCredentials: secretValue(CLOUDFLARE),
            });
            assert.deepEqual((clusterIssuerSpec(cf, true) as any).acme.solvers[0].dns01, {
                cloudflare: { apiTokenSecretRef: { name: "dns-credentials", key: "apiToken" } },
            });
        });

        it("rejects DNS credentials that do not fit the provider without echoing them, and Cloudflare without a token", () => {
            assert.throws(
                () => configOf("us", { dnsCredentials: secretValue({ apiToken: "leaky-value-123" }) }),
                (e: Error) => {
                    assert.match(
                        e.message,
                        /dnsCredentials has keys \[apiToken\]: expected exactly \{accessKeyId, secretAccessKey\}/,
                    );
                    assert.doesNotMatch(e.message, /leaky-value-123/);
                    return true;
                },
            );
            assert.throws(
                () =>
                    configOf("dev", {
                        layers: { externalDns: true },
                        dns: { provider: "cloudflare", zone: "localtest.me" },
                    }),
                /dnsCredentials \(not set\)/,
            );
            assert.throws(
                () => configOf("asia", { dns: { provider: "azure", zone: "asia.shop.example.com" } }),
                /dns\.azure .*expected \{subscriptionId, resourceGroup\}/,
            );
            assert.throws(
                () => configOf("us", { dns: { provider: "aws", zone: "eu.shop.example.com" } }),
                /domain .*inside dns\.zone eu\.shop\.example\.com/,
            );
        });
    });

    describe("custom resources", () => {
        for (const stack of STACKS) {
            it(`${stack}: cert-manager resources are schema-valid and wait for the cert-manager release`, async () => {
                const r = await deployedStack(stack);
                const rel = releaseOf(r, "cert-manager")[0];
                const objects = certManagerObjects(r);
                assert.ok(objects.length > 0);
                for (const o of objects) {
                    assert.deepEqual(schemaProblems(o), [], `${o.kind} ${o.metadata.name}`);
                    assert.ok(
                        o.$resource.dependencies.includes(rel.urn),
                        `${o.kind} ${o.metadata.name} depends on the cert-manager release`,
                    );
                }
            });
        }
    });

    describe("edge certificates match what the gateway serves", () => {
        for (const stack of STACKS) {
            it(`${stack}: one Certificate per public host in the gateway's namespace, covering every TLS host of the Gateways and Ingresses`, async () => {
                const cfg = configOf(stack);
                const r = await deployedStack(stack);
                const objects = kubernetesObjects(r.resources);
                const edge = certificates(r).filter((c) => !c.spec.isCA);
                const hosts = publicHosts(cfg);
                const bySecret = new Map(edge.map((c) => [c.spec.secretName, c]));
                // The contract: Secret warung-kopi-tls for the shop host, api-tls for the API host, next to the gateway.
                assert.deepEqual(bySecret.get("warung-kopi-tls")?.spec.dnsNames, [hosts.shop]);
                assert.deepEqual(bySecret.get("api-tls")?.spec.dnsNames, [hosts.api]);
                for (const c of edge) {
                    assert.equal(c.metadata.namespace, "istio-ingress");
                    assert.equal(c.spec.issuerRef.name, "platform-issuer");
                    assert.equal(c.spec.issuerRef.kind, "ClusterIssuer");
                }
                // What the edge actually references (other layers build these objects).
                const served: [string, string[]][] = [
                    ...ofKind(objects, "Gateway").flatMap((g: K8sObject) =>
                        (g.spec.servers ?? [])
                            .filter((s: any) => s.tls?.credentialName)
                            .map((s: any): [string, string[]] => [
                                s.tls.credentialName,
                                s.hosts.map((h: string) => h.replace(/^[^/]*\//, "")),
                            ]),
                    ),
                    ...ofKind(objects, "Ingress").flatMap((i: K8sObject) =>
                        (i.spec.tls ?? []).map((t: any): [string, string[]] => [t.secretName, t.hosts ?? []]),
                    ),
                ];
                for (const [secret, names] of served) {
                    const cert = bySecret.get(secret);
                    assert.ok(cert, `the edge serves Secret ${secret}, which no Certificate produces`);
                    assert.deepEqual(
                        [...cert.spec.dnsNames].sort(),
                        [...new Set(names)].sort(),
                        `Certificate ${secret} hosts`,
                    );
                }
            });
        }

        it("regions get a temporary certificate while the ACME order runs; dev certificates need none", async () => {
            const annotated = (r: StackEvaluation) =>
                certificates(r)
                    .filter((c) => !c.spec.isCA)
                    .map((c) => c.metadata.annotations?.["cert-manager.io/issue-temporary-certificate"]);
            assert.deepEqual(annotated(await deployedStack("us")), ["true", "true"]);
            assert.deepEqual(annotated(await deployedStack("dev")), [undefined, undefined]);
        });
    });

    describe("external-dns", () => {
        const providers: Record<string, string> = { us: "aws", eu: "google", asia: "azure" };
        for (const stack of ["us", "eu", "asia"] as const) {
            it(`${stack}: ${providers[stack]} provider, restricted to the stack's zone, owned by this cluster, covering every public name`, async () => {
                const cfg = configOf(stack);
                const v = valuesOf(releaseOf(await deployedStack(stack), "external-dns")[0]);
                assert.equal(v.provider.name, providers[stack]);
                assert.deepEqual(v.domainFilters, [cfg.dns.zone]);
                assert.equal(v.txtOwnerId, cfg.cluster.identifier);
                assert.equal(v.registry, "txt");
                assert.ok(["sync", "upsert-only"].includes(v.policy));
                for (const source of ["ingress", "istio-gateway", "istio-virtualservice"])
                    assert.ok(v.sources.includes(source), source);
                const h = publicHosts(cfg);
                const exampleDb = `orders${h.redisDbSuffix}`;
                for (const name of [h.shop, h.api, h.redisApi, exampleDb])
                    assert.ok(name.endsWith(`.${cfg.dns.zone}`), `${name} is inside the zone external-dns manages`);
            });
        }

        it("asia: the Azure zone coordinates come from a Secret file, authentication from workload identity", async () => {
            const r = await deployedStack("asia");
            const objects = kubernetesObjects(r.resources);
            const v = valuesOf(releaseOf(r, "external-dns")[0]);
            const volume = v.extraVolumes.find((x: any) => x.secret);
            const secret = named(objects, "Secret", volume.secret.secretName, "external-dns");
            const file = JSON.parse(secret.stringData["azure.json"]);
            assert.equal(file.subscriptionId, "00000000-0000-0000-0000-000000000000");
            assert.equal(file.useWorkloadIdentityExtension, true);
            assert.equal(file.aadClientSecret, undefined);
        });
    });

    describe("no credential outside a Secret", () => {
        const cases: [string, () => Promise<StackEvaluation>, string[]][] = [
            [
                "dev with Cloudflare",
                () => deployedStack("dev", { configOverrides: flippedLayers("dev") }),
                Object.values(CLOUDFLARE),
            ],
            [
                "us with AWS keys",
                () => deployedStack("us", { configOverrides: VARIANTS.usDns01WithKeys.configOverrides }),
                Object.values(AWS_KEYS),
            ],
        ];
        for (const [what, evaluation, secrets] of cases) {
            it(`${what}: the credential appears only in Secrets (as Pulumi secrets), never in Helm values, ConfigMaps, env values or outputs`, async () => {
                const r = await evaluation();
                const leaks = r.resources
                    .filter((x) => x.type !== "kubernetes:core/v1:Secret")
                    .filter((x) => secrets.some((s) => JSON.stringify(x.inputs ?? {}).includes(s)));
                assert.deepEqual(
                    leaks.map((x) => `${x.type} ${x.name}`),
                    [],
                );
                assert.ok(!secrets.some((s) => JSON.stringify(r.outputs).includes(s)), "stack outputs");
                const holders = r.resources.filter(
                    (x) =>
                        x.type === "kubernetes:core/v1:Secret" &&
                        secrets.some((s) => JSON.stringify(x.inputs).includes(s)),
                );
                assert.ok(holders.length > 0, "the credential reaches the cluster in a Secret");
                for (const s of holders)
                    assert.ok(
                        "$secret" in (s.inputs.stringData ?? s.inputs.data ?? {}),
                        `${s.name} data is a Pulumi secret`,
                    );
                const envOf = (rel: RecordedResource) => (valuesOf(rel).env ?? []) as any[];
                for (const rel of releaseOf(r, "external-dns"))
                    for (const e of envOf(rel).filter((x) => /TOKEN|SECRET|ACCESS_KEY/.test(x.name)))
                        assert.ok(e.valueFrom?.secretKeyRef, `${e.name} from a Secret`);
            });
        }

        it("add-on resources pass the platform's no-plaintext-secrets rule", async () => {
            for (const r of [
                await deployedStack("dev", { configOverrides: flippedLayers("dev") }),
                await deployedStack("us", { configOverrides: VARIANTS.usDns01WithKeys.configOverrides }),
            ]) {
                const addons = r.resources.filter((x) => x.urn.includes("ClusterAddons"));
                const findings = evaluate(addons.map(toPolicyResource)).filter(
                    (f) => f.rule === "no-plaintext-secrets",
                );
                assert.deepEqual(findings, [], formatFindings(findings));
            }
        });
    });
});
