// Stack-level checks over everything each stack's program would send to its cluster.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { deployedStack } from "./harness/evaluate";
import { isRemovedApi, kubernetesObjects, schemaProblems } from "./harness/k8s";
import { STACKS, stackConfig } from "./harness/stack-config";

const ROOT = path.resolve(__dirname, "..");

for (const stack of STACKS) {
    describe(`stack ${stack}`, () => {
        it("evaluates under mocks without errors", async () => {
            const result = await deployedStack(stack);
            assert.ok(result.resources.length > 0);
        });

        it("disables the default Kubernetes provider in its stack file", () => {
            const { stackFile } = stackConfig(ROOT, stack);
            assert.deepEqual(stackFile.config?.["pulumi:disable-default-providers"], ["kubernetes"]);
        });

        it("creates exactly one Kubernetes provider, with a stable cluster identifier, and every Kubernetes resource uses it", async () => {
            const { resources } = await deployedStack(stack);
            const providers = resources.filter((r) => r.type === "pulumi:providers:kubernetes");
            assert.equal(providers.length, 1, "one provider per stack");
            assert.ok(providers[0].inputs.clusterIdentifier, "clusterIdentifier set");
            const k8s = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(k8s.length > 0);
            const stray = k8s.filter((r) => !r.provider?.startsWith(`${providers[0].urn}::`));
            assert.deepEqual(
                stray.map((r) => `${r.type} ${r.name} -> ${r.provider}`),
                [],
            );
        });

        it("emits only objects that are valid against the Kubernetes API schema, and no removed API version", async () => {
            const objects = kubernetesObjects((await deployedStack(stack)).resources);
            const problems = objects.flatMap((o) =>
                schemaProblems(o).map(
                    (p) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}: ${p}`,
                ),
            );
            assert.deepEqual(problems, []);
            assert.deepEqual(
                objects.filter(isRemovedApi).map((o) => `${o.apiVersion} ${o.kind}`),
                [],
            );
        });

        it("gives every Kubernetes object a fixed name (no auto-suffix)", async () => {
            const objects = kubernetesObjects((await deployedStack(stack)).resources);
            assert.deepEqual(
                objects.filter((o) => !o.metadata.name).map((o) => `${o.kind} ${o.$resource.name}`),
                [],
            );
        });
    });
}
