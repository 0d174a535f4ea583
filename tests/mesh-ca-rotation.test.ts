// The mesh CA rotation procedures of docs/runbook.md ("Mesh certificate authority"), walked step by
// step: a model of the regions' trust (which roots each region's workloads hold certificates from,
// which roots each region accepts) driven by the program's own CA plan (components/mesh/ca.ts), with
// the invariant checked after every single `pulumi up`; and the program itself in the middle of a root
// rotation, where the trust bundle holds both roots.
import * as assert from "node:assert/strict";
import type { PlatformConfig, Region } from "../config";
import { caPlan } from "../components/mesh/ca";
import type { MeshCaPublication } from "../components/contracts";
import { bootstrap, pipelineConfig, prefetchBootstrap } from "./harness/bootstrap";
import { deployedStack } from "./harness/evaluate";
import { kubernetesObjects, named, unsecret } from "./harness/k8s";
import { configOf } from "./harness/stack-config";

prefetchBootstrap();

const REGIONS = ["us", "eu", "asia"] as const;
type R = (typeof REGIONS)[number];

/** The mesh as the model sees it: configs, what each stack last published, each region's trust. */
interface World {
    cfg: Record<R, PlatformConfig>;
    /** The intermediate request each region last published (its key generation). */
    requests: Partial<Record<R, number>>;
    /** The root's publication (generations only; the certificates are symbols). */
    published?: MeshCaPublication;
    /** Per region: the root that signed its cacerts, the roots it accepts, the roots of its workloads' live certificates. */
    region: Record<R, { signedBy?: number; key?: number; accepts: number[]; live: number[] }>;
}

function newWorld(): World {
    const cfg = Object.fromEntries(REGIONS.map((r) => [r, configOf(r)])) as Record<R, PlatformConfig>;
    const region = Object.fromEntries(
        REGIONS.map((r) => [r, { accepts: [] as number[], live: [] as number[] }]),
    ) as World["region"];
    return { cfg, requests: {}, region };
}

/** One `pulumi up` of a region, as components/mesh/ca.ts decides it. */
function up(w: World, r: R): void {
    const cfg = w.cfg[r];
    const plan = caPlan(cfg, cfg.mesh.rootCaFrom === r ? undefined : w.published);
    w.requests[r] = cfg.mesh.intermediateKey;
    if (cfg.mesh.rootCaFrom === r) {
        const issued: MeshCaPublication["issued"] = {};
        for (const [region, generation] of Object.entries(w.requests) as [R, number][])
            issued[region as Region] = { generation, rootGeneration: plan.signingRoot!, certPem: "", chainPem: "" };
        w.published = { trustBundlePem: "", trustedRoots: plan.roots, issued };
    }
    const issued = plan.activeKey === undefined ? undefined : w.published?.issued[r as Region];
    if (!issued || !w.published) return; // cacerts left as it is
    const state = w.region[r];
    if (issued.generation !== plan.activeKey)
        throw new Error(`${r}: cacerts would pair key ${plan.activeKey} with a certificate for ${issued.generation}`);
    const changed = state.signedBy !== issued.rootGeneration || state.key !== issued.generation;
    state.accepts = [...w.published.trustedRoots];
    state.key = issued.generation;
    state.signedBy = issued.rootGeneration;
    // istiod restarts with the new CA: new workload certificates chain to its root; old ones stay live.
    if (changed && !state.live.includes(issued.rootGeneration)) state.live.push(issued.rootGeneration);
}

/** Workloads restarted, or a day passed (workload certificates live 24 h): only the current root is live. */
const renewWorkloads = (w: World) => {
    for (const r of REGIONS) w.region[r].live = w.region[r].signedBy ? [w.region[r].signedBy] : [];
};

/** Every region accepts every certificate any region's workloads present. */
function trustProblems(w: World): string[] {
    const out: string[] = [];
    for (const a of REGIONS)
        for (const b of REGIONS)
            for (const root of w.region[a].live)
                if (!w.region[b].accepts.includes(root)) out.push(`${b} rejects ${a}'s certificates (root ${root})`);
    return out;
}

const setRoot = (w: World, trusted: number[], signing: number) => {
    w.cfg.us = { ...w.cfg.us, mesh: { ...w.cfg.us.mesh, rootCa: { trusted, signing } } };
};

/** The deploy workflow: every region in order, twice (the second pass links what the first could not). */
function deployAll(w: World, check: (step: string) => void) {
    for (const pass of [1, 2])
        for (const r of REGIONS) {
            up(w, r);
            check(`pass ${pass}, ${r}`);
        }
}

function bootstrapped(): World {
    const w = newWorld();
    deployAll(w, () => undefined);
    renewWorkloads(w);
    return w;
}

describe("mesh CA rotation (docs/runbook.md)", () => {
    const strict = (w: World, phase: string) => (step: string) =>
        assert.deepEqual(trustProblems(w), [], `${phase}, after ${step}`);

    it("bootstrap: every region ends with a certificate from the root, and every region trusts it", () => {
        const w = bootstrapped();
        for (const r of REGIONS) assert.deepEqual(w.region[r], { signedBy: 1, key: 1, accepts: [1], live: [1] }, r);
    });

    it("root rotation in three phases keeps every region accepting every live certificate after each up", () => {
        const w = bootstrapped();
        setRoot(w, [1, 2], 1); // phase 1: the new root joins the bundle
        deployAll(w, strict(w, "phase 1"));
        setRoot(w, [1, 2], 2); // phase 2: the new root signs
        deployAll(w, strict(w, "phase 2"));
        renewWorkloads(w); // wait 24 h or restart the workloads
        setRoot(w, [2], 2); // phase 3: the old root leaves
        deployAll(w, strict(w, "phase 3"));
        for (const r of REGIONS) assert.deepEqual(w.region[r], { signedBy: 2, key: 1, accepts: [2], live: [2] }, r);
    });

    it("sees a broken procedure: switching the signer before the bundle holds the new root splits the mesh", () => {
        const w = bootstrapped();
        setRoot(w, [2], 2);
        up(w, "us");
        assert.ok(trustProblems(w).length > 0);
    });

    it("sees a broken procedure: dropping the old root before the workloads renewed their certificates", () => {
        const w = bootstrapped();
        setRoot(w, [1, 2], 1);
        deployAll(w, () => undefined);
        setRoot(w, [1, 2], 2);
        deployAll(w, () => undefined);
        setRoot(w, [2], 2); // no wait
        up(w, "us");
        assert.match(trustProblems(w).join("\n"), /rejects .*root 1/);
    });

    it("intermediate key rotation: the region keeps its old key until the root's stack signed the new request", () => {
        const w = bootstrapped();
        w.cfg.eu = { ...w.cfg.eu, mesh: { ...w.cfg.eu.mesh, intermediateKey: 2 } };
        const steps: [R, number][] = [
            ["eu", 1], // publishes request 2, still serves key 1
            ["us", 1], // signs request 2
            ["eu", 2], // switches
        ];
        for (const [r, key] of steps) {
            up(w, r);
            assert.equal(w.region.eu.key, key, `after ${r}`);
            assert.deepEqual(trustProblems(w), [], `after ${r}`);
        }
    });

    it("the program mid-rotation (phase 2): root-cert.pem holds both roots, and every intermediate is signed by root 2", async () => {
        const { inputs } = await bootstrap();
        const result = await deployedStack("us", {
            configOverrides: { ...pipelineConfig("us"), mesh: { rootCa: { trusted: [1, 2], signing: 2 } } },
            stackOutputs: inputs.owner,
        });
        const inMesh = (r: { urn: string }) => r.urn.includes("ecommerce:platform:ServiceMesh");
        const roots = result.resources.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert" && inMesh(r));
        assert.deepEqual(roots.map((r) => r.name).sort(), ["mesh-root-ca", "mesh-root-ca-g2"]);
        const root2 = roots.find((r) => r.name === "mesh-root-ca-g2")!;
        assert.equal(root2.inputs.maxPathLength, 1);
        assert.ok(root2.inputs.validityPeriodHours <= 5 * 365 * 24);
        assert.ok(!root2.inputs.earlyRenewalHours, "a root is never replaced by an ordinary up");
        const signed = result.resources.filter(
            (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && inMesh(r),
        );
        assert.equal(signed.length, 3);
        const ca = unsecret(result.outputs.publishedForPeers).mesh.ca;
        assert.deepEqual(ca.trustedRoots, [1, 2]);
        assert.equal((ca.trustBundlePem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
        for (const region of ["us", "eu", "asia"]) assert.equal(ca.issued[region].rootGeneration, 2, region);
        const cacerts = named(kubernetesObjects(result.resources), "Secret", "cacerts", "istio-system");
        assert.equal(cacerts.stringData["root-cert.pem"], ca.trustBundlePem);
    });
});
