// A stack as a running cluster would hold it: the objects the program sends, the pods they run
// (pod templates of our workloads, and the pods the charts create, which the program does not
// record), which of them carry an Istio proxy, and the cluster's address ranges.
import type { ClusterProfile, PlatformConfig } from "../../../config";
import { selectorMatches } from "../../../policy/rules";
import { type K8sObject, kubernetesObjects, podTemplate, unsecret } from "../k8s";
import { configOf } from "../stack-config";
import type { StackEvaluation } from "../types";
import { chartPods, operatorObjects, operatorPods } from "./charts";
import type { PodEndpoint } from "./network";
import type { Pod } from "./pod";

export type { Pod };

export interface ClusterView {
    stack: string;
    cfg: PlatformConfig;
    profile: ClusterProfile;
    objects: K8sObject[];
    /** istiod is installed: injected namespaces get sidecars. */
    meshInstalled: boolean;
    pods: Pod[];
    /** Helm releases (their inputs: name, chart, namespace, values). */
    releases: any[];
}

const containerPorts = (spec: any) =>
    [...(spec.initContainers ?? []), ...(spec.containers ?? [])].flatMap((c: any) => c.ports ?? []);

/** Whether a pod of this namespace and annotations gets an Istio sidecar. */
function injected(objects: K8sObject[], meshInstalled: boolean, ns: string, annotations: Record<string, string>) {
    const namespace = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
    return (
        meshInstalled &&
        namespace?.metadata.labels?.["istio-injection"] === "enabled" &&
        annotations["sidecar.istio.io/inject"] !== "false"
    );
}

export function clusterView(
    stack: string,
    result: StackEvaluation,
    configOverrides: Record<string, unknown> = {},
): ClusterView {
    const cfg = configOf(stack, configOverrides);
    const recorded = kubernetesObjects(result.resources);
    const objects = [...recorded, ...operatorObjects(cfg, recorded)];
    const releases = result.resources
        .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
        .map((r) => unsecret(r.inputs));
    const meshInstalled = releases.some((r) => r.chart === "istiod");
    const pods: Pod[] = objects.flatMap((o) => {
        const t = podTemplate(o);
        if (!t || o.kind === "Pod") return [];
        const ns = o.metadata.namespace ?? "default";
        const annotations = t.metadata?.annotations ?? {};
        return [
            {
                id: `${o.kind} ${ns}/${o.metadata.name}`,
                owner: { kind: o.kind, name: o.metadata.name! },
                namespace: ns,
                labels: t.metadata?.labels ?? {},
                annotations,
                serviceAccount: t.spec.serviceAccountName ?? "default",
                proxy: injected(objects, meshInstalled, ns, annotations) ? "sidecar" : undefined,
                spec: t.spec,
                ports: containerPorts(t.spec),
                hostNetwork: !!t.spec.hostNetwork,
            },
        ];
    });
    pods.push(...chartPods(cfg, releases), ...operatorPods(recorded));
    return { stack, cfg, profile: cfg.cluster.profile, objects, meshInstalled, pods, releases };
}

/** The pod as a NetworkPolicy endpoint. */
export const endpointOf = (p: Pod): PodEndpoint => ({
    kind: "pod",
    namespace: p.namespace,
    labels: p.labels,
    ports: p.ports,
    chartPolicy: p.chartPolicy,
    hostNetwork: p.hostNetwork,
});

/** Pods a Service selects. */
export function podsOf(view: ClusterView, service: K8sObject): Pod[] {
    const selector = service.spec?.selector;
    if (!selector) return [];
    return view.pods.filter(
        (p) => p.namespace === service.metadata.namespace && selectorMatches({ matchLabels: selector }, p.labels),
    );
}

/** The container port a Service port (by port number or name) sends to on a pod. */
export function targetPortOn(servicePort: any, pod: Pod): number | undefined {
    const target = servicePort.targetPort ?? servicePort.port;
    if (typeof target === "number") return target;
    return pod.ports.find((p) => p.name === target)?.containerPort;
}

export function findService(view: ClusterView, namespace: string, name: string): K8sObject | undefined {
    return view.objects.find(
        (o) => o.kind === "Service" && o.metadata.namespace === namespace && o.metadata.name === name,
    );
}

export function findPod(view: ClusterView, namespace: string, ownerName: string): Pod {
    const pod = view.pods.find((p) => p.namespace === namespace && p.owner.name === ownerName);
    if (!pod) throw new Error(`no pod of ${namespace}/${ownerName} in stack ${view.stack}`);
    return pod;
}
