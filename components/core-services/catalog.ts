// The core services as data: what each one adds to the shared shape (components/core-services/
// service.ts). Pure descriptions, no Pulumi resources. A service named in config but not here runs
// the generic description; its flows (calls, public prefix) always come from config.
import { cacheHitRatioAlert, paymentFailureAlert } from "../alerts";
import type { AlertRule, Retries, ServiceSlo } from "../contracts";

export interface ServiceDescription {
    /** app.kubernetes.io/component. */
    component: string;
    /** Plain settings (no credentials). */
    env?: Record<string, string>;
    /** Mesh retries: only where a retried request cannot do harm twice. */
    retries: Retries;
    /** Mesh timeout of a request. */
    timeout: string;
    slo?: Partial<ServiceSlo>;
    alerts?: (namespace: string, service: string) => AlertRule[];
    /**
     * A model artefact (a file shipped with the program, components/core-services/<file>), copied by an
     * init container into an emptyDir the service reads from `mountPath` read-only.
     */
    model?: { file: string; mountPath: string };
    /** An OAuth2/OIDC issuer on the public API host: a generated signing key (Secret) and its discovery settings. */
    oidcIssuer?: boolean;
    /** Keeps its transaction history in PostgreSQL, through the database login the stack provides. */
    transactionHistory?: boolean;
    /** Keeps user sessions: in a sessions database of its own, not in the shared cache. */
    sessions?: boolean;
}

/** Retries of requests that never reached a pod: safe for every method, writes included. */
const UNSENT_ONLY: Retries = {
    attempts: 2,
    perTryTimeout: "2s",
    retryOn: "connect-failure,refused-stream,unavailable",
};

/** A core service with nothing of its own: an API that may be retried where the request never arrived. */
export const GENERIC: ServiceDescription = { component: "api", retries: UNSENT_ONLY, timeout: "5s" };

export const CATALOG: Record<string, ServiceDescription> = {
    /** Product catalogue: cached reads (read-through, TTL) and search/filter over the catalogue. */
    "product-catalog": {
        component: "catalog",
        env: {
            CACHE_STRATEGY: "read-through",
            CACHE_TTL_SECONDS: "300",
            CACHE_NEGATIVE_TTL_SECONDS: "30",
            SEARCH_FILTERS: "category,origin,roast,process,price,in_stock",
            SEARCH_SORTS: "relevance,price_asc,price_desc,newest",
            SEARCH_DEFAULT_PAGE_SIZE: "24",
            SEARCH_MAX_PAGE_SIZE: "100",
        },
        // Catalogue reads are idempotent: retry connection failures and 5xx, briefly.
        retries: {
            attempts: 3,
            perTryTimeout: "1s",
            retryOn: "connect-failure,refused-stream,unavailable,cancelled,5xx",
        },
        timeout: "3s",
        slo: { latencyP95Seconds: 0.3 },
        alerts: (namespace, service) => [cacheHitRatioAlert(namespace, service)],
    },
    /**
     * Payments: no retries at the mesh (a retried charge can charge twice; clients retry with an
     * Idempotency-Key the service deduplicates), transaction history in PostgreSQL.
     */
    payment: {
        component: "payments",
        env: { PAYMENT_RETRY_MODE: "idempotency-key", PAYMENT_IDEMPOTENCY_TTL_SECONDS: "86400" },
        retries: "none",
        timeout: "10s",
        slo: { availability: 0.999, latencyP95Seconds: 1 },
        alerts: (namespace, service) => [paymentFailureAlert(namespace, service)],
        transactionHistory: true,
    },
    /** Recommendations from a co-purchase model; results cached in the distributed cache. */
    recommendation: {
        component: "recommendations",
        env: { CACHE_TTL_SECONDS: "600", MAX_RECOMMENDATIONS: "8" },
        // Reads: a quick second try, then degrade to "no recommendations" rather than wait.
        retries: { attempts: 2, perTryTimeout: "500ms", retryOn: "connect-failure,refused-stream,unavailable,5xx" },
        timeout: "1s",
        slo: { latencyP95Seconds: 0.25 },
        model: { file: "model.json", mountPath: "/models/current" },
    },
    /**
     * Authentication: OAuth2/OIDC issuer, tokens signed with a generated key, sessions in a sessions
     * database of its own (Active-Active across the regions once it exists: a session follows the user).
     */
    auth: {
        component: "identity",
        env: { SESSION_STORE: "cache", SESSION_KEY_PREFIX: "session:", SESSION_TTL_SECONDS: "1800" },
        retries: UNSENT_ONLY,
        timeout: "5s",
        slo: { availability: 0.999, latencyP95Seconds: 0.3 },
        oidcIssuer: true,
        sessions: true,
    },
};

export const descriptionOf = (service: string): ServiceDescription => CATALOG[service] ?? GENERIC;
