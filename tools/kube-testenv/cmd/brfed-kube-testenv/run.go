package main

// run: the life of one testenv, from flags to "ready <url>" to a clean stop.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/version"
)

func kubeVersion() string { return version.Get().GitVersion }

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// listenOn opens the serving socket and says which address to advertise and put in URLs.
func listenOn(spec string) (net.Listener, net.IP, string, error) {
	host, port, err := net.SplitHostPort(spec)
	if err != nil {
		return nil, nil, "", fmt.Errorf("--listen %q: want HOST:PORT: %v", spec, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, nil, "", fmt.Errorf("--listen %q: bad port", spec)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, nil, "", fmt.Errorf("--listen %q: %w", spec, err)
	}
	ip := l.Addr().(*net.TCPAddr).IP
	if ip.IsUnspecified() {
		ip = net.ParseIP("127.0.0.1")
	}
	url := "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	return l, ip, url, nil
}

// prepared is what exists on disk and on the network before anything runs.
type prepared struct {
	setup      apiserverSetup
	url        string
	adminToken string
	dataDir    string
	removeDir  bool
}

func prepare(c config) (*prepared, error) {
	p := &prepared{dataDir: c.dataDir}
	if p.dataDir == "" {
		dir, err := os.MkdirTemp("", program+"-")
		if err != nil {
			return nil, err
		}
		p.dataDir, p.removeDir = dir, true
	} else if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	v, err := verbosity(c.logLevel)
	if err != nil {
		return p, err
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return p, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if c.compaction != "" {
		if _, err := time.ParseDuration(c.compaction); err != nil {
			return p, fmt.Errorf("--compaction-interval %q: %v", c.compaction, err)
		}
	}
	users, err := identities(c, &p.adminToken)
	if err != nil {
		return p, err
	}
	tokenFile := filepath.Join(p.dataDir, "tokens.csv")
	if err := writeTokenFile(tokenFile, users); err != nil {
		return p, err
	}
	l, ip, url, err := listenOn(c.listen)
	if err != nil {
		return p, err
	}
	p.url = url
	pki, err := ensurePKI(filepath.Join(p.dataDir, "pki"), []string{ip.String(), "127.0.0.1", "::1", "localhost"})
	if err != nil {
		l.Close()
		return p, err
	}
	p.setup = apiserverSetup{
		listener: l, advertise: ip, pki: pki, clientCAFile: c.clientCAFile, tokenFile: tokenFile,
		anonymous: c.token == "", compaction: c.compaction, verbosity: v, logFormat: c.logFormat,
		extraArgs: c.apiserverArgs,
	}
	if c.auditLog != "" {
		p.setup.auditLog = c.auditLog
		if p.setup.auditPolicy, err = writeAuditPolicy(filepath.Join(p.dataDir, "pki")); err != nil {
			return p, err
		}
	}
	return p, nil
}

// identities: the admin (--token, or a random one) and every --user.
func identities(c config, adminToken *string) ([]identity, error) {
	*adminToken = c.token
	if *adminToken == "" {
		t, err := randomToken()
		if err != nil {
			return nil, err
		}
		*adminToken = t
	}
	users := []identity{{name: "admin", token: *adminToken, groups: []string{"system:masters"}}}
	for _, spec := range c.users {
		u, err := parseUser(spec)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func run(ctx context.Context, c config) (int, error) {
	crds, err := readCRDs(c.crds)
	if err != nil {
		return 2, err
	}
	p, err := prepare(c)
	if p != nil && p.removeDir {
		defer os.RemoveAll(p.dataDir)
	}
	if err != nil {
		return 2, err
	}
	etcd, etcdURL, err := startEtcd(c.name, filepath.Join(p.dataDir, "etcd"))
	if err != nil {
		return 1, err
	}
	defer etcd.Close()
	p.setup.etcdURL = etcdURL

	apiCtx, stopAPI := context.WithCancel(context.Background())
	defer stopAPI()
	api, err := startAPIServer(apiCtx, p.setup)
	if err != nil {
		return 1, err
	}
	stopped := func() (int, error) {
		stopAPI()
		select {
		case err := <-api.done:
			if err != nil {
				return 1, fmt.Errorf("kube-apiserver: %w", err)
			}
			return 0, nil
		case <-time.After(shutdownTimeout):
			return 1, fmt.Errorf("kube-apiserver did not stop within %v", shutdownTimeout)
		}
	}
	if err := becomeReady(ctx, api, c, p, crds); err != nil {
		code, stopErr := stopped()
		if ctx.Err() != nil { // signalled while starting: a clean stop
			return code, stopErr
		}
		return 1, err
	}
	fmt.Printf("ready %s\n", p.url)
	os.Stdout.Sync()
	select {
	case <-ctx.Done():
	case err := <-api.done:
		return 1, fmt.Errorf("kube-apiserver stopped: %v", err)
	}
	return stopped()
}

// becomeReady waits for /readyz, sets up what the flags ask for and writes the kubeconfig.
func becomeReady(ctx context.Context, api *runningAPIServer, c config, p *prepared, crds []*apiextensionsv1.CustomResourceDefinition) error {
	if err := waitReadyz(ctx, api); err != nil {
		return err
	}
	if c.token == "" {
		if err := grantAnonymousAdmin(ctx, api.loopback); err != nil {
			return fmt.Errorf("anonymous admin binding: %w", err)
		}
	}
	if err := startControllers(ctx, api.loopback, controllerSetup{pki: p.setup.pki, workloads: c.workloads}); err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	if err := installCRDs(ctx, api.loopback, crds); err != nil {
		return err
	}
	if c.kubeconfigOut != "" {
		if err := writeKubeconfig(c.kubeconfigOut, c.name, p.url, p.setup.pki.caPEM, p.adminToken); err != nil {
			return fmt.Errorf("--kubeconfig-out: %w", err)
		}
	}
	return nil
}

func waitReadyz(ctx context.Context, api *runningAPIServer) error {
	clientset, err := kubernetes.NewForConfig(api.loopback)
	if err != nil {
		return err
	}
	client := clientset.CoreV1().RESTClient()
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 120*time.Second, true,
		func(ctx context.Context) (bool, error) {
			select {
			case err := <-api.done:
				return false, fmt.Errorf("kube-apiserver stopped while starting: %v", err)
			default:
			}
			status := 0
			client.Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
			return status == 200, nil
		})
}

// Without --token, brfed-apiserver answers every request; so does this server then: the
// group of anonymous users is bound to cluster-admin. RBAC still applies to --user identities.
func grantAnonymousAdmin(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: program + ":anonymous-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}
	_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func writeKubeconfig(path, name, url string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	cfg.CurrentContext = name
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}
