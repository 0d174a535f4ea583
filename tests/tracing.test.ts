// Traces that survive a restart (issue 12 §4): Jaeger on Badger on a volume on the laptop, and in the
// regions on OpenSearch (three nodes across zones, TLS, a generated login, a quota), each key given
// to the pinned charts one their templates read, and Jaeger's configuration one Jaeger 2.19 accepts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHARTS } from "../components/helm";
import { PLATFORM_STORAGE_CLASS } from "../components/storage";
import { JAEGER, jaegerConfig, TRACE_STORE, traceStoreUrl } from "../components/observability/tracing";
import { parseQuantity } from "../config/quantity";
import { podSecurityProblems } from "../policy/rules";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, type K8sObject, kubernetesObjects, named, ofKind, unsecret } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import type { RecordedResource } from "./harness/types";
import { CHART_KEYS, chartKeyProblems, renderedPods } from "./schemas/charts";
import { jaegerConfigProblems } from "./schemas/jaeger";

const PRODUCTION = ["us", "eu", "asia"] as const;
prefetch(...STACKS.map((stack) => ({ stack })));

const releaseOf = (resources: RecordedResource[], chart: string) => {
    const r = helmReleases(resources).find((x) => x.inputs.chart === chart);
    return r ? { release: r, values: unsecret(r.inputs.values ?? {}) } : undefined;
};
const secretKeys = (o: K8sObject) => Object.keys({ ...(o.data ?? {}), ...(o.stringData ?? {}) });

describe("traces that survive a restart", () => {
    it("reads the pinned charts' facts at the versions components/helm.ts pins", () => {
        assert.equal(CHARTS.jaeger.version, CHART_KEYS.jaeger.version, "read the jaeger chart's templates again");
        assert.equal(CHARTS.opensearch.version, CHART_KEYS.opensearch.version, "read the opensearch chart again");
    });

    for (const stack of STACKS) {
        it(`${stack}: every value given to the jaeger and opensearch charts is one their templates read, and their pods meet "restricted"`, async () => {
            const { resources } = await deployedStack(stack);
            const problems: string[] = [];
            for (const chart of ["jaeger", "opensearch"] as const) {
                const r = releaseOf(resources, chart);
                if (!r) continue;
                problems.push(...chartKeyProblems(chart, r.values));
                for (const pod of renderedPods(chart, r.values))
                    problems.push(...podSecurityProblems(pod.spec).map((p) => `${chart} ${pod.name}: ${p}`));
            }
            assert.deepEqual(problems, []);
        });

        it(`${stack}: Jaeger's configuration is one Jaeger 2.19 starts with, on the ports its chart and our monitors use`, async () => {
            const { resources } = await deployedStack(stack);
            const { values } = releaseOf(resources, "jaeger")!;
            const config = values.userconfig;
            assert.deepEqual(jaegerConfigProblems(config), []);
            const port = (endpoint: string) => Number(endpoint.split(":").pop());
            const e = config.extensions;
            assert.equal(port(e.healthcheckv2.http.endpoint), JAEGER.ports.health, "the chart's probes: 13133/status");
            assert.equal(port(e.jaeger_query.http.endpoint), JAEGER.ports.query, "svc/jaeger 16686 (the runbook)");
            assert.equal(port(config.receivers.otlp.protocols.grpc.endpoint), 4317, "the sidecars' OTLP/gRPC");
            assert.equal(port(config.receivers.otlp.protocols.http.endpoint), 4318);
            assert.equal(config.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port, 8888);
            for (const ep of [e.healthcheckv2.http.endpoint, e.jaeger_query.http.endpoint])
                assert.match(ep, /^0\.0\.0\.0:/, "reachable from the kubelet and other pods, not only localhost");
        });
    }

    it("the Jaeger configuration check sees what Jaeger would refuse (self-test)", () => {
        const good = jaegerConfig(configOf("us")) as any;
        assert.deepEqual(jaegerConfigProblems(good), []);
        const typo = structuredClone(good);
        typo.extensions.jaeger_storage.backends.traces.opensearch.server_url = ["https://x:9200"];
        assert.ok(jaegerConfigProblems(typo).some((p) => /additional/.test(p)));
        const two = structuredClone(good);
        two.extensions.jaeger_storage.backends.traces.memory = { max_traces: 1 };
        assert.ok(jaegerConfigProblems(two).length > 0, "a backend with two types");
        const dangling = structuredClone(good);
        dangling.exporters.jaeger_storage_exporter.trace_storage = "elsewhere";
        assert.deepEqual(jaegerConfigProblems(dangling), [
            "jaeger_storage_exporter.trace_storage: no backend elsewhere",
        ]);
        assert.ok(chartKeyProblems("jaeger", { networkPolicy: { enabled: false } }).length === 1, "an unread key");
        assert.deepEqual(chartKeyProblems("opensearch", { persistence: { storageClass: "x" }, resources: {} }), []);
        const root = renderedPods("opensearch", { persistence: { enabled: true }, securityContext: {} });
        assert.ok(
            podSecurityProblems(root[0].spec).some((p) => /fsgroup-volume/.test(p)),
            "the chart's chown runs as root",
        );
    });

    describe("dev: Badger on a volume", () => {
        it("keeps spans on a PersistentVolumeClaim of the platform's class, for the retention, across restarts", async () => {
            const { resources } = await deployedStack("dev");
            const cfg = configOf("dev");
            const objects = kubernetesObjects(resources);
            const { values, release } = releaseOf(resources, "jaeger")!;
            assert.equal(releaseOf(resources, "opensearch"), undefined, "no OpenSearch on a laptop");
            const badger = values.userconfig.extensions.jaeger_storage.backends.traces.badger;
            assert.equal(badger.ephemeral, false);
            assert.equal(badger.ttl.spans, `${cfg.monitoring.traceRetentionDays * 24}h`);
            const volume = values.jaeger.extraVolumes.find((v: any) => v.persistentVolumeClaim);
            const mount = values.jaeger.extraVolumeMounts.find((m: any) => m.name === volume.name);
            for (const dir of [badger.directories.keys, badger.directories.values])
                assert.ok(dir.startsWith(`${mount.mountPath}/`), `${dir} is on the volume`);
            const claim = named(objects, "PersistentVolumeClaim", volume.persistentVolumeClaim.claimName, "monitoring");
            assert.equal(claim.spec.storageClassName, PLATFORM_STORAGE_CLASS);
            assert.equal(claim.spec.resources.requests.storage, cfg.monitoring.traceStorage);
            assert.ok(release.dependencies.includes(claim.$resource.urn), "Jaeger starts once its claim exists");
            assert.equal(values.jaeger.replicas, 1, "one writer: Badger locks its directory");
            assert.equal(values.jaeger.strategy.type, "Recreate", "the old pod lets go of the volume first");
        });
    });

    for (const stack of PRODUCTION) {
        describe(`${stack}: OpenSearch, replicated across zones`, () => {
            let resources: RecordedResource[];
            let objects: ReturnType<typeof kubernetesObjects>;
            let os: any;
            let jaeger: any;
            before(async () => {
                resources = (await deployedStack(stack)).resources;
                objects = kubernetesObjects(resources);
                os = releaseOf(resources, "opensearch");
                jaeger = releaseOf(resources, "jaeger");
            });

            it("runs three nodes in namespace tracing, one per node and per zone, behind the chart's PDB, each with a volume of traceStorage on the platform class", () => {
                const cfg = configOf(stack);
                assert.ok(os, "an OpenSearch release");
                assert.equal(os.release.inputs.namespace, TRACE_STORE.namespace);
                assert.equal(os.release.inputs.version, CHARTS.opensearch.version);
                const v = os.values;
                assert.equal(v.replicas, 3);
                assert.notEqual(v.singleNode, true);
                assert.equal(v.antiAffinity, "hard");
                assert.equal(v.antiAffinityTopologyKey, "kubernetes.io/hostname");
                const zone = v.topologySpreadConstraints.find(
                    (t: any) => t.topologyKey === "topology.kubernetes.io/zone",
                );
                assert.equal(zone.whenUnsatisfiable, "DoNotSchedule");
                assert.deepEqual(zone.labelSelector.matchLabels, {
                    "app.kubernetes.io/name": "opensearch",
                    "app.kubernetes.io/instance": os.release.inputs.name,
                });
                assert.equal(v.maxUnavailable, 1, "the chart's PodDisruptionBudget");
                assert.equal(v.persistence.enabled, true);
                assert.equal(v.persistence.storageClass, PLATFORM_STORAGE_CLASS);
                assert.equal(v.persistence.size, cfg.monitoring.traceStorage);
                const heap = /-Xmx(\d+)m/.exec(v.opensearchJavaOpts)![1];
                assert.ok(Number(heap) * 2 ** 20 <= parseQuantity(v.resources.limits.memory) / 2, "heap at most half");
                const ns = named(objects, "Namespace", TRACE_STORE.namespace);
                assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
            });

            it("serves TLS with a certificate for every name clients and nodes use, and a login passed by Secret name only", () => {
                const v = os.values;
                assert.equal(v.protocol, "https");
                const yml = v.config["opensearch.yml"];
                assert.match(yml, /plugins\.security\.ssl\.http\.enabled: true/);
                const mounts = v.secretMounts as { secretName: string; path: string; subPath?: string }[];
                for (const m of mounts) {
                    assert.ok(m.path.startsWith("/usr/share/opensearch/config/"), "the plugin reads under config/");
                    const s = named(objects, "Secret", m.secretName, TRACE_STORE.namespace);
                    if (m.subPath) {
                        assert.ok(secretKeys(s).includes(m.subPath), `${m.secretName} has ${m.subPath}`);
                        assert.equal(m.path.split("/").pop(), m.subPath);
                        continue;
                    }
                    assert.deepEqual(secretKeys(s).sort(), ["ca.crt", "tls.crt", "tls.key"]);
                    assert.match(s.stringData["tls.key"], /BEGIN PRIVATE KEY/, "PKCS #8");
                }
                const security = mounts.filter((m) => m.path.includes("/config/opensearch-security/"));
                assert.deepEqual(
                    security.map((m) => m.subPath).sort(),
                    ["config.yml", "internal_users.yml", "roles.yml", "roles_mapping.yml"],
                    "each file replaced alone: the image's other defaults stay",
                );
                const users = named(objects, "Secret", security[0].secretName, TRACE_STORE.namespace);
                assert.ok("$secret" in users.$resource.inputs.stringData, "the users file is a Pulumi secret");
                assert.match(users.stringData["internal_users.yml"], /jaeger:\n\s+hash: /);
                assert.doesNotMatch(JSON.stringify(os.values), /\$2[aby]\$|PRIVATE KEY/, "no hash or key in values");
                // The node certificate's names: the Service (every spelling) and each pod of the headless Service.
                const csr = resources.find(
                    (r) => r.type === "tls:index/certRequest:CertRequest" && /node/.test(r.name),
                )!;
                for (const name of [
                    `${TRACE_STORE.service}.${TRACE_STORE.namespace}.svc.cluster.local`,
                    `*.${TRACE_STORE.service}-headless.${TRACE_STORE.namespace}.svc.cluster.local`,
                ])
                    assert.ok(csr.inputs.dnsNames.includes(name), name);
            });

            it("keeps Jaeger stateless in front of it: 2+ spread replicas and a PDB, HTTPS with the store's CA, the password from a mounted Secret, every shard with a replica, old days deleted", () => {
                const cfg = configOf(stack);
                const v = jaeger.values;
                const store = v.userconfig.extensions.jaeger_storage.backends.traces.opensearch;
                assert.deepEqual(store.server_urls, [traceStoreUrl()]);
                assert.match(traceStoreUrl(), /^https:\/\/opensearch-master\.tracing\.svc\.cluster\.local:9200$/);
                const mounted = (file: string) => {
                    const m = v.jaeger.extraVolumeMounts.find((x: any) => file.startsWith(`${x.mountPath}/`));
                    assert.ok(m, `${file} is mounted`);
                    const vol = v.jaeger.extraVolumes.find((x: any) => x.name === m.name);
                    const s = named(objects, "Secret", vol.secret.secretName, "monitoring");
                    assert.ok(secretKeys(s).includes(file.slice(m.mountPath.length + 1)), file);
                    return s;
                };
                mounted(store.tls.ca_file);
                const login = mounted(store.auth.basic.password_file);
                assert.equal(store.auth.basic.password, undefined, "no password in the configuration");
                const data = login.$resource.inputs.stringData;
                assert.ok("$secret" in data || "$secret" in data.password, "a Pulumi secret");
                for (const index of ["spans", "services", "dependencies", "sampling"])
                    assert.ok(store.indices[index].replicas >= 1, `${index}: a replica on another node`);
                assert.ok(v.jaeger.replicas >= 2);
                assert.equal(v.jaeger.strategy.rollingUpdate.maxUnavailable, 0);
                const pdb = named(objects, "PodDisruptionBudget", "jaeger", "monitoring");
                assert.equal(pdb.spec.minAvailable, 1);
                const cleaner = v.esIndexCleaner;
                assert.equal(cleaner.enabled, true);
                assert.equal(cleaner.numberOfDays, cfg.monitoring.traceRetentionDays);
                const pw = cleaner.extraEnv.find((e: any) => e.name === "ES_PASSWORD").valueFrom.secretKeyRef;
                assert.ok(secretKeys(named(objects, "Secret", pw.name, "monitoring")).includes(pw.key));
                assert.equal(v.storage.elasticsearch.url, traceStoreUrl());
                assert.equal(v.storage.elasticsearch.password, undefined, "the chart would write it into the env");
                assert.ok(jaeger.release.dependencies.includes(os.release.urn), "Jaeger starts once the store answers");
            });

            it("answers the runbook's trace commands: the names and paths they use exist", () => {
                const text = fs.readFileSync(path.resolve(__dirname, "..", "docs", "runbook.md"), "utf8");
                const start = text.indexOf("## Traces: Jaeger and its store");
                const section = text.slice(start, text.indexOf("\n## ", start + 1));
                const v = os.values;
                const sts = `${v.clusterName}-${v.nodeGroup}`;
                assert.ok(section.includes(`statefulset/${sts} -n ${TRACE_STORE.namespace}`));
                assert.ok(section.includes(`exec -n ${TRACE_STORE.namespace} ${sts}-0 -c opensearch`));
                const mounted = (file: string) =>
                    (v.secretMounts as { path: string; subPath?: string }[]).some((m) =>
                        m.subPath
                            ? `${TRACE_STORE.home}/${file}` === m.path
                            : `${TRACE_STORE.home}/${file}`.startsWith(`${m.path}/`),
                    );
                for (const file of [...section.matchAll(/\b(config\/[\w./-]+\.(?:crt|key|yml))/g)].map((m) => m[1]))
                    assert.ok(mounted(file), `${file} is mounted in the node`);
                for (const [secret, ns] of [...section.matchAll(/`((?:jaeger|opensearch)-[a-z-]+)`/g)]
                    .map((m) => m[1])
                    .filter((n) => /(credentials|config|tls)$/.test(n))
                    .map((n) => [n, n.startsWith("jaeger") ? "monitoring" : TRACE_STORE.namespace]))
                    assert.ok(named(objects, "Secret", secret, ns), `${ns}/${secret}`);
                const urn = /\.\.\.::([\w-]+-password)/.exec(section)![1];
                assert.ok(
                    resources.some((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name === urn),
                );
                assert.ok(
                    section.includes(`\`${jaeger.values.fullnameOverride}-es-index-cleaner\``),
                    "the cleaner's CronJob",
                );
            });

            it("fits its quota: three nodes and their volumes at once, no load balancer", () => {
                const cfg = configOf(stack);
                const q = ofKind(objects, "ResourceQuota", TRACE_STORE.namespace)[0];
                assert.ok(q, "a quota in tracing");
                assert.equal(q.spec.hard.persistentvolumeclaims, "3");
                assert.ok(
                    parseQuantity(q.spec.hard["requests.storage"]) >= 3 * parseQuantity(cfg.monitoring.traceStorage),
                );
                assert.equal(q.spec.hard["services.loadbalancers"], "0");
            });
        });
    }
});
