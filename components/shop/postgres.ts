// PostgreSQL for the shop: a one-replica StatefulSet on the shop's StorageClass, a headless Service
// for its stable DNS name, and a NetworkPolicy that lets only the shop's database clients in.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { resourcesFor } from "../../config";
import { databaseScheduling } from "../database";
import { container, podSpec } from "../defaults";

import { postgresExporter } from "./exporters";
import { NAMES, PART_OF, PORTS, UIDS } from "./plan";
import { networkPolicy } from "../network";
import type { IngressRule, StackContext } from "../contracts";
import { appLabels, selectorLabels } from "../labels";

export interface PostgresArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    storageClass: k8s.storage.v1.StorageClass;
    /** Secret with keys username and password. */
    credentials: k8s.core.v1.Secret;
    /** ConfigMap with key DATABASE_NAME. */
    config: k8s.core.v1.ConfigMap;
    /** Who may connect (the database's clients, Prometheus on the exporter's port), from the flow table. */
    ingress: IngressRule[];
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * StatefulSet `postgres` and headless Service `postgres`. Data lives in the claim template `data`
 * (PVC `data-postgres-0`): Pulumi never deletes claims a StatefulSet created, and the retention
 * policy keeps them when the StatefulSet is deleted or scaled down. In production the StatefulSet
 * itself is protected.
 */
export class Postgres extends pulumi.ComponentResource {
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly service: k8s.core.v1.Service;
    public readonly selector = selectorLabels(NAMES.postgres);

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:Postgres", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const production = cfg.tier === "production";
        const labels = appLabels(NAMES.postgres, PART_OF, "database");
        const dataDir = "/var/lib/postgresql/data";

        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: NAMES.postgres, namespace: args.namespace, labels },
                automountServiceAccountToken: false,
            },
            o,
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: NAMES.postgres, namespace: args.namespace, labels },
                spec: {
                    clusterIP: "None",
                    selector: this.selector,
                    ports: [
                        { name: "tcp-postgres", port: PORTS.postgres, targetPort: "postgres", protocol: "TCP" },
                        { name: "http-metrics", port: PORTS.metrics, targetPort: "http-metrics", protocol: "TCP" },
                    ],
                },
            },
            o,
        );

        const secretKey = (key: string) => ({ secretKeyRef: { name: args.credentials.metadata.name, key } });
        const spec = podSpec(cfg, {
            serviceAccountName: NAMES.postgres,
            runAsUser: UIDS.postgres,
            runAsGroup: UIDS.postgres,
            terminationGracePeriodSeconds: 60,
            containers: [
                container({
                    name: "postgres",
                    image: cfg.images.postgres,
                    ports: [{ name: "postgres", containerPort: PORTS.postgres }],
                    env: [
                        { name: "POSTGRES_USER", valueFrom: secretKey("username") },
                        { name: "POSTGRES_PASSWORD", valueFrom: secretKey("password") },
                        {
                            name: "POSTGRES_DB",
                            valueFrom: { configMapKeyRef: { name: args.config.metadata.name, key: "DATABASE_NAME" } },
                        },
                        // A subdirectory: initdb refuses a non-empty mount point (lost+found).
                        { name: "PGDATA", value: `${dataDir}/pgdata` },
                    ],
                    volumeMounts: [
                        { name: "data", mountPath: dataDir },
                        { name: "run", mountPath: "/var/run/postgresql" },
                        { name: "tmp", mountPath: "/tmp" },
                    ],
                    resources: resourcesFor(cfg, "postgres"),
                    // Over TCP: during initdb the entrypoint's temporary server listens on the socket only.
                    health: {
                        exec: {
                            command: [
                                "sh",
                                "-c",
                                `pg_isready -q -h 127.0.0.1 -p ${PORTS.postgres} -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
                            ],
                        },
                    },
                    startupSeconds: 180,
                }),
                postgresExporter(cfg, args.credentials.metadata.name),
            ],
            volumes: [
                { name: "run", emptyDir: {} },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
        });

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: { name: NAMES.postgres, namespace: args.namespace, labels },
                spec: {
                    serviceName: NAMES.postgres,
                    replicas: 1,
                    selector: { matchLabels: this.selector },
                    updateStrategy: { type: "RollingUpdate" },
                    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                    template: {
                        metadata: { labels },
                        spec: { ...spec, ...databaseScheduling(cfg) },
                    },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data", labels },
                            spec: {
                                accessModes: ["ReadWriteOnce"],
                                storageClassName: args.storageClass.metadata.name,
                                resources: { requests: { storage: cfg.shop.postgres.storage } },
                            },
                        },
                    ],
                },
            },
            {
                ...o,
                dependsOn: [sa, this.service, ...(args.dependsOn ?? [])],
                protect: production,
                retainOnDelete: production,
            },
        );

        // No egress rule: the database reaches nothing but DNS (namespace-wide allow).
        networkPolicy(
            `${name}-netpol`,
            {
                namespace: args.namespace,
                name: NAMES.postgres,
                labels,
                podSelector: this.selector,
                ingress: args.ingress,
                egress: [],
            },
            o,
        );

        this.registerOutputs({});
    }
}
