import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "./defaults";
import type { ClusterAddons } from "./addons";
import type { PeerRegions, PublishedForPeers } from "./peers";
import type { ServiceMesh } from "./mesh";
import type { Observability } from "./observability";
import type { RedisEnterprise } from "./redis-enterprise";
import type { WarungKopi } from "./shop";
import type { CoreServices } from "./core-services";
import { LayerName } from "../config";

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
    const publishedForPeers: pulumi.Input<PublishedForPeers> = { region: cfg.region };
    return {
        tier: cfg.tier,
        region: cfg.region,
        layersOn,
        publishedForPeers,
    };
}
