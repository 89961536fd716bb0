package main

// The kube-apiserver, in process: upstream's own options, config and server chain
// (k8s.io/kubernetes/cmd/kube-apiserver/app), configured through its own flag set so every
// setting below reads like a kube-apiserver command line.

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	basecompatibility "k8s.io/component-base/compatibility"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// apiserverSetup is everything the kube-apiserver command line is made from.
type apiserverSetup struct {
	listener     net.Listener
	advertise    net.IP
	etcdURL      string
	pki          pkiFiles
	clientCAFile string // "" = our CA
	tokenFile    string
	anonymous    bool
	auditLog     string
	auditPolicy  string
	compaction   string // "" = upstream default
	verbosity    int
	logFormat    string
	extraArgs    []string
}

// Admission plugins that act on nodes or node-only features: nothing here runs a node.
const disabledAdmission = "TaintNodesByCondition,NodeDeclaredFeatureValidator,PodTopologyLabels"

func (s apiserverSetup) args() []string {
	port := s.listener.Addr().(*net.TCPAddr).Port
	a := []string{
		"--bind-address=" + s.advertise.String(),
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=" + s.advertise.String(),
		"--etcd-servers=" + s.etcdURL,
		"--tls-cert-file=" + s.pki.servingCert,
		"--tls-private-key-file=" + s.pki.servingKey,
		"--client-ca-file=" + firstNonEmpty(s.clientCAFile, s.pki.caCert),
		"--token-auth-file=" + s.tokenFile,
		"--anonymous-auth=" + strconv.FormatBool(s.anonymous),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + s.pki.saPub,
		"--service-account-signing-key-file=" + s.pki.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// No kubernetes Service endpoints to keep: there is no node network behind this server.
		"--endpoint-reconciler-type=none",
		"--disable-admission-plugins=" + disabledAdmission,
		"--profiling=false",
		"--v=" + strconv.Itoa(s.verbosity),
	}
	if s.logFormat != "" {
		a = append(a, "--logging-format="+s.logFormat)
	}
	if s.compaction != "" {
		a = append(a, "--etcd-compaction-interval="+s.compaction)
	}
	if s.auditLog != "" {
		a = append(a, "--audit-log-path="+s.auditLog, "--audit-policy-file="+s.auditPolicy,
			"--audit-log-format=json", "--audit-log-mode=blocking")
	}
	return append(a, s.extraArgs...)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// runningAPIServer is a started server chain: Run blocks until ctx ends.
type runningAPIServer struct {
	loopback *rest.Config
	done     chan error
}

// startAPIServer builds the server chain and runs it in the background until ctx ends.
func startAPIServer(ctx context.Context, setup apiserverSetup) (*runningAPIServer, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(setup.args()); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	s.SecureServing.Listener = setup.listener
	s.SecureServing.ExternalAddress = setup.advertise
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, err
	}
	// The loopback clients must not log warnings they caused themselves.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := applyLogging(s); err != nil {
		return nil, err
	}
	completedOptions, err := s.Complete(ctx)
	if err != nil {
		return nil, err
	}
	if errs := completedOptions.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("kube-apiserver options: %v", errs)
	}
	config, err := app.NewConfig(completedOptions)
	if err != nil {
		return nil, err
	}
	completed, err := config.Complete()
	if err != nil {
		return nil, err
	}
	chain, err := app.CreateServerChain(completed)
	if err != nil {
		return nil, err
	}
	prepared, err := chain.PrepareRun()
	if err != nil {
		return nil, err
	}
	r := &runningAPIServer{
		loopback: rest.CopyConfig(chain.GenericAPIServer.LoopbackClientConfig),
		done:     make(chan error, 1),
	}
	go func() { r.done <- prepared.Run(ctx) }()
	return r, nil
}

// writeTokenFile writes kube-apiserver's static token CSV: token,user,uid,"group,group".
func writeTokenFile(path string, users []identity) error {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s,%s,%s", u.token, u.name, u.name)
		if len(u.groups) > 0 {
			fmt.Fprintf(&b, ",\"%s\"", strings.Join(u.groups, ","))
		}
		b.WriteString("\n")
	}
	return writeFileAtomic(path, []byte(b.String()), 0o600)
}

// An audit policy that records every request once, with its metadata (no bodies).
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

func writeAuditPolicy(dir string) (string, error) {
	path := filepath.Join(dir, "audit-policy.yaml")
	return path, writeFileAtomic(path, []byte(auditPolicy), 0o600)
}

func applyLogging(s *options.ServerRunOptions) error {
	gate := s.GenericServerRunOptions.ComponentGlobalsRegistry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	return logsapi.ValidateAndApply(s.Logs, gate)
}
