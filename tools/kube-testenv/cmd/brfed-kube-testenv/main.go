// Command brfed-kube-testenv runs one real kube-apiserver (upstream's own code, in process)
// over an embedded etcd, for tests: it takes brfed-apiserver's flags where tests use them, so
// a harness swaps servers by binary alone (docs/kube-testenv.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const program = "brfed-kube-testenv"

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// identity is one static-token user of the kube-apiserver.
type identity struct {
	name, token string
	groups      []string
}

type config struct {
	listen, kubeconfigOut, token, clientCAFile, dataDir, name string
	auditLog, compaction, logLevel, logFormat                 string
	tls, version, workloads                                   bool
	crds, users, apiserverArgs                                stringList
}

// brfed-apiserver flags with no meaning on a real kube-apiserver: refused with a reason,
// never silently ignored (a test relying on them must not pass by accident).
var unsupported = map[string]string{
	"enable-fault-injection":    "fault injection is a brfed-apiserver feature",
	"watch-history":             "kube-apiserver keeps watch history in its watch cache and etcd (see --compaction-interval)",
	"max-body-bytes":            "kube-apiserver's request body limit is fixed (3 MiB)",
	"bookmark-interval-seconds": "kube-apiserver sends bookmarks on its own schedule",
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "HOST:PORT to serve HTTPS on; port 0 picks a free port")
	fs.StringVar(&c.kubeconfigOut, "kubeconfig-out", "", "write a kubeconfig (server URL, CA data, admin token) here once ready")
	fs.BoolVar(&c.tls, "tls", false, "accepted for brfed-apiserver compatibility: TLS is always on, with a generated CA")
	fs.StringVar(&c.token, "token", "", "bearer token of the admin (group system:masters); without it anonymous requests are admin")
	fs.StringVar(&c.clientCAFile, "client-ca-file", "", "accept client certificates signed by this CA (default: the generated CA)")
	fs.StringVar(&c.dataDir, "data-dir", "", "etcd data, CA and service-account key; a restart on it keeps every object (default: a temporary folder removed at exit)")
	fs.StringVar(&c.name, "name", "kube-testenv", "name for logs and the kubeconfig")
	fs.Var(&c.crds, "crd", "CRD YAML file (multi-document) or folder; repeatable; Established before ready")
	fs.Var(&c.users, "user", "NAME=TOKEN[:GROUP,...] identity without admin rights; repeatable")
	fs.StringVar(&c.auditLog, "audit-log", "", "kube-apiserver audit log (audit.k8s.io/v1 Event JSON lines, level Metadata)")
	fs.StringVar(&c.compaction, "compaction-interval", "", "kube-apiserver --etcd-compaction-interval (e.g. 1s to provoke 410 Gone); default upstream's 5m")
	fs.Var(&c.apiserverArgs, "apiserver-arg", "extra kube-apiserver flag, e.g. --apiserver-arg=--v=4; repeatable")
	fs.StringVar(&c.logLevel, "log-level", "info", "trace, debug, info, warn, error (kube-apiserver verbosity)")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
	fs.BoolVar(&c.workloads, "workload-controllers", false, "also run the Deployment and ReplicaSet controllers (Pods stay Pending: no scheduler, no kubelet)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	for name, why := range unsupported {
		fs.Var(refusedFlag{why: why, isBool: name == "enable-fault-injection"}, name, "not supported: "+why)
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, nil
}

// refusedFlag is a brfed-apiserver flag this program refuses, with the reason.
type refusedFlag struct {
	why    string
	isBool bool // written without a value, like --enable-fault-injection
}

func (refusedFlag) String() string     { return "" }
func (r refusedFlag) IsBoolFlag() bool { return r.isBool }
func (r refusedFlag) Set(string) error {
	return fmt.Errorf("not supported by %s: %s", program, r.why)
}

func verbosity(level string) (int, error) {
	switch level {
	case "trace":
		return 6, nil
	case "debug":
		return 4, nil
	case "info", "warn", "error":
		return 0, nil
	}
	return 0, fmt.Errorf("--log-level %q: want trace, debug, info, warn or error", level)
}

func parseUser(spec string) (identity, error) {
	name, rest, ok := strings.Cut(spec, "=")
	if !ok || name == "" || rest == "" {
		return identity{}, fmt.Errorf("--user %q: want NAME=TOKEN[:GROUP,...]", spec)
	}
	token, groups, _ := strings.Cut(rest, ":")
	id := identity{name: name, token: token}
	if groups != "" {
		id.groups = strings.Split(groups, ",")
	}
	for _, field := range append([]string{name, token}, id.groups...) {
		if field == "" || strings.ContainsAny(field, ",\"\n\r") {
			return identity{}, fmt.Errorf("--user %q: names, tokens and groups must be non-empty, without commas, quotes or newlines", spec)
		}
	}
	if name == "admin" || strings.HasPrefix(name, "system:") {
		return identity{}, fmt.Errorf("--user %q: the name %q is reserved", spec, name)
	}
	return id, nil
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(2)
	}
	if c.version {
		fmt.Printf("%s (kube-apiserver %s)\n", program, kubeVersion())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	code, err := run(ctx, c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
	}
	os.Exit(code)
}

// shutdownTimeout bounds a clean stop; past it the process exits anyway (code 1).
const shutdownTimeout = 30 * time.Second
