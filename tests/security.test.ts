// Security properties across the stacks that no single layer's tests can see: where key material
// goes (no CA or other private key leaves the stack that created it, with the peers' real outputs
// present), checked on every stack output and every recorded input; Pod Security versions; what the
// public entry point answers; credentials in config.
import * as assert from "node:assert/strict";
import { bootstrap, pipelineConfig, prefetchBootstrap, TEST_LICENCE } from "./harness/bootstrap";
import { deployedStack, prefetch } from "./harness/evaluate";
import { keyMaterialProblems, ownKeys, peerConsumers, secretValueProblems } from "./harness/key-material";
import { mockPem } from "./harness/mocks";
import { kubernetesObjects, ofKind } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import { POD_SECURITY_VERSION } from "../components/namespace";
import type { StackEvaluation } from "./harness/types";

prefetch(...STACKS.map((stack) => ({ stack })));
prefetchBootstrap();

const clone = (r: StackEvaluation): StackEvaluation => JSON.parse(JSON.stringify(r));

describe("key material stays with the stack that created it", () => {
    for (const stack of STACKS) {
        it(`${stack} (no peer deployed): no private key in any stack output or in any input but its own keys'`, async () => {
            assert.deepEqual(keyMaterialProblems(await deployedStack(stack)), []);
        });
    }

    it("bootstrap with the peers' real outputs: no step publishes a key or holds one it did not generate", async () => {
        const { first, owner, linked, inputs } = await bootstrap();
        assert.deepEqual(keyMaterialProblems(first.eu), [], "eu, first");
        assert.deepEqual(keyMaterialProblems(first.asia), [], "asia, first");
        assert.deepEqual(keyMaterialProblems(owner, inputs.owner), [], "us, signing");
        assert.deepEqual(keyMaterialProblems(linked, inputs.linked), [], "eu, linked");
    });

    it("sees the resources that consume a peer's output: us's signatures of the requests, eu's cacerts and remote secrets", async () => {
        const { owner, linked, inputs } = await bootstrap();
        const names = (r: StackEvaluation, i: Record<string, unknown>) =>
            peerConsumers(r, i)
                .map((x) => x.name)
                .sort();
        const signing = names(owner, inputs.owner);
        for (const expected of ["mesh-intermediate-ca-eu", "mesh-intermediate-ca-asia", "mesh-remote-eu"])
            assert.ok(signing.includes(expected), `${expected} in ${signing.join(", ")}`);
        const linking = names(linked, inputs.linked);
        for (const expected of ["mesh-cacerts", "mesh-remote-us"])
            assert.ok(linking.includes(expected), `${expected} in ${linking.join(", ")}`);
    });

    describe("catches the defect on a damaged copy", () => {
        it("a key in a stack output (e.g. the root key published for the peers)", async () => {
            const broken = clone((await bootstrap()).owner);
            const root = mockPem("us", "mesh-root-ca-key", "PRIVATE KEY");
            (broken.outputs.publishedForPeers as any).$secret.mesh.rootCa = { keyPem: root };
            assert.deepEqual(keyMaterialProblems(broken), ["stack output publishedForPeers holds a private key"]);
        });

        it("a peer's key as the input of a resource fed by that peer (eu signing with us's root)", async () => {
            const { linked, inputs } = await bootstrap();
            const broken = clone(linked);
            const root = mockPem("us", "mesh-root-ca-key", "PRIVATE KEY");
            const peerInputs = JSON.parse(JSON.stringify(inputs.linked));
            peerInputs["acme/ecommerce-platform/us"].publishedForPeers.mesh.rootCa = { keyPem: root };
            const cacerts = broken.resources.find((r) => r.name === "mesh-cacerts")!;
            broken.resources.push({
                ...cacerts,
                type: "tls:index/locallySignedCert:LocallySignedCert",
                name: "mesh-intermediate-ca",
                inputs: { caPrivateKeyPem: { $secret: root }, caCertPem: cacerts.inputs.stringData["root-cert.pem"] },
            });
            assert.deepEqual(keyMaterialProblems(broken, peerInputs), [
                "tls:index/locallySignedCert:LocallySignedCert mesh-intermediate-ca holds a private key this stack did not generate (1)",
                "tls:index/locallySignedCert:LocallySignedCert mesh-intermediate-ca holds a private key a peer published",
            ]);
        });

        it("its own keys are recognised as its own (the check is not blind to where keys come from)", async () => {
            const { linked } = await bootstrap();
            assert.ok(ownKeys(linked).has(mockPem("eu", "mesh-intermediate-ca-key", "PRIVATE KEY")));
            assert.ok(!ownKeys(linked).has(mockPem("us", "mesh-intermediate-ca-key", "PRIVATE KEY")));
        });
    });
});

/** Public routes (VirtualServices on the API gateway) that would pass a probe or metrics path to the service. */
export function exposedInternalPaths(vs: any): string[] {
    if (!(vs.spec?.gateways ?? []).some((g: string) => g.endsWith("/public-gateway"))) return [];
    const prefixes = (vs.spec.http ?? []).flatMap((h: any) =>
        h.route ? (h.match ?? []).map((m: any) => m.uri?.prefix).filter(Boolean) : [],
    );
    const blocked = (p: string) =>
        (vs.spec.http ?? []).some(
            (h: any, i: number, all: any[]) =>
                h.directResponse?.status === 404 &&
                (h.match ?? []).some((m: any) => m.uri?.regex && new RegExp(m.uri.regex).test(p)) &&
                all.findIndex((x: any) => x.route && (x.match ?? []).some((m: any) => p.startsWith(m.uri?.prefix))) > i,
        );
    return prefixes.flatMap((prefix: string) =>
        ["healthz", "readyz", "metrics"]
            .map((e) => `${prefix.replace(/\/+$/, "")}/${e}`)
            .filter((path) => !blocked(path)),
    );
}

describe("namespaces and the public entry point", () => {
    for (const stack of STACKS) {
        it(`${stack}: every namespace enforces a pinned Pod Security version and warns and audits the latest`, async () => {
            const namespaces = ofKind(kubernetesObjects((await deployedStack(stack)).resources), "Namespace");
            assert.ok(namespaces.length > 0);
            for (const ns of namespaces) {
                const labels = ns.metadata.labels ?? {};
                assert.equal(
                    labels["pod-security.kubernetes.io/enforce-version"],
                    POD_SECURITY_VERSION,
                    ns.metadata.name,
                );
                assert.equal(labels["pod-security.kubernetes.io/warn-version"], "latest", ns.metadata.name);
                assert.equal(labels["pod-security.kubernetes.io/audit-version"], "latest", ns.metadata.name);
            }
        });

        it(`${stack}: the public API host answers 404 to health, readiness and metrics paths (readiness names internal hosts)`, async () => {
            const routes = ofKind(kubernetesObjects((await deployedStack(stack)).resources), "VirtualService").filter(
                (v) => (v.spec.gateways ?? []).length > 0,
            );
            assert.ok(routes.length > 0, "public routes exist");
            assert.deepEqual(routes.flatMap(exposedInternalPaths), []);
        });
    }

    it("sees a public route that passes /readyz through (damaged copy)", async () => {
        const route = ofKind(kubernetesObjects((await deployedStack("dev")).resources), "VirtualService").find(
            (v) => (v.spec.gateways ?? []).length > 0,
        )!;
        const broken = JSON.parse(JSON.stringify(route));
        broken.spec.http = broken.spec.http.filter((h: any) => !h.directResponse);
        assert.ok(exposedInternalPaths(broken).some((p) => p.endsWith("/readyz")));
    });
});

describe("credentials in config", () => {
    /** The secret values each bootstrap step was given (config/load.ts SECRET_CONFIG_KEYS), by key. */
    const givenSecrets = (region: string) => {
        const config = pipelineConfig(region) as Record<string, unknown>;
        return Object.fromEntries(
            Object.entries(config).flatMap(([k, v]) =>
                v && typeof v === "object" && "$secret" in v ? [[k, String(v.$secret)]] : [],
            ),
        );
    };

    it("bootstrap: the reader token and the Redis Enterprise licence stay Pulumi secrets, in Secrets only", async () => {
        const { first, owner, linked } = await bootstrap();
        for (const [step, r, region] of [
            ["eu, first", first.eu, "eu"],
            ["asia, first", first.asia, "asia"],
            ["us, signing", owner, "us"],
            ["eu, linked", linked, "eu"],
        ] as const) {
            const secrets = givenSecrets(region);
            assert.deepEqual(Object.keys(secrets).sort(), ["meshReaderToken", "redisEnterpriseLicense"], step);
            assert.deepEqual(secretValueProblems(r, secrets), [], step);
        }
    });

    describe("catches a secret config value where it must not be (damaged copies)", () => {
        const licence = { redisEnterpriseLicense: TEST_LICENCE };
        it("in a ConfigMap, in a Secret outside a Pulumi secret, in a stack output", async () => {
            const broken = clone((await bootstrap()).owner);
            const secret = broken.resources.find((r) => r.name === "redis-enterprise-license")!;
            assert.ok(secret, "the licence Secret exists");
            broken.resources.push({
                ...secret,
                type: "kubernetes:core/v1:ConfigMap",
                name: "leaky-config",
                inputs: { data: { license: TEST_LICENCE } },
            });
            secret.inputs = { ...secret.inputs, stringData: { license: TEST_LICENCE } };
            broken.outputs.license = TEST_LICENCE;
            assert.deepEqual(secretValueProblems(broken, licence), [
                "kubernetes:core/v1:Secret redis-enterprise-license holds the redisEnterpriseLicense outside a Pulumi secret",
                "kubernetes:core/v1:ConfigMap leaky-config holds the redisEnterpriseLicense",
                "stack output license holds the redisEnterpriseLicense in plain text",
            ]);
        });
    });

    it("refuses DNS provider credentials set in plain text (review, Low)", () => {
        assert.throws(
            () =>
                configOf("us", {
                    dns: { provider: "cloudflare", zone: "us.shop.example.com" },
                    dnsCredentials: { apiToken: "plain-text-token-123" },
                }),
            (e: Error) =>
                /dnsCredentials \(value hidden\): expected a secret value/.test(e.message) &&
                !e.message.includes("plain-text-token-123"),
        );
    });
});
