// Secure and reliable defaults shared by every workload this program runs.
//
// Pure builders: they return plain Kubernetes specs, so components stay short and tests can check
// the defaults without a Pulumi runtime. A caller opts out of a default explicitly, never in.
import type { input } from "@pulumi/kubernetes/types";
import type { PlatformConfig, Resources } from "../config";

type Container = input.core.v1.Container;
type PodSpec = input.core.v1.PodSpec;
type Probe = input.core.v1.Probe;

/** Label on every namespace we create: the tier the stack deploys (read by the policy pack). */
export const TIER_LABEL = "ecommerce-platform.io/tier";
/** Label on a namespace that holds node-level agents: the documented exception to "restricted". */
export const NODE_AGENT_EXCEPTION_LABEL = "ecommerce-platform.io/pss-exception";

/** Pod-level security context that satisfies Pod Security Standard "restricted". */
export function restrictedPodSecurityContext(uid: number, gid = uid): input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level security context for "restricted": no escalation, no capabilities, read-only root. */
export function restrictedContainerSecurityContext(readOnlyRootFilesystem = true): input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function resourceRequirements(r: Resources): input.core.v1.ResourceRequirements {
    return {
        requests: { cpu: r.requests.cpu, memory: r.requests.memory },
        limits: r.limits.cpu ? { cpu: r.limits.cpu, memory: r.limits.memory } : { memory: r.limits.memory },
    };
}

/** How a container tells Kubernetes it is alive and ready. */
export type HealthCheck =
    | { http: { path: string; readyPath?: string; port: number | string } }
    | { tcp: { port: number | string } }
    | { exec: { command: string[]; readyCommand?: string[] } };

/**
 * Liveness, readiness and startup probes from one health check. The startup probe gives a slow
 * start `startupSeconds` before liveness begins, so liveness can stay strict.
 */
export function probes(
    check: HealthCheck,
    startupSeconds = 60,
): Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
    const handler = (ready: boolean): Probe => {
        if ("http" in check)
            return {
                httpGet: {
                    path: ready ? (check.http.readyPath ?? check.http.path) : check.http.path,
                    port: check.http.port,
                },
            };
        if ("tcp" in check) return { tcpSocket: { port: check.tcp.port } };
        return { exec: { command: ready ? (check.exec.readyCommand ?? check.exec.command) : check.exec.command } };
    };
    const period = 5;
    return {
        startupProbe: {
            ...handler(false),
            periodSeconds: period,
            failureThreshold: Math.ceil(startupSeconds / period),
            timeoutSeconds: 3,
        },
        livenessProbe: { ...handler(false), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
        readinessProbe: { ...handler(true), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
    };
}

export interface ContainerArgs {
    name: string;
    image: string;
    resources: Resources;
    command?: string[];
    args?: string[];
    ports?: { name: string; containerPort: number }[];
    env?: input.core.v1.EnvVar[];
    envFrom?: input.core.v1.EnvFromSource[];
    volumeMounts?: input.core.v1.VolumeMount[];
    /** Probes; omit only for run-to-completion containers (Jobs, init containers). */
    health?: HealthCheck;
    startupSeconds?: number;
    /** Opt-out for images that must write to their root filesystem. */
    writableRootFilesystem?: boolean;
    workingDir?: string;
}

/** A container with the shared defaults applied: restricted security context, resources, probes. */
export function container(a: ContainerArgs): Container {
    return {
        name: a.name,
        image: a.image,
        imagePullPolicy: "IfNotPresent",
        command: a.command,
        args: a.args,
        workingDir: a.workingDir,
        ports: a.ports?.map((p) => ({ ...p, protocol: "TCP" })),
        env: a.env,
        envFrom: a.envFrom,
        volumeMounts: a.volumeMounts,
        resources: resourceRequirements(a.resources),
        securityContext: restrictedContainerSecurityContext(!a.writableRootFilesystem),
        ...(a.health ? probes(a.health, a.startupSeconds) : {}),
    };
}

export interface PodSpecArgs {
    containers: Container[];
    initContainers?: Container[];
    volumes?: input.core.v1.Volume[];
    serviceAccountName: string;
    /** Mount an API token only for workloads that call the Kubernetes API. */
    automountServiceAccountToken?: boolean;
    /** UID/GID the image runs as (must be non-zero). */
    runAsUser: number;
    runAsGroup?: number;
    restartPolicy?: "Always" | "OnFailure" | "Never";
    terminationGracePeriodSeconds?: number;
}

/** A pod spec with the restricted security context and the stack's scheduling rules. */
export function podSpec(cfg: PlatformConfig, a: PodSpecArgs, spreadSelector?: Record<string, string>): PodSpec {
    return {
        serviceAccountName: a.serviceAccountName,
        automountServiceAccountToken: a.automountServiceAccountToken ?? false,
        securityContext: restrictedPodSecurityContext(a.runAsUser, a.runAsGroup),
        containers: a.containers,
        initContainers: a.initContainers,
        volumes: a.volumes,
        restartPolicy: a.restartPolicy,
        terminationGracePeriodSeconds: a.terminationGracePeriodSeconds ?? 30,
        enableServiceLinks: false,
        ...scheduling(cfg, spreadSelector),
    };
}

/** Where the platform's pods run (config scheduling): the node selector and tolerations of every pod we start. */
export interface Placement {
    nodeSelector: Record<string, string>;
    tolerations: input.core.v1.Toleration[];
}

/**
 * The stack's placement as chart values take it (each chart component gets it through the keys that
 * chart reads; tests/harness/cluster/catalog.ts maps them). Empty on an untainted laptop.
 */
export function placement(cfg: PlatformConfig): Placement {
    return {
        nodeSelector: { ...cfg.scheduling.nodeSelector },
        tolerations: cfg.scheduling.tolerations.map((t) => ({ ...t })),
    };
}

/** Tolerations of a node agent that must run on every node: every taint, NoSchedule and NoExecute alike. */
export const EVERY_NODE: input.core.v1.Toleration[] = [{ operator: "Exists" }];

type Spread = "DoNotSchedule" | "ScheduleAnyway";

/** One topology spread of the pods `selector` matches over `topologyKey`, at most one pod apart. */
export const spreadConstraint = (topologyKey: string, selector: Record<string, string>, whenUnsatisfiable: Spread) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: { ...selector } },
});

/** Spreading over nodes, and over the cluster profile's zones where the stack spreads across zones. */
export const nodeAndZoneSpread = (cfg: PlatformConfig, selector: Record<string, string>, when: Spread) =>
    ["kubernetes.io/hostname", ...(cfg.scheduling.spreadAcrossZones ? [cfg.cluster.profile.zoneLabel] : [])].map(
        (key) => spreadConstraint(key, selector, when),
    );

/** Spreading over the cluster profile's zones where the stack spreads across zones (else nothing). */
export const zoneSpread = (cfg: PlatformConfig, selector: Record<string, string>, when: Spread) =>
    cfg.scheduling.spreadAcrossZones
        ? { topologySpreadConstraints: [spreadConstraint(cfg.cluster.profile.zoneLabel, selector, when)] }
        : {};

/**
 * Node placement from config (nodeSelector, tolerations) and, for replicated workloads, spreading
 * across nodes and (in production) zones. Spreading is `ScheduleAnyway` so a single-node laptop
 * cluster still schedules everything.
 */
export function scheduling(
    cfg: PlatformConfig,
    spreadSelector?: Record<string, string>,
): Pick<PodSpec, "nodeSelector" | "tolerations" | "topologySpreadConstraints" | "affinity"> {
    const s = cfg.scheduling;
    const out: Pick<PodSpec, "nodeSelector" | "tolerations" | "topologySpreadConstraints" | "affinity"> = {};
    if (Object.keys(s.nodeSelector).length > 0) out.nodeSelector = { ...s.nodeSelector };
    if (s.tolerations.length > 0) out.tolerations = s.tolerations.map((t) => ({ ...t }));
    if (spreadSelector) {
        out.topologySpreadConstraints = nodeAndZoneSpread(cfg, spreadSelector, "ScheduleAnyway");
        out.affinity = {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                        weight: 100,
                        podAffinityTerm: {
                            topologyKey: "kubernetes.io/hostname",
                            labelSelector: { matchLabels: spreadSelector },
                        },
                    },
                ],
            },
        };
    }
    return out;
}

/** Whether a workload with this many replicas should carry a PodDisruptionBudget and spread. */
export function isReplicated(minReplicas: number): boolean {
    return minReplicas >= 2;
}

/** Annotations that make Prometheus-style scrapers and Istio merge metrics predictably. */
export function metricsAnnotations(port: number, path = "/metrics"): Record<string, string> {
    return { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": path };
}
