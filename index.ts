// The platform, one region per stack: configuration in, one provider, layers composed. This is the
// only place that knows which layer feeds which; layers meet through components/contracts.ts.
import { loadConfig } from "./config";
import { ClusterAddons, PublicDns } from "./components/addons";
import { CloudNativePg } from "./components/cloudnative-pg";
import type { StackContext } from "./components/contracts";
import { cacheConsumers, CoreServices } from "./components/core-services";
import { descriptionOf } from "./components/core-services/catalog";
import { type FlowInputs, FlowTable } from "./components/flows";
import { selectorLabels } from "./components/labels";
import { ServiceMesh } from "./components/mesh";
import { NAMESPACES } from "./components/names";
import { namespacePeer } from "./components/network";
import { Observability } from "./components/observability";
import { stackOutputs } from "./components/outputs";
import { PeerRegions } from "./components/peers";
import { clusterProvider } from "./components/provider";
import { ClusterStorage } from "./components/storage";
import { privateDnsNames, RedisEnterprise } from "./components/redis-enterprise";
import { SHOP_CACHE_USER, WarungKopi } from "./components/shop";

export = async () => {
    const cfg = loadConfig();
    const ctx: StackContext = { cfg, provider: clusterProvider(cfg) };
    const { layers } = cfg;

    // What the peer regions published; a peer not deployed yet leaves its links pending.
    const peers = await PeerRegions.read("peers", ctx);

    // The StorageClass every persistent volume names (the cluster profile's provisioner).
    const storage = new ClusterStorage("storage", { ctx });

    // Monitoring first: the others hand it their scrape targets and alerts (it waits for none of them).
    const monitoring = layers.monitoring
        ? new Observability("observability", { ctx, monitorMesh: layers.mesh, storage })
        : undefined;

    // Cluster add-ons a fresh cluster lacks (metrics-server, cert-manager and its ClusterIssuer).
    const addons = new ClusterAddons("addons", { ctx, scrapedFrom: monitoring?.namespace });

    // Who calls whom (components/flows.ts): NetworkPolicies, AuthorizationPolicies and the hosts that stay
    // regional derive from it. The data stores' places are known once their layers decided them (below).
    const traffic: FlowInputs = {
        cfg,
        shop: layers.shop,
        coreServices: layers.coreServices,
        mesh: layers.mesh,
        multiCluster: layers.multiCluster,
        monitoringNamespace: monitoring?.namespace,
        // Core services whose description keeps records in the shop's PostgreSQL (payment's transactions).
        databaseClients: cfg.services.filter((s) => descriptionOf(s.name).transactionHistory).map((s) => s.name),
    };
    const regional = new FlowTable(traffic);

    const mesh = layers.mesh
        ? new ServiceMesh("mesh", {
              ctx,
              peers,
              issuer: addons.issuer,
              tracing: monitoring?.tracing,
              scrapedFrom: monitoring?.namespace,
              clusterLocalHosts: regional.clusterLocalHosts(),
          })
        : undefined;
    // external-dns watches the mesh's Gateways and VirtualServices: it starts after their CRDs. The
    // Redis Enterprise names stay out of public DNS unless config publishes them.
    const dns = layers.externalDns
        ? new PublicDns("external-dns", {
              ctx,
              istioCrds: mesh?.crds,
              scrapedFrom: monitoring?.namespace,
              excludeDomains: layers.redisEnterprise ? privateDnsNames(cfg) : [],
          })
        : undefined;

    // Who uses a cache: the shop and the core services, each with a login of its own (auth: its own
    // sessions database). Without Redis Enterprise (dev) the shop runs a Redis the core services share.
    const cacheUsers = [
        ...(layers.shop
            ? [{ name: SHOP_CACHE_USER, store: "cache" as const, pods: namespacePeer(cfg.shop.namespace) }]
            : []),
        ...(layers.coreServices ? cacheConsumers(cfg) : []),
    ];
    const redis =
        layers.redisEnterprise && mesh
            ? new RedisEnterprise("redis-enterprise", { ctx, peers, mesh, monitoring, storage, consumers: cacheUsers })
            : undefined;

    // PostgreSQL for the shop and payment's ledger: CloudNativePG in the regions (the shop runs its
    // own StatefulSet in dev). Clients get the endpoint contract, never the engine.
    const paymentPods = [namespacePeer(NAMESPACES.coreServices, selectorLabels("payment"))];
    const postgres =
        layers.cloudNativePg && layers.shop
            ? new CloudNativePg("cloudnative-pg", {
                  ctx,
                  storage,
                  monitoring,
                  certificates: addons.issuer?.ready ?? [],
                  shopClients: WarungKopi.databaseClients(cfg),
                  paymentClients: layers.coreServices ? paymentPods : undefined,
              })
            : undefined;
    // The table with the data stores where their layers placed them (Redis Enterprise, CloudNativePG).
    const flows = new FlowTable({
        ...traffic,
        shopCache: redis?.caches[SHOP_CACHE_USER],
        serviceCaches: redis?.caches,
        database: postgres ? { ...postgres.shop.endpoint, meshed: false } : undefined,
    });

    // Applications. The shop's database also keeps payment's transaction history.
    const shop = layers.shop
        ? new WarungKopi("warung-kopi", {
              ctx,
              mesh,
              monitoring,
              tls: !!addons.issuer,
              cache: redis?.caches[SHOP_CACHE_USER],
              database: postgres?.shop,
              flows,
              paymentLogin: layers.coreServices && traffic.databaseClients.length > 0,
          })
        : undefined;
    const sharedShopCache = shop?.cache;
    const core = layers.coreServices
        ? new CoreServices("core-services", {
              ctx,
              mesh,
              monitoring,
              caches:
                  redis?.caches ??
                  (sharedShopCache
                      ? Object.fromEntries(cacheConsumers(cfg).map((c) => [c.name, sharedShopCache]))
                      : {}),
              transactionDatabase: postgres?.payment ?? shop?.transactionDatabase,
              flows,
          })
        : undefined;

    return stackOutputs(
        ctx,
        [addons, monitoring, mesh, dns, redis, postgres, shop, core].flatMap((layer) => (layer ? [layer.report] : [])),
    );
};
