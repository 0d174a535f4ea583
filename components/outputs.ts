import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "./defaults";
import type { ClusterAddons } from "./addons";
import type { PeerRegions, PublishedForPeers } from "./peers";
import type { ServiceMesh } from "./mesh";
import type { Observability } from "./observability";
import type { RedisEnterprise } from "./redis-enterprise";
import type { WarungKopi } from "./shop";
import type { CoreServices } from "./core-services";
import type { LayerName } from "../config";

/** What a layer reports for the stack outputs. */
export interface LayerReport {
    /** In-cluster or public endpoints, by name. */
    endpoints?: Record<string, pulumi.Input<string>>;
    /** Runbook commands, e.g. {grafana: "kubectl port-forward svc/grafana 3000:3000 -n monitoring"}. */
    portForward?: Record<string, string>;
    /** Cross-region links still waiting for a peer (e.g. "redis:eu"). */
    pending?: string[];
    /** This layer's section of what the stack publishes for its peers (a section may be an Output, e.g. with secrets). */
    publish?: { [K in keyof PublishedForPeers]?: pulumi.Input<PublishedForPeers[K]> };
}

export interface Layers {
    ctx: StackContext;
    addons: ClusterAddons;
    peers: PeerRegions;
    mesh?: ServiceMesh;
    observability?: Observability;
    redis?: RedisEnterprise;
    shop?: WarungKopi;
    core?: CoreServices;
}

/** What an operator needs after `pulumi up`: which layers are on, endpoints, commands, pending links. */
export function stackOutputs(l: Layers) {
    const { cfg } = l.ctx;
    const layersOn = (Object.keys(cfg.layers) as LayerName[]).filter((k) => cfg.layers[k]);
    const reports = [l.addons, l.mesh, l.observability, l.redis, l.shop, l.core]
        .filter((x): x is NonNullable<typeof x> => !!x)
        .map((x) => x.report);
    const publishedForPeers: pulumi.Input<PublishedForPeers> = Object.assign(
        { region: cfg.region },
        ...reports.map((r) => r.publish ?? {}),
    );
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
