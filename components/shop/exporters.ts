// Prometheus exporters for the shop's services that do not speak Prometheus themselves: PostgreSQL,
// Redis and the frontend's nginx. Each runs as a sidecar (container `metrics`) of the pod it
// watches, reaches it over the pod's loopback only, and serves /metrics on PORTS.metrics, port
// name `http-metrics` (the same scrape port as the shop's Node.js services).
import type * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";
import type { PlatformConfig } from "../../config";
import { container } from "../defaults";
import type { AlertRule } from "../alerts";
import { DATABASE, exporterResources, PORTS } from "./plan";

export const EXPORTER_CONTAINER = "metrics";

const listen = `--web.listen-address=:${PORTS.metrics}`;
const metricsPort = [{ name: "http-metrics", containerPort: PORTS.metrics }];
// The exporters answer on their port as soon as they run; the service they watch has its own probes.
const health = { tcp: { port: "http-metrics" } } as const;

/** A Secret key as an environment variable (never a literal value). */
const fromSecret = (envName: string, secret: input.core.v1.SecretKeySelector): input.core.v1.EnvVar => ({
    name: envName,
    valueFrom: { secretKeyRef: secret },
});

/**
 * postgres_exporter, logging in as the application user (credentials from the Secret). The URI
 * carries no credentials: DATA_SOURCE_USER and DATA_SOURCE_PASS complete it.
 */
export function postgresExporter(cfg: PlatformConfig, secretName: pulumi.Input<string>): input.core.v1.Container {
    return container({
        name: EXPORTER_CONTAINER,
        image: cfg.images.postgresExporter,
        args: [listen],
        env: [
            { name: "DATA_SOURCE_URI", value: `127.0.0.1:${PORTS.postgres}/${DATABASE.name}?sslmode=disable` },
            fromSecret("DATA_SOURCE_USER", { name: secretName, key: "username" }),
            fromSecret("DATA_SOURCE_PASS", { name: secretName, key: "password" }),
        ],
        ports: metricsPort,
        resources: exporterResources(cfg, "postgres-exporter"),
        health,
        startupSeconds: 30,
    });
}

/** redis_exporter with the server's password from the Secret. */
export function redisExporter(cfg: PlatformConfig, secretName: pulumi.Input<string>): input.core.v1.Container {
    return container({
        name: EXPORTER_CONTAINER,
        image: cfg.images.redisExporter,
        args: [listen],
        env: [
            { name: "REDIS_ADDR", value: `redis://127.0.0.1:${PORTS.redis}` },
            fromSecret("REDIS_PASSWORD", { name: secretName, key: "password" }),
        ],
        ports: metricsPort,
        resources: exporterResources(cfg, "redis-exporter"),
        health,
        startupSeconds: 30,
    });
}

/** nginx-prometheus-exporter reading the frontend's stub_status on the pod's loopback. */
export function nginxExporter(cfg: PlatformConfig): input.core.v1.Container {
    return container({
        name: EXPORTER_CONTAINER,
        image: cfg.images.nginxExporter,
        args: [`--nginx.scrape-uri=http://127.0.0.1:${PORTS.nginxStatus}/stub_status`, listen],
        ports: metricsPort,
        resources: exporterResources(cfg, "nginx-exporter"),
        health,
        startupSeconds: 30,
    });
}

/**
 * "The exporter answers but cannot reach the service" (`<metric> == 0`): ServiceDown (from
 * serviceMonitor) only sees the exporter's own scrape.
 */
export function exporterReachAlert(
    namespace: string,
    service: string,
    metric: "pg_up" | "redis_up" | "nginx_up",
    what: string,
): AlertRule {
    return {
        alert: "ServiceUnreachableFromExporter",
        expr: `max(${metric}{namespace="${namespace}",service="${service}"}) == 0`,
        for: "5m",
        labels: { severity: "critical", service, namespace },
        annotations: {
            summary: `${what} does not answer its exporter`,
            description: `The metrics sidecar of ${namespace}/${service} has not reached ${what} on the pod's loopback for 5 minutes (${metric} == 0).`,
        },
    };
}
