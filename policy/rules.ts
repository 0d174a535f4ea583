// The platform's guardrails as pure functions over one neutral resource shape.
//
// Two callers run the very same rules with the very same context (contextFromResources: the tier
// from the Namespace objects' labels):
//  - policy/pack.ts wraps them as CrossGuard policies (`pulumi preview --policy-pack policy`);
//  - the test suite runs them over every resource the program registers under Pulumi mocks
//    (`evaluate(recorded.map(toPolicyResource))`).
// Every message says what to change. This file has no runtime imports, so the policy pack stays a
// small self-contained Node program (a test checks the label constants against components/defaults.ts).

export const TIERS = ["dev", "staging", "production"] as const;
export type Tier = (typeof TIERS)[number];

/** Label on every namespace the program creates: the stack's tier (TIER_LABEL in components/defaults.ts). */
export const TIER_LABEL = "ecommerce-platform.io/tier";
/** Label (with a short reason) on a namespace that holds node-level agents (NODE_AGENT_EXCEPTION_LABEL). */
export const NODE_AGENT_EXCEPTION_LABEL = "ecommerce-platform.io/pss-exception";
export const PSS_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** Helm repositories a release may come from (compared without trailing slashes). */
export const ALLOWED_HELM_REPOSITORIES = [
    "https://istio-release.storage.googleapis.com/charts",
    "https://prometheus-community.github.io/helm-charts",
    "https://jaegertracing.github.io/helm-charts",
    "https://kedacore.github.io/charts",
    "https://helm.redis.io/",
    "https://kubernetes-sigs.github.io/metrics-server/",
    "https://charts.jetstack.io",
    "https://kubernetes-sigs.github.io/external-dns/",
    "https://cloudnative-pg.github.io/charts",
    "https://opensearch-project.github.io/helm-charts/",
] as const;

/** Volume types Pod Security Standard "restricted" allows. */
export const ALLOWED_VOLUME_TYPES = [
    "configMap",
    "downwardAPI",
    "emptyDir",
    "projected",
    "secret",
    "csi",
    "persistentVolumeClaim",
    "ephemeral",
] as const;

// ---------------------------------------------------------------------------------------------
// The neutral shapes

export interface PolicyResource {
    /** Pulumi type token, e.g. "kubernetes:apps/v1:Deployment". */
    type: string;
    /** Pulumi logical name. */
    name: string;
    urn?: string;
    /** Kubernetes manifest fields (metadata, spec, data, ...) or Helm Release inputs (chart, version, values, ...). */
    props: any;
    protect?: boolean;
    /** undefined when the caller cannot see it (CrossGuard). */
    retainOnDelete?: boolean;
    /**
     * Whether the value at `path` inside props was marked as a Pulumi secret. Absent when the caller
     * cannot tell (CrossGuard unwraps secrets before policies see them).
     */
    isSecret?: (path: readonly (string | number)[]) => boolean;
}

export interface RuleContext {
    tier: Tier;
}

/**
 * A rule over one resource at a time. Resource rules never depend on the tier: CrossGuard shows a
 * resource policy a single resource, without the Namespace objects that declare the tier, so a
 * tier-dependent rule is a StackRule (it sees every resource).
 */
export interface ResourceRule {
    name: string;
    description: string;
    /** Violation messages, each saying how to fix it; empty when the resource complies. */
    check(r: PolicyResource): string[];
}

export interface StackViolation {
    /** The resource to blame, when there is one. */
    resource?: PolicyResource;
    message: string;
}

export interface StackRule {
    name: string;
    description: string;
    /** The rule depends on the tier (CrossGuard then offers the optional `tier` override in policy config). */
    readsTier?: boolean;
    check(all: PolicyResource[], ctx: RuleContext): StackViolation[];
}

export interface Finding {
    rule: string;
    /** `<type>::<logical name>` of the offending resource, when there is one. */
    resource?: string;
    message: string;
}

/** What the test harness records per resource (structurally a subset of tests/harness RecordedResource). */
export interface RecordedInput {
    type: string;
    name: string;
    urn?: string;
    /** Inputs with Pulumi secrets recorded as `{ $secret: value }`. */
    inputs: unknown;
    protect?: boolean;
    retainOnDelete?: boolean;
}

// ---------------------------------------------------------------------------------------------
// From the test harness's records

type Path = readonly (string | number)[];

function isSecretWrapper(v: unknown): v is { $secret: unknown } {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "$secret" in v;
}

/** A value with every `{ $secret }` wrapper replaced by the value it wraps. */
export function unwrapSecrets(v: unknown): any {
    if (isSecretWrapper(v)) return unwrapSecrets(v.$secret);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (typeof v === "object" && v !== null)
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    return v;
}

/** Whether the value at `path` is secret: it, or anything enclosing it, was wrapped. */
function markedAt(raw: unknown, path: Path): boolean {
    let node: any = raw;
    for (const key of path) {
        if (isSecretWrapper(node)) return true;
        if (typeof node !== "object" || node === null) return false;
        node = node[key];
    }
    return isSecretWrapper(node);
}

export function toPolicyResource(r: RecordedInput): PolicyResource {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: unwrapSecrets(r.inputs) ?? {},
        protect: r.protect ?? false,
        retainOnDelete: r.retainOnDelete ?? false,
        isSecret: (path) => markedAt(r.inputs, path),
    };
}

// ---------------------------------------------------------------------------------------------
// Reading Kubernetes objects

const get = (o: any, path: Path): any => path.reduce((n, k) => (n == null ? undefined : n[k]), o);

/** Where each workload type keeps its pod template ({metadata, spec}); a Pod is its own template. */
const POD_TEMPLATE_PATHS: Record<string, Path> = {
    "kubernetes:apps/v1:Deployment": ["spec", "template"],
    "kubernetes:apps/v1:StatefulSet": ["spec", "template"],
    "kubernetes:apps/v1:DaemonSet": ["spec", "template"],
    "kubernetes:apps/v1:ReplicaSet": ["spec", "template"],
    "kubernetes:batch/v1:Job": ["spec", "template"],
    "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template"],
    "kubernetes:core/v1:Pod": [],
};
const LONG_RUNNING = [
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
];
const REPLICATED = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"];
const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];
const T = {
    namespace: "kubernetes:core/v1:Namespace",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    scaledObject: "kubernetes:keda.sh/v1alpha1:ScaledObject",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
};

/** The pod template of a workload, or undefined for anything else. */
export function podTemplate(r: PolicyResource): { metadata?: any; spec?: any } | undefined {
    const path = POD_TEMPLATE_PATHS[r.type];
    return path ? (get(r.props, path) ?? {}) : undefined;
}

const kindOf = (r: PolicyResource) => r.type.split(":").pop()!;
const nameOf = (r: PolicyResource): string => r.props?.metadata?.name ?? r.name;
const namespaceOf = (r: PolicyResource): string => r.props?.metadata?.namespace ?? "default";
/** e.g. `Deployment "shop/frontend"`, for messages that must name the object. */
const describe = (r: PolicyResource) => `${kindOf(r)} "${namespaceOf(r)}/${nameOf(r)}"`;

interface ContainerRef {
    c: any;
    init: boolean;
    /** e.g. `container "api"` or `init container "migrate"`. */
    label: string;
}

function containersOf(spec: any): ContainerRef[] {
    const list = (key: string, label: string, init: boolean) =>
        ((spec?.[key] ?? []) as any[]).map((c) => ({ c, init, label: `${label} "${c?.name}"` }));
    return [
        ...list("initContainers", "init container", true),
        ...list("containers", "container", false),
        ...list("ephemeralContainers", "ephemeral container", true),
    ];
}

/** Whether a label selector (matchLabels/matchExpressions) selects pods carrying `labels`. */
export function selectorMatches(selector: any, labels: Record<string, string> = {}): boolean {
    if (!selector) return false;
    const exprOk = (e: any) => {
        const has = e.key in labels;
        switch (e.operator) {
            case "In":
                return has && (e.values ?? []).includes(labels[e.key]);
            case "NotIn":
                return !has || !(e.values ?? []).includes(labels[e.key]);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            default:
                return false;
        }
    };
    return (
        Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
        (selector.matchExpressions ?? []).every(exprOk)
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 1: Pod Security Standard "restricted"

export interface PodSecurityOptions {
    /** The pod runs in a documented node-agent namespace: read-only hostPath volumes are allowed, no added capabilities. */
    nodeAgentException?: boolean;
}

const seccompOk = (type: unknown) => type === "RuntimeDefault" || type === "Localhost";

/** What keeps a pod spec from meeting "restricted" (with the node-agent exception when asked). */
export function podSecurityProblems(spec: any, opts: PodSecurityOptions = {}): string[] {
    const out: string[] = [];
    const pod = spec?.securityContext ?? {};
    for (const f of ["hostNetwork", "hostPID", "hostIPC"])
        if (spec?.[f] === true) out.push(`pod: remove ${f}: true; host namespaces are not allowed`);
    if (pod.runAsUser === 0) out.push("pod: securityContext.runAsUser is 0; run as a non-zero UID");
    if (pod.seccompProfile && !seccompOk(pod.seccompProfile.type))
        out.push(`pod: securityContext.seccompProfile.type is ${pod.seccompProfile.type}; use RuntimeDefault`);

    const readOnlyMounts = new Map<string, boolean>();
    const allowedAdd = opts.nodeAgentException ? [] : ["NET_BIND_SERVICE"];
    for (const { c, label } of containersOf(spec)) {
        const sc = c?.securityContext ?? {};
        if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true)
            out.push(`${label}: set securityContext.runAsNonRoot: true (on the pod or the container)`);
        if (sc.runAsUser === 0) out.push(`${label}: securityContext.runAsUser is 0; run as a non-zero UID`);
        if (sc.allowPrivilegeEscalation !== false)
            out.push(`${label}: set securityContext.allowPrivilegeEscalation: false`);
        if (sc.privileged === true) out.push(`${label}: remove securityContext.privileged: true`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL"))
            out.push(`${label}: set securityContext.capabilities.drop: ["ALL"]`);
        const added = ((sc.capabilities?.add ?? []) as string[]).filter((cap) => !allowedAdd.includes(cap));
        if (added.length > 0)
            out.push(
                `${label}: remove capabilities.add ${added.join(", ")}; ${opts.nodeAgentException ? "node agents may add none" : "only NET_BIND_SERVICE may be added"}`,
            );
        if (!seccompOk(sc.seccompProfile?.type ?? pod.seccompProfile?.type))
            out.push(`${label}: set securityContext.seccompProfile.type: RuntimeDefault (on the pod or the container)`);
        for (const p of c?.ports ?? [])
            if (p?.hostPort) out.push(`${label}: remove hostPort ${p.hostPort}; expose the port through a Service`);
        for (const m of c?.volumeMounts ?? [])
            readOnlyMounts.set(m.name, (readOnlyMounts.get(m.name) ?? true) && m.readOnly === true);
    }

    for (const v of spec?.volumes ?? []) {
        const type = Object.keys(v ?? {}).find((k) => k !== "name");
        if (type === undefined) continue;
        if (type === "hostPath") {
            if (!opts.nodeAgentException)
                out.push(
                    `volume "${v.name}": hostPath volumes are not allowed; use another volume type, or (node-level agents only) run the pod in a namespace labelled ${NODE_AGENT_EXCEPTION_LABEL}=<reason> and ${PSS_ENFORCE_LABEL}=privileged and mount it readOnly`,
                );
            else if (readOnlyMounts.get(v.name) === false)
                out.push(`volume "${v.name}": mount the hostPath volume with readOnly: true in every container`);
        } else if (!(ALLOWED_VOLUME_TYPES as readonly string[]).includes(type)) {
            out.push(
                `volume "${v.name}": ${type} volumes are not allowed; use one of ${ALLOWED_VOLUME_TYPES.join(", ")}`,
            );
        }
    }
    return out;
}

/** Namespaces the program labels as documented node-agent exceptions (reason given, enforce=privileged). */
function nodeAgentNamespaces(all: PolicyResource[]): Set<string> {
    return new Set(
        all
            .filter((r) => r.type === T.namespace)
            .filter((r) => {
                const labels = r.props?.metadata?.labels ?? {};
                return (
                    typeof labels[NODE_AGENT_EXCEPTION_LABEL] === "string" &&
                    labels[NODE_AGENT_EXCEPTION_LABEL] !== "" &&
                    labels[PSS_ENFORCE_LABEL] === "privileged"
                );
            })
            .map(nameOf),
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 4: images

/** Why an image reference is not pinned, or undefined when it is pinned by tag or digest. */
export function imagePinProblem(image: unknown): string | undefined {
    if (typeof image !== "string" || image.trim() === "") return "set an image pinned by tag or digest";
    if (image.includes("@")) return undefined; // digest pin
    const last = image.split("/").pop()!;
    const colon = last.lastIndexOf(":");
    if (colon < 0) return `image "${image}" has no tag (which means latest); pin a version tag or a digest`;
    if (last.slice(colon + 1) === "latest")
        return `image "${image}" uses the latest tag; pin a version tag or a digest`;
    return undefined;
}

/** Why an image reference is not pinned by digest with a version tag (production tiers), or undefined. */
export function digestPinProblem(image: unknown): string | undefined {
    if (typeof image !== "string") return "set an image pinned by digest";
    const [name, digest] = image.split("@");
    const tagged = /:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name.split("/").pop() ?? "");
    if (digest && /^sha256:[a-f0-9]{64}$/.test(digest) && tagged) return undefined;
    return `image "${image}" is not pinned by digest: use name:tag@sha256:<digest> (a tag can be pushed again, a digest cannot)`;
}

// ---------------------------------------------------------------------------------------------
// Rule 7: credential detection

const CREDENTIAL_WORDS = new Set([
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
]);
const CREDENTIAL_KEY_PREFIXES = new Set(["api", "private", "access", "secret", "encryption", "signing", "master"]);
/** Last words that make a key a reference to a credential, or a setting about one, not the credential. */
const NON_CREDENTIAL_SUFFIXES = new Set([
    "name",
    "ref",
    "file",
    "path",
    "dir",
    "key",
    "ttl",
    "timeout",
    "expiry",
    "expiration",
    "length",
    "enabled",
    "mode",
    "type",
    "header",
    "namespace",
    "url",
    "endpoint",
    "version",
    "provider",
]);
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** `$(OTHER_VAR)` / `${OTHER_VAR}`: a reference to another variable, not a literal. */
const VARIABLE_REFERENCE = /^\$[({][A-Za-z_][A-Za-z0-9_]*[)}]$/;

function words(key: string): string[] {
    return key
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter(Boolean);
}

/**
 * Whether a key names a credential (DB_PASSWORD, apiKey, clientSecret, PRIVATE_KEY) rather than a
 * reference to one (existingSecret, passwordKey, secretName, tokenFile) or a setting (TOKEN_TTL).
 */
export function isCredentialKey(key: string): boolean {
    const w = words(key);
    if (w.length === 0 || w[0] === "existing") return false;
    const last = w[w.length - 1];
    if (last === "key" && w.length >= 2 && CREDENTIAL_KEY_PREFIXES.has(w[w.length - 2])) return true;
    if (NON_CREDENTIAL_SUFFIXES.has(last)) return false;
    return w.some((x) => CREDENTIAL_WORDS.has(x));
}

const isLiteral = (v: unknown): v is string => typeof v === "string" && v !== "" && !VARIABLE_REFERENCE.test(v);

/** Every [path, value] pair in a JSON-like value, depth first. */
function* leaves(v: unknown, path: string[] = []): Generator<[string[], unknown]> {
    if (typeof v === "object" && v !== null) {
        for (const [k, x] of Object.entries(v)) yield* leaves(x, [...path, k]);
    } else {
        yield [path, v];
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 9: Helm

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const trimSlash = (s: string) => s.replace(/\/+$/, "");

// ---------------------------------------------------------------------------------------------
// The rules

const onlyFor =
    (types: string[], check: ResourceRule["check"]): ResourceRule["check"] =>
    (r) =>
        types.includes(r.type) ? check(r) : [];

/** A check over every container of a pod template. */
const perContainer = (
    problem: (c: any, init: boolean) => string[],
    types = Object.keys(POD_TEMPLATE_PATHS),
): ResourceRule["check"] =>
    onlyFor(types, (r) =>
        containersOf(podTemplate(r)?.spec).flatMap(({ c, init, label }) =>
            problem(c, init).map((m) => `${label}: ${m}`),
        ),
    );

export const RESOURCE_RULES: ResourceRule[] = [
    {
        name: "container-resources",
        description: "Every container (init containers too) requests CPU and memory and limits memory.",
        check: perContainer((c) => {
            const missing = [
                ["requests", "cpu"],
                ["requests", "memory"],
                ["limits", "memory"],
            ].filter((p) => get(c?.resources, p) == null);
            return missing.length === 0
                ? []
                : [
                      `set ${missing.map((p) => `resources.${p.join(".")}`).join(", ")} (resourceRequirements() in components/defaults.ts sets all three)`,
                  ];
        }),
    },
    {
        name: "container-probes",
        description: "Every container of a Deployment, StatefulSet or DaemonSet has readiness and liveness probes.",
        check: perContainer(
            (c, init) =>
                init
                    ? []
                    : (["readinessProbe", "livenessProbe"] as const)
                          .filter((p) => !c?.[p])
                          .map(
                              (p) =>
                                  `add a ${p} (probes() in components/defaults.ts builds both from one health check)`,
                          ),
            LONG_RUNNING,
        ),
    },
    {
        name: "pinned-images",
        description: "No container image uses the latest tag or no tag; pin a version tag or a digest.",
        check: perContainer((c) => {
            const problem = imagePinProblem(c?.image);
            return problem ? [problem] : [];
        }),
    },
    {
        name: "no-plaintext-secrets",
        description:
            "Credentials reach pods through Secrets: no literal credential env values, ConfigMap entries or Helm values; Secret data is a Pulumi secret.",
        check: (r) => {
            if (r.type in POD_TEMPLATE_PATHS) {
                return containersOf(podTemplate(r)?.spec).flatMap(({ c, label }) =>
                    ((c?.env ?? []) as any[])
                        .filter((e) => isCredentialKey(e?.name ?? "") && isLiteral(e.value))
                        .map(
                            (e) =>
                                `${label}: env ${e.name} holds a literal credential; use valueFrom.secretKeyRef to read it from a Secret`,
                        ),
                );
            }
            if (r.type === T.configMap) {
                return Object.entries(r.props?.data ?? {}).flatMap(([k, v]) =>
                    (isCredentialKey(k) && isLiteral(v)) || (typeof v === "string" && PEM_PRIVATE_KEY.test(v))
                        ? [
                              `data.${k} looks like a credential; ConfigMaps are not secret: move it to a Secret (with pulumi.secret) and reference it`,
                          ]
                        : [],
                );
            }
            if (HELM_TYPES.includes(r.type)) {
                return [...leaves(r.props?.values ?? {})].flatMap(([path, v]) =>
                    (isCredentialKey(String(path[path.length - 1])) && isLiteral(v)) ||
                    (typeof v === "string" && PEM_PRIVATE_KEY.test(v))
                        ? [
                              `values.${path.join(".")} holds a literal credential (Helm keeps values readable in its release record); point the chart at a Secret instead (existingSecret-style values)`,
                          ]
                        : [],
                );
            }
            if (r.type === T.secret && r.isSecret) {
                const isSecret = r.isSecret;
                return ["data", "stringData"].flatMap((field) =>
                    Object.keys(r.props?.[field] ?? {})
                        .filter((k) => !isSecret([field, k]))
                        .map(
                            (k) =>
                                `${field}.${k} is not a Pulumi secret; wrap the value with pulumi.secret() (or read it with config.requireSecret) so the state stores it encrypted`,
                        ),
                );
            }
            return [];
        },
    },
    {
        name: "rbac-least-privilege",
        description: 'Roles name their verbs, resources and API groups (no "*"); nothing is bound to cluster-admin.',
        check: (r) => {
            if (
                r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role" ||
                r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
            ) {
                return ((r.props?.rules ?? []) as any[]).flatMap((rule, i) =>
                    (["verbs", "resources", "apiGroups"] as const)
                        .filter((f) => (rule?.[f] ?? []).includes("*"))
                        .map((f) => `rules[${i}].${f} contains "*"; list the ${f} the workload needs`),
                );
            }
            if (
                r.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" ||
                r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
            ) {
                return r.props?.roleRef?.name === "cluster-admin"
                    ? ["binds cluster-admin; bind a Role (or ClusterRole) that grants only what the subject needs"]
                    : [];
            }
            return [];
        },
    },
    {
        name: "helm-release-pinned",
        description: `Helm releases use an exact chart version from an allowed repository (${ALLOWED_HELM_REPOSITORIES.join(", ")}).`,
        check: onlyFor(HELM_TYPES, (r) => {
            const out: string[] = [];
            const version = r.props?.version;
            if (typeof version !== "string" || !SEMVER.test(version))
                out.push(
                    `chart ${r.props?.chart}: version ${JSON.stringify(version ?? "")} is not an exact version; pin one such as "1.30.1" (no ranges, no empty)`,
                );
            const repo = r.props?.repositoryOpts?.repo;
            const allowed = ALLOWED_HELM_REPOSITORIES.map(trimSlash);
            if (typeof repo !== "string" || !allowed.includes(trimSlash(repo)))
                out.push(
                    `chart ${r.props?.chart}: repositoryOpts.repo ${JSON.stringify(repo ?? "")} is not an allowed repository; use one of ${ALLOWED_HELM_REPOSITORIES.join(", ")}`,
                );
            return out;
        }),
    },
];

export const STACK_RULES: StackRule[] = [
    {
        // A stack rule because it depends on the tier (from the Namespace objects).
        name: "images-pinned-by-digest",
        description: "Outside dev, every container image is pinned by digest with its version tag (name:tag@sha256:…).",
        readsTier: true,
        check: (all, ctx) => {
            if (ctx.tier === "dev") return [];
            return all
                .filter((r) => podTemplate(r))
                .flatMap((r) =>
                    containersOf(podTemplate(r)!.spec).flatMap(({ c, label }) => {
                        const problem = digestPinProblem(c?.image);
                        return problem ? [{ resource: r, message: `${describe(r)} ${label}: ${problem}` }] : [];
                    }),
                );
        },
    },
    {
        // A stack rule (not a resource rule) because it depends on the tier, which comes from the
        // Namespace objects: CrossGuard shows a resource policy one resource at a time.
        name: "stateful-data-protected",
        description:
            "In production, StatefulSets, PersistentVolumeClaims and PersistentVolumes carry protect (or retainOnDelete).",
        readsTier: true,
        check: (all, ctx) => {
            if (ctx.tier !== "production") return [];
            return all
                .filter((r) =>
                    [
                        T.statefulSet,
                        "kubernetes:core/v1:PersistentVolumeClaim",
                        "kubernetes:core/v1:PersistentVolume",
                    ].includes(r.type),
                )
                .filter((r) => r.protect !== true && r.retainOnDelete !== true)
                .map((r) => {
                    const claims = ((r.props?.spec?.volumeClaimTemplates ?? []) as any[]).map((t) => t?.metadata?.name);
                    const holds = claims.length > 0 ? ` (volumeClaimTemplates: ${claims.join(", ")})` : "";
                    const unseen =
                        r.retainOnDelete === undefined ? "; this check cannot see retainOnDelete, so use protect" : "";
                    return {
                        resource: r,
                        message: `${describe(r)} holds production data${holds}: set the resource option protect: true (or retainOnDelete: true) so removing it from the program cannot delete the data${unseen}`,
                    };
                });
        },
    },
    {
        name: "pod-security-restricted",
        description: `Every pod template meets Pod Security Standard "restricted"; pods in a namespace labelled ${NODE_AGENT_EXCEPTION_LABEL} (enforce=privileged) may only add read-only hostPath volumes.`,
        check: (all) => {
            const exempt = nodeAgentNamespaces(all);
            return all
                .filter((r) => podTemplate(r))
                .flatMap((r) =>
                    podSecurityProblems(podTemplate(r)!.spec, { nodeAgentException: exempt.has(namespaceOf(r)) }).map(
                        (m) => ({ resource: r, message: `${describe(r)}: ${m}` }),
                    ),
                );
        },
    },
    {
        name: "default-deny-network-policy",
        description:
            "Every namespace the program creates, and every namespace that runs its workloads, has a default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules). Helm releases in namespaces the program does not create (kube-system) are exempt.",
        check: (all) => {
            const denied = new Set(
                all.filter((r) => r.type === T.networkPolicy && isDefaultDeny(r.props?.spec)).map(namespaceOf),
            );
            const created = new Set(all.filter((r) => r.type === T.namespace).map(nameOf));
            const contents = new Map<string, string[]>();
            const add = (ns: string, what: string) => contents.set(ns, [...(contents.get(ns) ?? []), what]);
            for (const ns of created) contents.set(ns, []);
            // Our own pod templates must run fenced wherever they are.
            for (const r of all.filter((x) => podTemplate(x))) add(namespaceOf(r), describe(r));
            // A chart's pods are fenced by the namespace it is released into, when that namespace is ours.
            // Namespaces the program does not create (kube-system for metrics-server) belong to the
            // cluster: a default-deny there would cut off the cluster's own components, so they are exempt.
            for (const r of all.filter((x) => HELM_TYPES.includes(x.type))) {
                const ns = r.props?.namespace ?? "default";
                if (created.has(ns)) add(ns, `Helm release "${r.props?.name ?? r.name}" (chart ${r.props?.chart})`);
            }
            return [...contents]
                .filter(([ns]) => !denied.has(ns))
                .map(([ns, what]) => ({
                    resource: all.find((r) => r.type === T.namespace && nameOf(r) === ns),
                    message: `namespace "${ns}"${what.length > 0 ? ` runs ${what.join(", ")} but` : ""} has no default-deny NetworkPolicy: add one with podSelector: {}, policyTypes: [Ingress, Egress] and no rules (HardenedNamespace does, unless defaultDeny: false), then allow the traffic each workload needs`,
                }));
        },
    },
    {
        name: "disruption-budget-and-spread",
        description:
            "In production, every Deployment or StatefulSet with 2+ replicas (or an HPA/ScaledObject minimum of 2+) has a matching PodDisruptionBudget and spreads its pods.",
        readsTier: true,
        check: (all, ctx) => {
            if (ctx.tier !== "production") return [];
            const sameNs = (a: PolicyResource, b: PolicyResource) => namespaceOf(a) === namespaceOf(b);
            const minScaled = (w: PolicyResource) =>
                Math.max(
                    0,
                    ...all
                        .filter((s) => sameNs(s, w))
                        .map((s) => {
                            const ref = s.props?.spec?.scaleTargetRef;
                            if (ref?.name !== nameOf(w) || (ref?.kind ?? "Deployment") !== kindOf(w)) return 0;
                            if (s.type === T.hpa) return s.props?.spec?.minReplicas ?? 1;
                            return s.type === T.scaledObject ? (s.props?.spec?.minReplicaCount ?? 0) : 0;
                        }),
                );
            return all
                .filter((w) => REPLICATED.includes(w.type))
                .flatMap((w) => {
                    const replicas = Math.max(w.props?.spec?.replicas ?? 1, minScaled(w));
                    if (replicas < 2) return [];
                    const template = podTemplate(w)!;
                    const out: StackViolation[] = [];
                    const pdb = all.find(
                        (p) =>
                            p.type === T.pdb &&
                            sameNs(p, w) &&
                            selectorMatches(p.props?.spec?.selector, template.metadata?.labels),
                    );
                    if (!pdb)
                        out.push({
                            resource: w,
                            message: `${describe(w)} runs ${replicas} replicas but no PodDisruptionBudget selects its pod labels: add one (minAvailable or maxUnavailable) whose selector matches spec.template.metadata.labels`,
                        });
                    const spec = template.spec ?? {};
                    const anti = spec.affinity?.podAntiAffinity;
                    const spread =
                        (spec.topologySpreadConstraints ?? []).length > 0 ||
                        (anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0 ||
                        (anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).length > 0;
                    if (!spread)
                        out.push({
                            resource: w,
                            message: `${describe(w)} runs ${replicas} replicas without spreading them: add topologySpreadConstraints or podAntiAffinity (scheduling() in components/defaults.ts adds both)`,
                        });
                    return out;
                });
        },
    },
];

/** A NetworkPolicy spec that selects every pod and allows nothing in either direction. */
export function isDefaultDeny(spec: any): boolean {
    const sel = spec?.podSelector;
    const selectsAll =
        sel != null && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
    const types: string[] = spec?.policyTypes ?? [];
    return (
        selectsAll &&
        types.includes("Ingress") &&
        types.includes("Egress") &&
        (spec?.ingress ?? []).length === 0 &&
        (spec?.egress ?? []).length === 0
    );
}

// ---------------------------------------------------------------------------------------------
// Running the rules

/**
 * The context every rule runs with, in the tests (evaluate) and in the CrossGuard pack alike: the
 * tier the program's namespaces declare (label TIER_LABEL; if they disagree the strictest wins; with
 * no labelled namespace, production, the strictest), unless `override` names a tier.
 */
export function contextFromResources(all: PolicyResource[], override?: Tier): RuleContext {
    if (override !== undefined) return { tier: override };
    const tiers = all
        .filter((r) => r.type === T.namespace)
        .map((r) => r.props?.metadata?.labels?.[TIER_LABEL])
        .filter((t): t is Tier => (TIERS as readonly string[]).includes(t));
    return { tier: tiers.length > 0 ? TIERS[Math.max(...tiers.map((t) => TIERS.indexOf(t)))] : "production" };
}

const label = (r: PolicyResource) => `${r.type}::${r.name}`;

/** Every violation of every rule across `resources` (tier from the namespaces unless `ctx` is given). */
export function evaluate(resources: PolicyResource[], ctx: RuleContext = contextFromResources(resources)): Finding[] {
    return [
        ...RESOURCE_RULES.flatMap((rule) =>
            resources.flatMap((r) =>
                rule.check(r).map((message) => ({ rule: rule.name, resource: label(r), message })),
            ),
        ),
        ...STACK_RULES.flatMap((rule) =>
            rule
                .check(resources, ctx)
                .map((v) => ({ rule: rule.name, resource: v.resource && label(v.resource), message: v.message })),
        ),
    ];
}

/** Findings as one line each, for assertion messages. */
export function formatFindings(findings: Finding[]): string {
    return findings.map((f) => `[${f.rule}] ${f.resource ?? "(stack)"}: ${f.message}`).join("\n");
}
