// Monitoring for a service we run: its ServiceMonitor and its alert rule group, created together so
// that every monitored service has alerts. Other layers call these through the monitoring contract.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { serviceAlertGroup } from "../alerts";
import type { RuleGroup, ServiceMonitorArgs, StackContext } from "../contracts";
import { nameLabels } from "../labels";

/** What a monitor and its rules wait for: the release with the monitoring.coreos.com CRDs and webhook. */
export interface MonitorContext {
    ctx: StackContext;
    crds: pulumi.Resource;
}

/** A monitoring.coreos.com/v1 ServiceMonitor and the service's PrometheusRule, ordered after the CRDs. */
export function serviceMonitor(name: string, m: MonitorContext, args: ServiceMonitorArgs, parent: pulumi.Resource) {
    const service = args.service ?? args.selector["app.kubernetes.io/name"] ?? args.selector["app"] ?? name;
    const opts: pulumi.CustomResourceOptions = { parent, provider: m.ctx.provider, dependsOn: [m.crds] };
    const labels = nameLabels(service);
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
    const rules = alertRules(
        `${name}-rules`,
        m,
        {
            namespace: args.namespace,
            ruleName: `${service}-slo`,
            labels,
            groups: [serviceAlertGroup(service, args.namespace, args.alerts)],
        },
        parent,
    );
    return { monitor, rules };
}

/** A PrometheusRule with alert groups, ordered after the CRDs. */
export function alertRules(
    name: string,
    m: MonitorContext,
    a: { namespace: string; ruleName: string; groups: RuleGroup[]; labels?: Record<string, string> },
    parent: pulumi.Resource,
): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(
        name,
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: { name: a.ruleName, namespace: a.namespace, labels: a.labels ?? nameLabels(a.ruleName) },
            spec: { groups: a.groups },
        },
        { parent, provider: m.ctx.provider, dependsOn: [m.crds] },
    );
}
