// Where private key material appears in what a stack's program sends: its outputs (which peers and
// anyone with stack read access see) and the inputs of every resource (which the state stores). A
// stack may hold only keys it generated itself; a key it received from a peer, or one it publishes,
// means a key has left the stack that created it.
import { mockPem } from "./mocks";
import type { StackEvaluation } from "./types";

const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----\n?/g;
const PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey";

function strings(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) for (const x of v) strings(x, out);
    else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
    return out;
}

const keysIn = (v: unknown) => strings(v).flatMap((s) => s.match(PEM_KEY) ?? []);

/**
 * The keys the stack's own tls.PrivateKey resources generate (as the mocks answer them: a placeholder
 * PEM, or for signing keys whose public half the program publishes a real key the evaluation reports).
 */
export function ownKeys(result: StackEvaluation): Set<string> {
    const own = result.resources.filter((r) => r.type === PRIVATE_KEY_TYPE);
    return new Set([
        ...own.map((r) => mockPem(result.stack, r.name, "PRIVATE KEY")),
        ...own.flatMap((r) => result.generatedKeys?.[r.name] ?? []),
    ]);
}

/**
 * Resources whose inputs carry a value a peer published (any published text of 32 characters or more,
 * e.g. a certificate request, a certificate, a kubeconfig).
 */
export function peerConsumers(result: StackEvaluation, peerOutputs: Record<string, unknown> = {}) {
    const published = strings(peerOutputs).filter((s) => s.length >= 32);
    return result.resources.filter((r) => {
        const inputs = strings(r.inputs);
        return published.some((p) => inputs.some((i) => i.includes(p)));
    });
}

/** Every place private key material is where it must not be, in words. */
export function keyMaterialProblems(result: StackEvaluation, peerOutputs: Record<string, unknown> = {}): string[] {
    const own = ownKeys(result);
    const problems: string[] = [];
    for (const [name, value] of Object.entries(result.outputs))
        if (keysIn(value).length > 0) problems.push(`stack output ${name} holds a private key`);
    for (const r of result.resources) {
        const foreign = keysIn(r.inputs).filter((k) => !own.has(k));
        if (foreign.length > 0)
            problems.push(`${r.type} ${r.name} holds a private key this stack did not generate (${foreign.length})`);
    }
    for (const r of peerConsumers(result, peerOutputs)) {
        const keys = keysIn(r.inputs);
        const fromPeers = keys.filter((k) => strings(peerOutputs).some((s) => s.includes(k.trim())));
        if (fromPeers.length > 0) problems.push(`${r.type} ${r.name} holds a private key a peer published`);
    }
    return problems;
}

/** Where `value` occurs in `v` outside a Pulumi secret ({$secret: ...}), and whether it occurs at all. */
function occurrences(v: unknown, value: string, inSecret = false): { plain: boolean; any: boolean } {
    if (typeof v === "string")
        return v.includes(value) ? { plain: !inSecret, any: true } : { plain: false, any: false };
    if (!v || typeof v !== "object") return { plain: false, any: false };
    const secret = !Array.isArray(v) && "$secret" in v;
    return Object.values(v).reduce<{ plain: boolean; any: boolean }>(
        (acc, x) => {
            const o = occurrences(x, value, inSecret || secret);
            return { plain: acc.plain || o.plain, any: acc.any || o.any };
        },
        { plain: false, any: false },
    );
}

/**
 * Every place a secret config value (by label: the value) is where it must not be: in any resource but
 * a Kubernetes Secret (Helm values, ConfigMaps, custom resources, env literals...), in a Secret's data
 * outside a Pulumi secret, or in a stack output outside a Pulumi secret.
 */
export function secretValueProblems(result: StackEvaluation, secrets: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [label, value] of Object.entries(secrets)) {
        for (const r of result.resources) {
            const o = occurrences(r.inputs, value);
            if (r.type !== "kubernetes:core/v1:Secret" && o.any)
                problems.push(`${r.type} ${r.name} holds the ${label}`);
            else if (o.plain) problems.push(`${r.type} ${r.name} holds the ${label} outside a Pulumi secret`);
        }
        for (const [name, v] of Object.entries(result.outputs))
            if (occurrences(v, value).plain) problems.push(`stack output ${name} holds the ${label} in plain text`);
    }
    return problems;
}
