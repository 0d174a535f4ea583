import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";
import type { Autoscaling, Resources } from "../config";
import type { EgressRule, IngressRule, StackContext } from "./contracts";
import { container, type HealthCheck, isReplicated, metricsAnnotations, podSpec } from "./defaults";
import { appLabels, selectorLabels } from "./labels";
import { networkPolicy } from "./network";

export interface MicroserviceArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    /** Kubernetes name of the Deployment, Service and ServiceAccount (fixed: runbooks use it). */
    name: string;
    partOf: string;
    component?: string;
    image: string;
    command?: string[];
    args?: string[];
    env?: input.core.v1.EnvVar[];
    envFrom?: input.core.v1.EnvFromSource[];
    volumes?: input.core.v1.Volume[];
    volumeMounts?: input.core.v1.VolumeMount[];
    initContainers?: input.core.v1.Container[];
    resources: Resources;
    /** UID the image runs as. */
    runAsUser: number;
    runAsGroup?: number;
    /** The serving port: container port and Service port (Service port defaults to the container port). */
    port: { containerPort: number; servicePort?: number; name?: string };
    health: HealthCheck;
    startupSeconds?: number;
    /** Replicas when there is no autoscaler. */
    replicas: number;
    autoscaling?: Autoscaling;
    /**
     * An autoscaler outside this component (e.g. a KEDA ScaledObject) owns spec.replicas: `replicas`
     * is only the starting count (and sizes the PodDisruptionBudget), and no HPA is created here.
     */
    externalAutoscaler?: boolean;
    /** Port with Prometheus metrics at /metrics, scraped from the monitoring namespace only. */
    metricsPort?: number;
    /**
     * A sidecar (e.g. an exporter) that serves `metricsPort` in place of the main container; it must
     * declare that port, named `http-metrics`.
     */
    metricsSidecar?: input.core.v1.Container;
    /** Who may connect, on which ports (from the flow table: components/flows.ts); [] = nobody. */
    ingress: IngressRule[];
    /** Where the workload may connect besides DNS and the mesh (from the flow table); [] = nowhere. */
    egress: EgressRule[];
    /** Mount a Kubernetes API token (only for workloads that call the API). */
    automountServiceAccountToken?: boolean;
    podAnnotations?: Record<string, string>;
    /** Resources the Deployment must wait for (e.g. the mesh's injection webhook). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A stateless, replicated service: ServiceAccount, Deployment, ClusterIP Service, NetworkPolicy
 * allows, and for replicated workloads a PodDisruptionBudget; an HPA (autoscaling/v2, CPU) when
 * autoscaling is configured. Security and scheduling defaults come from ./defaults.
 */
export class Microservice extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly hpa?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
    public readonly pdb?: k8s.policy.v1.PodDisruptionBudget;
    /** Labels that select this workload's pods. */
    public readonly selector: Record<string, string>;
    /** In-cluster address of the service, host:port. */
    public readonly address: pulumi.Output<string>;
    public readonly servicePort: number;

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:Microservice", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const labels = appLabels(args.name, args.partOf, args.component);
        this.selector = selectorLabels(args.name);
        this.servicePort = args.port.servicePort ?? args.port.containerPort;
        const portName = args.port.name ?? "http";
        const minReplicas = args.autoscaling?.minReplicas ?? args.replicas;
        const replicated = isReplicated(minReplicas);

        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: args.name, namespace: args.namespace, labels },
                automountServiceAccountToken: args.automountServiceAccountToken ?? false,
            },
            o,
        );

        const ports = [{ name: portName, containerPort: args.port.containerPort }];
        if (args.metricsPort && !args.metricsSidecar)
            ports.push({ name: "http-metrics", containerPort: args.metricsPort });

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: args.name, namespace: args.namespace, labels },
                spec: {
                    // With an autoscaler the HPA owns the count; Pulumi sets the starting point only.
                    replicas: minReplicas,
                    revisionHistoryLimit: 5,
                    selector: { matchLabels: this.selector },
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: {
                            labels,
                            annotations: {
                                ...(args.metricsPort ? metricsAnnotations(args.metricsPort) : {}),
                                ...args.podAnnotations,
                            },
                        },
                        spec: podSpec(
                            cfg,
                            {
                                serviceAccountName: args.name,
                                automountServiceAccountToken: args.automountServiceAccountToken,
                                runAsUser: args.runAsUser,
                                runAsGroup: args.runAsGroup,
                                initContainers: args.initContainers,
                                volumes: args.volumes,
                                containers: [
                                    container({
                                        name: args.name,
                                        image: args.image,
                                        command: args.command,
                                        args: args.args,
                                        env: args.env,
                                        envFrom: args.envFrom,
                                        ports,
                                        volumeMounts: args.volumeMounts,
                                        resources: args.resources,
                                        health: args.health,
                                        startupSeconds: args.startupSeconds,
                                    }),
                                    ...(args.metricsSidecar ? [args.metricsSidecar] : []),
                                ],
                            },
                            replicated ? this.selector : undefined,
                        ),
                    },
                },
            },
            {
                ...o,
                dependsOn: [this.serviceAccount, ...(args.dependsOn ?? [])],
                ignoreChanges: args.autoscaling || args.externalAutoscaler ? ["spec.replicas"] : [],
            },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: args.name, namespace: args.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector: this.selector,
                    ports: [
                        { name: portName, port: this.servicePort, targetPort: portName, protocol: "TCP" },
                        ...(args.metricsPort
                            ? [
                                  {
                                      name: "http-metrics",
                                      port: args.metricsPort,
                                      targetPort: "http-metrics",
                                      protocol: "TCP",
                                  },
                              ]
                            : []),
                    ],
                },
            },
            o,
        );
        this.address = pulumi.interpolate`${this.service.metadata.name}.${this.service.metadata.namespace}.svc.cluster.local:${this.servicePort}`;

        networkPolicy(
            `${name}-netpol`,
            {
                namespace: args.namespace,
                name: args.name,
                labels,
                podSelector: this.selector,
                ingress: args.ingress,
                egress: args.egress,
            },
            o,
        );

        if (replicated) {
            this.pdb = new k8s.policy.v1.PodDisruptionBudget(
                `${name}-pdb`,
                {
                    metadata: { name: args.name, namespace: args.namespace, labels },
                    spec: { maxUnavailable: 1, selector: { matchLabels: this.selector } },
                },
                o,
            );
        }

        if (args.autoscaling) {
            this.hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                {
                    metadata: { name: args.name, namespace: args.namespace, labels },
                    spec: cpuHpaSpec(args.name, args.autoscaling),
                },
                { ...o, dependsOn: [this.deployment] },
            );
        }

        this.registerOutputs({ address: this.address });
    }
}

/** autoscaling/v2 spec scaling a Deployment on CPU utilisation, with a calm scale-down. */
export function cpuHpaSpec(deployment: string, a: Autoscaling): input.autoscaling.v2.HorizontalPodAutoscalerSpec {
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [
            {
                type: "Resource",
                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.cpuUtilization } },
            },
        ],
        behavior: {
            scaleDown: {
                stabilizationWindowSeconds: 300,
                policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
            },
        },
    };
}
