// Stack-level checks over everything each stack's program would send to its cluster.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { deployedStack } from "./harness/evaluate";
import { isRemovedApi, kubernetesObjects, schemaProblems } from "./harness/k8s";
import { STACKS, stackConfig } from "./harness/stack-config";
import type { RecordedResource } from "./harness/types";
import { unclaimed } from "./harness/urns";
import * as fs from "node:fs";

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

describe("resource identity across versions", () => {
    for (const stack of STACKS) {
        it(`${stack}: claims every resource the deployed version holds (same URN or an alias), so an update never replaces one by a rename`, async () => {
            const snapshot = fs
                .readFileSync(path.join(ROOT, "tests", "fixtures", "urns", `${stack}.txt`), "utf8")
                .split("\n")
                .filter(Boolean);
            const { resources } = await deployedStack(stack);
            assert.deepEqual(
                unclaimed(snapshot, resources),
                [],
                `these would be deleted by \`pulumi up\`; add an alias, or (for an intended removal) refresh the snapshot: npm run urns`,
            );
        });
    }

    it("sees a rename without an alias, and the alias a child inherits from its renamed parent", () => {
        const urn = (qualifiedType: string, name: string) => `urn:pulumi:dev::p::${qualifiedType}::${name}`;
        const component: RecordedResource = {
            urn: urn("x:C", "shop"),
            type: "x:C",
            name: "shop",
            custom: false,
            inputs: {},
            dependencies: [],
            aliases: [],
            protect: false,
            retainOnDelete: false,
            ignoreChanges: [],
        };
        const child: RecordedResource = {
            ...component,
            urn: urn("x:C$k:Secret", "shop-secret"),
            type: "k:Secret",
            name: "shop-secret",
            custom: true,
            parent: component.urn,
        };
        const before = [urn("x:Old", "shop"), urn("x:Old$k:Secret", "shop-secret")];
        assert.deepEqual(unclaimed(before, [component, child]), before, "a changed component type loses both");
        const aliased = { ...component, aliases: [{ type: "x:Old" }] };
        assert.deepEqual(
            unclaimed(before, [aliased, { ...child, parent: aliased.urn }]),
            [],
            "the child inherits the parent's alias",
        );
        const renamed = [urn("x:C", "store"), urn("x:C$k:Secret", "store-secret")];
        const byName = { ...component, aliases: [{ name: "store" }] };
        assert.deepEqual(
            unclaimed(renamed, [byName, { ...child, parent: byName.urn }]),
            [],
            "a child's name follows its parent's former name",
        );
    });
});
