// The stack outputs: which layers are on, and what the layers report (endpoints, runbook commands,
// cross-region links still pending, what the stack publishes for its peer regions).
import type * as pulumi from "@pulumi/pulumi";
import type { LayerName } from "../config";
import type { LayerReport, PublishedForPeers, StackContext } from "./contracts";

export function stackOutputs(ctx: StackContext, reports: LayerReport[]) {
    const { cfg } = ctx;
    const layersOn = (Object.keys(cfg.layers) as LayerName[]).filter((k) => cfg.layers[k]);
    const publishedForPeers: pulumi.Input<PublishedForPeers> = Object.assign(
        { region: cfg.region },
        ...reports.map((r) => r.publish ?? {}),
    ) as PublishedForPeers;
    return {
        tier: cfg.tier,
        region: cfg.region,
        layersOn,
        endpoints: Object.assign({}, ...reports.map((r) => r.endpoints ?? {})) as Record<string, pulumi.Input<string>>,
        portForward: Object.assign({}, ...reports.map((r) => r.portForward ?? {})) as Record<string, string>,
        /** Cross-region links waiting for a peer stack; empty once every peer is linked. */
        crossRegionPending: reports.flatMap((r) => r.pending ?? []),
        publishedForPeers,
    };
}
