// Field types of the configuration schema, each with the message a platform engineer needs to fix a
// bad value: what is expected and an example.
import { isIPv6 } from "node:net";
import { z } from "zod";
import { isQuantity, parseQuantity } from "./quantity";

export const TIERS = ["dev", "staging", "production"] as const;
/** The laptop's region: the dev tier only. Any other region is a name the stack files choose (us, eu, asia, ...). */
export const LOCAL_REGION = "local";
export const DISTRIBUTIONS = ["kind", "k3d", "minikube", "docker-desktop", "eks", "gke", "aks"] as const;
export const DNS_PROVIDERS = ["aws", "google", "azure", "cloudflare"] as const;
export type Tier = (typeof TIERS)[number];
/** A region's short name (us, eu, asia, ...): it names the stack's mesh network, Redis cluster and hosts. */
export type Region = string;
export type Distribution = (typeof DISTRIBUTIONS)[number];
export type DnsProvider = (typeof DNS_PROVIDERS)[number];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { message: `expected one of ${values.join(", ")}` });

/** Text that must not be empty; `expected` says what it is, with an example. */
export const text = (expected: string) => z.string({ message: `expected ${expected}` }).min(1, `expected ${expected}`);

/** A string field whose type error says the same as its format error. */
const str = (message: string) => z.string({ message });

const DNS_LABEL_MESSAGE =
    "expected a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters (e.g. payment)";
export const dnsLabel = str(DNS_LABEL_MESSAGE).refine((s) => s.length <= 63 && DNS1123_LABEL.test(s), {
    message: DNS_LABEL_MESSAGE,
});
/** A region's short name: it goes into resource names (rec-<region>, network-<region>) and host names. */
export const region = z
    .string({ message: "expected a region name such as us, eu or asia" })
    .regex(/^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$/, {
        message: "expected a short region name such as us, eu or asia (lower-case letters, digits and '-', at most 20)",
    });
const HOST_MESSAGE = "expected a DNS name such as shop.example.com (lower-case, dot-separated DNS-1123 labels)";
export const hostName = str(HOST_MESSAGE).refine((s) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s), {
    message: HOST_MESSAGE,
});
const CPU_MESSAGE = 'expected a positive CPU quantity such as 250m or 1.5 (quoted text in YAML: "1.5")';
export const cpu = str(CPU_MESSAGE).refine(
    (s) => isQuantity(s) && /^(\d+m|\d+(\.\d+)?)$/.test(s) && parseQuantity(s) > 0,
    { message: CPU_MESSAGE },
);
const MEMORY_MESSAGE = "expected a positive memory quantity such as 256Mi or 2Gi";
export const memory = str(MEMORY_MESSAGE).refine((s) => isQuantity(s) && !/m$/.test(s) && parseQuantity(s) > 0, {
    message: MEMORY_MESSAGE,
});
const STORAGE_MESSAGE = "expected a positive storage size such as 20Gi";
export const storage = str(STORAGE_MESSAGE).refine((s) => isQuantity(s) && !/m$/.test(s) && parseQuantity(s) > 0, {
    message: STORAGE_MESSAGE,
});
export const bool = z.boolean({ message: "expected true or false" });
export const count = (what: string, min = 1) =>
    z
        .number({ message: `expected a whole number of ${what} (e.g. 3)` })
        .int(`expected a whole number of ${what} (e.g. 3)`)
        .min(min, `expected at least ${min} ${what}`);

/** An IPv4 network in canonical form (no host bits set), e.g. 10.0.0.0/8; or an IPv6 prefix. */
export function cidrProblem(s: string): string | undefined {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
    if (v4) {
        const octets = v4.slice(1, 5).map(Number);
        const bits = Number(v4[5]);
        if (octets.some((o) => o > 255) || bits > 32) return "expected an IPv4 network such as 10.0.0.0/8";
        const n = octets.reduce((a, o) => a * 256 + o, 0);
        if (n % 2 ** (32 - bits) !== 0)
            return "expected the network address of the range (no host bits set), e.g. 10.0.0.0/8";
        return undefined;
    }
    const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
    if (v6 && isIPv6(v6[1]) && Number(v6[2]) <= 128) return undefined;
    return "expected a CIDR range such as 10.0.0.0/8";
}
export const cidr = str("expected a CIDR range such as 10.0.0.0/8").superRefine((s, ctx) => {
    const problem = cidrProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** An image reference pinned by a tag other than `latest`, or by digest. */
export function imageProblem(ref: string): string | undefined {
    if (/\s/.test(ref) || ref.length === 0) return "expected an image reference such as postgres:16.4-alpine";
    if (/@sha256:[a-f0-9]{64}$/.test(ref)) return undefined;
    const lastSegment = ref.split("/").pop()!;
    const colon = lastSegment.lastIndexOf(":");
    if (colon < 0)
        return "expected an image pinned by tag or digest (e.g. redis:7.4.11-alpine); an untagged image means `latest`";
    const tag = lastSegment.slice(colon + 1);
    if (tag === "latest") return "expected a pinned tag; `latest` changes under a running cluster";
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return "expected a valid image tag";
    return undefined;
}
/**
 * An image reference pinned by digest, with the tag naming the version it is (`name:tag@sha256:…`):
 * what production tiers require. Undefined when it is.
 */
export function digestPinProblem(ref: string): string | undefined {
    const [name, digest] = ref.split("@");
    const tagged = /:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name.split("/").pop() ?? "");
    if (digest && /^sha256:[a-f0-9]{64}$/.test(digest) && tagged) return undefined;
    return 'expected name:tag@sha256:<64 hex> (the tag says which version, the digest pins its bytes), e.g. redis:7.4.11-alpine@sha256:ff02…; find the digest with `docker buildx imagetools inspect <name:tag>` (docs/security.md, "Images")';
}

export const image = str("expected an image reference such as redis:7.4.1-alpine").superRefine((s, ctx) => {
    const problem = imageProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const resources = z
    .strictObject({
        requests: z.strictObject({ cpu, memory }),
        limits: z.strictObject({ cpu: cpu.optional(), memory }),
    })
    .superRefine((r, ctx) => {
        // Runs even when a quantity above is malformed (zod reports both): compare only well-formed ones.
        const q = (v: string) => (isQuantity(v) ? parseQuantity(v) : NaN);
        if (r.limits.cpu && q(r.limits.cpu) < q(r.requests.cpu))
            ctx.addIssue({
                code: "custom",
                path: ["limits", "cpu"],
                message: `expected limits.cpu >= requests.cpu (${r.requests.cpu})`,
            });
        if (q(r.limits.memory) < q(r.requests.memory))
            ctx.addIssue({
                code: "custom",
                path: ["limits", "memory"],
                message: `expected limits.memory >= requests.memory (${r.requests.memory})`,
            });
    });
export type Resources = z.infer<typeof resources>;

export const autoscaling = z
    .strictObject({
        minReplicas: count("replicas"),
        maxReplicas: count("replicas"),
        cpuUtilization: z
            .number({ message: "expected a CPU utilisation percentage between 1 and 100 (e.g. 70)" })
            .int("expected a whole percentage between 1 and 100 (e.g. 70)")
            .min(1, "expected a CPU utilisation between 1 and 100 (e.g. 70)")
            .max(100, "expected a CPU utilisation between 1 and 100 (e.g. 70)"),
        /** Target average requests per second per pod (Prometheus metric), when custom-metric autoscaling is on. */
        requestsPerSecond: z
            .number({ message: "expected a number of requests per second (e.g. 20)" })
            .positive("expected a positive number of requests per second (e.g. 20)")
            .optional(),
    })
    .superRefine((a, ctx) => {
        if (a.minReplicas > a.maxReplicas)
            ctx.addIssue({
                code: "custom",
                path: ["minReplicas"],
                message: `expected minReplicas <= maxReplicas (${a.maxReplicas})`,
            });
    });
export type Autoscaling = z.infer<typeof autoscaling>;

/**
 * How many pods a workload runs: a fixed `replicas`, or an `autoscaling` range, never both (a fixed
 * count next to an autoscaler would be ignored by it); `autoscaling: false` switches a tier's
 * autoscaler off. Parsed into `{replicas, autoscaling?}` where `replicas` is the starting count.
 */
export const scalableFields = {
    replicas: count("replicas").optional(),
    autoscaling: z
        .union([autoscaling, z.literal(false)], {
            message: "expected {minReplicas, maxReplicas, cpuUtilization} or false",
        })
        .optional(),
};
export function checkScaling(
    s: { replicas?: number; autoscaling?: Autoscaling | false },
    ctx: z.core.$RefinementCtx,
): void {
    if (s.replicas !== undefined && s.autoscaling)
        ctx.addIssue({
            code: "custom",
            path: ["replicas"],
            input: s.replicas,
            message:
                `is ignored while autoscaling governs the count (minReplicas ${s.autoscaling.minReplicas}, ` +
                `maxReplicas ${s.autoscaling.maxReplicas}): change autoscaling.minReplicas/maxReplicas, or set autoscaling: false for a fixed count`,
        });
    if (s.replicas === undefined && !s.autoscaling)
        ctx.addIssue({
            code: "custom",
            path: ["replicas"],
            input: s.replicas,
            message: "expected a replica count (e.g. 2) or an autoscaling range",
        });
}
export const normalizeScaling = <T extends { replicas?: number; autoscaling?: Autoscaling | false }>(s: T) => ({
    ...s,
    replicas: s.autoscaling ? s.autoscaling.minReplicas : (s.replicas ?? 1),
    autoscaling: s.autoscaling || undefined,
});
export const scalable = z.strictObject(scalableFields).superRefine(checkScaling).transform(normalizeScaling);
export type Scalable = z.infer<typeof scalable>;

export const toleration = z.strictObject({
    key: text("the taint's key, e.g. dedicated"),
    operator: oneOf(["Equal", "Exists"]).default("Equal"),
    value: z.string({ message: 'expected the taint\'s value as text, e.g. "ecommerce"' }).optional(),
    effect: oneOf(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});
export type Toleration = z.infer<typeof toleration>;

/** Kubernetes labels or annotations: text keys and text values (quote "true" and numbers in YAML). */
export const labelMap = z.record(
    text("a label or annotation key such as workload-class"),
    z.string({ message: 'expected a text value; quote YAML booleans and numbers, e.g. "true"' }),
    { message: "expected a map of labels, e.g. {workload-class: general}" },
);

/** A node taint: only pods that tolerate it are scheduled (NoSchedule) or kept (NoExecute) there. */
export const taint = z.strictObject({
    key: text("a taint key such as dedicated"),
    value: z.string({ message: 'expected the taint\'s value as text, e.g. "ecommerce"' }).optional(),
    effect: oneOf(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});
export type Taint = z.infer<typeof taint>;

/**
 * One node pool of the cluster: the labels and taints its nodes carry, the zones they run in (the
 * cluster's zones when not given) and the fewest nodes it keeps (spread over its zones; an autoscaler
 * may add more). Placement is checked against these: every pod must fit on some pool.
 */
export const nodePool = z.strictObject({
    name: dnsLabel,
    labels: labelMap.default({}),
    taints: z.array(taint).default([]),
    zones: z
        .array(text("an availability zone such as us-east-1a"), {
            message: "expected a list of availability zones, e.g. [us-east-1a, us-east-1b]",
        })
        .optional(),
    minNodes: count("nodes"),
});
export type NodePool = z.infer<typeof nodePool>;
