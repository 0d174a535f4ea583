// STUB (owned by the observability work): ServiceMonitor for a service we run.
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../defaults";
import type { Observability } from "./index";

export interface ServiceMonitorArgs {
    ctx: StackContext;
    observability: Observability;
    namespace: string;
    /** Labels on the Service to scrape. */
    selector: Record<string, string>;
    /** Name of the Service port with /metrics. */
    port: string;
    path?: string;
}

/** A monitoring.coreos.com/v1 ServiceMonitor, ordered after the release that installs its CRD. */
export function serviceMonitor(name: string, args: ServiceMonitorArgs, parent: pulumi.Resource): void {
    void name; void args; void parent;
}
