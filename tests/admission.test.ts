// The shared entry points (IngressClass istio, the public and cross-network gateways, the gateway pods,
// the ClusterIssuers) serve the platform's namespaces only: ValidatingAdmissionPolicies whose CEL runs
// here under a CEL engine, on the program's own objects (all admitted) and on a tenant's (refused).
import * as assert from "node:assert/strict";
import { evaluate } from "@marcbachmann/cel-js";
import { TIER_LABEL } from "../components/defaults";
import { deployedStack, prefetch } from "./harness/evaluate";
import { type K8sObject, kubernetesObjects, ofKind } from "./harness/k8s";

const STACKS = ["dev", "us"] as const;
prefetch(...STACKS.map((stack) => ({ stack })));

const KINDS: Record<string, string> = {
    ingresses: "Ingress",
    virtualservices: "VirtualService",
    gateways: "Gateway",
    certificates: "Certificate",
    certificaterequests: "CertificateRequest",
};

/** What the API server would answer for `object` in a namespace with `labels`: undefined = admitted, else the message. */
export function admit(policies: K8sObject[], object: K8sObject, labels: Record<string, string>): string | undefined {
    for (const p of policies) {
        const kinds = p.spec.matchConstraints.resourceRules.flatMap((r: any) =>
            r.resources.map((x: string) => KINDS[x]),
        );
        if (!kinds.includes(object.kind)) continue;
        const { $resource: _r, ...plain } = object as any;
        for (const v of p.spec.validations) {
            const ok = evaluate(v.expression, { object: plain, namespaceObject: { metadata: { labels } } });
            if (ok !== true) return v.message;
        }
    }
    return undefined;
}

const policiesOf = async (stack: string) => {
    const objects = kubernetesObjects((await deployedStack(stack)).resources);
    return { objects, policies: ofKind(objects, "ValidatingAdmissionPolicy") };
};

const TENANT = { "kubernetes.io/metadata.name": "tenant" };
const tenantIngress = (className: string): K8sObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "t", namespace: "tenant" },
    spec: { ingressClassName: className, rules: [{ host: "evil.example.com" }] },
});

describe("shared entry points serve the platform's namespaces only", () => {
    for (const stack of STACKS) {
        it(`${stack}: a policy and a Deny binding for the ingress class, the gateways, the gateway pods and the ClusterIssuers`, async () => {
            const { objects, policies } = await policiesOf(stack);
            const names = policies.map((p) => p.metadata.name).sort();
            assert.deepEqual(names, [
                "platform-cluster-issuer-scope",
                "platform-gateway-pods-scope",
                "platform-ingress-class-scope",
                "platform-public-gateway-scope",
            ]);
            for (const p of policies) assert.equal(p.spec.failurePolicy, "Fail");
            const bindings = ofKind(objects, "ValidatingAdmissionPolicyBinding");
            assert.deepEqual(bindings.map((b) => b.spec.policyName).sort(), names);
            for (const b of bindings) assert.deepEqual(b.spec.validationActions, ["Deny"]);
        });

        it(`${stack}: admits every Ingress, VirtualService, Gateway and Certificate the program creates`, async () => {
            const { objects, policies } = await policiesOf(stack);
            const labels = new Map(ofKind(objects, "Namespace").map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
            const checked = objects.filter((o) => Object.values(KINDS).includes(o.kind));
            assert.ok(checked.length > 3);
            const refused = checked
                .map((o) => [o, admit(policies, o, labels.get(o.metadata.namespace) ?? {})] as const)
                .filter(([, m]) => m)
                .map(([o, m]) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${m}`);
            assert.deepEqual(refused, []);
        });

        it(`${stack}: refuses a tenant's Ingress of class istio, route on the public gateway, Gateway on its pods, certificate from the ClusterIssuer`, async () => {
            const { policies } = await policiesOf(stack);
            const refused = (o: K8sObject) => admit(policies, o, TENANT);
            assert.match(refused(tenantIngress("istio"))!, /IngressClass istio/);
            const legacy = tenantIngress("nginx");
            delete legacy.spec.ingressClassName;
            legacy.metadata.annotations = { "kubernetes.io/ingress.class": "istio" };
            assert.ok(refused(legacy), "the legacy class annotation too");
            assert.ok(
                refused({
                    apiVersion: "networking.istio.io/v1",
                    kind: "VirtualService",
                    metadata: { name: "t", namespace: "tenant" },
                    spec: { hosts: ["evil.example.com"], gateways: ["istio-ingress/public-gateway"] },
                }),
            );
            assert.ok(
                refused({
                    apiVersion: "networking.istio.io/v1",
                    kind: "Gateway",
                    metadata: { name: "t", namespace: "tenant" },
                    spec: { selector: { istio: "ingressgateway" }, servers: [] },
                }),
            );
            assert.ok(
                refused({
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: "t", namespace: "tenant" },
                    spec: { issuerRef: { kind: "ClusterIssuer", name: "platform-issuer" }, secretName: "t" },
                }),
            );
            // Whatever does not use the platform's shared things is the tenant's business.
            assert.equal(refused(tenantIngress("nginx")), undefined);
            assert.equal(
                refused({
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: "t", namespace: "tenant" },
                    spec: { issuerRef: { kind: "Issuer", name: "own" }, secretName: "t" },
                }),
                undefined,
            );
        });
    }

    it("external-dns publishes names only from Ingresses of the platform's class", async () => {
        const dns = (await deployedStack("us")).resources.find(
            (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "external-dns",
        )!;
        assert.ok(dns.inputs.values.extraArgs.includes("--ingress-class=istio"));
    });

    it("sees the program's own object refused when its namespace lost the platform label (damaged copy)", async () => {
        const { objects, policies } = await policiesOf("dev");
        const ingress = ofKind(objects, "Ingress")[0];
        assert.ok(admit(policies, ingress, { [TIER_LABEL]: "dev" }) === undefined);
        assert.ok(admit(policies, ingress, {}));
    });
});
