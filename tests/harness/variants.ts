// Configuration variants that more than one test file uses: the pure flow table checks them, and the
// journeys evaluate them, so both test the same change.

/** One more core service (reviews), added by configuration alone: it must get its flows. */
export const EXTRA_SERVICE = {
    services: [
        { name: "product-catalog", publicPrefix: "/catalog", calls: ["recommendation", "auth", "reviews"] },
        { name: "payment" },
        { name: "recommendation" },
        { name: "auth" },
        { name: "reviews", replicas: 1, publicPrefix: "/reviews", calls: ["auth"], userPaths: ["/mine/*"] },
    ],
    resources: { reviews: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } } },
};
