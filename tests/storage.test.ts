// Storage that binds (issue 9 §2): every persistent volume every stack asks for — claims, StatefulSet
// claim templates, Helm values, custom resources — names a StorageClass the program creates with the
// provisioner the cluster runs, or a volume the program creates for it. Nothing relies on a default
// class (EKS clusters created at 1.30 or later have none).
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import { kubernetesObjects } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import type { StackEvaluation } from "./harness/types";
import { stackCopy } from "./harness/cluster/copy";
import { nodesOf } from "./harness/cluster/scheduler";
import { bindingProblems, storageLikePaths, storageRequests } from "./harness/cluster/storage";

prefetch(...STACKS.map((stack) => ({ stack })));

/** Everything that would keep a stack's volumes from binding, and every declaration no model reads. */
function storageProblems(stack: string, ev: StackEvaluation, cfg = configOf(stack)): string[] {
    const { requests, unknown } = storageRequests(ev);
    return [
        ...unknown,
        ...bindingProblems(requests, kubernetesObjects(ev.resources), cfg.cluster.profile, nodesOf(cfg)),
    ];
}

/** A copy of a stack's evaluation to damage. */

describe("storage that binds", () => {
    for (const stack of STACKS) {
        it(`${stack}: every volume request names a class the program creates with the cluster's provisioner, or a volume of its own`, async () => {
            const ev = await deployedStack(stack);
            const { requests } = storageRequests(ev);
            assert.ok(requests.length > 0, "the stack asks for volumes");
            assert.deepEqual(storageProblems(stack, ev), []);
        });
    }

    it("finds the volumes of the regions' Prometheus (Helm values), Redis Enterprise and PostgreSQL clusters (custom resources), and dev's StatefulSet", async () => {
        const sources = storageRequests(await deployedStack("us")).requests.map((r) => r.source);
        assert.ok(
            sources.some((s) => s.includes("prometheus.prometheusSpec.storageSpec")),
            sources.join("\n"),
        );
        assert.ok(
            sources.some((s) => s.startsWith("RedisEnterpriseCluster")),
            sources.join("\n"),
        );
        assert.ok(
            sources.some((s) => s.startsWith("Cluster databases/postgres: spec.walStorage")),
            sources.join("\n"),
        );
        const dev = storageRequests(await deployedStack("dev")).requests.map((r) => r.source);
        assert.ok(
            dev.some((s) => s.includes("volumeClaimTemplates")),
            dev.join("\n"),
        );
    });

    describe("sees a request that would stay Pending (broken copies)", () => {
        it("Prometheus's claim template without a class on EKS (no default StorageClass)", async () => {
            const b = await stackCopy("us");
            delete b.chart("kube-prometheus-stack").inputs.values.prometheus.prometheusSpec.storageSpec
                .volumeClaimTemplate.spec.storageClassName;
            assert.match(
                storageProblems("us", b.ev).join("\n"),
                /prometheusSpec\.storageSpec.*names no StorageClass.*does not have/,
            );
        });

        it("the Redis Enterprise cluster's persistentSpec without a class", async () => {
            const b = await stackCopy("eu");
            delete b.kind("RedisEnterpriseCluster").inputs.spec.persistentSpec.storageClassName;
            assert.match(
                storageProblems("eu", b.ev).join("\n"),
                /RedisEnterpriseCluster .*persistentSpec.*names no StorageClass/,
            );
        });

        it("a claim relying on the default class, even where the distribution has one", async () => {
            const b = await stackCopy("dev");
            const sts = b.kind("StatefulSet", "postgres");
            delete sts.inputs.spec.volumeClaimTemplates[0].spec.storageClassName;
            assert.match(storageProblems("dev", b.ev).join("\n"), /volumeClaimTemplates data.*names no StorageClass/);
        });

        it("a class nothing creates, and a class whose provisioner the cluster does not run", async () => {
            const b = await stackCopy("asia");
            const claim = b.chart("kube-prometheus-stack").inputs.values.prometheus.prometheusSpec.storageSpec;
            claim.volumeClaimTemplate.spec.storageClassName = "gp3";
            b.kind("StorageClass").inputs.provisioner = "ebs.csi.aws.com";
            const problems = storageProblems("asia", b.ev).join("\n");
            assert.match(problems, /StorageClass gp3 is neither created by the program nor guaranteed/);
            assert.match(
                problems,
                /provisioner ebs\.csi\.aws\.com does not run on this cluster.*disk\.csi\.azure\.com/,
            );
        });

        it("a static claim whose volume is missing or too small", async () => {
            const b = await stackCopy("dev");
            const pv = b.kind("PersistentVolume");
            pv.inputs.spec.capacity.storage = "1Gi";
            assert.match(
                storageProblems("dev", b.ev).join("\n"),
                /asks 2Gi, PersistentVolume warung-kopi-backups holds 1Gi/,
            );
            b.ev.resources.splice(b.ev.resources.indexOf(pv), 1);
            assert.match(storageProblems("dev", b.ev).join("\n"), /no StorageClass and no PersistentVolume/);
        });

        it("Grafana persistence switched on in chart values, without a class", async () => {
            const b = await stackCopy("us");
            b.chart("kube-prometheus-stack").inputs.values.grafana.persistence = { enabled: true, size: "5Gi" };
            assert.match(storageProblems("us", b.ev).join("\n"), /grafana\.persistence.*names no StorageClass/);
        });

        it("a CloudNativePG cluster's WAL volume without a class (the kind is read ahead of the PostgreSQL layer)", async () => {
            const b = await stackCopy("us");
            b.add(b.kind("StorageClass"), {
                apiVersion: "postgresql.cnpg.io/v1",
                kind: "Cluster",
                metadata: { name: "shop", namespace: "warung-kopi" },
                spec: {
                    instances: 3,
                    storage: { size: "50Gi", storageClass: "platform-standard" },
                    walStorage: { size: "10Gi" },
                },
            });
            const { requests } = storageRequests(b.ev);
            assert.equal(requests.filter((r) => r.source.startsWith("Cluster warung-kopi/shop")).length, 2);
            assert.deepEqual(
                storageProblems("us", b.ev).map((p) => p.replace(/:.*/, "")),
                ["Cluster warung-kopi/shop"],
            );
            assert.match(storageProblems("us", b.ev)[0], /spec\.walStorage \(warung-kopi\): names no StorageClass/);
        });

        it("storage in values or a custom resource no catalog entry reads", async () => {
            const b = await stackCopy("dev");
            b.chart("jaeger").inputs.values.jaeger.persistence = { enabled: true, storageClass: "x" };
            b.add(b.kind("StorageClass"), {
                apiVersion: "example.io/v1",
                kind: "Cluster",
                metadata: { name: "db", namespace: "data" },
                spec: { instances: 3, storage: { size: "10Gi" } },
            });
            const problems = storageProblems("dev", b.ev).join("\n");
            assert.match(problems, /helm jaeger \(jaeger\): values jaeger\.persistence look like storage/);
            assert.match(problems, /kind example\.io\/v1 Cluster is not in the catalog \(spec storage\)/);
        });
    });

    it("reads a Redis Enterprise database's persistence as a durability mode, not a volume", async () => {
        const b = await stackCopy("us");
        const db = (kind: string, spec: object) =>
            b.add(b.kind("RedisEnterpriseCluster"), {
                apiVersion: "app.redislabs.com/v1alpha1",
                kind,
                metadata: { name: "db", namespace: "redis-enterprise" },
                spec,
            });
        db("RedisEnterpriseActiveActiveDatabase", { globalConfigurations: { persistence: "aofEverySecond" } });
        db("RedisEnterpriseDatabase", { persistence: "snapshotEvery1Hour" });
        assert.deepEqual(storageProblems("us", b.ev), []);
    });

    it("finds storage-looking keys at any depth, except where the catalog reads them", () => {
        const values = { a: { persistence: { enabled: true } }, b: [{ volumeClaimTemplates: [] }], storageSpec: {} };
        assert.deepEqual(storageLikePaths(values, ["storageSpec"]), ["a.persistence", "b.*.volumeClaimTemplates"]);
        assert.deepEqual(storageLikePaths(values, ["a.*", "b", "storageSpec"]), []);
    });
});
