// Helm releases against their charts (audit of the pinned chart versions): values that would make a
// first `pulumi up` fail or hang although every key exists in the chart.
import * as assert from "node:assert/strict";
import { secretValue } from "../config/files";
import { CHARTS, mergeValues } from "../components/helm";
import { ALLOWED_HELM_REPOSITORIES } from "../policy/rules";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, unsecret } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import type { RecordedResource, StackEvaluation } from "./harness/types";

const releasesOf = (r: StackEvaluation, chart: string) =>
    helmReleases(r.resources).filter((x) => x.inputs.chart === chart);
const valuesOf = (rel: RecordedResource) => unsecret(rel.inputs.values ?? {});

/** dev with external-dns (Cloudflare) but without the service mesh: no Istio CRDs in the cluster. */
const DEV_DNS_WITHOUT_MESH = {
    layers: { ...configOf("dev").layers, mesh: false, tracing: false, externalDns: true },
    dns: { provider: "cloudflare", zone: "localtest.me" },
    dnsCredentials: secretValue({ apiToken: "helm-releases-test-token" }),
};

prefetch(...STACKS.map((stack) => ({ stack })), { stack: "dev", configOverrides: DEV_DNS_WITHOUT_MESH });

describe("Helm releases against their charts", () => {
    describe("kube-prometheus-stack admission webhook", () => {
        for (const stack of STACKS) {
            it(`${stack}: the first install cannot be rejected by the PrometheusRule webhook it is still setting up`, async () => {
                const [kps] = releasesOf(await deployedStack(stack), "kube-prometheus-stack");
                assert.ok(kps, "kube-prometheus-stack is installed");
                const webhooks = valuesOf(kps).prometheusOperator.admissionWebhooks;
                assert.equal(webhooks.enabled, true, "PrometheusRules are validated");
                // With patch-Job certificates the webhook has no CA bundle until the post-install hook has
                // run, so "Fail" on install rejects the chart's own default rules and fails the release.
                assert.notEqual(webhooks.certManager?.enabled, true);
                assert.equal(webhooks.failurePolicy, "IgnoreOnInstallOnly");
            });
        }
    });

    describe("istio-cni node agent paths", () => {
        for (const stack of STACKS) {
            it(`${stack}: the CNI binary directory matches the distribution`, async () => {
                const r = await deployedStack(stack);
                const [cni] = releasesOf(r, "cni");
                assert.ok(cni, "istio-cni is installed");
                const v = valuesOf(cni);
                const distribution = configOf(stack).cluster.distribution;
                if (distribution === "gke") {
                    // Not left to version-string detection (Helm 3.19.0 strips "-gke"): /opt/cni/bin is read-only there.
                    assert.equal(v.cni?.cniBinDir, "/home/kubernetes/bin");
                    assert.equal(v.global?.platform, "gke");
                } else {
                    assert.equal(
                        v.cni?.cniBinDir,
                        undefined,
                        "chart default (/opt/cni/bin) or the platform profile decides",
                    );
                    assert.equal(v.cniBinDir, undefined);
                }
            });
        }
    });

    describe("external-dns sources", () => {
        it("watches Istio Gateways and VirtualServices where the mesh installs their CRDs", async () => {
            for (const stack of ["us", "eu", "asia"] as const) {
                const [dns] = releasesOf(await deployedStack(stack), "external-dns");
                assert.ok(dns, `${stack} runs external-dns`);
                assert.deepEqual(
                    valuesOf(dns).sources,
                    ["service", "ingress", "istio-gateway", "istio-virtualservice"],
                    stack,
                );
            }
        });

        it("does not watch Istio resources without the mesh layer (external-dns exits when their CRDs are missing)", async () => {
            const r = await deployedStack("dev", { configOverrides: DEV_DNS_WITHOUT_MESH });
            assert.equal(releasesOf(r, "gateway").length + releasesOf(r, "istiod").length, 0, "no mesh");
            const [dns] = releasesOf(r, "external-dns");
            assert.ok(dns, "external-dns is installed");
            assert.deepEqual(valuesOf(dns).sources, ["service", "ingress"]);
        });
    });
});

describe("pinned charts", () => {
    it("installs only charts of the pin table, at their pinned version, with a fixed name and explicit timeouts", async () => {
        const pins = Object.values(CHARTS);
        for (const pin of pins)
            assert.ok(
                ALLOWED_HELM_REPOSITORIES.includes(pin.repo),
                `${pin.chart}: ${pin.repo} is allowed by the policy pack`,
            );
        for (const stack of STACKS) {
            for (const rel of helmReleases((await deployedStack(stack)).resources)) {
                const pin = pins.find(
                    (p) => p.chart === rel.inputs.chart && p.repo === rel.inputs.repositoryOpts?.repo,
                );
                assert.ok(pin, `${stack}: ${rel.inputs.chart} comes from the pin table`);
                assert.equal(rel.inputs.version, pin.version, `${stack}: ${rel.inputs.chart} version`);
                assert.ok(rel.inputs.name, `${stack}: ${rel.inputs.chart} has a fixed release name`);
                assert.ok(
                    rel.inputs.timeout > 0 && rel.customTimeouts?.create,
                    `${stack}: ${rel.inputs.name} has Helm and Pulumi timeouts`,
                );
            }
        }
        // Values merge like Helm's: maps key by key, lists replace.
        assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
    });
});
