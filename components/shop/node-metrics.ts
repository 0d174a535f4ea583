// The shop's node-level metrics agent: node-exporter as a DaemonSet on every node, in a namespace of
// its own because reading the host's /proc and /sys is the one thing "restricted" forbids.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { resourcesFor } from "../../config";
import { container, restrictedPodSecurityContext } from "../defaults";
import { HardenedNamespace } from "../namespace";
import { NAMES, nodeAgentsNamespace, PART_OF, PORTS, UIDS } from "./plan";
import { networkPolicy, scrapeRule } from "../network";
import type { StackContext } from "../contracts";
import { appLabels, partOfLabel, selectorLabels } from "../labels";

/** Why the node-agents namespace is exempt from "restricted", recorded on the namespace itself. */
export const NODE_AGENT_EXCEPTION =
    "node-exporter reads host metrics through read-only hostPath mounts of /proc and /sys; " +
    "nothing else is relaxed: no hostNetwork/hostPID/hostIPC, no hostPort, non-root, all capabilities dropped, " +
    "no privilege escalation, read-only root filesystem, RuntimeDefault seccomp";

export interface NodeMetricsArgs {
    ctx: StackContext;
    /** Namespace Prometheus scrapes from, when the stack is monitored. */
    monitoringNamespace?: string;
}

/**
 * Namespace `warung-kopi-node-agents` (Pod Security "privileged" with a documented reason, warn and
 * audit still "restricted", default-deny), ServiceAccount, DaemonSet and headless Service
 * `node-metrics`, and a NetworkPolicy that admits only scrapes from the monitoring namespace.
 */
export class NodeMetrics extends pulumi.ComponentResource {
    public readonly namespace: string;
    public readonly daemonSet: k8s.apps.v1.DaemonSet;
    public readonly service: k8s.core.v1.Service;
    public readonly selector = selectorLabels(NAMES.nodeMetrics);

    constructor(name: string, args: NodeMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:NodeMetrics", name, {}, opts);
        const { cfg, provider } = args.ctx;
        this.namespace = nodeAgentsNamespace(cfg);
        const hardened = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx: args.ctx,
                name: this.namespace,
                podSecurity: { privilegedBecause: NODE_AGENT_EXCEPTION },
                labels: partOfLabel(PART_OF),
            },
            { parent: this },
        );
        const ns = hardened.name;
        const o = { parent: this, provider };
        const labels = appLabels(NAMES.nodeMetrics, PART_OF, "metrics");

        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: NAMES.nodeMetrics, namespace: ns, labels },
                automountServiceAccountToken: false,
            },
            o,
        );

        const agent = container({
            name: "node-exporter",
            image: cfg.images.nodeMetrics,
            args: [
                "--path.procfs=/host/proc",
                "--path.sysfs=/host/sys",
                `--web.listen-address=:${PORTS.nodeMetrics}`,
                // Needs the host's root filesystem, which is not mounted.
                "--no-collector.filesystem",
            ],
            ports: [{ name: "http-metrics", containerPort: PORTS.nodeMetrics }],
            volumeMounts: [
                { name: "proc", mountPath: "/host/proc", readOnly: true },
                { name: "sys", mountPath: "/host/sys", readOnly: true },
            ],
            resources: resourcesFor(cfg, "node-metrics"),
            health: { http: { path: "/", port: "http-metrics" } },
            startupSeconds: 30,
        });

        this.daemonSet = new k8s.apps.v1.DaemonSet(
            `${name}-daemonset`,
            {
                metadata: { name: NAMES.nodeMetrics, namespace: ns, labels },
                spec: {
                    selector: { matchLabels: this.selector },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: NAMES.nodeMetrics,
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: restrictedPodSecurityContext(UIDS.nobody),
                            containers: [agent],
                            volumes: [
                                { name: "proc", hostPath: { path: "/proc", type: "Directory" } },
                                { name: "sys", hostPath: { path: "/sys", type: "Directory" } },
                            ],
                            // Every Linux node, the control plane and tainted pools included: the stack's
                            // nodeSelector (for applications) deliberately does not apply.
                            nodeSelector: { "kubernetes.io/os": "linux" },
                            // `Exists` without key or effect tolerates every taint, NoSchedule and NoExecute alike.
                            tolerations: [{ operator: "Exists" }],
                            terminationGracePeriodSeconds: 10,
                        },
                    },
                },
            },
            { ...o, dependsOn: [sa] },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: NAMES.nodeMetrics, namespace: ns, labels },
                spec: {
                    clusterIP: "None",
                    selector: this.selector,
                    ports: [
                        { name: "http-metrics", port: PORTS.nodeMetrics, targetPort: "http-metrics", protocol: "TCP" },
                    ],
                },
            },
            o,
        );

        if (args.monitoringNamespace) {
            networkPolicy(
                `${name}-netpol`,
                {
                    namespace: ns,
                    name: "allow-scrape",
                    labels,
                    podSelector: this.selector,
                    ingress: [scrapeRule(args.monitoringNamespace, PORTS.nodeMetrics)],
                },
                o,
            );
        }

        this.registerOutputs({});
    }
}
