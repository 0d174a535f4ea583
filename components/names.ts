// Names one layer's objects use for another layer's (NetworkPolicy peers, client namespaces).

/** Namespace of the e-commerce core services (product-catalog, payment, recommendation, auth). */
export const CORE_SERVICES_NAMESPACE = "ecommerce";
