package main

// The kube-controller-manager controllers that API clients notice even without nodes, each
// upstream's own code run in process:
//   - ServiceAccount: every namespace gets its "default" ServiceAccount;
//   - namespace: a deleted namespace is emptied and then removed (else it stays Terminating);
//   - service-account token: a Secret of type kubernetes.io/service-account-token naming a
//     ServiceAccount gets a token signed with the service-account key (the legacy token
//     Secret that docs still show), and is deleted with its ServiceAccount;
//   - with --workload-controllers, Deployment and ReplicaSet: a Deployment gets its
//     ReplicaSet and Pods. No scheduler or kubelet runs, so those Pods stay Pending.

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/deployment"
	"k8s.io/kubernetes/pkg/controller/namespace"
	"k8s.io/kubernetes/pkg/controller/replicaset"
	"k8s.io/kubernetes/pkg/controller/serviceaccount"
	satoken "k8s.io/kubernetes/pkg/serviceaccount"
)

// controllerSetup is what the controllers need besides the loopback client.
type controllerSetup struct {
	pki       pkiFiles // the service-account key signs token Secrets; the CA goes in them
	workloads bool     // also run the Deployment and ReplicaSet controllers
}

// controllerRun starts one controller's workers; it returns when ctx ends.
type controllerRun func(ctx context.Context)

func startControllers(ctx context.Context, cfg *rest.Config, setup controllerSetup) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	runs, err := coreControllers(ctx, cfg, client, factory)
	if err != nil {
		return err
	}
	token, err := tokenController(ctx, client, factory, setup.pki)
	if err != nil {
		return err
	}
	runs = append(runs, token)
	if setup.workloads {
		workloads, err := workloadControllers(ctx, client, factory)
		if err != nil {
			return err
		}
		runs = append(runs, workloads...)
	}
	factory.Start(ctx.Done())
	for _, run := range runs {
		go run(ctx)
	}
	return nil
}

// coreControllers: the ServiceAccount and namespace controllers.
func coreControllers(ctx context.Context, cfg *rest.Config, client kubernetes.Interface,
	factory informers.SharedInformerFactory) ([]controllerRun, error) {
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sa, err := serviceaccount.NewServiceAccountsController(klog.FromContext(ctx),
		factory.Core().V1().ServiceAccounts(), factory.Core().V1().Namespaces(), client,
		serviceaccount.DefaultServiceAccountsControllerOptions())
	if err != nil {
		return nil, err
	}
	ns := namespace.NewNamespaceController(ctx, client, meta, disco.ServerPreferredNamespacedResources,
		factory.Core().V1().Namespaces(), 5*time.Minute, v1.FinalizerKubernetes)
	return []controllerRun{
		func(ctx context.Context) { sa.Run(ctx, 1) },
		func(ctx context.Context) { ns.Run(ctx, 2) },
	}, nil
}

// tokenController fills token Secrets as kube-controller-manager does with
// --service-account-private-key-file and --root-ca-file: the legacy issuer, our CA.
func tokenController(ctx context.Context, client kubernetes.Interface,
	factory informers.SharedInformerFactory, pki pkiFiles) (controllerRun, error) {
	key, err := readKey(pki.saKey)
	if err != nil {
		return nil, err
	}
	generator, err := satoken.JWTTokenGenerator(satoken.LegacyIssuer, key)
	if err != nil {
		return nil, err
	}
	tokens, err := serviceaccount.NewTokensController(klog.FromContext(ctx),
		factory.Core().V1().ServiceAccounts(), factory.Core().V1().Secrets(), client,
		serviceaccount.TokensControllerOptions{TokenGenerator: generator, RootCA: pki.caPEM})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) { tokens.Run(ctx, 1) }, nil
}

// workloadControllers: Deployment and ReplicaSet, as kube-controller-manager runs them.
func workloadControllers(ctx context.Context, client kubernetes.Interface,
	factory informers.SharedInformerFactory) ([]controllerRun, error) {
	apps, pods := factory.Apps().V1(), factory.Core().V1().Pods()
	dc, err := deployment.NewDeploymentController(ctx, apps.Deployments(), apps.ReplicaSets(), pods, client)
	if err != nil {
		return nil, err
	}
	rsc := replicaset.NewReplicaSetController(ctx, apps.ReplicaSets(), pods, client, replicaset.BurstReplicas)
	return []controllerRun{
		func(ctx context.Context) { dc.Run(ctx, 1) },
		func(ctx context.Context) { rsc.Run(ctx, 1) },
	}, nil
}
