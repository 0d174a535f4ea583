// The platform, one region per stack: configuration in, one provider, layers composed.
import { loadConfig } from "./config";
import { clusterProvider } from "./components/provider";
import type { StackContext } from "./components/defaults";
import { ClusterAddons } from "./components/addons";
import { PeerRegions } from "./components/peers";
import { ServiceMesh } from "./components/mesh";
import { Observability } from "./components/observability";
import { RedisEnterprise } from "./components/redis-enterprise";
import { WarungKopi } from "./components/shop";
import { CoreServices } from "./components/core-services";
import { stackOutputs } from "./components/outputs";

export = async () => {
    const cfg = loadConfig();
    const ctx: StackContext = { cfg, provider: clusterProvider(cfg) };
    const { layers } = cfg;

    // Cluster add-ons a fresh cluster lacks (metrics-server, cert-manager, external-dns).
    const addons = new ClusterAddons("addons", { ctx });

    // What the peer regions published; a peer not deployed yet leaves its links pending.
    const peers = await PeerRegions.read("peers", ctx);

    // Infrastructure layers: each depends only on the layers it consumes.
    const mesh = layers.mesh ? new ServiceMesh("mesh", { ctx, peers, addons }) : undefined;
    const observability = layers.monitoring ? new Observability("observability", { ctx, mesh }) : undefined;
    const redis = layers.redisEnterprise
        ? new RedisEnterprise("redis-enterprise", { ctx, peers, mesh, observability })
        : undefined;

    // Applications.
    const shop = layers.shop
        ? new WarungKopi("warung-kopi", { ctx, mesh, observability, addons, cache: redis?.cache })
        : undefined;
    const core = layers.coreServices
        ? new CoreServices("core-services", {
              ctx,
              mesh,
              observability,
              cache: redis?.cache ?? shop?.cache,
              transactionDatabase: shop?.transactionDatabase,
          })
        : undefined;

    return stackOutputs({ ctx, addons, peers, mesh, observability, redis, shop, core });
};
