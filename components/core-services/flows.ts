// Who talks to whom among the core services: the single source for NetworkPolicy allows, public
// routes and readiness. A flow not listed here is denied by the namespace's default-deny.

export interface ServiceFlows {
    /** Path prefix on the public API host (https://api.<domain><prefix>) routed through the ingress gateway; absent = internal only. */
    publicPrefix?: string;
    /** Core services this one calls. */
    calls: string[];
}

/**
 * The flows of the shop's core services:
 * - product-catalog: public; asks recommendation for "customers also bought", checks tokens with auth.
 * - payment: public (checkout); checks tokens with auth; writes transactions to PostgreSQL.
 * - recommendation: internal only, called by product-catalog; checks tokens (personalised results).
 * - auth: public (OIDC issuer, login, token endpoints); called by every other service.
 */
export const FLOWS: Record<string, ServiceFlows> = {
    "product-catalog": { publicPrefix: "/catalog", calls: ["recommendation", "auth"] },
    payment: { publicPrefix: "/payments", calls: ["auth"] },
    recommendation: { calls: ["auth"] },
    auth: { publicPrefix: "/auth", calls: [] },
};

/** Flows of a service (a service not in the table is internal and calls auth if it exists). */
export function flowsOf(service: string, present: string[]): ServiceFlows {
    const f = FLOWS[service] ?? { calls: service === "auth" ? [] : ["auth"] };
    return { ...f, calls: f.calls.filter((c) => c !== service && present.includes(c)) };
}

/** Services (among those present) that call `service`. */
export function callersOf(service: string, present: string[]): string[] {
    return present.filter((s) => flowsOf(s, present).calls.includes(service));
}
