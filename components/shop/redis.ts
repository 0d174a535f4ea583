// The shop's own Redis (sessions and the menu cache), for stacks without an external cache.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { resourcesFor } from "../../config";
import { container, podSpec } from "../defaults";

import { redisExporter } from "./exporters";
import { NAMES, PART_OF, PORTS, redisMaxMemoryMb, UIDS } from "./plan";
import { networkPolicy } from "../network";
import type { IngressRule, StackContext } from "../contracts";
import { appLabels, selectorLabels } from "../labels";

export interface ShopRedisArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    /** Secret with key `password`. */
    credentials: k8s.core.v1.Secret;
    /** Who may connect (the cache's clients, Prometheus on the exporter's port), from the flow table. */
    ingress: IngressRule[];
    /** StorageClass for the optional data volume (config shop.redis.storage). */
    storageClassName: pulumi.Input<string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Deployment and Service `redis` (one replica, password from the Secret, no disk unless
 * shop.redis.storage is set), with a NetworkPolicy that admits only its clients.
 */
export class ShopRedis extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    public readonly selector = selectorLabels(NAMES.redis);

    constructor(name: string, args: ShopRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ShopRedis", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const labels = appLabels(NAMES.redis, PART_OF, "cache");
        const resources = resourcesFor(cfg, "redis");
        const persistent = cfg.shop.redis.storage !== undefined;

        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { name: NAMES.redis, namespace: args.namespace, labels },
                automountServiceAccountToken: false,
            },
            o,
        );

        const claim = persistent
            ? new k8s.core.v1.PersistentVolumeClaim(
                  `${name}-data`,
                  {
                      metadata: { name: "redis-data", namespace: args.namespace, labels },
                      spec: {
                          accessModes: ["ReadWriteOnce"],
                          storageClassName: args.storageClassName,
                          resources: { requests: { storage: cfg.shop.redis.storage! } },
                      },
                  },
                  { ...o, protect: cfg.tier === "production", retainOnDelete: cfg.tier === "production" },
              )
            : undefined;

        const password = { secretKeyRef: { name: args.credentials.metadata.name, key: "password" } };
        // The password comes from the environment, so it never appears in the pod spec.
        const server = [
            `exec redis-server --port ${PORTS.redis} --requirepass "$REDIS_PASSWORD" --dir /data`,
            `--maxmemory ${redisMaxMemoryMb(resources)}mb --maxmemory-policy allkeys-lru`,
            persistent ? "--appendonly yes --save 3600 1" : "--appendonly no --save ''",
        ].join(" ");

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: NAMES.redis, namespace: args.namespace, labels },
                spec: {
                    replicas: 1,
                    revisionHistoryLimit: 5,
                    // One writer at a time (a second pod would share nothing, or the same volume).
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: this.selector },
                    template: {
                        metadata: { labels },
                        spec: podSpec(cfg, {
                            serviceAccountName: NAMES.redis,
                            runAsUser: UIDS.redis.uid,
                            runAsGroup: UIDS.redis.gid,
                            containers: [
                                container({
                                    name: "redis",
                                    image: cfg.images.redis,
                                    command: ["sh", "-c", server],
                                    ports: [{ name: "redis", containerPort: PORTS.redis }],
                                    env: [
                                        { name: "REDIS_PASSWORD", valueFrom: password },
                                        // redis-cli (probes) reads the password from here instead of its command line.
                                        { name: "REDISCLI_AUTH", valueFrom: password },
                                    ],
                                    volumeMounts: [{ name: "data", mountPath: "/data" }],
                                    resources,
                                    health: {
                                        exec: {
                                            command: ["sh", "-c", `redis-cli -p ${PORTS.redis} ping | grep -q PONG`],
                                        },
                                    },
                                    startupSeconds: 30,
                                }),
                                redisExporter(cfg, args.credentials.metadata.name),
                            ],
                            volumes: [
                                claim
                                    ? { name: "data", persistentVolumeClaim: { claimName: claim.metadata.name } }
                                    : { name: "data", emptyDir: { sizeLimit: "64Mi" } },
                            ],
                        }),
                    },
                },
            },
            { ...o, dependsOn: [sa, ...(args.dependsOn ?? [])] },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: NAMES.redis, namespace: args.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector: this.selector,
                    ports: [
                        { name: "tcp-redis", port: PORTS.redis, targetPort: "redis", protocol: "TCP" },
                        { name: "http-metrics", port: PORTS.metrics, targetPort: "http-metrics", protocol: "TCP" },
                    ],
                },
            },
            o,
        );

        networkPolicy(
            `${name}-netpol`,
            {
                namespace: args.namespace,
                name: NAMES.redis,
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
