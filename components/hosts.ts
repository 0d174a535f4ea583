import type { PlatformConfig } from "../config";

/** Public host names of a stack, derived from config in one place (gateway, certificates, DNS). */
export function publicHosts(cfg: PlatformConfig) {
    return {
        /** The Warung Kopi shop (Kubernetes Ingress through the Istio ingress gateway). */
        shop: cfg.shop.ingressHost,
        /** The e-commerce API (core services, Istio Gateway + VirtualServices). */
        api: `api.${cfg.domain}`,
        /** Redis Enterprise cluster API, reached by peer regions (Active-Active). */
        redisApi: `redis-api.${cfg.domain}`,
        /**
         * Suffix of Redis Enterprise database host names (<database><suffix>), reached by peer regions. It
         * starts with a dot so the DNS record and the Istio Gateway host are a leftmost wildcard
         * (*.redis-db.<domain>); Istio rejects partial wildcards such as *-db.<domain>.
         */
        redisDbSuffix: `.redis-db.${cfg.domain}`,
    };
}

/** In-cluster DNS name of a Service. */
export const serviceFqdn = (service: string, namespace: string) => `${service}.${namespace}.svc.cluster.local`;
