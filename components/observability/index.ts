// STUB — to be implemented (issue 4 §4/§5): kube-prometheus-stack, Jaeger, KEDA, dashboards, rules.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "../mesh";

export interface ObservabilityArgs {
    ctx: StackContext;
    mesh?: ServiceMesh;
}

export class Observability extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly namespace: string;
    /** Release that installs the monitoring.coreos.com CRDs: ServiceMonitors/PrometheusRules depend on it. */
    public readonly prometheusStack?: pulumi.Resource;

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:Observability", name, {}, opts);
        this.namespace = args.ctx.cfg.monitoring.namespace;
        this.registerOutputs({});
    }
}
