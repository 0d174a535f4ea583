// Alert rules as pure builders: one Prometheus rule group per service, from the metric names our
// services emit (apps/service.js) and the container metrics cAdvisor and kube-state-metrics give
// every pod. Kept free of Pulumi so tests and other layers can use them directly.
import type { AlertRule, RuleGroup, ServiceAlertOptions, ServiceSlo } from "./contracts";

export type { AlertRule, RuleGroup, ServiceAlertOptions, ServiceSlo };

export const DEFAULT_SLO: ServiceSlo = { availability: 0.995, latencyP95Seconds: 0.5 };

const sel = (labels: Record<string, string>, extra = "") =>
    `{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}${extra ? "," + extra : ""}}`;

/** 5xx ratio of a service's requests over a window. */
export function errorRatioExpr(namespace: string, service: string, window: string): string {
    const s = { namespace, service };
    return `(sum(rate(http_requests_total${sel(s, 'code=~"5.."')}[${window}])) / sum(rate(http_requests_total${sel(s)}[${window}])))`;
}

/** p95 request latency of a service, in seconds. */
export function latencyP95Expr(namespace: string, service: string, window = "5m"): string {
    return `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket${sel({ namespace, service })}[${window}])))`;
}

/** Request rate of a service (requests per second), 0 when there is no traffic. */
export function requestRateExpr(namespace: string, service: string, window = "2m"): string {
    return `sum(rate(http_requests_total${sel({ namespace, service })}[${window}])) or vector(0)`;
}

const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;

/**
 * The rule group for one service: up/down, error-budget burn (multi-window, fast and slow),
 * p95 latency, CPU and memory saturation against limits, restarts, plus service-specific rules.
 */
export function serviceAlertGroup(service: string, namespace: string, o: ServiceAlertOptions = {}): RuleGroup {
    const slo = { ...DEFAULT_SLO, ...o.slo };
    const budget = 1 - slo.availability;
    const labels = { service, namespace };
    const rules: AlertRule[] = [
        {
            alert: "ServiceDown",
            expr: `absent(up${sel({ namespace, service })} == 1)`,
            for: "5m",
            labels: { severity: "critical", ...labels },
            annotations: {
                summary: `${service} has no healthy scrape target`,
                description: `No instance of ${namespace}/${service} has answered Prometheus for 5 minutes.`,
            },
        },
    ];
    if (o.http ?? true) {
        // Multi-window burn rates (14.4x over 1h/5m pages, 6x over 6h/30m warns) of the 5xx budget.
        const burn = (factor: number, long: string, short: string) =>
            `${errorRatioExpr(namespace, service, long)} > ${+(factor * budget).toFixed(6)} and ${errorRatioExpr(namespace, service, short)} > ${+(factor * budget).toFixed(6)}`;
        rules.push(
            {
                alert: "ServiceErrorBudgetFastBurn",
                expr: burn(14.4, "1h", "5m"),
                for: "2m",
                labels: { severity: "critical", slo: "availability", ...labels },
                annotations: {
                    summary: `${service} is burning its error budget fast`,
                    description: `More than ${pct(14.4 * budget)} of ${namespace}/${service} requests fail with 5xx (SLO ${pct(slo.availability)} available): the monthly budget is gone in about two days.`,
                },
            },
            {
                alert: "ServiceErrorBudgetSlowBurn",
                expr: burn(6, "6h", "30m"),
                for: "15m",
                labels: { severity: "warning", slo: "availability", ...labels },
                annotations: {
                    summary: `${service} error rate is above its SLO`,
                    description: `More than ${pct(6 * budget)} of ${namespace}/${service} requests fail with 5xx over 6 hours (SLO ${pct(slo.availability)} available).`,
                },
            },
            {
                alert: "ServiceLatencyHigh",
                expr: `${latencyP95Expr(namespace, service)} > ${slo.latencyP95Seconds}`,
                for: "10m",
                labels: { severity: "warning", slo: "latency", ...labels },
                annotations: {
                    summary: `${service} p95 latency is above ${slo.latencyP95Seconds}s`,
                    description: `The 95th percentile latency of ${namespace}/${service} has exceeded its ${slo.latencyP95Seconds}s objective for 10 minutes.`,
                },
            },
        );
    }
    const container = o.container === undefined ? service : o.container;
    if (container) {
        const c = { namespace, container };
        rules.push(
            {
                alert: "ServiceCpuSaturated",
                expr: `sum by (pod) (rate(container_cpu_usage_seconds_total${sel(c)}[5m])) / sum by (pod) (kube_pod_container_resource_limits${sel(c, 'resource="cpu"')}) > 0.9`,
                for: "15m",
                labels: { severity: "warning", ...labels },
                annotations: {
                    summary: `${service} runs at its CPU limit`,
                    description: `A ${namespace}/${service} pod has used more than 90% of its CPU limit for 15 minutes: it is being throttled; check the autoscaler is at its maximum.`,
                },
            },
            {
                alert: "ServiceMemorySaturated",
                expr: `sum by (pod) (container_memory_working_set_bytes${sel(c)}) / sum by (pod) (kube_pod_container_resource_limits${sel(c, 'resource="memory"')}) > 0.9`,
                for: "10m",
                labels: { severity: "warning", ...labels },
                annotations: {
                    summary: `${service} is close to its memory limit`,
                    description: `A ${namespace}/${service} pod has used more than 90% of its memory limit for 10 minutes and risks being OOM-killed.`,
                },
            },
            {
                alert: "ServiceRestarting",
                expr: `increase(kube_pod_container_status_restarts_total${sel(c)}[15m]) > 2`,
                labels: { severity: "warning", ...labels },
                annotations: {
                    summary: `${service} containers keep restarting`,
                    description: `A ${namespace}/${service} container restarted more than twice in 15 minutes (crash loop or failing liveness probe).`,
                },
            },
        );
    }
    rules.push(...(o.extra ?? []));
    return { name: `${namespace}.${service}.slo`, rules };
}

/** Payment failures: share of payment transactions not ending in status="success". */
export function paymentFailureAlert(namespace: string, service: string, maxFailureRatio = 0.02): AlertRule {
    const s = { namespace, service };
    return {
        alert: "PaymentFailures",
        expr: `sum(rate(payment_transactions_total${sel(s, 'status!="success"')}[5m])) / sum(rate(payment_transactions_total${sel(s)}[5m])) > ${maxFailureRatio}`,
        for: "5m",
        labels: { severity: "critical", service, namespace },
        annotations: {
            summary: "Payments are failing",
            description: `More than ${pct(maxFailureRatio)} of payment transactions in ${namespace}/${service} did not succeed over the last 5 minutes.`,
        },
    };
}

/** Cache effectiveness: hit ratio of a service's cache reads. */
export function cacheHitRatioAlert(namespace: string, service: string, minHitRatio = 0.8): AlertRule {
    const s = { namespace, service };
    return {
        alert: "CacheHitRatioLow",
        expr: `sum(rate(cache_requests_total${sel(s, 'result="hit"')}[15m])) / sum(rate(cache_requests_total${sel(s)}[15m])) < ${minHitRatio}`,
        for: "30m",
        labels: { severity: "warning", service, namespace },
        annotations: {
            summary: `${service} cache hit ratio is low`,
            description: `Fewer than ${pct(minHitRatio)} of ${namespace}/${service} cache reads hit for 30 minutes; the database takes the load.`,
        },
    };
}

/**
 * Redis Enterprise Active-Active replication lag. Metric choice: the cluster's Prometheus endpoint
 * (port 8070) exports `bdb_crdt_syncer_local_ingress_lag_time` (v1, milliseconds, per database)
 * and, on the v2 endpoint, `database_syncer_lag_ms{syncer_type="crdt"}`; the rule watches both so
 * it works whichever endpoint the ServiceMonitor scrapes. `bdb_crdt_syncer_status` 2 = out of sync.
 */
export function redisReplicationGroup(maxLagMs = 5000): RuleGroup {
    return {
        name: "redis-enterprise.replication",
        rules: [
            {
                alert: "RedisReplicationLagHigh",
                expr: `max by (bdb) (bdb_crdt_syncer_local_ingress_lag_time) > ${maxLagMs} or max by (db) (database_syncer_lag_ms{syncer_type="crdt"}) > ${maxLagMs}`,
                for: "5m",
                labels: { severity: "critical", service: "redis-enterprise" },
                annotations: {
                    summary: "Active-Active cache replication is lagging",
                    description: `Cross-region replication of the Redis Enterprise Active-Active database lags more than ${maxLagMs / 1000}s: regions serve diverging sessions and carts.`,
                },
            },
            {
                alert: "RedisReplicationOutOfSync",
                expr: "max by (bdb) (bdb_crdt_syncer_status) == 2",
                for: "5m",
                labels: { severity: "critical", service: "redis-enterprise" },
                annotations: {
                    summary: "Active-Active cache replication is out of sync",
                    description:
                        "A Redis Enterprise Active-Active syncer reports status 2 (out of sync) for 5 minutes.",
                },
            },
        ],
    };
}
