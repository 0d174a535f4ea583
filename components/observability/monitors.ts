// Monitoring for a service we run: its ServiceMonitor and its alert rule group, created together so
// that every monitored service has alerts. Called by each layer next to its Services.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../defaults";
import type { Observability } from "./index";
import { serviceAlertGroup, type ServiceAlertOptions } from "./alerts";

export interface ServiceMonitorArgs {
    ctx: StackContext;
    observability: Observability;
    namespace: string;
    /** Labels on the Service to scrape. */
    selector: Record<string, string>;
    /** Name of the Service port with /metrics. */
    port: string;
    path?: string;
    /**
     * Kubernetes Service name, which Prometheus records as the `service` label (default: the
     * selector's app.kubernetes.io/name or app label). Names the ServiceMonitor and the rules.
     */
    service?: string;
    interval?: string;
    scheme?: "http" | "https";
    /** TLS settings for an https endpoint (e.g. {insecureSkipVerify: true} for self-signed exporters). */
    tlsConfig?: Record<string, unknown>;
    /** Alerts for the service; by default the HTTP SLO, saturation and restart alerts. */
    alerts?: ServiceAlertOptions;
}

export interface ServiceMonitoring {
    monitor: k8s.apiextensions.CustomResource;
    rules: k8s.apiextensions.CustomResource;
}

/** A monitoring.coreos.com/v1 ServiceMonitor, ordered after the release that installs its CRD. */
export function serviceMonitor(name: string, args: ServiceMonitorArgs, parent: pulumi.Resource): ServiceMonitoring {
    const service = args.service ?? args.selector["app.kubernetes.io/name"] ?? args.selector["app"] ?? name;
    // The CRDs and the operator's validating webhook come with the kube-prometheus-stack release.
    const opts: pulumi.CustomResourceOptions = {
        parent,
        provider: args.ctx.provider,
        dependsOn: args.observability.prometheusStack ? [args.observability.prometheusStack] : [],
    };
    const labels = { "app.kubernetes.io/name": service, "app.kubernetes.io/managed-by": "pulumi" };

    const monitor = new k8s.apiextensions.CustomResource(
        `${name}-servicemonitor`,
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "ServiceMonitor",
            metadata: { name: service, namespace: args.namespace, labels },
            spec: {
                selector: { matchLabels: args.selector },
                namespaceSelector: { matchNames: [args.namespace] },
                endpoints: [
                    {
                        port: args.port,
                        path: args.path ?? "/metrics",
                        interval: args.interval ?? "30s",
                        scrapeTimeout: "10s",
                        ...(args.scheme ? { scheme: args.scheme } : {}),
                        ...(args.tlsConfig ? { tlsConfig: args.tlsConfig } : {}),
                    },
                ],
            },
        },
        opts,
    );

    const rules = new k8s.apiextensions.CustomResource(
        `${name}-rules`,
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: { name: `${service}-slo`, namespace: args.namespace, labels },
            spec: { groups: [serviceAlertGroup(service, args.namespace, args.alerts)] },
        },
        opts,
    );

    return { monitor, rules };
}
