// The documentation's names, commands and URNs against what the stacks create: kubectl commands
// (namespaces, objects, ports, containers, Secret keys, label selectors), objects named by kind,
// URNs, and files of the repository. Pure functions over evaluated stacks, so a test can run them on
// a damaged document too.
import { PROFILES } from "../../config/profiles";
import { type K8sObject, kubernetesObjects, podTemplate } from "./k8s";
import type { RecordedResource } from "./types";

/** An object a stack's cluster would hold: one the program sends, or one a chart or operator makes. */
export interface ClusterObject {
    kind: string;
    name: string;
    namespace?: string;
    /** Service ports. */
    ports?: number[];
    /** Containers of a workload's (or a Pod's) pods. */
    containers?: string[];
    /** Labels of a workload's pods (or of the object). */
    podLabels?: Record<string, string>;
    /** Secret data keys. */
    dataKeys?: string[];
    /** Where the object comes from, for messages. */
    source: string;
}

const serviceObject = (name: string, namespace: string, ports: number[], source: string): ClusterObject => ({
    kind: "Service",
    name,
    namespace,
    ports,
    source,
});

const workload = (
    kind: string,
    name: string,
    namespace: string,
    source: string,
    containers?: string[],
): ClusterObject => ({ kind, name, namespace, containers, source });

/**
 * Objects the charts and operators create, named as the pinned charts name them from the values the
 * program passes (fullnameOverride, release names, service ports). Only what the docs refer to.
 */
export function chartMadeObjects(resources: RecordedResource[]): ClusterObject[] {
    const out: ClusterObject[] = [];
    for (const r of resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
        const { chart, name: release, namespace: ns, values = {} } = r.inputs;
        const src = `Helm release ${ns}/${release} (${chart})`;
        switch (chart) {
            case "kube-prometheus-stack": {
                const f = values.fullnameOverride ?? release;
                out.push(
                    serviceObject(`${f}-prometheus`, ns, [9090], src),
                    serviceObject(`${f}-alertmanager`, ns, [9093], src),
                    workload("StatefulSet", `prometheus-${f}-prometheus`, ns, src, ["prometheus", "config-reloader"]),
                    workload("StatefulSet", `alertmanager-${f}-alertmanager`, ns, src, [
                        "alertmanager",
                        "config-reloader",
                    ]),
                    workload("Deployment", `${f}-operator`, ns, src),
                );
                if (values.grafana?.enabled !== false) {
                    const g = values.grafana?.fullnameOverride ?? `${release}-grafana`;
                    out.push(serviceObject(g, ns, [values.grafana?.service?.port ?? 80], src));
                    out.push(workload("Deployment", g, ns, src, ["grafana"]));
                }
                break;
            }
            case "jaeger": {
                const j = values.fullnameOverride ?? release;
                // The v2 all-in-one: query UI 16686, OTLP gRPC 4317 and HTTP 4318.
                out.push(serviceObject(j, ns, [16686, 4317, 4318], src), workload("Deployment", j, ns, src));
                if (values.esIndexCleaner?.enabled) out.push(workload("CronJob", `${j}-es-index-cleaner`, ns, src));
                break;
            }
            case "opensearch": {
                // StatefulSet and Service <clusterName>-<nodeGroup>, pods ...-0..n with container opensearch.
                const name = `${values.clusterName ?? "opensearch-cluster"}-${values.nodeGroup ?? "master"}`;
                out.push(serviceObject(name, ns, [9200, 9300], src));
                out.push(workload("StatefulSet", name, ns, src, ["opensearch"]));
                for (let i = 1; i < (values.replicas ?? 3); i++)
                    out.push({ ...workload("Pod", `${name}-${i}`, ns, src, ["opensearch"]) });
                break;
            }
            case "gateway": {
                const ports = (values.service?.ports ?? [{ port: 15021 }, { port: 80 }, { port: 443 }]).map(
                    (p: { port: number }) => p.port,
                );
                out.push(serviceObject(release, ns, ports, src), workload("Deployment", release, ns, src));
                break;
            }
            case "istiod":
                // The mesh configuration and the injector's template, by name.
                out.push(
                    { kind: "ConfigMap", name: "istio", namespace: ns, source: src },
                    { kind: "ConfigMap", name: "istio-sidecar-injector", namespace: ns, source: src },
                    workload("Deployment", "istiod", ns, src, ["discovery"]),
                );
                break;
            case "metrics-server":
                out.push(
                    serviceObject(release, ns, [443], src),
                    workload("Deployment", release, ns, src, ["metrics-server"]),
                    { kind: "APIService", name: "v1beta1.metrics.k8s.io", source: src },
                );
                break;
            case "cert-manager":
                for (const d of ["cert-manager", "cert-manager-webhook", "cert-manager-cainjector"])
                    out.push(workload("Deployment", d, ns, src));
                break;
            case "external-dns":
                out.push(workload("Deployment", release, ns, src));
                break;
            case "keda":
                for (const d of ["keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"])
                    out.push(workload("Deployment", d, ns, src));
                break;
        }
    }
    for (const o of kubernetesObjects(resources)) {
        const ns = o.metadata.namespace!;
        // The Redis Enterprise operator: the cluster's StatefulSet, API and UI Services.
        if (o.kind === "RedisEnterpriseCluster") {
            const src = `RedisEnterpriseCluster ${ns}/${o.metadata.name} (operator)`;
            out.push(
                serviceObject(o.metadata.name!, ns, [9443], src),
                serviceObject(`${o.metadata.name}-ui`, ns, [8443], src),
                workload("StatefulSet", o.metadata.name!, ns, src),
            );
        }
        // cert-manager keeps a Certificate's key pair in the Secret the Certificate names.
        if (o.kind === "Certificate" && o.spec?.secretName)
            out.push({
                kind: "Secret",
                name: o.spec.secretName,
                namespace: ns,
                dataKeys: ["tls.crt", "tls.key", "ca.crt"],
                source: `Certificate ${ns}/${o.metadata.name} (cert-manager)`,
            });
        // CloudNativePG: a Cluster's instance pods <name>-1..n (the first the primary) and its Services.
        if (o.kind === "Cluster" && o.apiVersion.startsWith("postgresql.cnpg.io/"))
            out.push(...cnpgObjects(o.metadata.name!, ns, o.spec?.instances ?? 1));
        // KEDA makes the HPA of a ScaledObject, named keda-hpa-<name> unless the ScaledObject names it.
        if (o.kind === "ScaledObject")
            out.push({
                kind: "HorizontalPodAutoscaler",
                name: o.spec?.advanced?.horizontalPodAutoscalerConfig?.name ?? `keda-hpa-${o.metadata.name}`,
                namespace: ns,
                source: `ScaledObject ${ns}/${o.metadata.name} (KEDA)`,
            });
    }
    return out;
}

/** What the CloudNativePG operator makes for a Cluster: instance pods and the rw/ro/r Services. */
export function cnpgObjects(name: string, namespace: string, instances: number): ClusterObject[] {
    const src = `Cluster ${namespace}/${name} (CloudNativePG operator)`;
    return [
        ...Array.from({ length: instances }, (_, i) => ({
            kind: "Pod",
            name: `${name}-${i + 1}`,
            namespace,
            containers: ["postgres"],
            podLabels: { "cnpg.io/cluster": name, "cnpg.io/instanceRole": i === 0 ? "primary" : "replica" },
            source: src,
        })),
        ...["rw", "ro", "r"].map((suffix) => serviceObject(`${name}-${suffix}`, namespace, [5432], src)),
    ];
}

/**
 * Objects a document says it creates itself (`<!-- creates: Cluster databases/postgres-restore-1201 -->`),
 * e.g. a restored database cluster its commands then name; with what the operator makes for them.
 */
export function declaredObjects(markdown: string): ClusterObject[] {
    return [...markdown.matchAll(/<!-- creates: (\w+) ([a-z0-9-]+)\/([a-z0-9-]+) -->/g)].flatMap(
        ([, kind, ns, name]) => [
            { kind, name, namespace: ns, source: "the document" },
            ...(kind === "Cluster" ? cnpgObjects(name, ns, 1) : []),
        ],
    );
}

/** The default StorageClass each distribution's clusters come with (config/profiles.ts): a cluster's own object. */
export const distributionObjects = (): ClusterObject[] =>
    Object.entries(PROFILES).flatMap(([distribution, p]) =>
        p.storage.defaultClassProvided && p.storage.defaultClass
            ? [{ kind: "StorageClass", name: p.storage.defaultClass, source: `${distribution} clusters` }]
            : [],
    );

/** Every object of a stack's cluster the docs may name: the program's, the charts', and pods of StatefulSets. */
export function clusterObjects(resources: RecordedResource[]): ClusterObject[] {
    const own = kubernetesObjects(resources).map((o: K8sObject): ClusterObject => {
        const spec = podTemplate(o)?.spec;
        return {
            kind: o.kind,
            name: o.metadata.name!,
            namespace: o.metadata.namespace,
            ports: o.kind === "Service" ? (o.spec?.ports ?? []).map((p: any) => p.port) : undefined,
            containers: spec
                ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c: any) => c.name)
                : undefined,
            podLabels: { ...(o.metadata.labels ?? {}), ...(podTemplate(o)?.metadata?.labels ?? {}) },
            dataKeys:
                o.kind === "Secret" ? [...Object.keys(o.data ?? {}), ...Object.keys(o.stringData ?? {})] : undefined,
            source: "the program",
        };
    });
    const all = [...own, ...chartMadeObjects(resources)];
    const pods = all
        .filter((o) => o.kind === "StatefulSet")
        .map((s) => ({ ...s, kind: "Pod", name: `${s.name}-0`, source: `${s.source}, StatefulSet ${s.name}` }));
    // A StatefulSet's claim templates make the claims <template>-<statefulset>-<ordinal>.
    const claims = kubernetesObjects(resources)
        .filter((o) => o.kind === "StatefulSet")
        .flatMap((o) =>
            (o.spec?.volumeClaimTemplates ?? []).flatMap((t: any) =>
                Array.from({ length: o.spec?.replicas ?? 1 }, (_, i) => ({
                    kind: "PersistentVolumeClaim",
                    name: `${t.metadata?.name}-${o.metadata.name}-${i}`,
                    namespace: o.metadata.namespace,
                    source: `StatefulSet ${o.metadata.namespace}/${o.metadata.name}`,
                })),
            ),
        );
    return [...all, ...pods, ...claims];
}

const KINDS: Record<string, string> = {
    svc: "Service",
    service: "Service",
    services: "Service",
    deploy: "Deployment",
    deployment: "Deployment",
    deployments: "Deployment",
    sts: "StatefulSet",
    statefulset: "StatefulSet",
    ds: "DaemonSet",
    daemonset: "DaemonSet",
    cronjob: "CronJob",
    cj: "CronJob",
    job: "Job",
    jobs: "Job",
    secret: "Secret",
    secrets: "Secret",
    sa: "ServiceAccount",
    serviceaccount: "ServiceAccount",
    configmap: "ConfigMap",
    cm: "ConfigMap",
    hpa: "HorizontalPodAutoscaler",
    pod: "Pod",
    po: "Pod",
    pvc: "PersistentVolumeClaim",
    pv: "PersistentVolume",
    scaledobject: "ScaledObject",
    servicemonitor: "ServiceMonitor",
    prometheusrule: "PrometheusRule",
    apiservice: "APIService",
    rec: "RedisEnterpriseCluster",
    rerc: "RedisEnterpriseRemoteCluster",
    reaadb: "RedisEnterpriseActiveActiveDatabase",
    networkpolicy: "NetworkPolicy",
    ingress: "Ingress",
    cluster: "Cluster",
    clusters: "Cluster",
    node: "Node",
    nodes: "Node",
    csidriver: "CSIDriver",
    storageclass: "StorageClass",
    sc: "StorageClass",
    pods: "Pod",
    gateway: "Gateway",
    redb: "RedisEnterpriseDatabase",
    reuser: "RedisEnterpriseUser",
    reacl: "RedisEnterpriseACL",
    rerole: "RedisEnterpriseRole",
    rerolebinding: "RedisEnterpriseRoleBinding",
    backup: "Backup",
    backups: "Backup",
    scheduledbackup: "ScheduledBackup",
    scheduledbackups: "ScheduledBackup",
    database: "Database",
    objectstore: "ObjectStore",
    all: "all",
};

/** Shell words of one command line, up to a comment, pipe or continuation. */
function words(command: string): string[] {
    const out: string[] = [];
    for (const m of command.matchAll(/(?:'[^']*'|"[^"]*"|\$\([^)]*\)|[^\s'"])+/g)) {
        const w = m[0];
        if (w === "#" || w === "|" || w === "\\" || w === "&&" || w === ";" || w.startsWith("#")) break;
        out.push(w.replace(/'([^']*)'|"([^"]*)"/g, "$1$2"));
    }
    return out;
}

export interface KubectlContext {
    /** Each stack's cluster objects. */
    stacks: Record<string, ClusterObject[]>;
    /** kubeconfig contexts the stacks name (cluster.context). */
    contexts: string[];
    /** Objects an earlier command of the same document creates (`kubectl create job <name>`). */
    created?: ClusterObject[];
}

/**
 * What is wrong with a kubectl command against the stacks: every problem names what the command
 * expects and what no stack has. A command is right when some stack has everything it names.
 */
export function kubectlProblems(command: string, ctx: KubectlContext): string[] {
    const w = words(command);
    if (w[0] !== "kubectl") return [];
    // After `--` comes the command a pod runs (kubectl exec ... -- psql): not kubectl's arguments.
    const dashes = w.indexOf("--");
    const args = w.slice(1, dashes < 0 ? undefined : dashes);
    const flag = (...names: string[]) => {
        for (let i = 0; i < args.length; i++) {
            for (const n of names) {
                if (args[i] === n) return args[i + 1];
                if (args[i].startsWith(`${n}=`)) return args[i].slice(n.length + 1);
            }
        }
        return undefined;
    };
    // A value the shell fills in ("$1", $NS) could be anything: not checked.
    const given = (v: string | undefined) => (v?.includes("$") ? undefined : v);
    const namespace = given(flag("-n", "--namespace"));
    const allNamespaces = args.includes("-A") || args.includes("--all-namespaces");
    const container = flag("-c", "--container");
    const selector = flag("-l", "--selector");
    const jsonpath = /^jsonpath=\{\.data\.([^}]+)\}$/.exec(flag("-o", "--output") ?? "")?.[1]?.replace(/\\\./g, ".");
    const positional = args.filter((a, i) => {
        // Flags, and words the shell fills in ($(...), $VAR): nothing to check.
        if (a.startsWith("-") || a.includes("$")) return false;
        const prev = args[i - 1];
        return !(
            prev &&
            /^(-n|--namespace|-c|--container|-l|--selector|-o|--output|--timeout|--for|-L|--label-columns)$/.test(prev)
        );
    });
    const verb = positional[0];
    if (verb === "config") {
        const context = positional[1] === "use-context" ? positional[2] : undefined;
        return context && !ctx.contexts.includes(context)
            ? [`\`${command}\`: no stack names the kubeconfig context ${context} (cluster.context)`]
            : [];
    }
    if (["apply", "delete", "scale", "version", "cluster-info", "auth"].includes(verb ?? "") && positional.length < 3)
        return [];

    // What the command names: kind/name words, or `<verb> <kinds> [name]`.
    type Ref = { kind: string; name?: string };
    const refs: Ref[] = [];
    const rest = verb === "rollout" ? positional.slice(2) : positional.slice(1);
    // kind/name words (an annotation like external-dns.alpha.kubernetes.io/controller=none is none).
    for (const a of rest.filter((x) => x.includes("/") && !x.includes("://"))) {
        const [kind, name] = a.split("/");
        if (KINDS[kind.toLowerCase()]) refs.push({ kind: KINDS[kind.toLowerCase()], name });
    }
    const from = flag("--from");
    if (from) {
        const [kind, name] = from.split("/");
        refs.push({ kind: KINDS[kind.toLowerCase()] ?? kind, name });
    }
    const plain = rest.filter((x) => !x.includes("/"));
    if (["get", "describe", "rollout", "wait", "delete", "scale"].includes(verb ?? "") && plain.length > 0) {
        const kinds = plain[0].split(",").map((k) => KINDS[k.toLowerCase()] ?? k);
        for (const kind of kinds) refs.push({ kind, name: plain[1] });
    }
    if ((verb === "exec" || verb === "logs") && plain[0]) refs.push({ kind: "Pod", name: plain[0] });
    const created = verb === "create" && positional[1] === "job" ? positional[2] : undefined;

    const unknownKinds = refs.filter((r) => !Object.values(KINDS).includes(r.kind));
    if (unknownKinds.length)
        return [`\`${command}\`: unknown kind(s) ${unknownKinds.map((r) => r.kind).join(", ")} (add them to KINDS)`];

    const inStack = (objects: ClusterObject[]): string[] => {
        const all = [...objects, ...(ctx.created ?? [])];
        const misses: string[] = [];
        const inNs = (o: ClusterObject) =>
            allNamespaces || namespace === undefined || o.namespace === undefined || o.namespace === namespace;
        if (
            namespace &&
            !all.some((o) => o.kind === "Namespace" && o.name === namespace) &&
            !all.some((o) => o.namespace === namespace)
        )
            misses.push(`namespace ${namespace}`);
        for (const ref of refs) {
            // Listing a kind names no object (`kubectl get hpa -n ecommerce`): the namespace is what counts.
            if (ref.kind === "all" || (!ref.name && (verb === "get" || verb === "describe"))) continue;
            // A placeholder (deployment/<service>) names any; nodes and CSI drivers are the cluster's own; so is
            // what kube-system holds that no stack puts there (the distribution's components, prerequisites).
            if (ref.name?.includes("<") || ref.kind === "Node" || ref.kind === "CSIDriver") continue;
            if (namespace === "kube-system" && !all.some((o) => o.kind === ref.kind && o.name === ref.name)) continue;
            const matches = all.filter((o) => o.kind === ref.kind && inNs(o) && (!ref.name || o.name === ref.name));
            if (matches.length === 0) {
                misses.push(`${ref.kind}${ref.name ? ` ${ref.name}` : "s"}${namespace ? ` in ${namespace}` : ""}`);
                continue;
            }
            if (verb === "port-forward" && ref.kind === "Service") {
                const remote = args.filter((a) => /^\d+:\d+$/.test(a)).map((a) => Number(a.split(":")[1]));
                for (const port of remote)
                    if (!matches.some((m) => m.ports?.includes(port)))
                        misses.push(`port ${port} on Service ${ref.name}`);
            }
            if (container && ["Pod", "StatefulSet", "Deployment", "DaemonSet", "Job"].includes(ref.kind))
                if (!matches.some((m) => !m.containers || m.containers.includes(container)))
                    misses.push(`container ${container} in ${ref.kind} ${ref.name}`);
            if (jsonpath && ref.kind === "Secret")
                if (!matches.some((m) => !m.dataKeys || m.dataKeys.includes(jsonpath)))
                    misses.push(`key ${jsonpath} in Secret ${ref.name}`);
        }
        if (selector && namespace !== "kube-system") {
            // key=value pairs, and bare keys (the label is present).
            const pairs = selector.split(",").map((kv) => kv.split("="));
            const fits = (labels: Record<string, string>) =>
                pairs.every(([k, v]) => (v === undefined ? k in labels : labels[k] === v));
            if (!all.some((o) => inNs(o) && o.podLabels && fits(o.podLabels)))
                misses.push(`objects labelled ${selector}${namespace ? ` in ${namespace}` : ""}`);
        }
        return misses;
    };
    const results = Object.entries(ctx.stacks).map(([stack, objects]) => ({ stack, misses: inStack(objects) }));
    if (created && ctx.created)
        ctx.created.push({ kind: "Job", name: created, namespace, podLabels: {}, source: "an earlier command" });
    if (results.some((r) => r.misses.length === 0)) return [];
    const best = results.sort((a, b) => a.misses.length - b.misses.length)[0];
    return [`\`${command}\`: no stack has ${best.misses.join(", ")} (closest: stack ${best.stack})`];
}

/** kubectl commands of a Markdown document: in code spans and code blocks, one per line. */
export function kubectlCommands(markdown: string): string[] {
    const out: string[] = [];
    for (const block of markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g))
        for (const line of block[1].split("\n")) {
            const m = /kubectl\s.*/.exec(line);
            if (m && !/^\s*#/.test(line)) out.push(m[0]);
            // A command inside $(...) is a command too.
            for (const inner of line.matchAll(/\$\((kubectl [^)]*)\)/g)) out.push(inner[1]);
        }
    const prose = markdown.replace(/```[\s\S]*?```/g, "");
    for (const span of prose.matchAll(/`(kubectl [^`]+)`/g)) out.push(span[1].replace(/\\\|/g, "|"));
    return out;
}
