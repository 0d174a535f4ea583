// Unit tests for the policy rules (policy/rules.ts): each rule fails on a bad object with a message
// that says how to fix it, and passes on a good one. The stack-level tests run the same rules over
// what the program registers (evaluate(recorded.map(toPolicyResource))).
import * as assert from "node:assert/strict";
import {
    NODE_AGENT_EXCEPTION_LABEL as DEFAULTS_EXCEPTION_LABEL,
    TIER_LABEL as DEFAULTS_TIER_LABEL,
} from "../components/defaults";
import {
    ALLOWED_HELM_REPOSITORIES,
    NODE_AGENT_EXCEPTION_LABEL,
    type PolicyResource,
    RESOURCE_RULES,
    type RuleContext,
    STACK_RULES,
    TIER_LABEL,
    type Tier,
    contextFromResources,
    evaluate,
    formatFindings,
    isCredentialKey,
    toPolicyResource,
} from "../policy/rules";
import { crossGuardContext, crossGuardPolicies, fromCrossGuard } from "../policy/pack";
import type { RecordedResource } from "./harness/types";

// ---------------------------------------------------------------------------------------------
// Fixtures: compliant objects, changed by a callback to make them bad.

type Edit<T = any> = (x: T) => void;
const prod: RuleContext = { tier: "production" };

function res(type: string, name: string, props: any, extra: Partial<PolicyResource> = {}): PolicyResource {
    return { type, name, props, protect: false, retainOnDelete: false, ...extra };
}

function goodContainer(name = "api"): any {
    return {
        name,
        image: `ghcr.io/shop/api:1.4.2@sha256:${"b".repeat(64)}`,
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
        securityContext: {
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
        livenessProbe: { httpGet: { path: "/health", port: 8080 } },
        env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
    };
}

function goodPodSpec(): any {
    return {
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
        containers: [goodContainer()],
        volumes: [{ name: "tmp", emptyDir: {} }],
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: { app: "api" } },
            },
        ],
    };
}

/** A compliant Deployment in namespace "shop" (3 replicas, labels app=api). */
function deployment(edit: Edit = () => {}, name = "api", kind = "apps/v1:Deployment"): PolicyResource {
    const props = {
        metadata: { name, namespace: "shop" },
        spec: {
            replicas: 3,
            selector: { matchLabels: { app: name } },
            template: { metadata: { labels: { app: name, version: "v1" } }, spec: goodPodSpec() },
        },
    };
    edit(props);
    return res(`kubernetes:${kind}`, name, props);
}
const podSpecOf = (d: any) => d.spec.template.spec;
const containerOf = (d: any) => d.spec.template.spec.containers[0];

function namespace(name: string, tier: Tier = "production", labels: Record<string, string> = {}): PolicyResource {
    return res("kubernetes:core/v1:Namespace", name, {
        metadata: {
            name,
            labels: { [TIER_LABEL]: tier, "pod-security.kubernetes.io/enforce": "restricted", ...labels },
        },
    });
}

function defaultDeny(ns = "shop", edit: Edit = () => {}): PolicyResource {
    const props = {
        metadata: { name: "default-deny", namespace: ns },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    };
    edit(props);
    return res("kubernetes:networking.k8s.io/v1:NetworkPolicy", `${ns}-default-deny`, props);
}

function pdb(matchLabels: Record<string, string> = { app: "api" }): PolicyResource {
    return res("kubernetes:policy/v1:PodDisruptionBudget", "api-pdb", {
        metadata: { name: "api", namespace: "shop" },
        spec: { minAvailable: 1, selector: { matchLabels } },
    });
}

function helmRelease(edit: Edit = () => {}): PolicyResource {
    const props = {
        chart: "kube-prometheus-stack",
        version: "88.5.0",
        namespace: "monitoring",
        repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
        values: { grafana: { admin: { existingSecret: "grafana-admin", userKey: "user", passwordKey: "password" } } },
    };
    edit(props);
    return res("kubernetes:helm.sh/v3:Release", "monitoring", props);
}

function rule(name: string) {
    const r = RESOURCE_RULES.find((x) => x.name === name);
    assert.ok(r, `no resource rule ${name}`);
    return (resource: PolicyResource) => r.check(resource);
}

function stackRule(name: string) {
    const r = STACK_RULES.find((x) => x.name === name);
    assert.ok(r, `no stack rule ${name}`);
    return (all: PolicyResource[], ctx: RuleContext = prod) => r.check(all, ctx).map((v) => v.message);
}

/** Asserts some message matches every pattern (what is wrong and how to fix it). */
function assertMessage(messages: string[], ...patterns: RegExp[]) {
    assert.ok(
        messages.some((m) => patterns.every((p) => p.test(m))),
        `expected a message matching ${patterns.join(" and ")}, got:\n${messages.join("\n") || "(none)"}`,
    );
}

// ---------------------------------------------------------------------------------------------

describe("policy rules", () => {
    it("use the same label constants as the program", () => {
        assert.equal(TIER_LABEL, DEFAULTS_TIER_LABEL);
        assert.equal(NODE_AGENT_EXCEPTION_LABEL, DEFAULTS_EXCEPTION_LABEL);
    });

    it("pass a compliant production stack", () => {
        const findings = evaluate([namespace("shop"), deployment(), defaultDeny(), pdb(), helmRelease()]);
        assert.deepEqual(findings, [], formatFindings(findings));
    });

    describe("1. pod-security-restricted", () => {
        const check = stackRule("pod-security-restricted");
        const inShop = (d: PolicyResource) => check([namespace("shop"), d]);

        it("passes a restricted pod template", () => assert.deepEqual(inShop(deployment()), []));

        const cases: [string, Edit, RegExp][] = [
            [
                "root allowed",
                (d) => {
                    delete podSpecOf(d).securityContext.runAsNonRoot;
                    delete containerOf(d).securityContext.runAsNonRoot;
                },
                /runAsNonRoot: true/,
            ],
            [
                "UID 0",
                (d) => {
                    containerOf(d).securityContext.runAsUser = 0;
                },
                /runAsUser is 0; run as a non-zero UID/,
            ],
            [
                "privilege escalation",
                (d) => {
                    delete containerOf(d).securityContext.allowPrivilegeEscalation;
                },
                /allowPrivilegeEscalation: false/,
            ],
            [
                "capabilities kept",
                (d) => {
                    containerOf(d).securityContext.capabilities = {};
                },
                /capabilities.drop: \["ALL"\]/,
            ],
            [
                "capability added",
                (d) => {
                    containerOf(d).securityContext.capabilities.add = ["NET_ADMIN"];
                },
                /remove capabilities.add NET_ADMIN/,
            ],
            [
                "no seccomp",
                (d) => {
                    delete podSpecOf(d).securityContext.seccompProfile;
                    delete containerOf(d).securityContext.seccompProfile;
                },
                /seccompProfile.type: RuntimeDefault/,
            ],
            [
                "privileged",
                (d) => {
                    containerOf(d).securityContext.privileged = true;
                },
                /remove securityContext.privileged/,
            ],
            [
                "host network",
                (d) => {
                    podSpecOf(d).hostNetwork = true;
                },
                /remove hostNetwork/,
            ],
            [
                "host port",
                (d) => {
                    containerOf(d).ports = [{ containerPort: 80, hostPort: 80 }];
                },
                /remove hostPort 80.*Service/,
            ],
            [
                "hostPath",
                (d) => {
                    podSpecOf(d).volumes.push({ name: "proc", hostPath: { path: "/proc" } });
                },
                /hostPath volumes are not allowed.*pss-exception/,
            ],
            [
                "other volume type",
                (d) => {
                    podSpecOf(d).volumes.push({ name: "nfs", nfs: { server: "x", path: "/" } });
                },
                /nfs volumes are not allowed; use one of/,
            ],
            [
                "init container escalates",
                (d) => {
                    podSpecOf(d).initContainers = [{ ...goodContainer("migrate"), securityContext: {} }];
                },
                /init container "migrate": set securityContext.allowPrivilegeEscalation: false/,
            ],
        ];
        for (const [what, edit, fix] of cases)
            it(`fails on ${what}`, () => assertMessage(inShop(deployment(edit)), /Deployment "shop\/api"/, fix));

        it("allows NET_BIND_SERVICE and container-level settings", () => {
            const d = deployment((x) => {
                podSpecOf(x).securityContext = {};
                containerOf(x).securityContext.capabilities.add = ["NET_BIND_SERVICE"];
            });
            assert.deepEqual(inShop(d), []);
        });

        it("checks CronJob and Pod templates too", () => {
            const cron = res("kubernetes:batch/v1:CronJob", "report", {
                metadata: { namespace: "shop" },
                spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "r" }] } } } } },
            });
            const pod = res("kubernetes:core/v1:Pod", "debug", {
                metadata: { namespace: "shop" },
                spec: { containers: [{ name: "d" }] },
            });
            assertMessage(
                check([cron]),
                /CronJob "shop\/report": container "r": set securityContext.allowPrivilegeEscalation/,
            );
            assertMessage(check([pod]), /Pod "shop\/debug": container "d"/);
        });

        describe("node-agent exception", () => {
            const agentNs = namespace("node-agents", "production", {
                [NODE_AGENT_EXCEPTION_LABEL]: "node-exporter",
                "pod-security.kubernetes.io/enforce": "privileged",
            });
            const agent = (edit: Edit = () => {}) =>
                deployment(
                    (d) => {
                        d.metadata.namespace = "node-agents";
                        podSpecOf(d).volumes = [
                            { name: "proc", hostPath: { path: "/proc" } },
                            { name: "sys", hostPath: { path: "/sys" } },
                        ];
                        containerOf(d).volumeMounts = [
                            { name: "proc", mountPath: "/host/proc", readOnly: true },
                            { name: "sys", mountPath: "/host/sys", readOnly: true },
                        ];
                        edit(d);
                    },
                    "node-exporter",
                    "apps/v1:DaemonSet",
                );

            it("allows read-only hostPath in a labelled namespace", () =>
                assert.deepEqual(check([agentNs, agent()]), []));
            it("rejects writable hostPath mounts there", () =>
                assertMessage(
                    check([
                        agentNs,
                        agent((d) => {
                            containerOf(d).volumeMounts[0].readOnly = false;
                        }),
                    ]),
                    /volume "proc": mount the hostPath volume with readOnly: true/,
                ));
            it("still rejects privileged, added capabilities and host namespaces there", () => {
                const messages = check([
                    agentNs,
                    agent((d) => {
                        containerOf(d).securityContext.privileged = true;
                        containerOf(d).securityContext.capabilities.add = ["NET_BIND_SERVICE"];
                        podSpecOf(d).hostPID = true;
                    }),
                ]);
                assertMessage(messages, /remove securityContext.privileged/);
                assertMessage(messages, /node agents may add none/);
                assertMessage(messages, /remove hostPID/);
            });
            it("needs both the exception label and enforce=privileged", () => {
                const halfLabelled = namespace("node-agents", "production", {
                    [NODE_AGENT_EXCEPTION_LABEL]: "node-exporter",
                });
                assertMessage(check([halfLabelled, agent()]), /hostPath volumes are not allowed/);
            });
        });
    });

    describe("2. container-resources", () => {
        const check = rule("container-resources");
        it("passes containers with requests and a memory limit", () => assert.deepEqual(check(deployment()), []));
        it("fails on a container without a memory limit", () =>
            assertMessage(
                check(
                    deployment((d) => {
                        delete containerOf(d).resources.limits;
                    }),
                ),
                /container "api": set resources.limits.memory/,
            ));
        it("fails on an init container without requests", () =>
            assertMessage(
                check(
                    deployment((d) => {
                        podSpecOf(d).initContainers = [{ ...goodContainer("init"), resources: {} }];
                    }),
                ),
                /init container "init": set resources.requests.cpu, resources.requests.memory, resources.limits.memory/,
            ));
    });

    describe("3. container-probes", () => {
        const check = rule("container-probes");
        it("passes a Deployment with both probes", () => assert.deepEqual(check(deployment()), []));
        it("fails on a StatefulSet without a readiness probe", () =>
            assertMessage(
                check(
                    deployment(
                        (d) => {
                            delete containerOf(d).readinessProbe;
                        },
                        "db",
                        "apps/v1:StatefulSet",
                    ),
                ),
                /container "api": add a readinessProbe/,
            ));
        it("fails on a DaemonSet without a liveness probe", () =>
            assertMessage(
                check(
                    deployment(
                        (d) => {
                            delete containerOf(d).livenessProbe;
                        },
                        "agent",
                        "apps/v1:DaemonSet",
                    ),
                ),
                /add a livenessProbe/,
            ));
        it("does not ask Jobs or init containers for probes", () => {
            assert.deepEqual(
                check(
                    deployment((d) => {
                        podSpecOf(d).initContainers = [{ name: "migrate" }];
                    }),
                ),
                [],
            );
            const job = res("kubernetes:batch/v1:Job", "migrate", {
                spec: { template: { spec: { containers: [{ name: "migrate" }] } } },
            });
            assert.deepEqual(check(job), []);
        });
    });

    describe("4. pinned-images", () => {
        const check = rule("pinned-images");
        const withImage = (image: string) =>
            check(
                deployment((d) => {
                    containerOf(d).image = image;
                }),
            );
        it("passes tags and digests", () => {
            for (const image of [
                "redis:7.4.1-alpine",
                "registry.local:5000/shop/api:1.0",
                `ghcr.io/x/y@sha256:${"a".repeat(64)}`,
            ])
                assert.deepEqual(withImage(image), [], image);
        });
        it("fails on latest", () =>
            assertMessage(withImage("nginx:latest"), /uses the latest tag; pin a version tag or a digest/));
        it("fails on an untagged image (also behind a registry port)", () => {
            assertMessage(withImage("nginx"), /has no tag.*pin a version tag or a digest/);
            assertMessage(withImage("registry.local:5000/shop/api"), /has no tag/);
        });
        it("checks init containers", () =>
            assertMessage(
                check(
                    deployment((d) => {
                        podSpecOf(d).initContainers = [{ ...goodContainer("wait"), image: "busybox" }];
                    }),
                ),
                /init container "wait": image "busybox" has no tag/,
            ));
    });

    describe("5. default-deny-network-policy", () => {
        const check = stackRule("default-deny-network-policy");
        it("passes a namespace with a default-deny policy", () =>
            assert.deepEqual(check([namespace("shop"), deployment(), defaultDeny()]), []));
        it("fails on a workload namespace without one", () =>
            assertMessage(
                check([namespace("shop"), deployment(), defaultDeny("other")]),
                /namespace "shop" runs Deployment "shop\/api".*podSelector: \{\}, policyTypes: \[Ingress, Egress\] and no rules/,
            ));
        it("does not count a policy that allows traffic or leaves egress open", () => {
            assertMessage(
                check([
                    deployment(),
                    defaultDeny("shop", (p) => {
                        p.spec.ingress = [{}];
                    }),
                ]),
                /no default-deny NetworkPolicy/,
            );
            assertMessage(
                check([
                    deployment(),
                    defaultDeny("shop", (p) => {
                        p.spec.policyTypes = ["Ingress"];
                    }),
                ]),
                /no default-deny NetworkPolicy/,
            );
            assertMessage(
                check([
                    deployment(),
                    defaultDeny("shop", (p) => {
                        p.spec.egress = [{ ports: [{ port: 53, protocol: "UDP" }] }];
                    }),
                ]),
                /no default-deny NetworkPolicy/,
            );
            assertMessage(
                check([
                    deployment(),
                    defaultDeny("shop", (p) => {
                        p.spec.podSelector = { matchLabels: { app: "api" } };
                    }),
                ]),
                /no default-deny NetworkPolicy/,
            );
            assertMessage(
                check([
                    deployment(),
                    defaultDeny("shop", (p) => {
                        p.spec.podSelector = { matchExpressions: [{ key: "app", operator: "Exists" }] };
                    }),
                ]),
                /no default-deny NetworkPolicy/,
            );
        });
        it("requires it in every namespace the program creates, even before anything runs there", () => {
            assertMessage(check([namespace("empty")]), /namespace "empty" has no default-deny NetworkPolicy/);
            assert.deepEqual(check([namespace("empty"), defaultDeny("empty")]), []);
        });
        const release = (ns: string) =>
            helmRelease((r) => {
                r.namespace = ns;
                r.name = "kube-prometheus-stack";
            });
        it("names the Helm releases a namespace holds", () =>
            assertMessage(
                check([namespace("monitoring"), release("monitoring"), defaultDeny("shop")]),
                /namespace "monitoring" runs Helm release "kube-prometheus-stack" \(chart kube-prometheus-stack\) but has no default-deny/,
            ));
        it("exempts Helm releases in namespaces the program does not create (kube-system)", () =>
            assert.deepEqual(check([release("kube-system")]), []));
        it("still requires it for our own workloads in a namespace the program does not create", () =>
            assertMessage(
                check([
                    deployment((d) => {
                        d.metadata.namespace = "default";
                    }),
                ]),
                /namespace "default" runs Deployment "default\/api"/,
            ));
    });

    describe("6. disruption-budget-and-spread", () => {
        const check = stackRule("disruption-budget-and-spread");
        it("passes a replicated Deployment with a matching PDB and spread", () =>
            assert.deepEqual(check([deployment(), pdb()]), []));
        it("fails without a PDB, or with one that selects other pods", () => {
            assertMessage(
                check([deployment()]),
                /runs 3 replicas but no PodDisruptionBudget.*selector matches spec.template.metadata.labels/,
            );
            assertMessage(check([deployment(), pdb({ app: "web" })]), /no PodDisruptionBudget/);
        });
        it("fails without topology spread or anti-affinity", () =>
            assertMessage(
                check([
                    deployment((d) => {
                        delete podSpecOf(d).topologySpreadConstraints;
                    }),
                    pdb(),
                ]),
                /without spreading them: add topologySpreadConstraints or podAntiAffinity/,
            ));
        it("accepts podAntiAffinity instead of spread constraints", () => {
            const d = deployment((x) => {
                delete podSpecOf(x).topologySpreadConstraints;
                podSpecOf(x).affinity = {
                    podAntiAffinity: {
                        preferredDuringSchedulingIgnoredDuringExecution: [
                            { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname" } },
                        ],
                    },
                };
            });
            assert.deepEqual(check([d, pdb()]), []);
        });
        it("counts an HPA minimum of 2 as replicated", () => {
            const single = deployment((d) => {
                d.spec.replicas = 1;
            });
            const hpa = res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api-hpa", {
                metadata: { namespace: "shop" },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
                    minReplicas: 2,
                    maxReplicas: 6,
                },
            });
            assert.deepEqual(check([single]), []);
            assertMessage(check([single, hpa]), /runs 2 replicas but no PodDisruptionBudget/);
        });
        it("only applies in production", () => assert.deepEqual(check([deployment()], { tier: "staging" }), []));
    });

    describe("7. no-plaintext-secrets", () => {
        const check = rule("no-plaintext-secrets");
        it("passes env from secretKeyRef and non-credential literals", () => {
            assert.deepEqual(
                check(
                    deployment((d) => {
                        containerOf(d).env.push(
                            { name: "TOKEN_TTL", value: "3600" },
                            { name: "DB_SECRET_NAME", value: "db" },
                            { name: "API_TOKEN", value: "$(SHARED_TOKEN)" },
                        );
                    }),
                ),
                [],
            );
        });
        it("fails on a literal credential env value", () =>
            assertMessage(
                check(
                    deployment((d) => {
                        containerOf(d).env.push({ name: "STRIPE_API_KEY", value: "sk_live_123" });
                    }),
                ),
                /env STRIPE_API_KEY holds a literal credential; use valueFrom.secretKeyRef/,
            ));
        it("fails on credentials in a ConfigMap", () => {
            const cm = (data: Record<string, string>) =>
                check(res("kubernetes:core/v1:ConfigMap", "cfg", { metadata: { name: "cfg" }, data }));
            assert.deepEqual(cm({ LOG_LEVEL: "info", "nginx.conf": "server {}" }), []);
            assertMessage(
                cm({ dbPassword: "hunter2" }),
                /data.dbPassword looks like a credential.*move it to a Secret/,
            );
            assertMessage(
                cm({ "tls.pem": "-----BEGIN RSA PRIVATE KEY-----\nabc" }),
                /data.tls.pem looks like a credential/,
            );
        });
        it("fails on literal credentials in Helm values, not on references", () => {
            assert.deepEqual(check(helmRelease()), []);
            assertMessage(
                check(
                    helmRelease((r) => {
                        r.values.grafana.adminPassword = "admin";
                    }),
                ),
                /values.grafana.adminPassword holds a literal credential.*existingSecret/,
            );
        });
        it("requires Secret data to be a Pulumi secret when secretness is known", () => {
            const recorded = (stringData: unknown) =>
                toPolicyResource({
                    type: "kubernetes:core/v1:Secret",
                    name: "db",
                    inputs: { metadata: { name: "db" }, stringData },
                });
            assert.deepEqual(check(recorded({ $secret: { password: "x" } })), []);
            assert.deepEqual(check(recorded({ password: { $secret: "x" } })), []);
            assertMessage(
                check(recorded({ password: "x" })),
                /stringData.password is not a Pulumi secret; wrap the value with pulumi.secret\(\)/,
            );
            // CrossGuard cannot tell: no isSecret, no verdict.
            assert.deepEqual(check(res("kubernetes:core/v1:Secret", "db", { stringData: { password: "x" } })), []);
        });
        it("tells credential keys from references", () => {
            for (const k of [
                "DB_PASSWORD",
                "apiKey",
                "clientSecret",
                "PRIVATE_KEY",
                "secretKey",
                "GITHUB_TOKEN",
                "adminPassword",
            ])
                assert.ok(isCredentialKey(k), k);
            for (const k of [
                "existingSecret",
                "passwordKey",
                "userKey",
                "secretName",
                "TOKEN_TTL",
                "PASSWORD_FILE",
                "LOG_LEVEL",
            ])
                assert.ok(!isCredentialKey(k), k);
        });
    });

    describe("8. rbac-least-privilege", () => {
        const check = rule("rbac-least-privilege");
        const role = (rules: any[], kind = "Role") =>
            res(`kubernetes:rbac.authorization.k8s.io/v1:${kind}`, "reader", { rules });
        it("passes a Role with named verbs, resources and groups", () =>
            assert.deepEqual(
                check(role([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }])),
                [],
            ));
        it("fails on wildcards", () => {
            const messages = check(role([{ apiGroups: ["*"], resources: ["pods"], verbs: ["*"] }], "ClusterRole"));
            assertMessage(messages, /rules\[0\].verbs contains "\*"; list the verbs the workload needs/);
            assertMessage(messages, /rules\[0\].apiGroups contains "\*"/);
        });
        it("fails on a binding to cluster-admin", () => {
            const binding = (name: string) =>
                res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "b", {
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
                });
            assertMessage(check(binding("cluster-admin")), /binds cluster-admin; bind a Role/);
            assert.deepEqual(check(binding("reader")), []);
        });
    });

    describe("9. helm-release-pinned", () => {
        const check = rule("helm-release-pinned");
        it("passes an exact version from an allowed repository (with or without trailing slash)", () => {
            assert.deepEqual(check(helmRelease()), []);
            assert.deepEqual(
                check(
                    helmRelease((r) => {
                        r.version = "v1.21.0";
                        r.repositoryOpts.repo = "https://charts.jetstack.io/";
                    }),
                ),
                [],
            );
        });
        it("fails on ranges and empty versions", () => {
            for (const version of ["~88.5.0", "^1.0.0", "88.x", "", undefined])
                assertMessage(
                    check(
                        helmRelease((r) => {
                            r.version = version;
                        }),
                    ),
                    /is not an exact version; pin one such as/,
                );
        });
        it("fails on a repository outside the list", () => {
            assertMessage(
                check(
                    helmRelease((r) => {
                        r.repositoryOpts.repo = "https://charts.bitnami.com/bitnami";
                    }),
                ),
                /is not an allowed repository; use one of https:\/\/istio-release/,
            );
            assertMessage(
                check(
                    helmRelease((r) => {
                        delete r.repositoryOpts;
                    }),
                ),
                /is not an allowed repository/,
            );
        });
        it("exports the allowed list", () =>
            assert.ok(ALLOWED_HELM_REPOSITORIES.includes("https://kedacore.github.io/charts")));
    });

    describe("4b. images-pinned-by-digest", () => {
        const check = stackRule("images-pinned-by-digest");
        const withImage = (image: string) =>
            deployment((d) => {
                containerOf(d).image = image;
            });
        it("passes name:tag@sha256 in production", () =>
            assert.deepEqual(check([withImage(`redis:7.4.11-alpine@sha256:${"a".repeat(64)}`)]), []));
        it("fails on a tag alone, and on a digest without the version tag", () => {
            assertMessage(check([withImage("redis:7.4.11-alpine")]), /not pinned by digest: use name:tag@sha256/);
            assertMessage(check([withImage(`redis@sha256:${"a".repeat(64)}`)]), /not pinned by digest/);
        });
        it("applies to every tier but dev", () => {
            assert.deepEqual(check([withImage("redis:7.4.11-alpine")], { tier: "dev" }), []);
            assert.ok(check([withImage("redis:7.4.11-alpine")], { tier: "staging" }).length > 0);
        });
    });

    describe("10. stateful-data-protected", () => {
        const check = stackRule("stateful-data-protected");
        const sts = (extra: Partial<PolicyResource> = {}) => ({
            ...deployment(
                (d) => {
                    d.spec.volumeClaimTemplates = [{ metadata: { name: "data" } }];
                },
                "db",
                "apps/v1:StatefulSet",
            ),
            ...extra,
        });
        const pvc = (extra: Partial<PolicyResource> = {}) =>
            res(
                "kubernetes:core/v1:PersistentVolumeClaim",
                "uploads",
                { metadata: { name: "uploads", namespace: "shop" } },
                extra,
            );
        it("passes protected or retained resources", () => {
            assert.deepEqual(check([sts({ protect: true })]), []);
            assert.deepEqual(check([pvc({ retainOnDelete: true })]), []);
        });
        it("fails on unprotected production data", () => {
            assertMessage(
                check([sts()]),
                /StatefulSet "shop\/db" holds production data \(volumeClaimTemplates: data\): set the resource option protect: true \(or retainOnDelete: true\)/,
            );
            assertMessage(check([pvc()]), /PersistentVolumeClaim "shop\/uploads" holds production data/);
        });
        it("tells CrossGuard users to use protect when retainOnDelete is not visible", () =>
            assertMessage(check([pvc({ retainOnDelete: undefined })]), /cannot see retainOnDelete, so use protect/));
        it("does not apply below production", () => assert.deepEqual(check([sts()], { tier: "dev" }), []));
        it("is a stack rule, like every rule that reads the tier (resource policies cannot see the namespaces)", () => {
            assert.ok(STACK_RULES.some((r) => r.name === "stateful-data-protected" && r.readsTier));
            assert.ok(!RESOURCE_RULES.some((r) => r.name === "stateful-data-protected"));
        });
    });

    describe("toPolicyResource, contextFromResources and evaluate", () => {
        const recorded = (
            type: string,
            name: string,
            inputs: unknown,
            extra: Partial<RecordedResource> = {},
        ): RecordedResource => ({
            urn: `urn:pulumi:test::ecommerce-platform::${type}::${name}`,
            type,
            name,
            custom: true,
            inputs,
            aliases: [],
            dependencies: [],
            protect: false,
            retainOnDelete: false,
            ignoreChanges: [],
            ...extra,
        });

        it("unwraps secrets, keeps options and remembers what was secret", () => {
            const r = toPolicyResource(
                recorded(
                    "kubernetes:core/v1:Secret",
                    "db",
                    { stringData: { $secret: { password: "x" } }, metadata: { name: "db" } },
                    { protect: true },
                ),
            );
            assert.deepEqual(r.props.stringData, { password: "x" });
            assert.equal(r.protect, true);
            assert.equal(r.isSecret?.(["stringData", "password"]), true);
            assert.equal(r.isSecret?.(["metadata", "name"]), false);
        });

        it("takes the tier from the namespaces (strictest wins, production by default)", () => {
            assert.equal(contextFromResources([namespace("shop", "dev")]).tier, "dev");
            assert.equal(contextFromResources([namespace("a", "dev"), namespace("b", "staging")]).tier, "staging");
            assert.equal(contextFromResources([]).tier, "production");
        });

        it("lets an explicit tier override the namespaces", () => {
            assert.equal(contextFromResources([namespace("shop", "dev")], "production").tier, "production");
            assert.equal(contextFromResources([namespace("shop", "production")], "dev").tier, "dev");
        });

        it("reports each violation with its rule and resource", () => {
            const findings = evaluate(
                [
                    recorded("kubernetes:core/v1:Namespace", "shop", {
                        metadata: { name: "shop", labels: { [TIER_LABEL]: "dev" } },
                    }),
                    ...[
                        deployment((d) => {
                            containerOf(d).image = "nginx";
                        }),
                    ].map((d) => recorded(d.type, d.name, d.props)),
                ].map(toPolicyResource),
            );
            const byRule = (name: string) => findings.filter((f) => f.rule === name);
            assert.deepEqual(
                byRule("pinned-images").map((f) => f.resource),
                ["kubernetes:apps/v1:Deployment::api"],
            );
            assert.equal(byRule("default-deny-network-policy").length, 1, formatFindings(findings));
            // dev tier from the namespace: no PDB required.
            assert.deepEqual(byRule("disruption-budget-and-spread"), []);
        });
    });
});

// ---------------------------------------------------------------------------------------------
// The CrossGuard policies (policy/pack.ts) run with the same context as the tests.

/** A resource as CrossGuard shows it to a policy. */
function crossGuardResource(r: PolicyResource): any {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn ?? `urn:pulumi:test::p::${r.type}::${r.name}`,
        props: r.props,
        opts: { protect: r.protect ?? false, ignoreChanges: [] },
        dependencies: [],
        propertyDependencies: {},
    };
}

/** Runs every CrossGuard policy over `resources` as the engine would; returns "<policy>: <message>" lines. */
function runCrossGuard(resources: PolicyResource[], config: Record<string, { tier?: Tier }> = {}): string[] {
    const out: string[] = [];
    const shown = resources.map(crossGuardResource);
    for (const policy of crossGuardPolicies()) {
        const report = (message: string) => out.push(`${policy.name}: ${message}`);
        const getConfig = () => config[policy.name] ?? {};
        const notApplicable = () => {
            throw new Error("not applicable");
        };
        if ("validateStack" in policy)
            (policy.validateStack as any)({ resources: shown, stackTags: new Map(), getConfig, notApplicable }, report);
        else
            for (const r of shown)
                (policy.validateResource as any)(
                    { ...r, getConfig, notApplicable, isType: () => false, asType: () => undefined },
                    report,
                );
    }
    return out;
}

describe("CrossGuard policy pack (policy/pack.ts)", () => {
    const db = () => ({
        ...deployment(
            (d) => {
                d.spec.volumeClaimTemplates = [{ metadata: { name: "data" } }];
            },
            "db",
            "apps/v1:StatefulSet",
        ),
    });

    it("takes the tier from the Namespace labels, like the tests: a dev stack needs no PDB or protect", () => {
        const stack = (tier: Tier) => [namespace("shop", tier), deployment(), db(), defaultDeny()];
        assert.deepEqual(runCrossGuard(stack("dev")), []);
        assert.deepEqual(evaluate(stack("dev")), []);
        const prodFindings = runCrossGuard(stack("production"));
        assert.ok(
            prodFindings.some((m) => /^disruption-budget-and-spread: .*no PodDisruptionBudget/.test(m)),
            prodFindings.join("\n"),
        );
        assert.ok(
            prodFindings.some((m) => /^stateful-data-protected: StatefulSet "shop\/db" holds production data/.test(m)),
            prodFindings.join("\n"),
        );
    });

    it("treats policy config `tier` as an override only", () => {
        const devStack = [namespace("shop", "dev"), deployment(), db(), defaultDeny()];
        const findings = runCrossGuard(devStack, { "stateful-data-protected": { tier: "production" } });
        assert.ok(
            findings.some((m) => /^stateful-data-protected:/.test(m)),
            findings.join("\n"),
        );
        assert.ok(!findings.some((m) => /^disruption-budget-and-spread:/.test(m)), findings.join("\n"));
        assert.deepEqual(
            crossGuardContext([namespace("shop", "dev")], {}),
            contextFromResources([namespace("shop", "dev")]),
        );
    });

    it("sees protect in a stack policy's resource options", () => {
        const protectedDb = { ...db(), protect: true };
        assert.equal(fromCrossGuard(crossGuardResource(protectedDb)).protect, true);
        assert.deepEqual(runCrossGuard([namespace("shop"), protectedDb, pdb({ app: "db" }), defaultDeny()]), []);
    });

    it("offers every rule as a mandatory policy, the tier override only on rules that read it", () => {
        const policies = crossGuardPolicies();
        assert.deepEqual(
            policies.map((p) => p.name).sort(),
            [...RESOURCE_RULES, ...STACK_RULES].map((r) => r.name).sort(),
        );
        for (const p of policies) {
            assert.equal(p.enforcementLevel, "mandatory", p.name);
            const reads = STACK_RULES.find((r) => r.name === p.name)?.readsTier === true;
            assert.equal(!!(p as any).configSchema?.properties?.tier, reads, p.name);
            assert.equal(
                (p as any).configSchema?.properties?.tier?.default,
                undefined,
                `${p.name}: no default tier (the namespaces decide)`,
            );
        }
    });
});
